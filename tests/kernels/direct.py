"""Independent O(L^2) computations the references are checked against."""

from __future__ import annotations

import torch


def causal_conv_direct(
    u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None = None
) -> torch.Tensor:
    """y[..., h, t] = sum_{s<=t} k[h, s] u[..., h, t-s] + D[h] u[..., h, t], by explicit loops over
    t."""
    L = u.shape[-1]
    y = torch.zeros_like(u)
    for t in range(L):
        for s in range(min(t + 1, k.shape[-1])):
            y[..., t] += k[:, s] * u[..., t - s]
    if D is not None:
        y = y + D.unsqueeze(-1) * u
    return y
