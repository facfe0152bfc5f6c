"""The chunk-to-chunk recurrence of state passing: the state before every chunk.

With e_c the state a chunk would end in from a zero start and lam = dA^T (one chunk's decay),
the state before chunk c is s_0 = s0, s_{c+1} = lam * s_c + e_c, per (batch, head, mode) lane.
It is the only sequential part of state passing: O(nc M) work over nc = L / T chunks.

- :func:`carried_states_ref` is the specification: a loop that autograd records (2 ops per chunk
  forward, ~5 backward).
- :func:`carried_states_torch`: the same loop outside autograd with the backward written out (the
  adjoint recurrence a_nc = dz, a_c = dS_c + conj(lam) a_{c+1}; de_c = a_{c+1},
  dlam = sum_c a_{c+1} conj(s_c), ds0 = a_0), so a 4,096-chunk sequence does not leave 8,000
  autograd nodes. Pure torch, any device.
- :func:`carried_states` dispatches: the Triton scan (``carried_states_triton.py``: one program per
  (batch, head, block of modes), the whole loop in registers) for complex64 inputs on CUDA, the
  torch loop elsewhere; a failed Triton launch falls back with one warning.

Shapes: e [..., H, nc, M] complex; lam [H, M]; s0 broadcastable to [..., H, M] or None (zero).
Returns (states [..., H, nc, M]: the state before each chunk, final [..., H, M]: after the last).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from longseq.kernels.dispatch import (
    choose_backend,
    fallback_allowed,
    launch_failed,
    triton_or_reference,
)


def carried_states_ref(
    e: torch.Tensor, lam: torch.Tensor, s0: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The recurrence as autograd sees it (the specification)."""
    s = torch.zeros_like(e[..., 0, :]) if s0 is None else s0.to(e.dtype).expand_as(e[..., 0, :])
    states = []
    # unbind, not e[..., c, :]: the backward of one unbind is one stack, while each indexing
    # op's backward writes a full-size zero tensor (quadratic in nc: 122 s instead of 1 s at 256K)
    for e_c in e.unbind(-2):
        states.append(s)
        s = lam * s + e_c
    return torch.stack(states, dim=-2), s


def _check(e: torch.Tensor, lam: torch.Tensor, s0: torch.Tensor | None) -> None:
    if e.dim() < 3 or not e.is_complex() or lam.shape != (e.shape[-3], e.shape[-1]):
        raise ValueError(
            f"carried_states: e {tuple(e.shape)} must be complex [..., H, nc, M] with lam [H, M]; "
            f"got lam {tuple(lam.shape)}"
        )
    if e.shape[-2] == 0:
        raise ValueError("carried_states: e has no chunks (nc = 0)")
    if s0 is not None:
        try:
            torch.broadcast_shapes(s0.shape, e[..., 0, :].shape)
        except RuntimeError:
            raise ValueError(
                f"carried_states: s0 {tuple(s0.shape)} does not broadcast to "
                f"{tuple(e[..., 0, :].shape)}"
            ) from None


def scan_forward_torch(
    e: torch.Tensor, lam: torch.Tensor, s0: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(states, final) by a loop outside autograd; lam already in e's dtype."""
    lane = e[..., 0, :]
    s = torch.zeros_like(lane) if s0 is None else s0.to(e.dtype).expand_as(lane).clone()
    states = torch.empty_like(e)
    for c in range(e.shape[-2]):
        states[..., c, :] = s
        s = torch.addcmul(e[..., c, :], lam, s)
    return states, s


def scan_backward_torch(
    dstates: torch.Tensor, dfinal: torch.Tensor, lam: torch.Tensor, states: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(de, dlam, ds0 [..., H, M]) from the gradients of the states and of the final state
    (PyTorch's complex convention: d/d(re) + i d/d(im)); dlam summed to any shape it broadcasts
    to [..., H, M] from (the caller sums it to [H, M])."""
    de = torch.empty_like(dstates)
    lam_conj = lam.conj()
    a = dfinal
    for c in range(dstates.shape[-2] - 1, -1, -1):
        de[..., c, :] = a
        a = torch.addcmul(dstates[..., c, :], lam_conj, a)
    return de, (de * states.conj()).sum(-2), a


ScanForward = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor]
]
ScanBackward = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    tuple[torch.Tensor, torch.Tensor, torch.Tensor],
]


class CarriedStatesFn(torch.autograd.Function):
    """The recurrence as one autograd node, its two passes given (torch loops or Triton
    kernels): ``apply(e, lam, s0, forward_pass, backward_pass)``."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        e: torch.Tensor,
        lam: torch.Tensor,
        s0: torch.Tensor | None,
        forward_pass: ScanForward,
        backward_pass: ScanBackward,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lam_e = lam.to(e.dtype)
        states, final = forward_pass(e, lam_e, s0)
        ctx.save_for_backward(lam_e, states)
        ctx.backward_pass = backward_pass
        ctx.s0_shape = None if s0 is None else s0.shape
        ctx.lam_shape, ctx.lam_dtype = lam.shape, lam.dtype
        return states, final

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any, dstates: torch.Tensor, dfinal: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, None, None]:
        lam, states = ctx.saved_tensors
        try:
            de, dlam, ds0 = ctx.backward_pass(dstates, dfinal, lam, states)
        except Exception as exc:  # a kernel that cannot launch: never a crash mid-run
            if ctx.backward_pass is scan_backward_torch or not fallback_allowed():
                raise
            launch_failed("carried_states backward", exc)
            de, dlam, ds0 = scan_backward_torch(dstates, dfinal, lam, states)
        ds0_out = None if ctx.s0_shape is None else ds0.sum_to_size(ctx.s0_shape)
        return de, dlam.sum_to_size(ctx.lam_shape).to(ctx.lam_dtype), ds0_out, None, None


def carried_states_torch(
    e: torch.Tensor, lam: torch.Tensor, s0: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`carried_states_ref` as one autograd node (the loop runs outside autograd)."""
    _check(e, lam, s0)
    states, final = CarriedStatesFn.apply(e, lam, s0, scan_forward_torch, scan_backward_torch)
    return states, final


def carried_states_triton(
    e: torch.Tensor, lam: torch.Tensor, s0: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`carried_states_ref` by the Triton scan (``carried_states_triton.py``), forward
    and backward; e complex64 on CUDA (or in Triton's interpreter)."""
    from longseq.kernels.ssm.carried_states_triton import scan_backward_triton, scan_forward_triton

    _check(e, lam, s0)
    reason = triton_unsupported(e)
    if reason is not None:
        raise ValueError(f"carried_states (triton): {reason}")
    states, final = CarriedStatesFn.apply(e, lam, s0, scan_forward_triton, scan_backward_triton)
    return states, final


def triton_unsupported(e: torch.Tensor) -> str | None:
    """Why the Triton scan cannot take ``e`` (None when it can)."""
    if e.dtype != torch.complex64:
        return f"dtype {e.dtype} is not supported (complex64 only)"
    return None


def carried_states(
    e: torch.Tensor, lam: torch.Tensor, s0: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The state before each chunk and after the last (see the module docstring); Triton on
    CUDA, the torch loop elsewhere."""
    _check(e, lam, s0)
    if choose_backend("carried_states", e.device, True, triton_unsupported(e)) == "triton":
        return triton_or_reference(
            "carried_states",
            lambda: carried_states_triton(e, lam, s0),
            lambda: carried_states_torch(e, lam, s0),
        )
    return carried_states_torch(e, lam, s0)


__all__ = [
    "CarriedStatesFn",
    "carried_states",
    "carried_states_ref",
    "carried_states_torch",
    "carried_states_triton",
    "scan_backward_torch",
    "scan_forward_torch",
    "triton_unsupported",
]
