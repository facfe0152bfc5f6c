"""The inference cache: one state object per layer, created by the layers themselves.

Prefill (a forward pass with a fresh cache) leaves each state as if the prompt had been stepped
through token by token; ``step`` then advances one token. States are updated in place where the
shapes allow it, so a decode step can later be captured in a CUDA graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class H3State:
    """Shift-SSM window [B, C, N] (real) and diagonal-SSM state [B, head_dim^2, H, N/2] (complex),
    plus the discretised parameters, computed once per generation."""

    shift: torch.Tensor
    diag: torch.Tensor
    dA: torch.Tensor
    dB: torch.Tensor
    C: torch.Tensor


@dataclass
class S4DState:
    """Diagonal-SSM state [B, C, N/2] (complex) and the discretised parameters."""

    diag: torch.Tensor
    dA: torch.Tensor
    dB: torch.Tensor
    C: torch.Tensor


@dataclass
class AttentionState:
    """Preallocated keys and values [B, n_heads, max_len, head_size]."""

    k: torch.Tensor
    v: torch.Tensor


@dataclass
class HyenaState:
    """Short-conv window [B, 3C, short-1], the long-conv input history [B, C, max_len] and the
    implicit filter [C, max_len] evaluated once. A long filter has no compact state: a step
    costs O(t C)."""

    window: torch.Tensor
    history: torch.Tensor
    filter: torch.Tensor


LayerState = H3State | S4DState | AttentionState | HyenaState


@dataclass
class InferenceCache:
    """Per-layer states and the number of tokens already consumed (``seqlen_offset``)."""

    states: list[LayerState]
    batch_size: int
    max_len: int
    seqlen_offset: int = 0
    extra: dict[str, torch.Tensor] = field(default_factory=dict)

    def check_room(self, n_new: int) -> None:
        """Raise ValueError if ``n_new`` more tokens do not fit in ``max_len``."""
        if self.seqlen_offset + n_new > self.max_len:
            raise ValueError(
                f"inference cache holds {self.max_len} tokens; {self.seqlen_offset} used, {n_new} more requested"
            )
