"""The block's channel mixer: C -> ratio*C -> C with tanh-approximated GELU."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """``forward(x: [..., C]) -> [..., C]``."""

    def __init__(self, d_model: int, ratio: float) -> None:
        super().__init__()
        hidden = round(ratio * d_model)
        self.fc1 = nn.Linear(d_model, hidden)
        self.fc2 = nn.Linear(hidden, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))
