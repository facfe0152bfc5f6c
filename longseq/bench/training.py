"""Training throughput (``longseq bench train``): H3, hybrid and Transformer models of the same
size (:mod:`longseq.bench.lm_models`) at increasing sequence length.

One timed training step = forward, next-token cross-entropy, backward, gradient clipping at 1.0,
AdamW step (the parameter groups ``longseq train`` uses) and zeroing the gradients — what a
Lightning step does, without Lightning's bookkeeping. Median over ``repeats`` steps after one
warm-up step per point; torch.cuda.synchronize around each step on CUDA, activations in ``dtype``
through autocast (weights fp32), as ``trainer=gpu`` trains; float16 adds loss scaling.
``train_tokens_per_s`` = batch x L /
step time; ``x_vs_transformer`` is that over the Transformer's at the same L in the same run.
A point whose predicted time (Transformer and hybrid ~ L^2, H3 ~ L) exceeds ``time_budget_s``
is skipped with the reason in ``note``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.nn import functional as F

from longseq.bench.lm_models import BENCH_KINDS, bench_model, model_record
from longseq.bench.throughput import add_ratios, predicted_s
from longseq.bench.timing import autocast, sync
from longseq.models.lm import LanguageModel
from longseq.reporting import Column

__all__ = ["COLUMNS", "DEFAULT_SEQ_LENS", "run_train_bench"]

DEFAULT_SEQ_LENS = (1024, 2048, 4096, 8192, 16384)
_GROWTH = {"h3": 1.0, "hybrid": 2.0, "transformer": 2.0}

COLUMNS: list[Column] = [
    ("model", "kind", ""),
    ("L", "seq_len", "d"),
    ("step ms", "step_ms", ".1f"),
    ("train tok/s", "train_tokens_per_s", ".0f"),
    ("x vs Transformer", "x_vs_transformer", ".2f"),
    ("params (M)", "params_M", ".2f"),
    ("non-embedding (M)", "params_non_embedding_M", ".2f"),
    ("note", "note", ""),
]


def _train_step(
    model: LanguageModel,
    optimizer: torch.optim.Optimizer,
    ids: torch.Tensor,
    dtype: torch.dtype,
    scaler: torch.amp.GradScaler | None = None,
) -> float:
    """Seconds of one full training step on ``ids`` [B, L] (float16: with loss scaling)."""
    device = ids.device
    scaler = scaler or torch.amp.GradScaler(device.type, enabled=False)  # disabled: pass-through
    sync(device)
    start = time.perf_counter()
    with autocast(device, dtype):
        logits = model(ids[:, :-1])
    loss = F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    sync(device)
    return time.perf_counter() - start


def run_train_bench(
    seq_lens: Sequence[int] = DEFAULT_SEQ_LENS,
    kinds: Sequence[str] = BENCH_KINDS,
    d_model: int = 256,
    n_layer: int = 4,
    batch: int = 1,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    repeats: int = 3,
    time_budget_s: float = 120.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per (model kind, sequence length); see the module docstring for what is timed."""
    device = torch.device(device)
    if repeats < 1 or batch < 1:
        raise ValueError(f"repeats={repeats}, batch={batch}: each must be >= 1")
    if min(seq_lens, default=0) < 2:
        raise ValueError(f"sequence lengths must be >= 2; got {list(seq_lens)}")
    gen = torch.Generator().manual_seed(seed)
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        model = bench_model(kind, d_model, n_layer, max(seq_lens), device, seed).train()
        optimizer = torch.optim.AdamW(model.param_groups(lr=1e-4, weight_decay=0.1), lr=1e-4)
        scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
        last: tuple[int, float] | None = None
        for L in seq_lens:
            row: dict[str, Any] = {
                **model_record(kind, model, batch, device, dtype),
                "seq_len": L,
                "step_ms": None,
                "train_tokens_per_s": None,
                "note": "",
            }
            pred = predicted_s(last, L, _GROWTH[kind])
            if pred is not None and pred * (repeats + 1) > time_budget_s:
                row["note"] = (
                    f"skipped: predicted {pred:.0f} s x {repeats + 1} steps > {time_budget_s:g} s "
                    "budget"
                )
                rows.append(row)
                continue
            ids = torch.randint(0, 256, (batch, L + 1), generator=gen).to(device)
            _train_step(model, optimizer, ids, dtype, scaler)  # warm-up
            step = statistics.median(
                _train_step(model, optimizer, ids, dtype, scaler) for _ in range(repeats)
            )
            last = (L, step)
            row.update(step_ms=1e3 * step, train_tokens_per_s=batch * L / step)
            rows.append(row)
            if progress is not None:
                progress(
                    f"{kind} L={L}: {1e3 * step:.0f} ms/step, {row['train_tokens_per_s']:.0f} tok/s"
                )
        del model, optimizer, scaler
    add_ratios(rows, "train_tokens_per_s", "seq_len", "transformer")
    return rows
