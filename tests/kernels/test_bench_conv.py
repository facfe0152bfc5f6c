"""Smoke test of the sequence-mixing benchmark (tiny sizes; timings are not checked)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from longseq.bench import conv, timing
from tests.kernels.direct import causal_conv_direct


def test_run_conv_bench_rows_table_and_json(tmp_path: Path) -> None:
    rows = conv.run_conv_bench(
        [32, 48],
        batch=1,
        channels=8,
        device="cpu",
        dtype=torch.float32,
        repeats=1,
        head_dim=4,
        d_state=8,
        chunk=16,
        threads=1,
    )
    assert {r["method"] for r in rows} == set(conv.CPU_METHODS)
    assert len(rows) == 2 * len(conv.CPU_METHODS)
    for r in rows:
        assert r["ms"] > 0 and r["GBps"] > 0 and r["frac_of_copy_bw"] > 0 and r["heads"] == 2
    assert all(r["speedup_vs_sdpa"] == 1.0 for r in rows if r["method"] == "sdpa")
    table = conv.format_table(rows)
    assert table.count("\n") == len(rows) + 1 and "chunked_scan" in table
    path = tmp_path / "bench.json"
    timing.write_json(rows, path, timing.environment("cpu"))
    data = json.loads(path.read_text())
    assert data["environment"]["torch"] == torch.__version__ and len(data["rows"]) == len(rows)


def test_methods_over_budget_are_skipped_with_reason() -> None:
    rows = conv.run_conv_bench(
        [16, 64],
        batch=1,
        channels=4,
        repeats=1,
        head_dim=4,
        d_state=4,
        methods=["direct"],
        time_budget_s=1e-9,
    )
    assert rows[0]["ms"] is not None
    assert rows[1]["ms"] is None and "budget" in rows[1]["note"] and rows[1]["GBps"] is None


def test_png_needs_matplotlib_or_writes(tmp_path: Path) -> None:
    rows = [{"L": 8, "method": "fft", "ms": 1.0}, {"L": 16, "method": "fft", "ms": 2.0}]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="needs matplotlib"):
            conv.write_png(rows, tmp_path / "x.png")
    else:
        conv.write_png(rows, tmp_path / "x.png")
        assert (tmp_path / "x.png").stat().st_size > 0


def test_methods_compute_the_same_convolution() -> None:
    """The timed methods agree with each other and with the S4D layer's convolution worked out
    independently in float64 (kernel K[l] = 2 Re sum_m W_m dA_m^l by explicit powers, O(L^2)
    direct sum): over several chunks of state passing (L = 100, chunk 16). Catches: a method that
    computes something else than it is compared with, e.g. ``direct`` without flipping the kernel
    for conv1d's correlation, or state passing handing the wrong state to the next chunk."""
    L, channels = 100, 8
    ssm = conv._ssm_params(channels, 8, torch.device("cpu"))
    dA, W, D = ssm
    torch.manual_seed(0)
    ops = conv._make_ops(L, 2, channels, 4, torch.device("cpu"), torch.float32, ssm, chunk=16)
    torch.manual_seed(0)  # _make_ops draws u first: the same u again
    u = torch.randn(2, channels, L)
    powers = dA.to(torch.complex128).unsqueeze(-1) ** torch.arange(L)  # [channels, M, L]
    K = 2 * (W.to(torch.complex128).unsqueeze(-1) * powers).sum(1).real
    expected = causal_conv_direct(u.double(), K, D.double())
    scale = expected.abs().max()
    for method in ("fft", "fft_with_kernel", "direct", "state_passing", "chunked_scan"):
        with torch.inference_mode():
            got = ops[method][0]()
        assert got.shape == expected.shape, method
        assert (got.double() - expected).abs().max() <= 1e-5 * scale, method


def test_png_without_matplotlib_is_refused_in_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI installs matplotlib (the test extra), so the test above takes its writing branch; this
    one hides matplotlib to keep the refusal tested. Catches: the ImportError escaping raw, or a
    partial file left behind."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(RuntimeError, match="needs matplotlib"):
        conv.write_png([{"L": 8, "method": "fft", "ms": 1.0}], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
