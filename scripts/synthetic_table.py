"""Reproduce the H3 paper's synthetic table (docs/h3.md §5.1) with `longseq train`.

Runs one `longseq train` per (task, model) cell, `--jobs` at a time (each with
OMP_NUM_THREADS=--threads), and writes a markdown table with each cell's command, test accuracy
and wall-clock time to --out (default: results/synthetics.md), plus one JSON line per run.

    python scripts/synthetic_table.py --jobs 2 --threads 1 [--models h3 s4d] [-- EXTRA_OVERRIDES]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TASKS = {
    "associative_recall": "synthetic/associative_recall",
    "induction_head": "synthetic/induction_head",
}
MODELS = ["h3", "s4d", "hyena", "transformer", "hybrid"]


def run_cell(task: str, model: str, args: argparse.Namespace) -> dict:
    run_dir = Path(args.runs) / f"{task}-{model}"
    cmd = [
        "longseq",
        "train",
        "--run-dir",
        str(run_dir),
        f"experiment={TASKS[task]}",
        f"model={model}",
        "trainer.enable_progress_bar=false",
        *args.overrides,
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    start = time.perf_counter()
    # the `longseq` beside this interpreter (a venv's bin/), so the script runs without activating
    # it
    beside = Path(sys.executable).with_name("longseq")
    exe = [str(beside)] if beside.exists() else cmd[:1]
    proc = subprocess.run(exe + cmd[1:], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    row = {
        "task": task,
        "model": model,
        "command": " ".join(cmd),
        "seconds": round(seconds, 1),
        "returncode": proc.returncode,
    }
    metrics_path = run_dir / "metrics.json"
    if proc.returncode == 0 and metrics_path.exists():
        row.update(json.loads(metrics_path.read_text()))
    else:
        row["error"] = (proc.stderr.strip().splitlines() or ["?"])[-1]
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--tasks", nargs="+", default=list(TASKS))
    p.add_argument("--runs", default="runs/synthetics")
    p.add_argument("--out", default="results/synthetics.md")
    p.add_argument("overrides", nargs="*")
    args = p.parse_args()
    cells = [(t, m) for t in args.tasks for m in args.models]
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda c: run_cell(*c, args), cells))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["| task | model | test accuracy | time (s) | command |", "|---|---|---|---|---|"]
    for r in rows:
        acc = (
            f"{100 * r['test/accuracy']:.1f}"
            if "test/accuracy" in r
            else f"failed: {r.get('error')}"
        )
        lines.append(f"| {r['task']} | {r['model']} | {acc} | {r['seconds']} | `{r['command']}` |")
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print("\n".join(lines))
    sys.exit(0 if all(r["returncode"] == 0 for r in rows) else 1)


if __name__ == "__main__":
    main()
