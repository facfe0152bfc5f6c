"""Triton scan for the carried states of state passing (spec: ``carried_states_ref``).

One program per (batch x head, block of modes) runs the whole recurrence s_{c+1} = lam s_c + e_c
over the nc chunks with the state in registers: two complex loads and two stores per chunk and
lane, against the torch loop's two kernel launches per chunk (on a GPU, ~4,000 chunks of a
million-token sequence would cost ~8,000 launches per layer and pass). The backward runs the
adjoint recurrence in reverse in the same way and writes each program's share of dlam, summed
over the batch by torch. Complex tensors are read as interleaved (re, im) fp32 pairs
(``torch.view_as_real``); complex64 only.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK_M = 32
NUM_WARPS = 1
_empty_like = torch.empty_like  # outputs: every element is written (tests swap in NaN fills)


# @triton.jit parameters other than tl.constexpr stay unannotated: Triton reads a parameter's
# annotation as a specialisation hint, so mypy is told to skip these definitions.
@triton.jit
def _program_lanes(LAM, H, M, BLOCK_M: tl.constexpr):  # type: ignore[no-untyped-def]
    """This program's (batch x head) index, its modes m and their mask, the [BH, M] offsets of
    its lanes, and lam (re, im) for its head."""
    bh = tl.program_id(0).to(tl.int64)
    m = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    mask = m < M
    lane = (bh % H) * M + m
    lr = tl.load(LAM + 2 * lane, mask=mask, other=0.0)
    li = tl.load(LAM + 2 * lane + 1, mask=mask, other=0.0)
    return bh, m, mask, bh * M + m, lr, li


@triton.jit
def _carried_states_fwd_kernel(  # type: ignore[no-untyped-def]
    E, LAM, S0, STATES, FINAL, H, NC, M, HAS_S0: tl.constexpr, BLOCK_M: tl.constexpr
):
    bh, m, mask, row, lr, li = _program_lanes(LAM, H, M, BLOCK_M)
    if HAS_S0:
        sr = tl.load(S0 + 2 * row, mask=mask, other=0.0)
        si = tl.load(S0 + 2 * row + 1, mask=mask, other=0.0)
    else:
        sr = tl.zeros([BLOCK_M], dtype=tl.float32)
        si = tl.zeros([BLOCK_M], dtype=tl.float32)
    base = bh * NC * M + m
    for c in range(NC):
        off = 2 * (base + c * M)
        tl.store(STATES + off, sr, mask=mask)
        tl.store(STATES + off + 1, si, mask=mask)
        er = tl.load(E + off, mask=mask, other=0.0)
        ei = tl.load(E + off + 1, mask=mask, other=0.0)
        sr, si = lr * sr - li * si + er, lr * si + li * sr + ei
    tl.store(FINAL + 2 * row, sr, mask=mask)
    tl.store(FINAL + 2 * row + 1, si, mask=mask)


@triton.jit
def _carried_states_bwd_kernel(  # type: ignore[no-untyped-def]
    DSTATES, DFINAL, LAM, STATES, DE, DLAM, DS0, H, NC, M, BLOCK_M: tl.constexpr
):
    bh, m, mask, row, lr, li = _program_lanes(LAM, H, M, BLOCK_M)
    ar = tl.load(DFINAL + 2 * row, mask=mask, other=0.0)
    ai = tl.load(DFINAL + 2 * row + 1, mask=mask, other=0.0)
    dlr = tl.zeros([BLOCK_M], dtype=tl.float32)
    dli = tl.zeros([BLOCK_M], dtype=tl.float32)
    base = bh * NC * M + m
    for i in range(NC):
        off = 2 * (base + (NC - 1 - i) * M)
        tl.store(DE + off, ar, mask=mask)
        tl.store(DE + off + 1, ai, mask=mask)
        sr = tl.load(STATES + off, mask=mask, other=0.0)
        si = tl.load(STATES + off + 1, mask=mask, other=0.0)
        gr = tl.load(DSTATES + off, mask=mask, other=0.0)
        gi = tl.load(DSTATES + off + 1, mask=mask, other=0.0)
        dlr += ar * sr + ai * si  # a conj(s)
        dli += ai * sr - ar * si
        ar, ai = gr + lr * ar + li * ai, gi + lr * ai - li * ar  # g + conj(lam) a
    tl.store(DS0 + 2 * row, ar, mask=mask)
    tl.store(DS0 + 2 * row + 1, ai, mask=mask)
    tl.store(DLAM + 2 * row, dlr, mask=mask)
    tl.store(DLAM + 2 * row + 1, dli, mask=mask)


def scan_forward_triton(
    e: torch.Tensor, lam: torch.Tensor, s0: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(states, final) by the forward kernel; lam complex64 [H, M]."""
    H, nc, M = e.shape[-3:]
    ec = e.contiguous()
    states = _empty_like(ec)
    final = _empty_like(ec[..., 0, :])
    s0_c = None if s0 is None else s0.to(e.dtype).expand_as(final).contiguous()
    _carried_states_fwd_kernel[(final.numel() // M, triton.cdiv(M, BLOCK_M))](
        torch.view_as_real(ec),
        torch.view_as_real(lam.contiguous()),
        torch.view_as_real(s0_c if s0_c is not None else final),
        torch.view_as_real(states),
        torch.view_as_real(final),
        H,
        nc,
        M,
        HAS_S0=s0_c is not None,
        BLOCK_M=BLOCK_M,
        num_warps=NUM_WARPS,
    )
    return states, final


def scan_backward_triton(
    dstates: torch.Tensor, dfinal: torch.Tensor, lam: torch.Tensor, states: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(de, dlam per batch lane [..., H, M], ds0) by the backward kernel."""
    H, nc, M = states.shape[-3:]
    dstates = dstates.to(torch.complex64).contiguous()
    dfinal = dfinal.to(torch.complex64).contiguous()
    de = _empty_like(states)
    ds0 = _empty_like(dfinal)
    dlam_parts = _empty_like(dfinal)
    _carried_states_bwd_kernel[(dfinal.numel() // M, triton.cdiv(M, BLOCK_M))](
        torch.view_as_real(dstates),
        torch.view_as_real(dfinal),
        torch.view_as_real(lam.contiguous()),
        torch.view_as_real(states),
        torch.view_as_real(de),
        torch.view_as_real(dlam_parts),
        torch.view_as_real(ds0),
        H,
        nc,
        M,
        BLOCK_M=BLOCK_M,
        num_warps=NUM_WARPS,
    )
    return de, dlam_parts, ds0


__all__ = ["BLOCK_M", "NUM_WARPS", "scan_backward_triton", "scan_forward_triton"]
