"""longseq.evaluation on hand-made numbers: per-token losses, the context curve and
its log-spaced bins, the CSV (end to end: tests/cli/test_eval.py)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from longseq.evaluation import EvalResult, context_curve, token_losses, write_curve_csv
from longseq.tasks import IGNORE_INDEX
from longseq.tasks.lm_module import sequence_loss


def _result(loss: list[float], count: list[int]) -> EvalResult:
    losses, counts = np.array(loss, dtype=np.float64), np.array(count, dtype=np.int64)
    return EvalResult(
        Path("run"),
        "test",
        (),
        1,
        1,
        int(counts.sum()),
        float(losses.sum() / counts.sum()),
        None,
        0,
        losses,
        counts,
    )


def test_token_losses_sum_to_the_training_loss() -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 7, 11)
    targets = torch.randint(0, 11, (3, 7))
    targets[0, :4] = IGNORE_INDEX
    per_token = token_losses(logits, targets)
    assert per_token.shape == (3, 7) and bool((per_token[0, :4] == 0).all())
    loss, count = sequence_loss(logits, targets)
    assert float(per_token.sum() / count) == pytest.approx(float(loss), rel=1e-6)


def test_context_curve_per_position_and_in_log_spaced_bins() -> None:
    count = [2, 2, 0, 2, 2, 2, 2, 2, 2, 1]
    result = _result([float(2 * i) * c / 2 for i, c in enumerate(count)], count)
    points = context_curve(result)
    assert [(p.start, p.end) for p in points] == [(i, i + 1) for i in range(10)]
    assert math.isnan(points[2].loss) and points[3].loss == pytest.approx(3.0)
    binned = context_curve(result, buckets=4)
    assert 1 < len(binned) <= 4
    assert binned[0].start == 0 and binned[-1].end == 10
    assert all(a.end == b.start for a, b in itertools.pairwise(binned))
    # Bins widen with the position (log spacing) and keep every count and loss.
    widths = [p.end - p.start for p in binned]
    assert widths == sorted(widths)
    assert sum(p.count for p in binned) == result.tokens
    total = sum(p.loss * p.count for p in binned if p.count)
    assert total / result.tokens == pytest.approx(result.loss)
    assert len(context_curve(result, buckets=50)) == 10
    with pytest.raises(ValueError, match="buckets=-1"):
        context_curve(result, buckets=-1)


def test_curve_csv_leaves_empty_positions_blank(tmp_path: Path) -> None:
    path = write_curve_csv(context_curve(_result([1.0, 0.0], [1, 0])), tmp_path / "c.csv")
    bits = f"{1 / math.log(2):.9g}"
    assert path.read_text().splitlines() == ["position,loss,bits,count", f"0,1,{bits},1", "1,,,0"]
