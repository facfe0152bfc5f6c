"""The Hyena operator (order 2): projections, a short causal depthwise conv, an implicit long
filter (an MLP with sine activations on positional features, times an exponential decay window),
and multiplicative gates.

    x0, x1, v = shortconv(in_proj(u))
    y = x0 * (h * (x1 * v) + bias * (x1 * v))        (h * · is the causal long convolution)

The filter is a function of absolute position l / l_max, so it can be evaluated at any length.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from longseq import kernels
from longseq.models.cache import HyenaState
from longseq.models.config import HyenaConfig


class Sin(nn.Module):
    """sin(freq * x) with a learned per-feature frequency."""

    def __init__(self, dim: int, w: float) -> None:
        super().__init__()
        self.freq = nn.Parameter(w * torch.ones(1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.freq * x)


class ImplicitFilter(nn.Module):
    """h[c, l] = MLP(features(l / l_max))[c] * (exp(-|delta_c| l / l_max)) for ``channels``
    filters."""

    bands: torch.Tensor
    deltas: torch.Tensor

    def __init__(self, channels: int, cfg: HyenaConfig) -> None:
        super().__init__()
        if cfg.emb_dim < 3 or cfg.emb_dim % 2 == 0:
            raise ValueError(f"model.hyena.emb_dim={cfg.emb_dim} must be odd and >= 3")
        self.l_max, self.modulate = cfg.l_max, cfg.modulate
        bands = (cfg.emb_dim - 1) // 2
        self.register_buffer("bands", torch.linspace(1e-4, bands - 1, bands), persistent=False)
        width = cfg.filter_order
        self.mlp = nn.Sequential(
            nn.Linear(cfg.emb_dim, width),
            Sin(width, cfg.w),
            nn.Linear(width, width),
            Sin(width, cfg.w),
            nn.Linear(width, channels, bias=False),
        )
        target, fast, slow = 1e-2, 0.3, 1.5
        deltas = torch.linspace(math.log(target) / slow, math.log(target) / fast, channels)
        self.register_buffer("deltas", deltas, persistent=False)

    def forward(self, L: int) -> torch.Tensor:
        """The filter [channels, L] in fp32."""
        with torch.autocast(device_type=self.deltas.device.type, enabled=False):
            t = (
                torch.arange(L, device=self.deltas.device, dtype=torch.float32).unsqueeze(-1)
                / self.l_max
            )
            angle = 2 * math.pi * t * self.bands
            z = torch.cat([t, torch.cos(angle), torch.sin(angle)], dim=-1)  # [L, emb_dim]
            h = self.mlp(z)  # [L, channels]
            if self.modulate:
                h = h * torch.exp(-t * self.deltas.abs())
            return h.transpose(0, 1)


class Hyena(nn.Module):
    """Hyena order-2 mixer: ``forward(u: [B, L, C]) -> [B, L, C]``."""

    def __init__(self, d_model: int, cfg: HyenaConfig) -> None:
        super().__init__()
        if cfg.order != 2:
            raise ValueError(f"model.hyena.order={cfg.order}: only order 2 is implemented")
        self.d_model, self.short = d_model, cfg.short_filter_order
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.short_filter = nn.Conv1d(
            3 * d_model, 3 * d_model, self.short, groups=3 * d_model, padding=self.short - 1
        )
        self.filter = ImplicitFilter(d_model, cfg)
        self.bias = nn.Parameter(torch.randn(d_model))
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, u: torch.Tensor, state: HyenaState | None = None) -> torch.Tensor:
        L = u.shape[1]
        z = self.in_proj(u).transpose(1, 2)  # [B, 3C, L]
        zc = self.short_filter(z)[..., :L]
        x0, x1, v = zc.split(self.d_model, dim=1)
        g = x1 * v
        y = x0 * kernels.fftconv(g, self.filter(L), self.bias)
        if state is not None:
            with torch.no_grad():
                state.history[..., :L] = g.to(state.history.dtype)
                w = z[..., max(0, L - (self.short - 1)) :]
                taps = state.window[..., :-1]
                taps[..., taps.shape[-1] - w.shape[-1] :] = w.to(state.window.dtype)
        return self.out_proj(y.transpose(1, 2))

    @torch.no_grad()
    def init_state(
        self, batch_size: int, max_len: int, device: torch.device, dtype: torch.dtype
    ) -> HyenaState:
        C = self.d_model
        return HyenaState(
            window=torch.zeros(batch_size, 3 * C, self.short, dtype=dtype, device=device),
            history=torch.zeros(batch_size, self.d_model, max_len, device=device, dtype=dtype),
            filter_rev=self.filter(max_len).to(dtype).flip(-1).contiguous(),
        )

    def step(self, u: torch.Tensor, state: HyenaState, offset: int | torch.Tensor) -> torch.Tensor:
        """One token at position ``offset``: u [B, C] -> [B, C]; cost O(offset * C).

        ``offset`` as a 0-d device tensor gives the static-shape form a CUDA graph can capture
        (the long convolution then runs over the whole history, masked: O(max_len * C)).
        """
        window = state.window
        window[..., -1] = self.in_proj(u)  # [B, 3C] into the current tap's slot
        zc = torch.einsum("bcs,cs->bc", window, self.short_filter.weight.squeeze(1))
        if self.short_filter.bias is not None:
            zc = zc + self.short_filter.bias
        for j in range(self.short - 1):  # oldest first, so no tap is overwritten before it is read
            window[..., j].copy_(window[..., j + 1])
        x0, x1, v = zc.split(self.d_model, dim=1)
        g = x1 * v
        history, max_len = state.history, state.history.shape[-1]
        if isinstance(offset, torch.Tensor):
            history.index_copy_(2, offset.reshape(1), g.unsqueeze(-1).to(history.dtype))
            # taps[s] = h[offset - s] = filter_rev[max_len - 1 - offset + s] for s <= offset, else 0
            index = torch.arange(max_len, device=u.device) + (max_len - 1 - offset)
            taps = state.filter_rev[:, index.clamp(max=max_len - 1)] * (index < max_len)
            conv = torch.einsum("bcs,cs->bc", history, taps)
        else:
            history[..., offset] = g
            taps = state.filter_rev[:, max_len - 1 - offset :]
            conv = torch.einsum("bcs,cs->bc", history[..., : offset + 1], taps)
        return self.out_proj(x0 * conv.addcmul_(self.bias, g))
