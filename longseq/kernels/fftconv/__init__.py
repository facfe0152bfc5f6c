"""Causal FFT convolution ops. ``reference.py`` is the specification; ``triton.py`` the fused
Triton kernel (imported only when used, so this package imports without triton)."""

from __future__ import annotations

import torch

from longseq.kernels.fftconv.reference import fft_size, fftconv_h3_ref, fftconv_ref

# longest sequence the fused kernel holds on chip (FFT size 16384, as the H3 CUDA op)
FUSED_MAX_LEN = 8192
_TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


def triton_unsupported(x: torch.Tensor) -> str | None:
    """Why the Triton kernel cannot take the [..., L] input ``x`` (None when it can)."""
    if x.dtype not in _TRITON_DTYPES:
        return f"dtype {x.dtype} is not supported (fp16, bf16, fp32); the reference handles fp64"
    if x.shape[-1] > FUSED_MAX_LEN:
        return f"L={x.shape[-1]} > {FUSED_MAX_LEN}, the longest sequence the fused kernel holds on chip"
    return None


__all__ = ["FUSED_MAX_LEN", "fft_size", "fftconv_h3_ref", "fftconv_ref", "triton_unsupported"]
