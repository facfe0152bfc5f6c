"""The inference cache: one state object per layer, created by the layers themselves.

Prefill (a forward pass with a fresh cache) leaves each state as if the prompt had been stepped
through token by token; ``step`` then advances one token. States are updated in place where the
shapes allow it, so a decode step can later be captured in a CUDA graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from longseq.kernels.ssm.decode import S4DDecodeParams, ShiftDecodeParams


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


@dataclass
class H3DecodeParams:
    """What an H3 decode step needs besides its state, computed once per generation (at
    ``init_state``) from the layer's parameters: the q, k, v projections stacked into one
    [3C, C] matrix and [3C] bias (one matrix-vector product instead of three) and the shift and
    diagonal SSMs' step parameters (:mod:`longseq.kernels.ssm.decode`)."""

    in_weight: torch.Tensor
    in_bias: torch.Tensor
    shift: ShiftDecodeParams
    diag: S4DDecodeParams


@dataclass
class H3State:
    """Shift-SSM state [B, C, N] (real: the last N inputs of its channels, input of position p
    in slot p mod N) and diagonal-SSM state [B, head_dim^2, H, N/2] (complex), plus the
    discretised parameters and the decode step's, computed once per generation."""

    shift: torch.Tensor
    diag: torch.Tensor
    dA: torch.Tensor
    dB: torch.Tensor
    C: torch.Tensor
    decode: H3DecodeParams

    def bytes_read(self, position: int) -> int:
        """Bytes of state a decode step reads (the same at every ``position``): the two SSM
        states and the SSMs' step parameters (the stacked projection is counted with the
        parameters it copies)."""
        states = _nbytes(self.shift) + _nbytes(self.diag)
        return states + self.decode.shift.bytes_read() + self.decode.diag.bytes_read()


@dataclass
class S4DState:
    """Diagonal-SSM state [B, C, N/2] (complex), the discretised parameters and the decode
    step's, computed once per generation."""

    diag: torch.Tensor
    dA: torch.Tensor
    dB: torch.Tensor
    C: torch.Tensor
    decode: S4DDecodeParams

    def bytes_read(self, position: int) -> int:
        """Bytes of state a decode step reads: the SSM state and its step parameters."""
        return _nbytes(self.diag) + self.decode.bytes_read()


@dataclass
class AttentionState:
    """Preallocated keys and values [B, n_heads, max_len, head_size]."""

    k: torch.Tensor
    v: torch.Tensor

    def bytes_read(self, position: int) -> int:
        """Bytes a decode step at ``position`` reads: keys and values of positions 0..position."""
        B, n_heads, _, head_size = self.k.shape
        return 2 * B * n_heads * head_size * self.k.element_size() * (position + 1)


@dataclass
class HyenaState:
    """Short-conv taps [B, 3C, short] (the last short-1 projected inputs, oldest first, then a
    slot for the current one), the long-conv input history [B, C, max_len] and the implicit
    filter evaluated once, time-reversed: ``filter_rev[:, max_len - 1 - l] = h[:, l]`` [C, max_len],
    so the taps a step at position t needs are the contiguous tail ``filter_rev[:, -(t + 1):]``.
    A long filter has no compact state: a step costs O(t C)."""

    window: torch.Tensor
    history: torch.Tensor
    filter_rev: torch.Tensor

    def bytes_read(self, position: int) -> int:
        """Bytes a decode step at ``position`` reads: the taps, the history and filter up to it."""
        B, C = self.history.shape[:2]
        per_position = C * (B * self.history.element_size() + self.filter_rev.element_size())
        return _nbytes(self.window) + per_position * (position + 1)


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
                f"inference cache holds {self.max_len} tokens; {self.seqlen_offset} used, {n_new} "
                "more requested"
            )
