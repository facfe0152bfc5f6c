"""The n-gram baseline of ``longseq eval --baseline ngram``, on the count-based models of
:mod:`longseq.models.ngram`.

:func:`run_baseline` does this for a trained run: the run's own training split, encoded with the
run's own tokenizer, scored on the held-out split ``longseq eval`` measured, in the same unit
(bits per base / sample / byte, else per token) and with the same context as the model has
(the context never reaches back past the start of the model's window).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from longseq.errors import ConfigError
from longseq.models.ngram import MAX_ORDER, ngram_bits

__all__ = ["NgramBaseline", "format_baseline", "ngram_bits", "run_baseline"]

_BYTES_PER_TRAIN_TOKEN = 128  # peak bytes per training token while counting (measured ~100)
_BYTES_PER_HELD_TOKEN = 64


@dataclass
class NgramBaseline:
    """The n-gram baseline of a run (what :func:`run_baseline` measured).

    Attributes:
        split: the held-out split scored (``"test"`` or ``"val"``).
        unit: ``"base"``, ``"sample"``, ``"byte"`` or ``"token"``: what the bits are per.
        units: the scored targets that are a unit (all targets for ``"token"``).
        tokens: the scored targets.
        train_tokens: the training tokens counted.
        max_order: the highest order tried.
        val_bits: [K] bits per unit of orders ``1 .. K`` on the validation split.
        bits: [K] bits per unit of orders ``1 .. K`` on ``split``.
        best_order: the order with the fewest bits on the validation split.
        seconds: wall-clock time of the counting and scoring.
    """

    split: str
    unit: str
    units: int
    tokens: int
    train_tokens: int
    max_order: int
    val_bits: np.ndarray
    bits: np.ndarray
    best_order: int
    seconds: float

    @property
    def unigram_bits(self) -> float:
        """Bits per unit of the unigram model on ``split``."""
        return float(self.bits[0])

    @property
    def best_bits(self) -> float:
        """Bits per unit on ``split`` of the order chosen on the validation split."""
        return float(self.bits[self.best_order - 1])

    def metrics(self, model_bits: float | None = None) -> dict[str, Any]:
        """JSON-ready values; with ``model_bits`` (the model's bits per unit) also
        ``model_minus_best`` (negative: the model beats the baseline)."""
        out: dict[str, Any] = {
            "kind": "ngram",
            "smoothing": "interpolated_kneser_ney",
            "split": self.split,
            "unit": self.unit,
            "units": self.units,
            "tokens": self.tokens,
            "train_tokens": self.train_tokens,
            "max_order": self.max_order,
            f"unigram_bits_per_{self.unit}": self.unigram_bits,
            "best_order": self.best_order,
            f"best_bits_per_{self.unit}": self.best_bits,
            f"bits_per_{self.unit}_by_order": [float(b) for b in self.bits],
            f"val_bits_per_{self.unit}_by_order": [float(b) for b in self.val_bits],
            "seconds": self.seconds,
        }
        if model_bits is not None:
            out["model_minus_best"] = model_bits - self.best_bits
        return out


def _fail_config(message: str) -> Exception:
    return ConfigError(message)


def run_baseline(
    run_dir: str | Path,
    overrides: Sequence[str] = (),
    *,
    split: str = "test",
    tokens: int | None = None,
    max_order: int = 12,
    memory_bytes: int | None = None,
) -> NgramBaseline:
    """Fit order ``1 .. max_order`` n-gram models on the run's training split (its own
    tokenizer, its config with ``overrides``), choose the order on the validation split and score
    ``split``.

    Args:
        tokens: score the first ``tokens`` targets of ``split`` (what ``longseq eval
            --max-batches`` measured); None: all of them.
        memory_bytes: refuse when the counting would need more (default: the memory available).

    Raises:
        RunError: not a finished run.
        ConfigError: a run whose tokens cannot be counted (a synthetic task, random-window
            sampling), or counting that would not fit in memory (naming ``--ngram-max-order``).
        DataError: the data cannot be read.
        ValueError: a bad ``split`` or ``max_order``.
    """
    from longseq.evaluation.metrics import (
        SPLITS,
        _load,
        _run_config,
        _task_data,
        _unit_mask,
        unit_name,
    )
    from longseq.tasks.lm.datamodule import WindowDataset

    if split not in SPLITS:
        raise ValueError(f"split {split!r} must be one of {', '.join(SPLITS)}")
    if not 1 <= max_order <= MAX_ORDER:
        raise ValueError(f"--ngram-max-order {max_order} must be between 1 and {MAX_ORDER}")
    loaded = _load(Path(run_dir), "cpu")
    config = _run_config(loaded, overrides, None)
    from longseq.tasks.registry import task_named

    name = config.task.name
    if not task_named(name).reads_files or loaded.tokenizer is None:
        raise _fail_config(
            f"--baseline ngram counts the run's token stream; task {name!r} has none "
            "(its examples are generated, not a tokenized corpus)"
        )
    if getattr(config.data, "sampling", "sequential") != "sequential":
        raise _fail_config(
            "--baseline ngram counts the training split as one token stream, which a "
            "data.sampling=random_windows run never reads whole (its regions are not the "
            "sequential splits); the baseline supports data.sampling=sequential runs only"
        )
    start = time.perf_counter()
    data = _task_data(config, loaded)
    datasets = data.datamodule.datasets  # type: ignore[attr-defined]
    streams = {}
    for part in ("train", "val", split):
        dataset = datasets[part]
        assert isinstance(dataset, WindowDataset)
        streams[part] = dataset.tokens
    train = np.asarray(streams["train"])
    held = {"val": np.asarray(streams["val"])}
    if split != "val":
        end = len(streams[split]) if tokens is None else tokens + 1
        held[split] = np.asarray(streams[split][:end])
    elif tokens is not None:
        held["val"] = held["val"][: tokens + 1]
    tokenizer = data.tokenizer if data.tokenizer is not None else loaded.tokenizer
    vocab = int(tokenizer.vocab_size)
    need = _BYTES_PER_TRAIN_TOKEN * len(train) + _BYTES_PER_HELD_TOKEN * sum(
        len(s) for s in held.values()
    )
    budget = memory_bytes if memory_bytes is not None else _available_memory()
    if budget is not None and need > budget:
        raise _fail_config(
            f"--baseline ngram needs about {need / 2**30:.1f} GiB to count "
            f"{len(train):,} training tokens up to order {max_order} and "
            f"{budget / 2**30:.1f} GiB is available; lower --ngram-max-order or data.max_tokens"
        )
    seq_len = int(config.data.seq_len)
    bits = ngram_bits(train, held, vocab, max_order, window=seq_len)
    unit = unit_name(loaded.config.get("modality") or {})
    scored = held[split][1:]
    if unit is not None:
        mask = _unit_mask(tokenizer).numpy()
        units = int(mask[scored.astype(np.int64)].sum())
        val_units = int(mask[held["val"][1:].astype(np.int64)].sum())
    else:
        unit, units, val_units = "token", len(scored), len(held["val"]) - 1
    if units == 0 or val_units == 0:
        raise _fail_config(f"--baseline ngram: the {split} or val split has no {unit} to score")
    val_per_unit = bits["val"] / val_units
    return NgramBaseline(
        split=split,
        unit=unit,
        units=units,
        tokens=len(scored),
        train_tokens=len(train),
        max_order=max_order,
        val_bits=val_per_unit,
        bits=bits[split] / units,
        best_order=int(np.argmin(val_per_unit)) + 1,
        seconds=time.perf_counter() - start,
    )


def _available_memory() -> int | None:
    """Bytes of memory available now (None where the system does not say)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def format_baseline(baseline: NgramBaseline, model_bits: float | None) -> list[tuple[str, str]]:
    """Rows for the eval table: the unigram's and the best order's bits, and model minus best."""
    unit = baseline.unit
    rows = [
        ("n-gram unigram", f"{baseline.unigram_bits:.4f} bits per {unit}"),
        (
            f"n-gram best (k={baseline.best_order})",
            f"{baseline.best_bits:.4f} bits per {unit} (k chosen on val from "
            f"1..{baseline.max_order}; "
            f"{baseline.train_tokens:,} training tokens, {baseline.seconds:.1f} s)",
        ),
    ]
    if model_bits is not None:
        rows.append(
            ("model - n-gram best", f"{model_bits - baseline.best_bits:+.4f} bits per {unit}")
        )
    return rows
