"""Lean recurrent decode steps of the diagonal (S4D) and shift SSMs: the same maps as
:func:`~longseq.kernels.ssm.reference.s4d_step_ref` and
:func:`~longseq.kernels.ssm.reference.shift_step_ref`, arranged for a batch-1 decode step, whose
cost is the number of small operations rather than their arithmetic.

- Everything that does not depend on the token is computed once per generation
  (:func:`s4d_decode_params`, :func:`shift_decode_params`) and kept in the inference cache.
- The output is read from the state *before* the update, with the token's contribution folded
  into one skip coefficient:

      S4D:    y_t = 2 Re(C . x_t) + D u_t = 2 Re((C dA) . x_{t-1}) + (2 Re(C . dB) + D) u_t
      shift:  y_t = C . x_t + D u_t        = C[1:] . x_{t-1}[:-1]  + (C . B + D) u_t

  so each SSM costs one reduction (real pairs: the complex state viewed as [..., 2M] real
  against (Re, -Im) of 2 C dA) and one fused multiply-add.
- The state advances in place (complex ``mul_``/``addcmul_``; the shift through a preallocated
  work buffer), so a step makes no new state tensor.

Derivation: substitute the update x_t = dA x_{t-1} + dB u_t (shift: x_t = shift(x_{t-1}) + B u_t,
whose first entry is B[0] u_t and whose entry n >= 1 is x_{t-1}[n-1] + B[n] u_t) into the
output equation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = [
    "S4DDecodeParams",
    "ShiftDecodeParams",
    "s4d_decode_params",
    "s4d_decode_step",
    "shift_decode_params",
    "shift_decode_step",
]


@dataclass
class S4DDecodeParams:
    """Token-independent tensors of a diagonal-SSM decode step (H heads, M complex modes).

    dA, dB: [H, M] complex. W: [H, 2M] real, the (Re, -Im) pairs of 2 C dA, so that
    ``view_as_real(x).flatten(-2) @ W[h]`` = 2 Re((C dA) . x). D1: [H] real, 2 Re(C . dB) + D.
    """

    dA: torch.Tensor
    dB: torch.Tensor
    W: torch.Tensor
    D1: torch.Tensor

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.dA, self.dB, self.W, self.D1))


@dataclass
class ShiftDecodeParams:
    """Token-independent tensors of a shift-SSM decode step (H channels, N taps).

    B: [H, N]. C1: [H, N-1] = C[:, 1:]. D1: [H] = C . B + D.
    """

    B: torch.Tensor
    C1: torch.Tensor
    D1: torch.Tensor

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.B, self.C1, self.D1))


@torch.no_grad()
def s4d_decode_params(dA: torch.Tensor, dB: torch.Tensor, C: torch.Tensor, D: torch.Tensor) -> S4DDecodeParams:
    """dA, dB, C: [H, M] complex; D: [H] real (cast to dA's real dtype)."""
    H, M = dA.shape
    W = torch.view_as_real((2 * C * dA).conj().resolve_conj()).reshape(H, 2 * M).contiguous()
    D1 = 2 * (C * dB).sum(-1).real + D.to(dA.real.dtype)
    return S4DDecodeParams(dA=dA.detach().contiguous(), dB=dB.detach().contiguous(), W=W, D1=D1.contiguous())


def s4d_decode_step(x: torch.Tensor, u: torch.Tensor, p: S4DDecodeParams) -> torch.Tensor:
    """One step of the diagonal SSM: x [..., H, M] complex (contiguous) is advanced in place;
    u [..., H] real in p.W's dtype -> y [..., H]."""
    xr = torch.view_as_real(x).flatten(-2)  # [..., H, 2M], a view
    y = torch.einsum("...hk,hk->...h", xr, p.W)
    y.addcmul_(p.D1, u)
    x.mul_(p.dA)
    x.addcmul_(p.dB, u.unsqueeze(-1))
    return y


@torch.no_grad()
def shift_decode_params(B: torch.Tensor, C: torch.Tensor, D: torch.Tensor) -> ShiftDecodeParams:
    """B, C: [H, N]; D: [H] (all in the compute dtype)."""
    return ShiftDecodeParams(
        B=B.detach().contiguous(), C1=C.detach()[:, 1:].contiguous(), D1=((B * C).sum(-1) + D).detach()
    )


def shift_decode_step(x: torch.Tensor, u: torch.Tensor, p: ShiftDecodeParams, work: torch.Tensor) -> torch.Tensor:
    """One step of the shift SSM: x [..., H, N] is advanced in place (``work``: a buffer of
    x[..., :-1]'s shape); u [..., H] -> y [..., H]."""
    old = x[..., :-1]
    y = torch.einsum("...hn,hn->...h", old, p.C1)
    y.addcmul_(p.D1, u)
    u1 = u.unsqueeze(-1)
    torch.addcmul(old, p.B[:, 1:], u1, out=work)
    x[..., 1:].copy_(work)
    torch.mul(p.B[:, 0], u, out=x[..., 0])
    return y
