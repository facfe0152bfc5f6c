"""Backend choice: reference off CUDA, Triton on CUDA when installed and supported, overrides,
actionable errors, logged once, and importing longseq.kernels never imports triton."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from longseq.kernels import dispatch
from longseq.kernels.dispatch import choose_backend

ROOT = Path(__file__).resolve().parents[2]
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LONGSEQ_KERNEL_BACKEND", raising=False)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    dispatch._log_once.cache_clear()
    yield
    dispatch._log_once.cache_clear()


def test_auto_uses_reference_off_cuda_even_when_interpreting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert choose_backend("fftconv", CPU, True) == "reference"
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert choose_backend("fftconv", CPU, True) == "reference"


def test_auto_on_cuda_takes_triton_when_installed_and_supported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch, "triton_available", lambda: True)
    assert choose_backend("fftconv", CUDA, True) == "triton"
    assert choose_backend("fftconv", CUDA, True, "L=9000 > 8192") == "reference"
    assert choose_backend("s4d_kernel", CUDA, False) == "reference"
    monkeypatch.setattr(dispatch, "triton_available", lambda: False)
    assert choose_backend("fftconv", CUDA, True) == "reference"


def test_forced_backends_and_actionable_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGSEQ_KERNEL_BACKEND", "reference")
    assert choose_backend("fftconv", CUDA, True) == "reference"
    monkeypatch.setenv("LONGSEQ_KERNEL_BACKEND", "triton")
    monkeypatch.setattr(dispatch, "triton_available", lambda: False)
    with pytest.raises(RuntimeError, match="pip install"):
        choose_backend("fftconv", CUDA, True)
    monkeypatch.setattr(dispatch, "triton_available", lambda: True)
    with pytest.raises(RuntimeError, match="no Triton kernel"):
        choose_backend("s4d_kernel", CUDA, False)
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        choose_backend("fftconv", CPU, True)
    with pytest.raises(ValueError, match="float64"):
        choose_backend("fftconv", CUDA, True, "dtype torch.float64 is not supported")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert choose_backend("fftconv", CPU, True) == "triton"
    monkeypatch.setenv("LONGSEQ_KERNEL_BACKEND", "cuda")
    with pytest.raises(ValueError, match="LONGSEQ_KERNEL_BACKEND='cuda'"):
        choose_backend("fftconv", CPU, True)


def test_choice_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="longseq.kernels"):
        for _ in range(3):
            choose_backend("fftconv", CPU, True)
    records = [r for r in caplog.records if "fftconv on cpu" in r.getMessage()]
    assert len(records) == 1 and "reference" in records[0].getMessage()


def test_unsupported_reasons() -> None:
    from longseq.kernels.fftconv import FUSED_MAX_LEN, triton_unsupported

    assert triton_unsupported(torch.zeros(1, 2, FUSED_MAX_LEN, dtype=torch.bfloat16)) is None
    assert "shared memory" in triton_unsupported(torch.zeros(1, FUSED_MAX_LEN + 1))
    assert "float64" in triton_unsupported(torch.zeros(1, 8, dtype=torch.float64))


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_import_does_not_import_triton_and_works_without_it() -> None:
    # sys.modules["triton"] = None makes "import triton" fail as if it were not installed
    out = _run(
        "import sys; sys.modules['triton'] = None\n"
        "import os, torch, longseq.kernels as K\n"
        "assert 'longseq.kernels.fftconv.triton' not in sys.modules\n"
        "u = torch.randn(1, 2, 9); k = torch.randn(2, 9)\n"
        "K.fftconv(u, k); K.fftconv_h3(u, u, u, k, torch.ones(2), 1)\n"
        "os.environ['LONGSEQ_KERNEL_BACKEND'] = 'triton'\n"
        "try:\n    K.fftconv(u, k)\nexcept RuntimeError as e:\n    print('ERR', e)\n"
    )
    assert "ERR" in out and "pip install" in out
    # with triton installed: longseq.kernels itself does not import it (torch may, on some builds)
    out = _run(
        "import sys, torch; before = 'triton' in sys.modules; import longseq.kernels; "
        "print(before or 'triton' not in sys.modules)"
    )
    assert out.strip() == "True"
