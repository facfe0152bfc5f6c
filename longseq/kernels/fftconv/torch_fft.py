"""Causal FFT convolution in torch with a hand-written backward: the same function as
:func:`~longseq.kernels.fftconv.reference.fftconv_ref`, the op :func:`longseq.kernels.fftconv`
runs where the fused Triton kernel does not (CPU, fp64, long sequences).

Autograd through ``irfft(rfft(u) * rfft(k))`` differentiates each FFT separately: the backward of
a one-sided ``rfft`` is a full complex FFT of the padded size, two of them per call, plus the
complex products' backward. The backward here needs one ``rfft`` of the output gradient and one
``irfft`` per input gradient, reusing the spectra the forward computed (n >= 2L, so none wraps):

    du = irfft(rfft(dy) * conj(rfft(k)))[:L] + D dy        (anti-causal correlation with k)
    dk = irfft(sum_batch rfft(dy) * conj(rfft(u)))[:Lk]     (correlation of dy with u)
    dD = sum_(batch, t) dy * u
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from longseq.kernels.fftconv.reference import compute_dtype, fft_size


class _CausalFFTConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None) -> torch.Tensor:
        L = u.shape[-1]
        n = fft_size(L)
        U = torch.fft.rfft(u, n=n)
        Kf = torch.fft.rfft(k, n=n)
        y = torch.fft.irfft(U * Kf, n=n)[..., :L]
        if D is not None:
            y = y + u * D.unsqueeze(-1)
        # u only serves dD: without a skip term the spectrum U is all the backward keeps of it
        ctx.save_for_backward(u if D is not None else None, U, Kf, D)
        ctx.kernel_len = k.shape[-1]
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        u, U, Kf, D = ctx.saved_tensors
        H, L = dy.shape[-2], dy.shape[-1]
        n = fft_size(L)
        G = torch.fft.rfft(dy, n=n)
        du = dk = dD = None
        if ctx.needs_input_grad[0]:
            du = torch.fft.irfft(G * Kf.conj(), n=n)[..., :L]
            if D is not None:
                du = du + dy * D.unsqueeze(-1)
        if ctx.needs_input_grad[1]:
            cross = (G * U.conj()).reshape(-1, H, G.shape[-1]).sum(0)  # the sum commutes with irfft
            dk = torch.fft.irfft(cross, n=n)[..., : ctx.kernel_len]
        if D is not None and ctx.needs_input_grad[2]:
            dD = (dy * u).reshape(-1, H, L).sum((0, 2))
        return du, dk, dD


def fftconv_torch(u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None = None) -> torch.Tensor:
    """Causal long convolution of ``u`` with one kernel per channel, plus the skip term.

    Args:
        u: [..., H, L] input, any float dtype (fp64 computed in fp64, the rest in fp32).
        k: [H, Lk] kernel; entries past L are ignored, a shorter kernel is zero-padded.
        D: [H] skip weight, or None.

    Returns:
        [..., H, L] in ``u.dtype``: ``fftconv_ref(u, k, D)``, with gradients for u, k and D
        (first order only).
    """
    if u.shape[-2] != k.shape[0]:
        raise ValueError(f"fftconv: u has {u.shape[-2]} channels but k has {k.shape[0]}")
    L = u.shape[-1]
    dtype = compute_dtype(u.dtype)
    with torch.autocast(device_type=u.device.type, enabled=False):
        skip = None if D is None else D.to(dtype)
        y = _CausalFFTConv.apply(u.to(dtype), k[..., :L].to(dtype), skip)
    return y.to(u.dtype)
