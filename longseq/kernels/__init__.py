"""Kernels the models call: pure functions on tensors (torch only; Triton where available).

Every op here has a pure-PyTorch reference (``*_ref``) that is its specification. ``fftconv`` and
``fftconv_h3`` dispatch through :mod:`longseq.kernels.dispatch`; the SSM ops are reference-only.
"""

from __future__ import annotations

import torch

from longseq.kernels.dispatch import choose_backend
from longseq.kernels.fftconv.reference import fftconv_h3_ref, fftconv_ref
from longseq.kernels.ssm.reference import (
    s4d_discretize_ref as s4d_discretize,
    s4d_kernel_ref as s4d_kernel,
    s4d_state_ref as s4d_state,
    s4d_step_ref as s4d_step,
    shift_kernel_ref as shift_kernel,
    shift_state_ref as shift_state,
    shift_step_ref as shift_step,
)


def fftconv(u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None = None) -> torch.Tensor:
    """Causal convolution ``u: [..., H, L]`` with ``k: [H, Lk]`` plus ``D: [H]`` skip; see fftconv_ref."""
    choose_backend("fftconv", u.device, has_triton_impl=False)
    return fftconv_ref(u, k, D)


def fftconv_h3(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, K: torch.Tensor, D: torch.Tensor, head_dim: int
) -> torch.Tensor:
    """The fused H3 inner op on ``[B, C, L]`` tensors; see fftconv_h3_ref."""
    choose_backend("fftconv_h3", q.device, has_triton_impl=False)
    return fftconv_h3_ref(q, k, v, K, D, head_dim)


__all__ = [
    "fftconv",
    "fftconv_h3",
    "s4d_discretize",
    "s4d_kernel",
    "s4d_state",
    "s4d_step",
    "shift_kernel",
    "shift_state",
    "shift_step",
]
