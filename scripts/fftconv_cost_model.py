"""Cost model of the fused H3 FFT-convolution forward kernel against the torch.fft reference, per
output element (one (batch, channel, position) of y), head_dim 1, bf16 activations, and the
predicted times on an H100 SXM. An estimate to compare with measurements, not a measurement.

    python3 scripts/fftconv_cost_model.py [--batch 8] [--channels 1024]

Fused kernel (``longseq/kernels/fftconv/triton.py``; plans from its ``fft_plan``, launch
parameters from ``launch_config``), per row of length L, FFT size n = n1 n2, ``seq`` rows of one
head per forward program:
- HBM bytes: q, k, v read and y written once (4 x 2 B per element) plus the head's kernel
  spectrum, stored as the Hermitian half (n1/2 + 1 rows of n2) in bf16, two planes: S = 4 (n1/2 + 1)
  n2 B per head. The launch order is batch-fastest (the B programs of a head are adjacent), so the
  spectrum comes from HBM once per head, S / (B L) B per element, while those programs are
  resident together ("hit"); S / (seq L) per element if every program missed L2 ("miss").
- L2 -> SM bytes of the DFT and twiddle tables, read by every program: C1, S1 twice (forward
  and inverse, [n1, n1/2] each) in bf16, C2, S2 ([n2, n2] bf16) once, the twiddles ([n1, n2]
  fp32, two planes) once; divided by the seq * L elements the program produces.
- FLOPs (tl.dot on tensor cores): forward DFT of the real input 2 n n1 (stage 1, half the rows
  non-zero) + 8 n n2 (stage 2, complex) + the inverse the same, + ~40 n of twiddles and products.
torch.fft reference (``fftconv_h3_ref`` under bf16 autocast, fp32 inside): k*v, the upcast, rfft
of size ~2L, the spectrum product, irfft, the slice and D term, the downcast and
the q gate — each a pass over memory: ~88 B per element (cuFFT counted as one read and one write
per transform).

Peak figures used: H100 SXM, 3.35 TB/s HBM3, 989 TFLOP/s dense bf16 tensor cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from longseq.kernels.fftconv.triton import fft_plan, launch_config  # noqa: E402

HBM_BPS = 3.35e12
TC_FLOPS = 989e12
REF_BYTES = 6 + 6 + 12 + 24 + 16 + 12 + 6 + 6  # per element, listed in the module docstring
ACT_BYTES = 8  # q, k, v read, y written, bf16


def spectrum_bytes(n1: int, n2: int) -> int:
    """HBM bytes of one head's stored kernel spectrum (half, bf16, re and im planes)."""
    return 4 * (n1 // 2 + 1) * n2


def table_bytes(n1: int, n2: int) -> int:
    """L2 -> SM bytes of the DFT / twiddle tables one forward program reads."""
    c1 = 2 * 2 * n1 * (n1 // 2) * 2  # C1, S1: [n1, n1/2] rows and columns, bf16
    c2 = 2 * n2 * n2 * 2  # C2, S2 once per program, bf16
    tw = 2 * n1 * n2 * 4  # twiddle planes, fp32, loaded once per row block for both uses
    return c1 + c2 + tw


def forward_flops(n: int, n1: int, n2: int) -> int:
    """Tensor-core and elementwise FLOPs of one forward row."""
    return (2 * n * n1 + 8 * n * n2) * 2 + 40 * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channels", type=int, default=1024)
    args = parser.parse_args()
    print(
        "| L | FFT n (n1 x n2) | warps / BK / seq | HBM B/elem (miss / hit) | L2 table B/elem | "
        "FLOP/elem | fused us (miss / hit) | torch.fft us | predicted x torch.fft | bound |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
    for L in (256, 512, 1024, 2048, 4096, 8192):
        p = fft_plan(L)
        cfg = launch_config(p, torch.bfloat16, "forward")
        elems = args.batch * args.channels * L
        spec = spectrum_bytes(p.n1, p.n2)
        miss, hit = ACT_BYTES + spec / (cfg.seq * L), ACT_BYTES + spec / (args.batch * L)
        flop = forward_flops(p.n, p.n1, p.n2) / L
        t_flop = elems * flop / TC_FLOPS
        t_miss, t_hit = max(elems * miss / HBM_BPS, t_flop), max(elems * hit / HBM_BPS, t_flop)
        t_ref = elems * REF_BYTES / HBM_BPS
        bound = "compute" if t_flop >= elems * hit / HBM_BPS else "memory"
        launch = f"{cfg.num_warps} / {cfg.bk} / {cfg.seq}"
        print(
            f"| {L} | {p.n} ({p.n1} x {p.n2}) | {launch} | {miss:.1f} / {hit:.1f} | "
            f"{table_bytes(p.n1, p.n2) / (cfg.seq * L):.0f} | {flop:.0f} | "
            f"{1e6 * t_miss:.0f} / {1e6 * t_hit:.0f} | {1e6 * t_ref:.0f} | "
            f"{t_ref / t_miss:.1f} - {t_ref / t_hit:.1f} | {bound} |"
        )


if __name__ == "__main__":
    main()
