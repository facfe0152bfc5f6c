"""Causal multi-head self-attention on ``scaled_dot_product_attention``, with a KV cache."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from longseq.models.cache import AttentionState
from longseq.models.config import AttentionConfig


class CausalSelfAttention(nn.Module):
    """``forward(x: [B, L, C]) -> [B, L, C]``; ``cfg.n_heads`` heads of size C / n_heads."""

    def __init__(self, d_model: int, cfg: AttentionConfig) -> None:
        super().__init__()
        if d_model % cfg.n_heads:
            raise ValueError(
                f"model.attention.n_heads={cfg.n_heads} does not divide d_model={d_model}"
            )
        self.n_heads, self.head_size, self.dropout = (
            cfg.n_heads,
            d_model // cfg.n_heads,
            cfg.dropout,
        )
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        Bsz, L, _ = x.shape
        qkv = self.qkv(x).view(Bsz, L, 3, self.n_heads, self.head_size).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]  # [B, nh, L, hs] each

    def forward(self, x: torch.Tensor, state: AttentionState | None = None) -> torch.Tensor:
        """x: [B, L, C]. With a fresh ``state``, also keep the prompt's keys and values
        (prefill)."""
        q, k, v = self._heads(x)
        if state is not None:
            state.k[:, :, : x.shape[1]] = k
            state.v[:, :, : x.shape[1]] = v
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.out_proj(y.transpose(1, 2).reshape(x.shape))

    def init_state(
        self, batch_size: int, max_len: int, device: torch.device, dtype: torch.dtype
    ) -> AttentionState:
        shape = (batch_size, self.n_heads, max_len, self.head_size)
        return AttentionState(
            k=torch.zeros(shape, device=device, dtype=dtype),
            v=torch.zeros(shape, device=device, dtype=dtype),
        )

    def step(
        self, x: torch.Tensor, state: AttentionState, offset: int | torch.Tensor
    ) -> torch.Tensor:
        """One token at position ``offset``: x [B, C] -> [B, C].

        ``offset`` as a 0-d device tensor gives the static-shape form a CUDA graph can capture:
        the key and value are written at that index and attention runs over the whole cache
        with the positions after it masked out (cost O(max_len) instead of O(offset)).
        """
        q, k, v = self._heads(x.unsqueeze(1))
        if isinstance(offset, torch.Tensor):
            at = offset.reshape(1)
            state.k.index_copy_(2, at, k.to(state.k.dtype))
            state.v.index_copy_(2, at, v.to(state.v.dtype))
            visible = (torch.arange(state.k.shape[2], device=x.device) <= offset).view(1, 1, 1, -1)
            y = F.scaled_dot_product_attention(q, state.k, state.v, attn_mask=visible)
            return self.out_proj(y.reshape(x.shape))
        state.k[:, :, offset : offset + 1] = k
        state.v[:, :, offset : offset + 1] = v
        y = F.scaled_dot_product_attention(
            q, state.k[:, :, : offset + 1], state.v[:, :, : offset + 1]
        )
        return self.out_proj(y.reshape(x.shape))
