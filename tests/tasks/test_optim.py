"""OptimConfig / build_optimizer: parameter groups and the warmup + decay schedule."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from longseq.models import LanguageModel, ModelConfig
from longseq.tasks.optim import OptimConfig, build_optimizer

TOTAL = 100  # warmup_ratio 0.1 -> W = 10 warmup steps


class TwoGroupModel(nn.Module):
    """Stand-in for a longseq model: the 'ssm' part asks for a tenth of the lr and no decay."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.ssm = nn.Linear(4, 4)

    def param_groups(self, lr: float, weight_decay: float) -> list[dict[str, object]]:
        return [
            {"params": list(self.body.parameters())},
            {"params": list(self.ssm.parameters()), "lr": lr / 10, "weight_decay": 0.0},
        ]


def _lr_trace(model: nn.Module, cfg: OptimConfig, total: int) -> list[list[float]]:
    """lrs[s][g]: the lr of group g used by optimizer step s, for s = 0 .. total."""
    optimizer, scheduler = build_optimizer(model, cfg, total)
    trace = []
    for _ in range(total + 1):
        trace.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return trace


@pytest.mark.parametrize(
    ("schedule", "middle", "end"),
    [
        # halfway through the decay (step 55 of 10..100)
        ("cosine", 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)), 0.1),
        ("linear", 1.0 - 0.9 * 0.5, 0.1),
        ("constant", 1.0, 1.0),
    ],
)
def test_schedule_points(schedule: str, middle: float, end: float) -> None:
    cfg = OptimConfig(lr=1e-3, schedule=schedule, warmup_ratio=0.1, min_lr_ratio=0.1)
    trace = [lrs[0] for lrs in _lr_trace(TwoGroupModel(), cfg, TOTAL)]
    assert trace[0] == pytest.approx(1e-3 / 11)  # first update is never at lr 0
    assert trace[9] == pytest.approx(1e-3 * 10 / 11)
    assert trace[10] == pytest.approx(1e-3)  # end of warmup: the peak
    assert max(trace) == pytest.approx(1e-3)
    assert trace[55] == pytest.approx(1e-3 * middle)
    assert trace[TOTAL] == pytest.approx(1e-3 * end)
    # warmup rises, decay never rises
    assert all(a < b for a, b in itertools.pairwise(trace[:11]))
    assert all(a >= b - 1e-15 for a, b in itertools.pairwise(trace[10:]))


def test_group_with_own_lr_is_scaled_proportionally() -> None:
    cfg = OptimConfig(lr=2e-3, weight_decay=0.1)
    model = TwoGroupModel()
    optimizer, _ = build_optimizer(model, cfg, TOTAL)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.1, 0.0]
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.999)
    for body_lr, ssm_lr in _lr_trace(model, cfg, TOTAL):
        assert ssm_lr == pytest.approx(body_lr / 10)


@pytest.mark.parametrize("scope", ["matrices", "all"])
def test_decay_scope_of_a_language_model(scope: str) -> None:
    model = LanguageModel(ModelConfig(vocab_size=10, d_model=8, n_layer=1))
    optimizer, _ = build_optimizer(model, OptimConfig(weight_decay=0.1, decay_scope=scope), TOTAL)
    decay = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    ssm = {id(p) for p in model.ssm_parameters()}
    assert ssm and all(decay[i] == 0.0 for i in ssm)
    for name, p in model.named_parameters():
        if id(p) in ssm:
            continue
        matrix = p.dim() >= 2 and p is not model.embedding.weight
        assert decay[id(p)] == (0.1 if matrix or scope == "all" else 0.0), name


def test_model_without_param_groups_gets_one_group() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    model[0].weight.requires_grad_(False)
    optimizer, scheduler = build_optimizer(model, OptimConfig(lr=1e-2, warmup_ratio=0.0), 10)
    assert len(optimizer.param_groups) == 1
    group = optimizer.param_groups[0]
    assert len(group["params"]) == 3
    assert group["lr"] == pytest.approx(1e-2) and group["weight_decay"] == 0.1
    assert scheduler.get_last_lr() == pytest.approx([1e-2])


def test_training_moves_parameters() -> None:
    model = TwoGroupModel()
    optimizer, scheduler = build_optimizer(model, OptimConfig(lr=1e-2), 5)
    before = model.ssm.weight.detach().clone()
    for _ in range(5):
        optimizer.zero_grad()
        (model.ssm(model.body(torch.ones(2, 4))) ** 2).sum().backward()
        optimizer.step()
        scheduler.step()
    assert not torch.equal(before, model.ssm.weight)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"schedule": "step"}, "optim.schedule='step'.*cosine"),
        ({"lr": 0.0}, "optim.lr=0.0"),
        ({"betas": [0.9]}, "optim.betas"),
        ({"warmup_ratio": 1.5}, "optim.warmup_ratio=1.5"),
        ({"min_lr_ratio": -0.1}, "optim.min_lr_ratio=-0.1"),
        ({"decay_scope": "most"}, "optim.decay_scope='most'.*matrices, all"),
    ],
)
def test_bad_config_names_the_key(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        build_optimizer(TwoGroupModel(), OptimConfig(**kwargs), TOTAL)  # type: ignore[arg-type]


def test_zero_total_steps_raises() -> None:
    with pytest.raises(ValueError, match="total_steps=0"):
        build_optimizer(TwoGroupModel(), OptimConfig(), 0)
