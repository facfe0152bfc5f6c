"""Causal FFT convolution: the specification (pure PyTorch, docs/h3.md §3.1).

    y[..., h, t] = sum_{s=0}^{t} k[h, s] * u[..., h, t - s]  +  D[h] * u[..., h, t]

Computed as irfft(rfft(u, n) * rfft(k, n))[:L] with n >= 2L (:func:`fft_size`): the padding
turns the circular convolution into a linear (causal) one, for any L, odd included. The FFT runs
in fp32 (autocast off) and the result is cast back to the input dtype (fp64 inputs in fp64).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def fft_size(length: int) -> int:
    """FFT length for a causal convolution of ``length`` samples: the smallest even n >= 2L with
    no prime factor above 5 (any n >= 2L - 1 gives the same linear convolution). pocketfft and
    cuFFT take any size, but one with a large prime factor is slow: on CPU (one thread, forward
    and backward) n = 16382 = 2 x 8191 takes 2.7x the time of 16384, and at L = 21 the
    42 = 2 x 3 x 7 points take 1.5x the time of 48 (``scripts/fft_size_timing.py``)."""
    n = max(2, 2 * length)
    while True:
        rest = n
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return n
        n += 2


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """fp64 stays fp64 (for tests); every other float type is computed in fp32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def fftconv_ref(u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None = None) -> torch.Tensor:
    """Causal long convolution of ``u`` with one kernel per channel, plus the skip term.

    Args:
        u: [..., H, L] input, any float dtype.
        k: [H, Lk] kernel; entries past L are ignored, a shorter kernel is zero-padded.
        D: [H] skip weight, or None.

    Returns:
        [..., H, L] in ``u.dtype``.
    """
    if u.shape[-2] != k.shape[0]:
        raise ValueError(f"fftconv: u has {u.shape[-2]} channels but k has {k.shape[0]}")
    L = u.shape[-1]
    n = fft_size(L)
    dtype = compute_dtype(u.dtype)
    with torch.autocast(device_type=u.device.type, enabled=False):
        uf = torch.fft.rfft(u.to(dtype), n=n)
        kf = torch.fft.rfft(k[..., :L].to(dtype), n=n)
        y = torch.fft.irfft(uf * kf, n=n)[..., :L]
        if D is not None:
            y = y + u.to(dtype) * D.to(dtype).unsqueeze(-1)
    return y.to(u.dtype)


def fftconv_h3_ref(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    K: torch.Tensor,
    D: torch.Tensor,
    head_dim: int,
    conv: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor] | None = None,
) -> torch.Tensor:
    """The H3 inner operation (docs/h3.md §1.5): gate, per-head long convolution, skip, output gate.

    With H = C / head_dim heads and i, j < head_dim:
        kv[h, i, j, t] = k[h*head_dim + i, t] * v[h*head_dim + j, t]
        s[h, i, j, :]  = K[h] * kv[h, i, j, :] + D[h] * kv[h, i, j, :]      (causal conv)
        y[h*head_dim + j, t] = sum_i q[h*head_dim + i, t] * s[h, i, j, t]

    Args:
        q, k, v: [B, C, L] (k is the shift-SSM output).
        K: [H, Lk] diagonal-SSM kernel per head; D: [H].
        head_dim: channels per head.
        conv: the causal convolution used (same signature and result as :func:`fftconv_ref`,
            the default).

    Returns:
        y: [B, C, L] in ``q.dtype``.
    """
    Bsz, C, L = q.shape
    H = C // head_dim
    if H * head_dim != C or K.shape[0] != H:
        raise ValueError(
            f"fftconv_h3: {C} channels, head_dim={head_dim}, kernel has {K.shape[0]} heads"
        )
    conv = conv or fftconv_ref
    if head_dim == 1:
        return q * conv(k * v, K, D)
    kh = k.reshape(Bsz, H, head_dim, 1, L)
    vh = v.reshape(Bsz, H, 1, head_dim, L)
    kv = (kh * vh).reshape(Bsz, H, head_dim * head_dim, L).transpose(1, 2)  # [B, i*j, H, L]
    s = conv(kv, K, D).transpose(1, 2).reshape(Bsz, H, head_dim, head_dim, L)
    y = (q.reshape(Bsz, H, head_dim, 1, L) * s).sum(dim=2)  # [B, H, j, L]
    return y.reshape(Bsz, C, L)
