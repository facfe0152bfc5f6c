"""What the tokens-per-second benchmarks (``bench generate``, ``bench train``) share: the ratio
column against a baseline model measured in the same run, skipping a point predicted to blow the
time budget, and a log-log PNG (the table is :func:`longseq.reporting.markdown_rows`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from longseq.reporting import png

__all__ = ["add_ratios", "predicted_s", "write_png"]


def predicted_s(last: tuple[int, float] | None, length: int, exponent: float) -> float | None:
    """Seconds predicted at ``length`` from the last measured (length, seconds), growing as
    length**exponent; None when nothing was measured yet."""
    if last is None:
        return None
    prev_len, prev_s = last
    return prev_s * (length / prev_len) ** exponent


def add_ratios(rows: list[dict[str, Any]], value: str, length: str, baseline: str) -> None:
    """Set ``x_vs_<baseline>`` on every row: its ``value`` over the baseline kind's ``value`` at
    the same ``length`` (higher is better for tokens per second); None where either is missing."""
    base = {r[length]: r[value] for r in rows if r["kind"] == baseline}
    for r in rows:
        b = base.get(r[length])
        r[f"x_vs_{baseline}"] = r[value] / b if r[value] and b else None


def write_png(
    rows: Sequence[dict[str, Any]],
    path: str | Path,
    x: str,
    y: str,
    xlabel: str,
    ylabel: str,
    title: str,
    series: str = "kind",
) -> None:
    """Log-log plot of ``y`` against ``x``, one line per value of ``series``. Needs matplotlib.

    Raises:
        MissingDependency: matplotlib is not installed (the ``bench`` extra).
    """
    with png(path) as (matplotlib, ax):
        for name in dict.fromkeys(r[series] for r in rows):
            pts = [(r[x], r[y]) for r in rows if r[series] == name and r.get(y) is not None]
            if pts:
                ax.plot(*zip(*pts, strict=False), marker="o", label=name)
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, title=title)
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=2))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xticks(sorted({r[x] for r in rows}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
