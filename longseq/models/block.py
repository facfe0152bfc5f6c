"""Pre-norm residual block: h += Drop(Mixer(LN(h))); h += Drop(MLP(LN(h)))."""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from longseq.models.attention import CausalSelfAttention
from longseq.models.cache import LayerState
from longseq.models.config import ModelConfig
from longseq.models.h3 import H3
from longseq.models.hyena import Hyena
from longseq.models.mlp import MLP
from longseq.models.s4d import S4D


class Mixer(Protocol):
    """What every sequence mixer provides: convolution/parallel mode (which fills a fresh state
    when given one: prefill), a fresh state, and a one-token step."""

    def __call__(self, x: torch.Tensor, state: LayerState | None = None) -> torch.Tensor: ...

    def init_state(
        self, batch_size: int, max_len: int, device: torch.device, dtype: torch.dtype
    ) -> LayerState: ...

    def step(
        self, x: torch.Tensor, state: LayerState, offset: int | torch.Tensor
    ) -> torch.Tensor: ...


def build_mixer(kind: str, cfg: ModelConfig) -> nn.Module:
    """The sequence mixer named ``kind`` (h3 | s4d | hyena | attention)."""
    if kind == "h3":
        return H3(cfg.d_model, cfg.ssm, cfg.long_context)
    if kind == "s4d":
        return S4D(cfg.d_model, cfg.ssm, cfg.long_context)
    if kind == "hyena":
        return Hyena(cfg.d_model, cfg.hyena)
    if kind == "attention":
        return CausalSelfAttention(cfg.d_model, cfg.attention)
    raise ValueError(f"model.mixer={kind!r} is not one of h3, s4d, hyena, attention")


class Block(nn.Module):
    """One layer: ``forward(h: [B, L, C]) -> [B, L, C]``; ``step(h: [B, C]) -> [B, C]``."""

    def __init__(self, kind: str, cfg: ModelConfig) -> None:
        super().__init__()
        self.kind = kind
        self.norm1 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.mixer: Mixer = build_mixer(kind, cfg)  # type: ignore[assignment]
        self.drop = nn.Dropout(cfg.resid_dropout)
        self.mlp: MLP | None = None
        if cfg.mlp_ratio > 0:
            self.norm2 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
            self.mlp = MLP(cfg.d_model, cfg.mlp_ratio)

    def forward(self, h: torch.Tensor, state: LayerState | None = None) -> torch.Tensor:
        h = h + self.drop(self.mixer(self.norm1(h), state))
        return self._mlp(h)

    def _mlp(self, h: torch.Tensor) -> torch.Tensor:
        if self.mlp is None:
            return h
        return h + self.drop(self._mlp_branch(h))

    def _mix_delta(self, h: torch.Tensor) -> torch.Tensor:
        return self.drop(self.mixer(self.norm1(h)))

    def _mlp_branch(self, h: torch.Tensor) -> torch.Tensor:
        assert self.mlp is not None
        return self.mlp(self.norm2(h))

    def forward_checkpointed(self, h: torch.Tensor, mlp_chunk: int) -> torch.Tensor:
        """:meth:`forward` (training, no state) keeping only the block's input and residual
        stream for the backward: the mixer is recomputed there, and the MLP is run and recomputed
        on slices of ``mlp_chunk`` positions, so its 4x-wide activations never exist for the whole
        sequence. Dropout masks are the plain forward's: the mixer's is replayed (checkpoint
        restores the RNG state) and the MLP's is drawn once over the whole sequence."""
        itself = getattr(self.mixer, "checkpoints_itself", None)
        if itself is not None and itself(h.shape[1]):
            h = h + self._mix_delta(h)  # the mixer keeps only its segment inputs already
        else:
            h = h + checkpoint(self._mix_delta, h, use_reentrant=False)
        if self.mlp is None:
            return h
        # split, not h[:, a:b]: each slice's backward writes a zero tensor the size of h
        # (quadratic in the number of slices: 6 s of a 1M-token step), one split's is one cat
        parts = [
            checkpoint(self._mlp_branch, h_part, use_reentrant=False)
            for h_part in h.split(mlp_chunk, dim=1)
        ]
        return h + self.drop(torch.cat(parts, dim=1))

    def init_state(
        self, batch_size: int, max_len: int, device: torch.device, dtype: torch.dtype
    ) -> LayerState:
        return self.mixer.init_state(batch_size, max_len, device, dtype)

    def step(self, h: torch.Tensor, state: LayerState, offset: int | torch.Tensor) -> torch.Tensor:
        if self.training:  # dropout is the identity in eval mode: skip its module calls there
            return self._mlp(h + self.drop(self.mixer.step(self.norm1(h), state, offset)))
        h = h + self.mixer.step(self.norm1(h), state, offset)
        if self.mlp is None:
            return h
        return h + self.mlp(self.norm2(h))
