"""Benchmark of causal sequence mixing: FFT convolution vs direct convolution vs attention vs
state passing (and, on CUDA, the fused Triton kernel).

Every method mixes the same activation, [B, L, D] with D = ``channels``:

- ``fft``: ``fftconv_ref`` (torch.fft: pocketfft on CPU, cuFFT on CUDA), u [B, D, L] with a
  length-L kernel per channel (precomputed) and the D skip.
- ``fft_with_kernel``: the same, also generating the S4D kernel (``s4d_kernel_ref``) per call,
  the like-for-like comparison with state passing, which works from the SSM parameters.
- ``direct``: the same convolution as ``conv1d`` with an L-tap kernel (O(L^2)).
- ``sdpa``: causal ``scaled_dot_product_attention`` with D / head_dim heads of size head_dim (the
  same B and model width; on CUDA the flash backend is requested).
- ``state_passing`` / ``chunked_scan``: ``state_passing_conv`` (FFT resp. Toeplitz-GEMM within
  chunks) for an S4D layer with d_state/2 complex modes per channel; includes its small
  per-call precompute (power tables of size D x modes x chunk).
- CUDA only: ``triton`` (fused fftconv), ``h3_ref`` / ``h3_triton`` (the H3 inner op with the
  q, k, v gates: torch.fft reference vs the fused kernel), for L <= FUSED_MAX_LEN.

Times are medians of ``repeats`` calls after one warm-up call, with torch.cuda.synchronize on
CUDA, under inference_mode. Speedups are ratios against ``sdpa`` and ``fft`` measured in the same
run. Bandwidth: bytes in + out per call over the time, and the floor = bytes / copy bandwidth,
the copy bandwidth measured in the same run with a large tensor copy (read + write counted).
A method whose predicted time for one L exceeds ``time_budget_s`` is skipped with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from longseq.bench.throughput import write_png as plot
from longseq.bench.timing import time_ms
from longseq.kernels.fftconv import FUSED_MAX_LEN, fused_max_len
from longseq.kernels.fftconv.reference import fftconv_h3_ref, fftconv_ref
from longseq.kernels.ssm.reference import s4d_discretize_ref, s4d_kernel_ref
from longseq.kernels.ssm.state_passing import state_passing_conv
from longseq.reporting import cell, markdown_table

DEFAULT_LENGTHS = tuple(2**p for p in range(8, 17))  # 256 .. 64K
CPU_METHODS = ("fft", "fft_with_kernel", "direct", "sdpa", "state_passing", "chunked_scan")
CUDA_METHODS = (
    "fft",
    "fft_with_kernel",
    "triton",
    "h3_ref",
    "h3_triton",
    "sdpa",
    "state_passing",
    "chunked_scan",
    "direct",
)
# how the time of a method grows with L (for skipping before a call would blow the budget)
_GROWTH = {"direct": 2.0, "sdpa": 2.0}


def copy_bandwidth_gbps(device: torch.device, nbytes: int = 1 << 28, repeats: int = 5) -> float:
    """Device copy bandwidth in GB/s: (read + write) bytes of a large tensor copy over its time."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src), repeats, device)
    return 2 * nbytes / (ms * 1e-3) / 1e9


def _ssm_params(
    channels: int, d_state: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """S4D-Lin diagonal SSM, bilinear: dA, W = C dB [channels, d_state/2] complex64; D
    [channels]."""
    g = torch.Generator().manual_seed(0)
    M = d_state // 2
    log_dt = torch.empty(channels).uniform_(math.log(1e-3), math.log(1e-1), generator=g)
    A = torch.complex(
        -0.5 * torch.ones(channels, M), math.pi * torch.arange(M).float().expand(channels, M)
    )
    B = torch.complex(torch.ones(channels, M), torch.zeros(channels, M))
    C = torch.complex(torch.randn(channels, M, generator=g), torch.randn(channels, M, generator=g))
    dA, dB = s4d_discretize_ref(log_dt, A, B)
    return dA.to(device), (C * dB).to(device), torch.randn(channels, generator=g).to(device)


def _sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention; on CUDA with fp16/bf16 restricted to the flash backend."""
    if q.is_cuda and q.dtype in (torch.float16, torch.bfloat16):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def _make_ops(
    L: int,
    batch: int,
    channels: int,
    head_dim: int,
    device: torch.device,
    dtype: torch.dtype,
    ssm: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    chunk: int,
) -> dict[str, tuple[Callable[[], object], int]]:
    """method -> (call, bytes in + out) for one length."""
    es = torch.finfo(dtype).bits // 8
    act = batch * channels * L * es
    kernel_bytes = channels * L * 4
    dA, W, D = ssm
    u = torch.randn(batch, channels, L, device=device, dtype=dtype)
    K = s4d_kernel_ref(dA, W, L)
    heads = channels // head_dim
    qkv = [torch.randn(batch, heads, L, head_dim, device=device, dtype=dtype) for _ in range(3)]
    weight = K.flip(-1).unsqueeze(1).to(dtype)  # conv1d correlates: flip for a convolution
    ops: dict[str, tuple[Callable[[], object], int]] = {
        "fft": (lambda: fftconv_ref(u, K, D), 2 * act + kernel_bytes),
        "fft_with_kernel": (lambda: fftconv_ref(u, s4d_kernel_ref(dA, W, L), D), 2 * act),
        "direct": (
            lambda: F.conv1d(F.pad(u, (L - 1, 0)), weight, groups=channels) + D[:, None] * u,
            2 * act + kernel_bytes,
        ),
        "sdpa": (lambda: _sdpa(*qkv), 4 * act),
        "state_passing": (lambda: state_passing_conv(u, dA, W, D, chunk, "fft"), 2 * act),
        "chunked_scan": (lambda: state_passing_conv(u, dA, W, D, chunk, "matmul"), 2 * act),
    }
    if device.type == "cuda":
        from longseq.kernels.fftconv.triton import fftconv_h3_triton, fftconv_triton

        q, k = torch.randn_like(u), torch.randn_like(u)
        ops["triton"] = (lambda: fftconv_triton(u, K, D), 2 * act + kernel_bytes)
        ops["h3_ref"] = (lambda: fftconv_h3_ref(q, k, u, K, D, 1), 4 * act + kernel_bytes)
        ops["h3_triton"] = (lambda: fftconv_h3_triton(q, k, u, K, D, 1), 4 * act + kernel_bytes)
    return ops


def _skip_reason(
    method: str,
    L: int,
    last: dict[str, tuple[int, float]],
    calls: int,
    budget_s: float,
    limit: int = FUSED_MAX_LEN,
) -> str | None:
    if method in ("triton", "h3_triton") and L > limit:
        return f"L > {limit} (fused kernel limit for this dtype)"
    if method not in last:
        return None
    L0, ms0 = last[method]
    predicted_s = ms0 * 1e-3 * (L / L0) ** _GROWTH.get(method, 1.0)
    if predicted_s * calls > budget_s:
        return f"predicted {predicted_s:.3g} s/call x {calls} calls > {budget_s:g} s budget"
    return None


def run_conv_bench(
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    batch: int = 1,
    channels: int = 256,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    repeats: int = 3,
    *,
    head_dim: int = 64,
    d_state: int = 64,
    chunk: int = 64,
    methods: Sequence[str] | None = None,
    time_budget_s: float = 30.0,
    threads: int | None = None,
) -> list[dict]:
    """Time every method at every length.

    Args:
        lengths: sequence lengths L. batch: B. channels: model width D (conv channels; attention
            uses D / head_dim heads of size head_dim). device, dtype: where and in what the
            activations live (state passing computes in fp32). repeats: timed calls per point.
        d_state: SSM state size N (N/2 complex modes) for state passing. chunk: its chunk length.
        methods: subset to run (default: CPU_METHODS or CUDA_METHODS).
        time_budget_s: skip a method at an L when its predicted total time exceeds this.
        threads: torch CPU threads for the run (restored afterwards); None keeps the current.

    Returns:
        One dict per (L, method): L, method, ms (None if skipped), speedup_vs_sdpa,
        speedup_vs_fft, bytes, GBps, frac_of_copy_bw, note, plus the run's settings.
    """
    device = torch.device(device)
    if channels % head_dim:
        raise ValueError(
            f"run_conv_bench: channels={channels} is not a multiple of head_dim={head_dim}"
        )
    saved_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run(
            lengths,
            batch,
            channels,
            device,
            dtype,
            repeats,
            head_dim,
            d_state,
            chunk,
            methods,
            time_budget_s,
        )
    finally:
        torch.set_num_threads(saved_threads)


def _run(
    lengths: Sequence[int],
    batch: int,
    channels: int,
    device: torch.device,
    dtype: torch.dtype,
    repeats: int,
    head_dim: int,
    d_state: int,
    chunk: int,
    methods: Sequence[str] | None,
    time_budget_s: float,
) -> list[dict]:
    chosen = tuple(methods or (CUDA_METHODS if device.type == "cuda" else CPU_METHODS))
    copy_gbps = copy_bandwidth_gbps(device)
    ssm = _ssm_params(channels, d_state, device)
    settings = {
        "device": str(device),
        "dtype": str(dtype).replace("torch.", ""),
        "batch": batch,
        "channels": channels,
        "heads": channels // head_dim,
        "head_dim": head_dim,
        "d_state": d_state,
        "chunk": chunk,
        "copy_GBps": copy_gbps,
        "threads": torch.get_num_threads(),
    }
    rows: list[dict] = []
    last: dict[str, tuple[int, float]] = {}
    with torch.inference_mode():
        for L in lengths:
            ops = _make_ops(L, batch, channels, head_dim, device, dtype, ssm, chunk)
            point: list[dict[str, Any]] = []
            times: dict[str, float | None] = {}
            for method in chosen:
                call, nbytes = ops[method]
                reason = _skip_reason(
                    method, L, last, repeats + 1, time_budget_s, fused_max_len(dtype)
                )
                ms = None if reason else time_ms(call, repeats, device)
                times[method] = ms
                if ms is not None:
                    last[method] = (L, ms)
                point.append(
                    {
                        "L": L,
                        "method": method,
                        "ms": ms,
                        "bytes": nbytes,
                        "note": reason or "",
                        **settings,
                    }
                )
            for r in point:
                r.update(_ratios(r["ms"], times, r["bytes"], copy_gbps))
            rows.extend(point)
            del ops
    return rows


def _ratios(
    ms: float | None, times: dict[str, float | None], nbytes: int, copy_gbps: float
) -> dict:
    """Speedups vs the sdpa / fft times of the same L, and the achieved bandwidth, absolute and
    as a fraction of the copy bandwidth."""
    sdpa, fft = times.get("sdpa"), times.get("fft")
    return {
        "speedup_vs_sdpa": sdpa / ms if ms and sdpa else None,
        "speedup_vs_fft": fft / ms if ms and fft else None,
        "GBps": nbytes / (ms * 1e-3) / 1e9 if ms else None,
        "frac_of_copy_bw": nbytes / (copy_gbps * 1e9) / (ms * 1e-3) if ms else None,
    }


def format_table(rows: Sequence[dict]) -> str:
    """Markdown table: L, method, ms, speedup vs SDPA and FFT, GB/s, % of copy bandwidth, note."""
    header = ["L", "method", "ms", "x vs SDPA", "x vs FFT", "GB/s", "% copy BW", "note"]
    cells = []
    for r in rows:
        frac = None if r["frac_of_copy_bw"] is None else 100 * r["frac_of_copy_bw"]
        numbers = [r["ms"], r["speedup_vs_sdpa"], r["speedup_vs_fft"], r["GBps"]]
        cells.append(
            [
                str(r["L"]),
                r["method"],
                *(cell(x, ".3g") for x in numbers),
                cell(frac, ".2g"),
                r["note"],
            ]
        )
    return markdown_table(header, cells, [True, False, True, True, True, True, True, False])


def write_png(
    rows: Sequence[dict], path: str | Path, title: str = "causal sequence mixing"
) -> None:
    """Log-log plot of time vs L per method. Needs matplotlib (optional dependency)."""
    plot(
        rows,
        path,
        x="L",
        y="ms",
        xlabel="sequence length L",
        ylabel="ms (median)",
        title=title,
        series="method",
    )
