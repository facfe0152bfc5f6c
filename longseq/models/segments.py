"""Run a sequence mixer over a long sequence one segment at a time, carrying its state.

A time-invariant SSM layer is exactly a function of (segment input, state before it) that returns
(segment output, state after it). Run segment by segment, with each segment checkpointed when
gradients are needed, the layer keeps only the segment inputs and the small carried states for the
backward; the backward recomputes one segment at a time in reverse order and passes the state's
gradient back through the chain — the same gradients as the whole-sequence computation, with
memory for one segment's intermediates instead of L's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch.utils.checkpoint import checkpoint

SegmentFn = Callable[..., tuple[torch.Tensor, ...]]


def run_segments(
    fn: SegmentFn, u: torch.Tensor, state: tuple[torch.Tensor | None, ...], segment: int
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """``fn(u_seg [B, S, C], *state) -> (y_seg [B, S, C'], *new_state)`` over segments of
    ``segment`` positions of ``u: [B, L, C]``; returns (y [B, L, C'], final state).

    A ``None`` in the initial state stands for zeros (``fn`` must accept it). With gradients
    enabled and more than one segment, every segment is checkpointed.
    """
    L = u.shape[1]
    remember = torch.is_grad_enabled() and L > segment
    outs = []
    # split, not u[:, a:b]: one split's backward is one cat, while each slice's backward writes a
    # zero tensor the size of u (quadratic in the number of segments)
    for u_seg in u.split(segment, dim=1):
        if remember:
            out, *rest = checkpoint(fn, u_seg, *state, use_reentrant=False)
        else:
            out, *rest = fn(u_seg, *state)
        state = tuple(rest)
        outs.append(out)
    # after one segment every state entry is a tensor (fn returns no None)
    return (outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)), cast(
        tuple[torch.Tensor, ...], state
    )
