"""Run a study: train each cell (``longseq train``), measure the finished run, append one JSON row
per run to ``<out>/<study>.jsonl``, then rewrite ``<out>/<study>.md`` and ``<out>/<study>.png``
from every row of that size in the file (the last row of each (cell, seed) wins).
"""

from __future__ import annotations

import datetime
import json
import platform
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from longseq.reporting import Column, markdown_rows
from longseq.studies.spec import Cell, Study, StudyContext, StudyError

__all__ = ["machine_name", "non_embedding_parameters", "read_rows", "run_study", "write_report"]

_COMMON: list[Column] = [
    ("params (non-emb.)", "params", ","),
    ("train tokens", "train_tokens", ","),
    ("train s", "train_s", ".0f"),
]


def machine_name() -> str:
    """``"<cpu model>, <n> cores"`` from /proc/cpuinfo (the platform's processor elsewhere)."""
    import os

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def non_embedding_parameters(run_dir: Path) -> int:
    """Parameters of the run's model outside its token and position embeddings (the LM head is
    tied to the token embedding)."""
    from longseq.runs import load

    model = load(run_dir).model
    skip = {id(p) for name, p in model.named_parameters() if "embedding" in name.split(".")[0]}
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)


def run_study(
    study: Study,
    ctx: StudyContext,
    models: Sequence[str] | None = None,
    reuse: bool = False,
) -> list[dict[str, Any]]:
    """Train and measure every cell of ``study`` (only those whose ``model`` is in ``models``
    when given), appending each row as it is made; returns the new rows.

    ``reuse``: a cell whose run directory already holds a finished run with the same command is
    measured again without training (its train time is the recorded one); otherwise an existing
    run directory of the cell is replaced.
    """
    cells = study.cells(ctx)
    if models:
        unknown = sorted(set(models) - {str(c.key.get("model")) for c in cells})
        if unknown:
            raise StudyError(
                f"--models {','.join(models)}: study {study.name} has no model "
                f"{', '.join(unknown)}; it trains {', '.join(_models(cells))}"
            )
        cells = [c for c in cells if str(c.key.get("model")) in models]
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    rows_path = ctx.out_dir / f"{study.name}.jsonl"
    new: list[dict[str, Any]] = []
    for i, cell in enumerate(cells, 1):
        ctx.echo(f"[{i}/{len(cells)}] {study.name} {cell.name} (seed {ctx.seed}, {ctx.size})")
        row = _run_cell(study, ctx, cell, reuse)
        with rows_path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        new.append(row)
        write_report(study, ctx.out_dir, ctx.size)
    return new


def _run_cell(study: Study, ctx: StudyContext, cell: Cell, reuse: bool) -> dict[str, Any]:
    run_dir = ctx.runs_dir / study.name / ctx.size / f"{cell.name}-seed{ctx.seed}"
    train_args = ["train", "--run-dir", str(run_dir), *cell.overrides, f"seed={ctx.seed}"]
    train_args.append("trainer.enable_progress_bar=false")
    marker = run_dir / "study_command.json"
    ctx.commands = []
    reused = (
        reuse
        and (run_dir / "metrics.json").is_file()
        and marker.is_file()
        and json.loads(marker.read_text()) == train_args
    )
    if reused:
        ctx.commands.append(ctx.shown(*train_args))
        train_s = float(json.loads((run_dir / "metrics.json").read_text())["wall_clock_s"])
    else:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        start = time.perf_counter()
        ctx.longseq(*train_args)
        train_s = time.perf_counter() - start
        marker.write_text(json.dumps(train_args))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    start = time.perf_counter()
    measured = study.measure(ctx, cell, run_dir)
    return {
        "study": study.name,
        "size": ctx.size,
        "seed": ctx.seed,
        "cell": cell.name,
        **cell.key,
        "params": non_embedding_parameters(run_dir),
        "train_tokens": cell.train_tokens,
        "train_s": round(train_s, 1),
        "measure_s": round(time.perf_counter() - start, 1),
        "reused_run": reused,
        **{f"train_{k.replace('/', '_')}": v for k, v in metrics.items() if k != "wall_clock_s"},
        **measured,
        "run_dir": str(run_dir),
        "commands": list(ctx.commands),
        "threads": ctx.threads,
        "machine": machine_name(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _models(cells: Sequence[Cell]) -> list[str]:
    return list(dict.fromkeys(str(c.key.get("model")) for c in cells))


def read_rows(path: Path, size: str) -> list[dict[str, Any]]:
    """The rows of ``size`` in a study's JSONL file, the last one of each (cell, seed); a line
    that is not JSON is a :class:`StudyError` naming the file and line."""
    latest: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise StudyError(f"{path}:{number}: not a JSON row ({exc.msg})") from None
        if row.get("size") != size:
            continue
        latest[_row_id(row)] = row
    return list(latest.values())


def _row_id(row: Mapping[str, Any]) -> str:
    return f"{row.get('cell')}|{row.get('seed')}"


def write_report(study: Study, out_dir: Path, size: str) -> tuple[Path, Path | None]:
    """Rewrite ``<study>.md`` (table, then each row's commands) and ``<study>.png`` from the
    rows of ``size``; the PNG is skipped (None) without matplotlib."""
    from longseq.messages import MissingDependency

    rows = read_rows(out_dir / f"{study.name}.jsonl", size)
    md = out_dir / f"{study.name}.md"
    png_path: Path | None = out_dir / f"{study.name}.png"
    lines = [
        f"# {study.title} ({size})",
        "",
        f"Rows: `{study.name}.jsonl` (size {size}); machine: "
        f"{rows[0]['machine'] if rows else '-'}.",
        "",
        markdown_rows(rows, [*study.columns, *_COMMON]),
        "",
        "## Commands",
        "",
    ]
    for row in rows:
        lines.append(f"- {row['cell']}, seed {row['seed']}:")
        lines += [f"  - `{c}`" for c in row["commands"]]
    md.write_text("\n".join(lines) + "\n")
    if rows and png_path is not None:
        try:
            study.plot(rows, png_path)
        except MissingDependency:
            png_path = None
    return md, png_path
