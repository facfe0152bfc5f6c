"""Causal FFT convolution ops. ``reference.py`` is the specification; ``triton.py`` the fused
Triton kernel (imported only when used, so this package imports without triton)."""

from __future__ import annotations

import torch

from longseq.kernels.fftconv.reference import fft_size, fftconv_h3_ref, fftconv_ref

# longest sequence the fused kernel holds on chip (FFT size 16384, as the H3 CUDA op)
FUSED_MAX_LEN = 8192
_TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


# fp32 tiles are twice as wide: compiled for sm_80 / sm_90 (longseq.kernels.fftconv.aot) the
# fp32 backward needs 152 KB of shared memory at L = 2048 but 248 KB at 4096 (the opt-in limit is
# 163 KB on sm_80, 227 KB on sm_90); fp16/bf16 need at most 144 KB at 8192.
_MAX_LEN_BY_DTYPE = {
    torch.float32: 2048,
    torch.float16: FUSED_MAX_LEN,
    torch.bfloat16: FUSED_MAX_LEN,
}
# GPUs with ~100 KB of shared memory per block (sm_86, sm_89, sm_120): half the length
_SMALL_SHARED_ARCHS = (86, 87, 89, 120, 121)


def fused_max_len(dtype: torch.dtype, arch: int | None = None) -> int:
    """Longest sequence the fused kernel takes for ``dtype`` on compute capability ``arch``
    (major x 10 + minor; None: an sm_80 / sm_90 class GPU). Longer ones go to the reference."""
    limit = _MAX_LEN_BY_DTYPE.get(dtype, 0)
    return limit // 2 if arch in _SMALL_SHARED_ARCHS else limit


def _arch(device: torch.device) -> int | None:
    if device.type != "cuda":
        return None
    major, minor = torch.cuda.get_device_capability(device)
    return 10 * major + minor


def triton_unsupported(x: torch.Tensor) -> str | None:
    """Why the Triton kernel cannot take the [..., L] input ``x`` (None when it can)."""
    if x.dtype not in _TRITON_DTYPES:
        return f"dtype {x.dtype} is not supported (fp16, bf16, fp32); the reference handles fp64"
    limit = fused_max_len(x.dtype, _arch(x.device))
    if x.shape[-1] > limit:
        return (
            f"L={x.shape[-1]} > {limit}, the longest {str(x.dtype).removeprefix('torch.')} "
            "sequence "
            "the fused kernel holds in shared memory"
        )
    return None


__all__ = [
    "FUSED_MAX_LEN",
    "fused_max_len",
    "fft_size",
    "fftconv_h3_ref",
    "fftconv_ref",
    "triton_unsupported",
]
