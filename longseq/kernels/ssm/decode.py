"""Lean recurrent decode steps of the diagonal (S4D) and shift SSMs: the same maps as
:func:`~longseq.kernels.ssm.reference.s4d_step_ref` and
:func:`~longseq.kernels.ssm.reference.shift_step_ref`, arranged for a batch-1 decode step, whose
cost is the number of small operations rather than their arithmetic.

- Everything that does not depend on the token is computed once per generation
  (:func:`s4d_decode_params`, :func:`shift_decode_params`) and kept in the inference cache.
- The output is read from the state *before* the update, with the token's contribution folded
  into one skip coefficient:

      S4D:    y_t = 2 Re(C . x_t) + D u_t = 2 Re((C dA) . x_{t-1}) + (2 Re(C . dB) + D) u_t

  (substitute x_t = dA x_{t-1} + dB u_t), so the S4D output costs one reduction (real pairs: the
  complex state viewed as [..., 2M] real against (Re, -Im) of 2 C dA) and one multiply-add; the
  state advances in place (a complex ``mul_`` by dA, then dB u added to its real view).
- The shift SSM is a causal filter of N taps, y_t = sum_{s<N} K[s] u_{t-s} + D u_t with
  K = :func:`shift_kernel_ref` (B, C), so its decode state is the last N inputs, kept in a ring
  (input of position p in slot p mod N, :func:`shift_ring`): a step writes one slot and takes one
  dot product with a slice of the reversed kernel stored twice (no shift of the state, and one
  [H, N] parameter read instead of B and C).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from longseq.kernels.ssm.reference import shift_kernel_ref

__all__ = [
    "S4DDecodeParams",
    "ShiftDecodeParams",
    "s4d_decode_params",
    "s4d_decode_step",
    "shift_decode_params",
    "shift_decode_step",
    "shift_ring",
]


@dataclass
class S4DDecodeParams:
    """Token-independent tensors of a diagonal-SSM decode step (H heads, M complex modes).

    dA: [H, M] complex. dB: [H, 2M] real, dB's (Re, Im) pairs (the state's real view gains
    dB u with one real multiply-add). W: [H, 2M] real, the (Re, -Im) pairs of 2 C dA, so that
    ``(view_as_real(x).flatten(-2) * W).sum(-1)`` = 2 Re((C dA) . x). D1: [H] real,
    2 Re(C . dB) + D.
    """

    dA: torch.Tensor
    dB: torch.Tensor
    W: torch.Tensor
    D1: torch.Tensor

    def bytes_read(self) -> int:
        """Bytes one step reads from these tensors (all of them)."""
        return sum(t.numel() * t.element_size() for t in (self.dA, self.dB, self.W, self.D1))


@dataclass
class ShiftDecodeParams:
    """Token-independent tensor of a shift-SSM decode step (H channels, N taps).

    taps: [H, 2N], the kernel K with D added to its lag-0 tap, reversed and stored twice:
    ``taps[:, i] = K[(N - 1 - i) mod N]``. The ring slot j holds the input of lag (t - j) mod N at
    position t, whose tap is ``taps[:, c + j]`` with c = (N - 1 - t) mod N: one contiguous slice.
    """

    taps: torch.Tensor

    def bytes_read(self) -> int:
        """Bytes one step reads from ``taps``: one slice of N of its 2N columns."""
        return self.taps.numel() * self.taps.element_size() // 2


@torch.no_grad()
def s4d_decode_params(
    dA: torch.Tensor, dB: torch.Tensor, C: torch.Tensor, D: torch.Tensor
) -> S4DDecodeParams:
    """dA, dB, C: [H, M] complex; D: [H] real (cast to dA's real dtype)."""
    H, M = dA.shape
    W = torch.view_as_real((2 * C * dA).conj().resolve_conj()).reshape(H, 2 * M).contiguous()
    D1 = 2 * (C * dB).sum(-1).real + D.to(dA.real.dtype)
    return S4DDecodeParams(
        dA=dA.detach().contiguous(),
        dB=torch.view_as_real(dB.detach()).reshape(H, 2 * M).contiguous(),
        W=W,
        D1=D1.contiguous(),
    )


def s4d_decode_step(x: torch.Tensor, u: torch.Tensor, p: S4DDecodeParams) -> torch.Tensor:
    """One step of the diagonal SSM: x [..., H, M] complex (contiguous) is advanced in place;
    u [..., H] real in p.W's dtype -> y [..., H]."""
    xr = torch.view_as_real(x).flatten(-2)  # [..., H, 2M], a view
    y = (xr * p.W).sum(-1)  # (a multiply and a sum beat einsum's batched matmul at these sizes)
    y.addcmul_(p.D1, u)
    x.mul_(p.dA)
    xr.addcmul_(p.dB, u.unsqueeze(-1))  # the real view: half the work of a complex multiply-add
    return y


@torch.no_grad()
def shift_decode_params(B: torch.Tensor, C: torch.Tensor, D: torch.Tensor) -> ShiftDecodeParams:
    """B, C: [H, N]; D: [H] (all in the compute dtype)."""
    N = B.shape[-1]
    K = shift_kernel_ref(B.detach(), C.detach(), N)
    K[:, 0] += D.detach()
    rev = K.flip(-1)
    return ShiftDecodeParams(taps=torch.cat([rev, rev], dim=-1))


def shift_ring(recent: torch.Tensor, length: int, N: int) -> torch.Tensor:
    """The shift SSM's decode state after ``length`` inputs, of which ``recent`` [..., H, R] are
    the last R (positions length-R .. length-1; R may be 0): the last N inputs in a ring
    [..., H, N], input of position p in slot p mod N, zero for p < 0."""
    last = recent[..., max(0, recent.shape[-1] - N) :]
    last = torch.nn.functional.pad(last, (N - last.shape[-1], 0))  # positions length-N .. length-1
    return torch.roll(last, shifts=(length - N) % N, dims=-1)


def shift_decode_step(
    ring: torch.Tensor, u: torch.Tensor, p: ShiftDecodeParams, offset: int | torch.Tensor
) -> torch.Tensor:
    """One step of the shift SSM at position ``offset``: ring [..., H, N] (:func:`shift_ring`) is
    advanced in place; u [..., H] -> y [..., H].

    ``offset`` as a 0-d tensor gives the static-shape form a CUDA graph can capture (the slot
    and the taps are then indexed on the device)."""
    N = ring.shape[-1]
    if isinstance(offset, torch.Tensor):
        ring.index_copy_(-1, (offset % N).reshape(1), u.unsqueeze(-1))
        index = torch.arange(N, device=ring.device) + (N - 1 - offset) % N
        taps = p.taps.index_select(1, index)
    else:
        ring[..., offset % N] = u
        c = (N - 1 - offset) % N
        taps = p.taps[:, c : c + N]
    return (ring * taps).sum(-1)
