"""Kernels the models call: pure functions on tensors (torch only; Triton where available).

Every op here has a pure-PyTorch reference (``*_ref``) that is its specification. ``fftconv`` and
``fftconv_h3`` dispatch through :mod:`longseq.kernels.dispatch` (fused Triton kernel on CUDA,
``longseq.kernels.fftconv.triton``, imported on first use); the other SSM ops are pure torch.
``state_passing_conv`` computes the diagonal-SSM convolution in chunks with memory linear in L
(on CUDA its chunks go through the fused kernel and its chunk-to-chunk recurrence,
``carried_states``, through a Triton scan); ``overlap_save_conv`` does the same for a short
kernel (H3's shift SSM).
"""

from __future__ import annotations

import torch

from longseq.kernels.dispatch import choose_backend, triton_or_reference
from longseq.kernels.fftconv import fftconv_h3_ref, triton_unsupported
from longseq.kernels.fftconv.overlap_save import overlap_save_conv
from longseq.kernels.fftconv.torch_fft import fftconv_torch
from longseq.kernels.ssm import reference as _ssm_ref
from longseq.kernels.ssm.carried_states import carried_states
from longseq.kernels.ssm.decode import (
    s4d_decode_params,
    s4d_decode_step,
    shift_decode_params,
    shift_decode_step,
    shift_ring,
)
from longseq.kernels.ssm.state_passing import state_passing_conv as _state_passing_conv

# The SSM ops have only their reference so far: the public op name is the reference itself.
s4d_discretize = _ssm_ref.s4d_discretize_ref
s4d_kernel = _ssm_ref.s4d_kernel_ref
s4d_state = _ssm_ref.s4d_state_ref
s4d_step = _ssm_ref.s4d_step_ref
shift_kernel = _ssm_ref.shift_kernel_ref
shift_state = _ssm_ref.shift_state_ref
shift_step = _ssm_ref.shift_step_ref


def fftconv(u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None = None) -> torch.Tensor:
    """Causal convolution ``u: [..., H, L]`` with ``k: [H, Lk]`` plus ``D: [H]`` skip; see
    fftconv_ref."""
    if choose_backend("fftconv", u.device, True, triton_unsupported(u)) == "triton":
        from longseq.kernels.fftconv.triton import fftconv_triton

        return triton_or_reference(
            "fftconv", lambda: fftconv_triton(u, k, D), lambda: fftconv_torch(u, k, D)
        )
    return fftconv_torch(u, k, D)


def fftconv_h3(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    K: torch.Tensor,
    D: torch.Tensor,
    head_dim: int,
) -> torch.Tensor:
    """The fused H3 inner op on ``[B, C, L]`` tensors; see fftconv_h3_ref."""
    if choose_backend("fftconv_h3", q.device, True, triton_unsupported(q)) == "triton":
        from longseq.kernels.fftconv.triton import fftconv_h3_triton

        return triton_or_reference(
            "fftconv_h3",
            lambda: fftconv_h3_triton(q, k, v, K, D, head_dim),
            lambda: fftconv_h3_ref(q, k, v, K, D, head_dim, fftconv_torch),
        )
    return fftconv_h3_ref(q, k, v, K, D, head_dim, fftconv_torch)


def state_passing_conv(
    u: torch.Tensor,
    dA: torch.Tensor,
    W: torch.Tensor,
    D: torch.Tensor | None = None,
    chunk: int = 64,
    intra: str = "fft",
    return_state: bool = False,
    initial_state: torch.Tensor | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The diagonal-SSM convolution by state passing (see
    :func:`longseq.kernels.ssm.state_passing.state_passing_conv`), its within-chunk convolutions
    by :func:`fftconv` (the fused Triton kernel on CUDA) and its carried states by
    :func:`carried_states` (the Triton scan on CUDA)."""
    return _state_passing_conv(
        u, dA, W, D, chunk, intra, return_state, initial_state, chunk_conv=fftconv
    )


__all__ = [
    "carried_states",
    "fftconv",
    "fftconv_h3",
    "overlap_save_conv",
    "s4d_decode_params",
    "s4d_decode_step",
    "s4d_discretize",
    "s4d_kernel",
    "s4d_state",
    "s4d_step",
    "shift_decode_params",
    "shift_decode_step",
    "shift_kernel",
    "shift_ring",
    "shift_state",
    "shift_step",
    "state_passing_conv",
]
