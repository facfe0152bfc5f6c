"""Cost model of the fused H3 FFT-convolution kernel against the torch.fft reference, per output
element (one (batch, channel, position) of y), head_dim 1, bf16 activations, and the predicted
times on an H100 SXM. An estimate to compare with measurements, not a measurement.

    python3 scripts/fftconv_cost_model.py [--batch 8] [--channels 1024]

Fused kernel (``longseq/kernels/fftconv/triton.py``), per row of length L, FFT size n = n1 n2:
- bytes: q, k, v read and y written once (4 x 2 B per element); the head's kernel spectrum, two
  fp32 [n1, n2] planes (8n B per program), read by every program of that head: 8n / L B per
  element when it misses L2 (the launch order is head-fastest, so the B programs of one head are
  H programs apart), ~0 when it hits.
- FLOPs (tl.dot on tensor cores): forward DFT of the real input 2 n n1 (stage 1, half the rows
  non-zero) + 8 n n2 (stage 2, complex) + the inverse the same, + ~40 n of twiddles and products.
torch.fft reference (``fftconv_h3_ref`` under bf16 autocast, fp32 inside): k*v, the upcast, rfft
of size 2L, the spectrum product, irfft, the slice and D term, the downcast and the q gate — each
a pass over memory: ~88 B per element (cuFFT counted as one read and one write per transform).

Peak figures used: H100 SXM, 3.35 TB/s HBM3, 989 TFLOP/s dense bf16 tensor cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HBM_BPS = 3.35e12
TC_FLOPS = 989e12
REF_BYTES = 6 + 6 + 12 + 24 + 16 + 12 + 6 + 6  # per element, listed in the module docstring


def _plan(L: int) -> tuple[int, int, int]:
    n = max(512, 1 << (2 * L - 1).bit_length())
    log_n = n.bit_length() - 1
    n2 = max(16, 1 << (log_n // 2 - 1))
    return n, n // n2, n2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channels", type=int, default=1024)
    args = parser.parse_args()
    print("| L | FFT n (n1 x n2) | fused B/elem (L2 miss / hit) | fused FLOP/elem | fused us (miss / hit) | "
          "torch.fft us | predicted x torch.fft | bound |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for L in (1024, 2048, 4096, 8192):
        n, n1, n2 = _plan(L)
        elems = args.batch * args.channels * L
        miss, hit = 8 + 8 * n / L, 8.0
        flop = (2 * n * n1 + 8 * n * n2) * 2 / L + 40 * n / L
        t_flop = elems * flop / TC_FLOPS
        t_miss, t_hit = max(elems * miss / HBM_BPS, t_flop), max(elems * hit / HBM_BPS, t_flop)
        t_ref = elems * REF_BYTES / HBM_BPS
        bound = "compute" if t_flop >= elems * hit / HBM_BPS else "memory"
        print(f"| {L} | {n} ({n1} x {n2}) | {miss:.0f} / {hit:.0f} | {flop:.0f} | "
              f"{1e6 * t_miss:.0f} / {1e6 * t_hit:.0f} | {1e6 * t_ref:.0f} | "
              f"{t_ref / t_miss:.1f} - {t_ref / t_hit:.1f} | {bound} |")


if __name__ == "__main__":
    main()
