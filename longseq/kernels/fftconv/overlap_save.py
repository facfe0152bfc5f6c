"""Causal convolution with a short kernel, chunk by chunk (overlap-save): the same result as
:func:`~longseq.kernels.fftconv.reference.fftconv_ref` with FFTs of size ~2(T + Lk) instead of
2L, so the complex buffers are O(L) with a small constant and the work O(L log T).

Chunk c of T outputs needs the T inputs of the chunk and the Lk - 1 before it: the input, padded
with Lk - 1 zeros on the left, is cut into overlapping windows of T + Lk - 1 samples (one strided
copy), each window is convolved causally, and its first Lk - 1 outputs (which saw the padding or
the previous chunk's tail as their start) are dropped. H3's shift SSM (Lk = d_state taps) runs
this way on long sequences.
"""

from __future__ import annotations

import torch

from longseq.kernels.fftconv.reference import compute_dtype
from longseq.kernels.fftconv.torch_fft import fftconv_torch


def overlap_save_conv(
    u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None = None, chunk: int = 256
) -> torch.Tensor:
    """Causal convolution of ``u: [..., H, L]`` with a short kernel ``k: [H, Lk]`` plus ``D: [H]``.

    Args:
        u: [..., H, L] input, any float dtype (computed as fftconv_ref computes it).
        k: [H, Lk] kernel; taps past L are ignored.
        D: [H] skip weight, or None.
        chunk: outputs per window (T >= 1); the FFT size is 2(T + Lk - 1).

    Returns:
        [..., H, L] in ``u.dtype``, equal to ``fftconv_ref(u, k, D)``.
    """
    if u.shape[-2] != k.shape[0]:
        raise ValueError(f"overlap_save_conv: u has {u.shape[-2]} channels but k has {k.shape[0]}")
    if chunk < 1:
        raise ValueError(f"overlap_save_conv: chunk must be >= 1, got {chunk}")
    L = u.shape[-1]
    k = k[..., :L]
    Lk = k.shape[-1]
    if L <= chunk or Lk == 0:
        return fftconv_torch(u, k, D)
    T = chunk
    nc = -(-L // T)
    dtype = compute_dtype(u.dtype)
    x = torch.nn.functional.pad(u.to(dtype), (Lk - 1, nc * T - L))
    windows = x.unfold(-1, T + Lk - 1, T)  # [..., H, nc, T + Lk - 1] (a view)
    y = fftconv_torch(windows.transpose(-3, -2), k.to(dtype))  # [..., nc, H, T + Lk - 1]
    y = y[..., Lk - 1 :].transpose(-3, -2).reshape(*u.shape[:-1], nc * T)[..., :L]
    if D is not None:
        y = y + D.to(dtype).unsqueeze(-1) * u.to(dtype)
    return y.to(u.dtype)
