"""The one table writer and the one PNG writer of ``bench``, ``eval`` and ``complete``.

Tables: :func:`markdown_table` (the benchmark and completion tables) and :func:`aligned_table`
(two-space aligned columns for the terminal: ``eval``'s summary, ``plugins list``);
:func:`markdown_rows` fills a markdown table from dict rows and :data:`Column` specs.

PNGs: :func:`png` opens a figure on matplotlib's Agg backend and saves it (parent directories
made, 120 dpi) when the plotting block ends; a missing matplotlib is one
:class:`~longseq.messages.MissingDependency` naming the ``bench`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from longseq.messages import MissingDependency, missing_dependency

__all__ = ["Column", "aligned_table", "cell", "markdown_rows", "markdown_table", "png", "pyplot"]

# (header, row key, format spec): a column of markdown_rows; an empty spec is a left-aligned
# text column, any other a right-aligned number formatted with it
Column = tuple[str, str, str]


def cell(value: Any, spec: str = "") -> str:
    """``value`` formatted with ``spec`` (``str`` without one); ``None`` prints as ``-``."""
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None
) -> str:
    """A markdown table; ``right[i]``: column ``i`` is right-aligned (default: all of them)."""
    align = [True] * len(header) if right is None else list(right)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if r else "---" for r in align) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_rows(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """A markdown table with one line per dict row and one column per :data:`Column`."""
    return markdown_table(
        [h for h, _, _ in columns],
        [[cell(r.get(key), spec) for _, key, spec in columns] for r in rows],
        [bool(spec) for _, _, spec in columns],
    )


def aligned_table(rows: Sequence[Sequence[str]]) -> str:
    """Columns separated by two spaces, every column but the last padded to its widest cell."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


def pyplot() -> tuple[Any, Any]:
    """(matplotlib, matplotlib.pyplot) on the Agg backend.

    Raises:
        MissingDependency: matplotlib is not installed (the ``bench`` extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise MissingDependency(
            missing_dependency("writing the PNG", "matplotlib", "bench")
        ) from err
    return matplotlib, plt


@contextmanager
def png(
    path: str | Path,
    panels: int = 1,
    figsize: tuple[float, float] = (7, 4.5),
    title: str = "",
    sharex: bool = False,
) -> Iterator[tuple[Any, Any]]:
    """``with png(path) as (matplotlib, ax): ax.plot(...)``: one figure of ``panels`` axes side
    by side (``ax`` is then an array of them), saved to ``path`` with ``title`` above the
    panels when the block ends without an error; the figure is closed either way.

    Raises:
        MissingDependency: matplotlib is not installed (the ``bench`` extra).
    """
    matplotlib, plt = pyplot()
    fig, axes = plt.subplots(1, panels, figsize=figsize, sharex=sharex)
    try:
        yield matplotlib, axes
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
