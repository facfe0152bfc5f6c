"""Data past memory: time to the first training step and resident memory when training on data
far larger than a toy corpus, against the shipped small preset in the same run.

    python scripts/bench_data.py genome [--bases 1000000000] [--contigs 8] [--steps 64]
    python scripts/bench_data.py code --tree /usr/share/go-1.19/src --languages go [--steps 16]

``genome`` writes a random BGZF FASTA of ``--bases`` bases into a temporary directory (deleted
at the end; never the repository), then trains ``experiment=genomics/windows`` on it: once with
no index (the run builds ``.fai``/``.gzi``), once with the index, once with
``data.num_workers=2``, and once on the preset's own 48 kbp lambda genome (the baseline). It
also times the index build alone (longseq's builder against pyfaidx's) and reading windows by
random access.

``code`` times the code modality's phases over the tree (walk, parse, order, tokenise), then
trains ``experiment=code/stdlib`` on it twice (the first run builds the token cache, the
second reuses it), once more with ``data.num_workers=2``, and on the preset's own ``email``
package (baseline).

Every training run is its own process (``longseq.train.train`` as ``longseq train`` calls it)
and stops after ``--steps`` steps: the time to the first step counts from the process start
(imports included); RSS is the training process's (``VmRSS`` at the first and last step) and
the peak of any one process of the run (``ru_maxrss``, data-loader workers included).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LAMBDA = "pkg://longseq.plugins.genomics/data/lambda_virus.fa.gz"


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _Stop(Exception):
    """Raised by the clock after the last measured step: the run ends there (no test)."""


def _child(out: Path, steps: int, run_dir: Path, overrides: list[str]) -> None:
    """Train in this process with a clock on every step; write what it saw to ``out``."""
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # as the longseq command sets it
    started = float(os.environ["BENCH_T0"])
    import lightning

    from longseq.train import compose, to_train_config, train

    record: dict[str, Any] = {"step_end": [], "loss": [], "batch": []}

    class Clock(lightning.Callback):
        def on_train_batch_end(
            self, trainer: Any, module: Any, outputs: Any, batch: Any, *args: Any
        ) -> None:
            record["step_end"].append(time.time() - started)
            record["loss"].append(float(outputs["loss"]))
            ids = batch["input_ids"].numpy()
            record["batch"].append(hashlib.sha256(ids.tobytes()).hexdigest()[:16])
            if len(record["step_end"]) == 1:
                record["rss_first_mb"] = _rss_mb()
            if len(record["step_end"]) == steps:
                record["rss_last_mb"] = _rss_mb()
                raise _Stop

    config = to_train_config(compose([*overrides, f"trainer.max_steps={steps + 1}"]))
    try:
        train(config, run_dir, callbacks=[Clock()])
    except _Stop:
        pass
    out.write_text(json.dumps(record))


def _train(overrides: list[str], steps: int, work: Path, label: str) -> dict[str, Any]:
    """One training run in a fresh process: first-step time, step times, RSS, losses."""
    out = work / f"{label}.json"
    env = {**os.environ, "BENCH_T0": repr(time.time())}
    command = [
        sys.executable,
        __file__,
        "_train",
        str(out),
        str(steps),
        str(work / label),
        *overrides,
        "trainer.enable_progress_bar=false",
    ]
    with open(work / f"{label}.log", "w") as log:
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 or not out.is_file():
        tail = (work / f"{label}.log").read_text().splitlines()[-15:]
        raise SystemExit(f"{label}: training failed ({child.returncode}):\n" + "\n".join(tail))
    record = json.loads(out.read_text())
    ends = record["step_end"]
    return {
        "label": label,
        "first_step_s": ends[0],
        "step_s": statistics.median(b - a for a, b in zip(ends, ends[1:], strict=False)),
        "steps": len(ends),
        "rss_first_mb": record["rss_first_mb"],
        "rss_last_mb": record["rss_last_mb"],
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "loss": record["loss"],
        "batch": record["batch"],
    }


Plan = tuple[str, list[str], Callable[[int], list[str]]]
"""A run: its label, its overrides, and what to do before repeat ``r`` (returns more overrides)."""


def _rounds(plans: list[Plan], repeats: int, steps: int, work: Path) -> list[dict[str, Any]]:
    """Every plan ``repeats`` times, round-robin (a change in the machine's load reaches every
    plan alike); per plan the median first-step and step times, the largest RSS values, and the
    first repeat's losses."""
    results: list[list[dict[str, Any]]] = [[] for _ in plans]
    for r in range(repeats):
        for i, (label, overrides, prepare) in enumerate(plans):
            extra = prepare(r)
            results[i].append(_train([*overrides, *extra], steps, work, f"{label} #{r}"))
    merged = []
    for (label, _, _), runs in zip(plans, results, strict=False):
        firsts = [run["first_step_s"] for run in runs]
        merged.append(
            {
                "label": label,
                "first_step_s": statistics.median(firsts),
                "first_step_range": (min(firsts), max(firsts)),
                "step_s": statistics.median(run["step_s"] for run in runs),
                "steps": runs[0]["steps"],
                **{
                    key: max(run[key] for run in runs)
                    for key in ("rss_first_mb", "rss_last_mb", "peak_rss_mb")
                },
                "loss": runs[0]["loss"],
                "batch": runs[0]["batch"],
                "repeats_same_batches": all(run["batch"] == runs[0]["batch"] for run in runs),
                "repeats_loss_gap": max(
                    abs(x - y)
                    for run in runs
                    for x, y in zip(run["loss"], runs[0]["loss"], strict=False)
                ),
            }
        )
    return merged


def _train_table(runs: list[dict[str, Any]], baseline: dict[str, Any]) -> list[str]:
    rows = [
        "| run | first step (s), median [min, max] | vs baseline | median step (s) "
        "| RSS at step 1 (MB) | RSS at last step (MB) | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        low, high = run["first_step_range"]
        rows.append(
            f"| {run['label']} | {run['first_step_s']:.1f} [{low:.1f}, {high:.1f}] | "
            f"{run['first_step_s'] / baseline['first_step_s']:.2f}x | {run['step_s']:.2f} | "
            f"{run['rss_first_mb']:.0f} | {run['rss_last_mb']:.0f} (step {run['steps']}) | "
            f"{run['peak_rss_mb']:.0f} |"
        )
    return rows


def _same_losses(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Whether runs ``a`` and ``b`` trained on the same batches, and how far their losses are."""
    batches = "the same" if a["batch"] == b["batch"] else "DIFFERENT"
    gap = max(abs(x - y) for x, y in zip(a["loss"], b["loss"], strict=False))
    losses = "bitwise identical" if a["loss"] == b["loss"] else f"at most {gap:.1e} apart"
    return f"{b['label']} vs {a['label']}: {batches} {len(a['batch'])} batches, losses {losses}"


def _repeats(runs: list[dict[str, Any]]) -> str:
    """What the repeats of each kind of run agree on."""
    batches = all(run["repeats_same_batches"] for run in runs)
    gap = max(run["repeats_loss_gap"] for run in runs)
    losses = "bitwise identical" if gap == 0 else f"at most {gap:.1e} apart"
    return (
        f"Repeats of one kind: {'the same' if batches else 'DIFFERENT'} batches, losses {losses}."
    )


def _window_reads(path: str, count: int) -> float:
    """Milliseconds per random window of 1,025 bases read and encoded (index present)."""
    from longseq.plugins.genomics.genome import GenomeWindows
    from longseq.plugins.genomics.tokenizer import DNATokenizer
    from longseq.tasks.lm.corpus import resolve_path

    windows = GenomeWindows(
        resolve_path(path), 1025, DNATokenizer("upper"), count, seed=1, reverse_complement_prob=0.5
    )
    windows[0]
    start = time.perf_counter()
    for i in range(count):
        windows[i]
    return 1e3 * (time.perf_counter() - start) / count


def _genome(args: argparse.Namespace, work: Path) -> list[str]:
    from longseq.bench.data import write_random_fasta
    from longseq.plugins.genomics.genome import IndexedGenome

    per_contig, extra = divmod(args.bases, args.contigs)
    contigs = {f"chr{i + 1}": per_contig + (i < extra) for i in range(args.contigs)}
    fasta = work / "genome.fa.gz"
    start = time.perf_counter()
    size = write_random_fasta(fasta, contigs, seed=0)
    written = time.perf_counter() - start
    lines = [
        f"Genome: {args.bases:,} random bases in {args.contigs} contigs, BGZF "
        f"{size / 1e6:,.0f} MB, written in {written:.1f} s.",
        "",
    ]
    common = ["experiment=genomics/windows", f"data.path={fasta}"]
    name = f"{args.bases / 1e9:g} Gbp"

    def no_index(_: int) -> list[str]:
        for suffix in (".fai", ".gzi"):
            Path(f"{fasta}{suffix}").unlink(missing_ok=True)
        return []

    cold, warm, workers, baseline = _rounds(
        [
            (f"{name}, no index yet", common, no_index),
            (f"{name}, indexed", common, lambda r: []),
            (f"{name}, indexed, 2 workers", [*common, "data.num_workers=2"], lambda r: []),
            (
                "lambda 48.5 kbp (baseline)",
                ["experiment=genomics/windows", f"data.path={LAMBDA}"],
                lambda r: [],
            ),
        ],
        args.repeats,
        args.steps,
        work,
    )
    lines += _train_table([cold, warm, workers, baseline], baseline)
    lines += [
        "",
        _same_losses(warm, workers)
        + "; "
        + _same_losses(warm, cold)
        + ". "
        + _repeats([cold, warm, workers, baseline]),
    ]
    index_s = {}
    for builder in ("pyfaidx", "longseq"):
        for suffix in (".fai", ".gzi"):
            Path(f"{fasta}{suffix}").unlink()
        start = time.perf_counter()
        if builder == "pyfaidx":
            import pyfaidx

            pyfaidx.Fasta(str(fasta), as_raw=True).close()
        else:
            IndexedGenome(fasta)
        index_s[builder] = time.perf_counter() - start
    big = _window_reads(str(fasta), args.windows)
    small = _window_reads(LAMBDA, args.windows)
    lines += [
        "",
        f"Index build alone (.fai + .gzi): {index_s['longseq']:.1f} s (IndexedGenome's "
        f"vectorised builder); pyfaidx's own builder {index_s['pyfaidx']:.1f} s "
        f"({index_s['pyfaidx'] / index_s['longseq']:.1f}x longer). Random windows of 1,025 bases "
        "read "
        f"and encoded ({args.windows} each): {big:.3f} ms on the {name} genome, {small:.3f} ms "
        f"on lambda ({big / small:.2f}x).",
    ]
    return lines


def _code(args: argparse.Namespace, work: Path) -> list[str]:
    from longseq.bench.data import code_phases

    languages = args.languages.split(",") if args.languages else None
    phases = code_phases(args.tree, languages)
    total = sum(phases[k] for k in ("walk", "parse", "order", "tokenise"))
    lines = [
        f"Tree: {args.tree}: {phases['files']:,} files, {phases['bytes'] / 1e6:.1f} MB, "
        f"{phases['tokens']:,} byte tokens.",
        "",
        "| phase | s | share |",
        "|---|---:|---:|",
        *(
            f"| {k} | {phases[k]:.2f} | {phases[k] / total:.0%} |"
            for k in ("walk", "parse", "order", "tokenise")
        ),
        f"| total | {total:.2f} | |",
        "",
    ]
    langs = f"modality.languages=[{args.languages}]" if args.languages else "modality.languages=[]"
    common = ["experiment=code/stdlib", f"data.path={args.tree}", langs]
    first_cache = f"data.cache_dir={work / 'tree-cache-0'}"
    email = ["experiment=code/stdlib", f"data.cache_dir={work / 'email-cache'}"]
    _train(email, 2, work, "email, building its cache")
    cold, warm, workers, baseline = _rounds(
        [
            (
                "tree, no cache yet",
                common,
                lambda r: [f"data.cache_dir={work / f'tree-cache-{r}'}"],
            ),
            ("tree, cache reused", [*common, first_cache], lambda r: []),
            (
                "tree, cache reused, 2 workers",
                [*common, first_cache, "data.num_workers=2"],
                lambda r: [],
            ),
            ("email 0.5 MB, cache reused (baseline)", email, lambda r: []),
        ],
        args.repeats,
        args.steps,
        work,
    )
    lines += _train_table([cold, warm, workers, baseline], baseline)
    lines += [
        "",
        _same_losses(warm, workers)
        + "; "
        + _same_losses(warm, cold)
        + ". "
        + _repeats([cold, warm, workers, baseline]),
    ]
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_train":
        _child(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), sys.argv[5:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    genome = sub.add_parser("genome", help="random-window training on a large BGZF FASTA")
    genome.add_argument("--bases", type=int, default=1_000_000_000)
    genome.add_argument("--contigs", type=int, default=8)
    genome.add_argument(
        "--windows", type=int, default=2000, help="random windows read for the read-speed line"
    )
    code = sub.add_parser("code", help="the code modality over a large source tree")
    code.add_argument("--tree", required=True, help="source tree, e.g. /usr/share/go-1.19/src")
    code.add_argument("--languages", default="go", help="comma-separated; '' for all")
    for p in (genome, code):
        p.add_argument("--steps", type=int, default=16, help="training steps per run")
        p.add_argument("--repeats", type=int, default=3, help="runs of each kind (round-robin)")
        p.add_argument("--tmp", default=None, help="parent of the temporary directory")
    args = parser.parse_args()
    if args.what == "code" and not Path(args.tree).is_dir():
        parser.error(f"--tree {args.tree}: no such directory")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="longseq-bench-data-", dir=args.tmp) as tmp:
        work = Path(tmp)
        os.environ["LONGSEQ_CACHE"] = str(work / "longseq-cache")
        lines = _genome(args, work) if args.what == "genome" else _code(args, work)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    lines += [
        "",
        f"{os.cpu_count()} CPUs ({cpu}), 1-min load {load:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end; python {platform.python_version()}; "
        f"peak RSS of this driver {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} "
        "MB.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
