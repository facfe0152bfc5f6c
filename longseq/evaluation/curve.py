"""The context curve: mean loss against position in the window, from an
:class:`~longseq.evaluation.metrics.EvalResult`'s per-position sums; CSV and PNG.

At position ``t`` the model has read ``t + 1`` tokens of the window when it predicts target ``t``,
so a curve that keeps falling with ``t`` is a model that uses distant context.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from longseq.reporting import png

if TYPE_CHECKING:
    from longseq.evaluation.metrics import EvalResult

__all__ = ["CurvePoint", "context_curve", "write_curve_csv", "write_curve_png"]

_LN2 = math.log(2.0)


@dataclass
class CurvePoint:
    """Mean loss over positions ``[start, end)`` of the window (``end = start + 1``: one
    position); ``loss`` is NaN where ``count`` is 0 (no labelled target there)."""

    start: int
    end: int
    loss: float
    count: int

    @property
    def bits(self) -> float:
        """``loss / ln 2``."""
        return self.loss / _LN2


def context_curve(result: EvalResult, buckets: int = 0) -> list[CurvePoint]:
    """Mean loss against position in the window: one point per position (``buckets=0``), or
    positions grouped into at most ``buckets`` log-spaced bins (each bin's count-weighted mean).

    Raises:
        ValueError: ``buckets`` is negative.
    """
    if buckets < 0:
        raise ValueError(f"buckets={buckets} must be >= 0 (0: one point per position)")
    length = result.seq_len
    if buckets == 0 or buckets >= length:
        edges = np.arange(length + 1)
    else:
        # Bins of (about) equal width in log(position + 1); small positions get bins of one.
        edges = np.unique(np.round(np.geomspace(1, length + 1, buckets + 1)).astype(np.int64)) - 1
    points = []
    for start, end in itertools.pairwise(edges.tolist()):
        count = int(result.position_count[start:end].sum())
        total = float(result.position_loss[start:end].sum())
        points.append(CurvePoint(start, end, total / count if count else math.nan, count))
    return points


def write_curve_csv(points: Sequence[CurvePoint], path: str | Path) -> Path:
    """Write ``position,loss,bits,count`` rows (position: a point's first position; loss and
    bits empty where the count is 0); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["position", "loss", "bits", "count"])
        for p in points:
            loss, bits = (f"{p.loss:.9g}", f"{p.bits:.9g}") if p.count else ("", "")
            writer.writerow([p.start, loss, bits, p.count])
    return path


def write_curve_png(points: Sequence[CurvePoint], path: str | Path, title: str = "") -> Path:
    """Plot bits per token against the tokens read (``position + 1``, log axis; a bin at the
    geometric middle of its positions). Needs matplotlib (the ``bench`` extra).

    Raises:
        MissingDependency: matplotlib is not installed.
    """
    shown = [p for p in points if p.count]
    x = [math.sqrt((p.start + 1) * p.end) for p in shown]
    with png(path) as (_, ax):
        ax.plot(x, [p.bits for p in shown], marker="." if len(shown) <= 64 else None)
        ax.set_xscale("log")
        ax.set_xlabel("tokens read (position in window + 1)")
        ax.set_ylabel("bits per token")
        ax.set_title(title or "loss against position")
        ax.grid(True, which="both", alpha=0.3)
    return Path(path)
