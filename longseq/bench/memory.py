"""Peak memory and time per token of one training step against sequence length
(``longseq bench memory``): how far a sequence of L tokens trains on this machine.

Each (mode, L) point runs in a fresh Python process (peak RSS only grows within a process):
a model from :mod:`longseq.bench.lm_models` (default H3, d_model 64, 2 layers, vocabulary 16 as
for DNA), one warm-up and ``repeats`` timed training steps (forward, cross-entropy, backward,
clipping, AdamW) on random tokens. Modes:

- ``long``: the model's ``long_context`` defaults (state passing and per-block activation
  checkpointing from their thresholds on);
- ``full``: both off, every layer one FFT over the whole sequence with all activations kept
  (the baseline, measured in the same run; ``x_memory_vs_full`` = its peak over ``long``'s).

Peak memory is the process's peak RSS on CPU (``ru_maxrss``: everything, the Python interpreter
and torch included) and ``torch.cuda.max_memory_allocated`` on CUDA. ``us_per_token`` is the
median step time over batch x L; ``x_time_per_token_vs_first`` its ratio to the shortest L of
the same mode (1.0 = flat).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from longseq.reporting import png

__all__ = ["COLUMNS", "DEFAULT_SEQ_LENS", "MODES", "run_memory_bench", "write_memory_png"]

DEFAULT_SEQ_LENS = (16384, 65536, 262144, 1048576)
MODES = ("long", "full")

COLUMNS = [
    ("model", "kind", ""),
    ("mode", "mode", ""),
    ("L", "seq_len", "d"),
    ("step s", "step_s", ".2f"),
    ("us/token", "us_per_token", ".1f"),
    ("x time/token vs first L", "x_time_per_token_vs_first", ".2f"),
    ("peak memory (GB)", "peak_memory_gb", ".2f"),
    ("x memory vs full", "x_memory_vs_full", ".2f"),
    ("note", "note", ""),
]


def _point(
    kind: str,
    mode: str,
    L: int,
    d_model: int,
    n_layer: int,
    batch: int,
    vocab: int,
    device: str,
    repeats: int,
    seed: int,
) -> dict[str, Any]:
    """Measure one point in this process (called in the child)."""
    import torch

    from longseq.bench.lm_models import bench_model_config
    from longseq.bench.training import _train_step
    from longseq.models.config import LongContextConfig
    from longseq.models.lm import LanguageModel

    torch.manual_seed(seed)
    cfg = bench_model_config(kind, d_model, n_layer, L, vocab_size=vocab)
    if mode == "full":
        cfg = replace(cfg, long_context=LongContextConfig(state_passing_from=0, checkpoint_from=0))
    dev = torch.device(device)
    model = LanguageModel(cfg).to(dev).train()
    optimizer = torch.optim.AdamW(model.param_groups(lr=1e-4, weight_decay=0.1), lr=1e-4)
    ids = torch.randint(0, vocab, (batch, L + 1), generator=torch.Generator().manual_seed(seed)).to(
        dev
    )
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    _train_step(model, optimizer, ids, torch.float32)  # warm-up
    step = statistics.median(
        _train_step(model, optimizer, ids, torch.float32) for _ in range(repeats)
    )
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"step_s": step, "peak_memory_gb": peak / 1e9}


def _run_child(args: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
    """Run :func:`_point` in a fresh interpreter; a crash or timeout becomes the row's note."""
    cmd = [sys.executable, "-m", "longseq.bench.memory", json.dumps(args)]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, env=os.environ.copy()
        )
    except subprocess.TimeoutExpired:
        return {"note": f"stopped after {timeout_s:g} s (--budget)"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        killed = out.returncode in (-9, 137)
        return {"note": "killed (out of memory?)" if killed else f"failed: {last[:120]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_memory_bench(
    seq_lens: Sequence[int] = DEFAULT_SEQ_LENS,
    kind: str = "h3",
    modes: Sequence[str] = MODES,
    d_model: int = 64,
    n_layer: int = 2,
    batch: int = 1,
    vocab: int = 16,
    device: str = "cpu",
    repeats: int = 1,
    full_max_len: int | None = None,
    time_budget_s: float | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per (mode, L); see the module docstring. ``full`` is skipped above
    ``full_max_len`` (it needs ~20 KB per token for this small model)."""
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ValueError(f"modes {list(modes)}: valid: {', '.join(MODES)}")
    if min(seq_lens, default=0) < 2:
        raise ValueError(f"sequence lengths must be >= 2; got {list(seq_lens)}")
    rows: list[dict[str, Any]] = []
    for mode in modes:
        for L in seq_lens:
            row: dict[str, Any] = {
                "kind": kind,
                "mode": mode,
                "seq_len": L,
                "batch": batch,
                "d_model": d_model,
                "n_layer": n_layer,
                "step_s": None,
                "us_per_token": None,
                "peak_memory_gb": None,
                "note": "",
            }
            if mode == "full" and full_max_len is not None and L > full_max_len:
                row["note"] = f"skipped: L > --full-max-len {full_max_len}"
            else:
                args = {
                    "kind": kind,
                    "mode": mode,
                    "L": L,
                    "d_model": d_model,
                    "n_layer": n_layer,
                    "batch": batch,
                    "vocab": vocab,
                    "device": device,
                    "repeats": repeats,
                    "seed": seed,
                }
                row.update(_run_child(args, time_budget_s))
                if row["step_s"] is not None:
                    row["us_per_token"] = 1e6 * row["step_s"] / (batch * L)
            rows.append(row)
            if progress is not None:
                progress(
                    f"{kind} {mode} L={L}: "
                    + (
                        f"{row['step_s']:.2f} s/step, peak {row['peak_memory_gb']:.2f} GB"
                        if row["step_s"] is not None
                        else row["note"]
                    )
                )
    _add_ratios(rows)
    return rows


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    full = {r["seq_len"]: r["peak_memory_gb"] for r in rows if r["mode"] == "full"}
    first: dict[str, float] = {}
    for r in rows:
        base = full.get(r["seq_len"])
        mem = r["peak_memory_gb"]
        r["x_memory_vs_full"] = base / mem if base and mem else None
        if r["us_per_token"] is not None:
            first.setdefault(r["mode"], r["us_per_token"])
            r["x_time_per_token_vs_first"] = r["us_per_token"] / first[r["mode"]]
        else:
            r["x_time_per_token_vs_first"] = None


def write_memory_png(rows: Sequence[dict[str, Any]], path: str | Path, title: str) -> None:
    """Two log-x panels, peak memory and time per token against L, one line per mode."""
    with png(path, panels=2, figsize=(11, 4.2), title=title) as (matplotlib, axes):
        for key, ax, label in (
            ("peak_memory_gb", axes[0], "peak memory (GB)"),
            ("us_per_token", axes[1], "time per token (us)"),
        ):
            for mode in dict.fromkeys(r["mode"] for r in rows):
                pts = [
                    (r["seq_len"], r[key])
                    for r in rows
                    if r["mode"] == mode and r.get(key) is not None
                ]
                if pts:
                    ax.plot(*zip(*pts, strict=False), marker="o", label=mode)
            ax.set(xscale="log", yscale="log", xlabel="sequence length (tokens)", ylabel=label)
            ax.set_xticks(sorted({r["seq_len"] for r in rows}))
            ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()


if __name__ == "__main__":
    print(json.dumps(_point(**json.loads(sys.argv[1]))))
