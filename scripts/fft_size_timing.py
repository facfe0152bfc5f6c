"""Forward + backward time of a causal FFT convolution at FFT size 2L against the size
:func:`longseq.kernels.fftconv.reference.fft_size` picks (the next 5-smooth even size), in CPU time
on one thread.

    python scripts/fft_size_timing.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from longseq.kernels.fftconv.reference import fft_size

SHAPES = [
    (32, 64, 21),
    (32, 64, 22),
    (8, 64, 77),
    (8, 64, 1000),
    (8, 64, 1021),
    (1, 64, 8191),
    (1, 64, 12345),
]


def cpu_ms(fn: Callable[[], None], reps: int) -> float:
    """Best of three: mean CPU milliseconds per call over ``reps`` calls."""
    fn()
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(reps):
            fn()
        best = min(best, (time.process_time() - start) / reps * 1e3)
    return best


def conv_step(u: torch.Tensor, k: torch.Tensor, n: int) -> None:
    L = u.shape[-1]
    y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(k, n=n), n=n)[..., :L]
    y.sum().backward()


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print("| B | H | L | 2L | ms | fft_size | ms | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for B, H, L in SHAPES:
        u = torch.randn(B, H, L, requires_grad=True)
        k = torch.randn(H, L)
        reps = max(5, 200_000 // (B * H * L))
        plain = cpu_ms(lambda u=u, k=k, L=L: conv_step(u, k, 2 * L), reps)
        smooth = cpu_ms(lambda u=u, k=k, L=L: conv_step(u, k, fft_size(L)), reps)
        print(
            f"| {B} | {H} | {L} | {2 * L} | {plain:.3f} | {fft_size(L)} | {smooth:.3f} | "
            f"{plain / smooth:.2f}x |"
        )


if __name__ == "__main__":
    main()
