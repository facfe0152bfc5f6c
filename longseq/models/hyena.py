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
    """h[c, l] = MLP(features(l / l_max))[c] * (exp(-|delta_c| l / l_max)) for ``channels`` filters."""

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
            t = torch.arange(L, device=self.deltas.device, dtype=torch.float32).unsqueeze(-1) / self.l_max
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
        self.short_filter = nn.Conv1d(3 * d_model, 3 * d_model, self.short, groups=3 * d_model, padding=self.short - 1)
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
                state.window[..., state.window.shape[-1] - w.shape[-1] :] = w.to(state.window.dtype)
        return self.out_proj(y.transpose(1, 2))

    def init_state(self, batch_size: int, max_len: int, device: torch.device, dtype: torch.dtype) -> HyenaState:
        with torch.no_grad():
            h = self.filter(max_len).to(dtype)
        return HyenaState(
            window=torch.zeros(batch_size, 3 * self.d_model, self.short - 1, device=device, dtype=dtype),
            history=torch.zeros(batch_size, self.d_model, max_len, device=device, dtype=dtype),
            filter=h,
        )

    def step(self, u: torch.Tensor, state: HyenaState, offset: int | torch.Tensor) -> torch.Tensor:
        """One token at position ``offset``: u [B, C] -> [B, C]; cost O(offset * C).

        ``offset`` as a 0-d device tensor gives the static-shape form a CUDA graph can capture
        (the long convolution then runs over the whole history, masked: O(max_len * C)).
        """
        z = self.in_proj(u)  # [B, 3C]
        taps = torch.cat([state.window, z.unsqueeze(-1).to(state.window.dtype)], dim=-1)  # [B, 3C, short]
        bias = self.short_filter.bias
        zc = (taps * self.short_filter.weight.squeeze(1)).sum(-1)
        if bias is not None:
            zc = zc + bias
        state.window.copy_(taps[..., 1:])
        x0, x1, v = zc.split(self.d_model, dim=1)
        g = x1 * v
        if isinstance(offset, torch.Tensor):
            state.history.index_copy_(2, offset.reshape(1), g.unsqueeze(-1).to(state.history.dtype))
            lag = offset - torch.arange(state.history.shape[-1], device=u.device)  # t - s
            taps_long = state.filter[:, lag.clamp(min=0)] * (lag >= 0)
            conv = (state.history * taps_long).sum(-1) + self.bias * g
            return self.out_proj(x0 * conv)
        state.history[..., offset] = g
        past = state.history[..., : offset + 1]
        conv = (past * state.filter[:, : offset + 1].flip(-1)).sum(-1) + self.bias * g
        return self.out_proj(x0 * conv)
