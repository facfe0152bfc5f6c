"""Reports of a completion comparison: a markdown table, a per-file table, JSON and a PNG.

What the table flags, so that a row never compares unlike things silently:

- ``n/a``: the context length does not fit a run's learned positions;
- ``*`` after a score: some cuts gave the run a longer context than it was trained on
  (extrapolated; how many is in the notes);
- ``(mixed)`` after a row's context: the runs were not given the same context in that row (a
  run's learned positions cut it shorter, or the tokenizers differ); the notes give each run's
  actual context.

Scores carry 95% bootstrap intervals over the cut points; baselines (``kind="baseline"``) are
columns of the same table, scored on the same cuts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from longseq.reporting import markdown_table, png
from longseq.tasks.completion.context import CutPoint
from longseq.tasks.completion.evaluate import ContextResult
from longseq.tasks.completion.stats import bootstrap_ci

__all__ = [
    "RunReport",
    "by_file",
    "differences",
    "format_by_file",
    "format_differences",
    "format_table",
    "mixed_row",
    "write_json",
    "write_png",
]


@dataclass
class RunReport:
    """One run's (or baseline's) results: ``name`` (its label in the table), ``run_dir`` ("" for
    a baseline), a short ``model`` description, one :class:`ContextResult` per context length,
    and ``kind``: ``"run"`` or ``"baseline"``."""

    name: str
    run_dir: str
    model: dict[str, Any] = field(default_factory=dict)
    results: list[ContextResult] = field(default_factory=list)
    kind: str = "run"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _with_ci(x: float | None, ci: tuple[float, float] | None) -> str:
    if x is None:
        return "-"
    return _pct(x) if ci is None else f"{_pct(x)} ({_pct(ci[0])}-{_pct(ci[1])})"


def _tokens(n: int) -> str:
    return f"{n // 1024}K" if n >= 1024 and n % 1024 == 0 else str(n)


def mixed_row(runs: Sequence[RunReport], i: int) -> bool:
    """True when the runs scored at row ``i`` were not given the same context at some cut (a
    run's learned positions cut it shorter, or the tokenizers count differently)."""
    scored = [run.results[i] for run in runs if run.kind == "run" and not run.results[i].note]
    return len({tuple(r.context_tokens) for r in scored}) > 1


def format_table(runs: Sequence[RunReport]) -> str:
    """Markdown table, one row per context length. Per run: exact match % and identifier
    accuracy % with their 95% intervals, mean context tokens actually given (and the cap,
    where learned positions cut it below the row's), seconds; per baseline the two scores.
    Notes after the table explain every ``n/a``, ``*`` and ``(mixed)``."""
    header = ["context"]
    for run in runs:
        header += [f"{run.name} EM % (95% CI)", f"{run.name} ident % (95% CI)"]
        if run.kind == "run":
            header += [f"{run.name} ctx", f"{run.name} s"]
    rows: list[list[str]] = []
    contexts = [r.context for r in runs[0].results] if runs else []
    notes: list[str] = []
    for i, context in enumerate(contexts):
        mixed = mixed_row(runs, i)
        cells = [f"{context} (mixed)" if mixed else str(context)]
        for run in runs:
            r = run.results[i]
            width = 4 if run.kind == "run" else 2
            if r.note:
                cells += ["n/a"] * width
                notes.append(f"n/a: {run.name} at {context}: {r.note}")
                continue
            star = " *" if r.extrapolated else ""
            cells += [
                _with_ci(r.exact_match, r.exact_match_ci) + star,
                _with_ci(r.identifier_accuracy, r.identifier_accuracy_ci) + star,
            ]
            if run.kind == "run":
                ctx = "-" if r.mean_context_tokens is None else f"{r.mean_context_tokens:.0f}"
                if r.budget is not None and r.budget < context:
                    ctx += f" (max {r.budget})"
                cells += [ctx, f"{r.seconds:.1f}"]
            if r.extrapolated:
                notes.append(
                    f"*: {run.name} at {context}: {r.extrapolated} of {r.n} cuts give more "
                    f"context than the {r.trained_seq_len} tokens it was trained on (extrapolated)"
                )
        if mixed:
            given = ", ".join(
                f"{run.name} up to {run.results[i].budget} (mean "
                f"{run.results[i].mean_context_tokens or 0:.0f})"
                for run in runs
                if run.kind == "run" and not run.results[i].note
            )
            notes.append(f"(mixed): row {context} gives the runs different contexts: {given}")
        rows.append(cells)
    unknown = [
        run.name
        for run in runs
        if run.kind == "run" and run.results and all(r.trained_seq_len is None for r in run.results)
    ]
    if unknown:
        notes.append(
            f"note: {', '.join(unknown)}: the run records no training length (saved "
            "before that record), so extrapolated contexts are not marked"
        )
    return "\n".join([markdown_table(header, rows), *notes])


def differences(runs: Sequence[RunReport]) -> list[dict[str, Any]]:
    """Exact match of every other run and baseline minus the first run's, per context length
    where both are scored, with the 95% paired bootstrap interval (the same cuts resampled for
    both, so the interval is narrower than the two intervals side by side suggest):
    ``[{"context", "name", "against", "difference", "ci"}]`` in points of a share (0..1)."""
    if not runs:
        return []
    first, out = runs[0], []
    for run in runs[1:]:
        for mine, theirs in zip(first.results, run.results, strict=False):
            if mine.note or theirs.note or not mine.correct or not theirs.correct:
                continue
            diff = [float(b) - float(a) for a, b in zip(mine.correct, theirs.correct, strict=False)]
            out.append(
                {
                    "context": mine.context,
                    "name": run.name,
                    "against": first.name,
                    "difference": float(np.mean(diff)),
                    "ci": bootstrap_ci(diff),
                }
            )
    return out


def format_differences(runs: Sequence[RunReport]) -> str:
    """Markdown table of :func:`differences`: one row per context length, one column per other
    run or baseline, ``+2.0 (-4.0..8.0)`` exact-match points against the first run."""
    rows = differences(runs)
    if not rows:
        return ""
    names = list(dict.fromkeys(r["name"] for r in rows))
    against = rows[0]["against"]
    header = ["context", *(f"{name} - {against} EM points (95% CI)" for name in names)]
    table: list[list[str]] = []
    for context in dict.fromkeys(r["context"] for r in rows):
        cells = [str(context)]
        for name in names:
            found = [r for r in rows if r["context"] == context and r["name"] == name]
            if not found:
                cells.append("n/a")
                continue
            r = found[0]
            ci = r["ci"]
            span = "" if ci is None else f" ({100 * ci[0]:+.1f}..{100 * ci[1]:+.1f})"
            cells.append(f"{100 * r['difference']:+.1f}{span}")
        table.append(cells)
    return markdown_table(header, table)


def by_file(cuts: Sequence[CutPoint], result: ContextResult) -> dict[str, dict[str, Any]]:
    """``{file: {"n", "exact_match", "identifier_accuracy"}}`` of one result, by cut file."""
    out: dict[str, dict[str, Any]] = {}
    if not result.correct:
        return out
    for name in dict.fromkeys(c.file for c in cuts):
        picked = [i for i, c in enumerate(cuts) if c.file == name]
        scores = [s for i in picked if (s := result.identifier_scores[i]) is not None]
        out[name] = {
            "n": len(picked),
            "exact_match": float(np.mean([result.correct[i] for i in picked])),
            "identifier_accuracy": float(np.mean(scores)) if scores else None,
        }
    return out


def format_by_file(runs: Sequence[RunReport], cuts: Sequence[CutPoint], row: int) -> str:
    """Markdown table of exact match % per cut file at row ``row`` (one column per run)."""
    context = runs[0].results[row].context
    header = ["file", "cuts", *(f"{run.name} EM %" for run in runs)]
    tables = [by_file(cuts, run.results[row]) for run in runs]
    rows = []
    for name in dict.fromkeys(c.file for c in cuts):
        n = sum(1 for c in cuts if c.file == name)
        cells = [name, str(n)]
        cells += [_pct(t[name]["exact_match"]) if name in t else "n/a" for t in tables]
        rows.append(cells)
    table = markdown_table(header, rows, [False] + [True] * (len(header) - 1))
    return f"by file at context {context}:\n{table}"


def _result_json(result: ContextResult, cuts: Sequence[CutPoint]) -> dict[str, Any]:
    out = asdict(result)
    for key in ("correct", "identifier_scores", "context_tokens"):
        out.pop(key)
    out["per_cut"] = [
        {
            "cut": i,
            "file": cut.file,
            "line": cut.line,
            "prediction": result.predictions[i],
            "exact_match": result.correct[i],
            "identifier_accuracy": result.identifier_scores[i],
            "context_tokens": result.context_tokens[i] if result.context_tokens else None,
        }
        for i, cut in enumerate(cuts)
        if i < len(result.correct)
    ]
    out["by_file"] = by_file(cuts, result)
    return out


def write_json(
    runs: Sequence[RunReport], cuts: Sequence[CutPoint], path: str | Path, settings: dict[str, Any]
) -> None:
    """Write ``{**settings, "cuts": [...], "runs": [...]}``; each run (or baseline) lists every
    context length with its metrics and intervals, the predicted line per cut
    (``predictions``), one record per cut (``per_cut``: prediction, exact match, identifier
    accuracy, context tokens) and the scores per file (``by_file``); ``differences`` holds
    :func:`differences` against the first run."""
    payload = {
        **settings,
        "differences": differences(runs),
        "cuts": [asdict(c) for c in cuts],
        "runs": [
            {
                **{k: v for k, v in asdict(run).items() if k != "results"},
                "results": [_result_json(r, cuts) for r in run.results],
            }
            for run in runs
        ],
    }
    Path(path).write_text(json.dumps(payload, indent=1) + "\n")


def write_png(
    runs: Sequence[RunReport], path: str | Path, title: str = "next-line completion"
) -> None:
    """Two panels, exact match and identifier accuracy (%) against the context actually given
    (mean tokens, log scale) with 95% bootstrap intervals, one line per run; hollow markers
    where the run extrapolates past its training length; baselines as dashed horizontal lines
    (their mean over the rows); context lengths that do not apply are left out.

    Raises:
        MissingDependency: matplotlib is not installed (the ``bench`` extra).
    """
    with png(path, panels=2, figsize=(10, 4), title=title, sharex=True) as (matplotlib, axes):
        panels = (
            ("exact_match", "next-line exact match (%)"),
            ("identifier_accuracy", "identifier accuracy (%)"),
        )
        for ax, (key, label) in zip(axes, panels, strict=False):
            baselines = 0
            for run in runs:
                points = [r for r in run.results if not r.note and getattr(r, key) is not None]
                if not points:
                    continue
                y = np.array([100 * getattr(r, key) for r in points])
                if run.kind == "baseline":
                    styles = ("--", ":", "-.")
                    ax.axhline(
                        float(y.mean()),
                        color="0.4",
                        linewidth=1,
                        label=run.name,
                        linestyle=styles[baselines % len(styles)],
                    )
                    baselines += 1
                    continue
                x = np.array([r.mean_context_tokens or r.context for r in points])
                cis = [getattr(r, f"{key}_ci") or (getattr(r, key),) * 2 for r in points]
                bounds = np.array([[100 * lo for lo, _ in cis], [100 * hi for _, hi in cis]])
                err = np.abs(bounds - y)
                line = ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=run.name)
                color = line.lines[0].get_color()
                extra = [
                    (xi, yi) for xi, yi, r in zip(x, y, points, strict=False) if r.extrapolated
                ]
                if extra:
                    ax.plot(
                        *zip(*extra, strict=False),
                        linestyle="none",
                        marker="o",
                        markersize=9,
                        markerfacecolor="white",
                        markeredgecolor=color,
                    )
            ax.set(
                xscale="log",
                xlabel="context given (mean tokens; hollow: extrapolated)",
                ylabel=label,
                ylim=(-2, 102),
            )
            ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=2))
            ax.xaxis.set_major_formatter(
                matplotlib.ticker.FuncFormatter(lambda v, _: _tokens(int(v)))
            )
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize="small")
