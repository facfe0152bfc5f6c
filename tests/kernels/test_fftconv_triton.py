"""Fused Triton FFT conv vs the reference: forward and every gradient (cases: triton_cases.py).

Without CUDA the kernels run in triton's CPU interpreter, which must be selected before triton is
imported; torch/lightning import triton early, so the small-shape cases run in one child process
with TRITON_INTERPRET=1 and this process's environment never changes. Set TRITON_INTERPRET=1 for
the whole session to run them in-process instead. On CUDA they run in-process, compiled, and the
realistic-shape tests (L up to 8K, bf16) run too.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

if platform.system() == "Linux" and platform.machine() == "x86_64":
    # The test extra installs triton here (CI included): an import that breaks must fail the
    # run, not turn every test below into one skip.
    import triton  # noqa: F401
else:
    pytest.importorskip("triton")

from tests.kernels import triton_cases as cases

CUDA = torch.cuda.is_available()
IN_PROCESS = CUDA or os.environ.get("TRITON_INTERPRET") == "1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def child_results() -> dict[str, str] | None:
    """Outcome of every CPU case from one interpreter child process (None: run in-process)."""
    if IN_PROCESS:
        return None
    env = {
        **os.environ,
        "TRITON_INTERPRET": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("LONGSEQ_KERNEL_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.kernels.triton_cases"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(cases.RESULT_MARK):
            return json.loads(line[len(cases.RESULT_MARK) :])
    pytest.fail(f"interpreter child process failed (rc {proc.returncode}):\n{proc.stderr[-4000:]}")


@pytest.mark.parametrize("case", list(cases.CPU_CASES))
def test_fused_kernel_matches_reference(case: str, child_results: dict[str, str] | None) -> None:
    if child_results is None:
        cases.CPU_CASES[case]()
    elif child_results[case] != "ok":
        pytest.fail(child_results[case], pytrace=False)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("L", [1000, 2048, 4095, 8192])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_gpu_realistic_shapes(L: int, dtype: torch.dtype) -> None:
    from longseq.kernels.fftconv import triton_unsupported

    reason = triton_unsupported(torch.zeros(1, 1, L, dtype=dtype, device="cuda"))
    if reason is not None:  # fp32 past its shared-memory limit: routed to the reference
        assert dtype == torch.float32 and "shared memory" in reason
        return
    cases.check_h3(2, 64, L, 1, L, dtype, seed=L)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_gpu_head_dim_8(dtype: torch.dtype) -> None:
    cases.check_h3(2, 64, 2048, 8, 2048, dtype, seed=8)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_gpu_auto_dispatch_respects_the_length_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from longseq.kernels.dispatch import choose_backend
    from longseq.kernels.fftconv import FUSED_MAX_LEN, triton_unsupported

    monkeypatch.delenv("LONGSEQ_KERNEL_BACKEND", raising=False)
    short = torch.zeros(1, 2, FUSED_MAX_LEN, device="cuda", dtype=torch.bfloat16)
    long = torch.zeros(1, 2, FUSED_MAX_LEN + 1, device="cuda", dtype=torch.bfloat16)
    assert choose_backend("fftconv", short.device, True, triton_unsupported(short)) == "triton"
    assert choose_backend("fftconv", long.device, True, triton_unsupported(long)) == "reference"
