"""Count-based order-k baselines for ``longseq eval --baseline ngram``.

:func:`ngram_bits` fits interpolated Kneser–Ney models of every order ``1 .. max_order`` on a
training token stream and returns the total bits of each held-out stream's targets under each
of them. Counting is vectorised numpy: the k-grams of a stream are rolling keys (exact base-``V``
packing while ``(V + 1) ** (max_order + 1)`` fits in 63 bits, e.g. a 10-token DNA vocabulary
up to k = 17; otherwise a 64-bit multiplicative rolling hash, where two different k-grams collide with probability about
``D**2 / 2**64`` for D distinct k-grams), counted by sorting the keys. Only one or two orders'
tables are held at once, so memory grows with the training tokens, not with k.

The smoothing is interpolated Kneser–Ney with one discount per order,
``D = n1 / (n1 + 2 n2)`` (n1, n2: the k-grams seen once, twice; 0.5 when either is 0): for an
order-n model with context ``c`` and next token ``w``

    p_n(w | c) = (max(N(c w) - D, 0) + D * T(c) * p_{n-1}(w | c')) / N(c)     if N(c) > 0
    p_n(w | c) = p_{n-1}(w | c')                                               otherwise

where ``N`` are raw counts at the model's own order and continuation counts (the number of
distinct tokens seen before ``c w``) at the lower orders, ``N(c) = sum_w N(c w)``, ``T(c)`` the
distinct ``w`` seen after ``c``, ``c'`` the context without its first token and ``p_0 = 1 / V``.

:func:`run_baseline` does this for a trained run: the run's own training split, encoded with the
run's own tokenizer, scored on the held-out split ``longseq eval`` measured, in the same unit
(bits per base / sample / byte, else per token) and with the same context as the model has
(the context never reaches back past the start of the model's window).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MAX_ORDER",
    "NgramBaseline",
    "discount",
    "format_baseline",
    "ngram_bits",
    "run_baseline",
]

MAX_ORDER = 32
"""The highest order :func:`ngram_bits` accepts."""

_HASH = np.uint64(0x9E3779B97F4A7C15)  # odd: a 64-bit multiplicative rolling hash
_BYTES_PER_TRAIN_TOKEN = 128  # peak bytes per training token while counting (measured ~100)
_BYTES_PER_HELD_TOKEN = 64


def discount(counts: np.ndarray) -> float:
    """The Kneser–Ney discount ``n1 / (n1 + 2 n2)`` of these k-gram counts (0.5 when no k-gram
    is seen once or none twice)."""
    n1 = int(np.count_nonzero(counts == 1))
    n2 = int(np.count_nonzero(counts == 2))
    if n1 == 0 or n2 == 0:
        return 0.5
    return n1 / (n1 + 2 * n2)


@dataclass
class _Table:
    """Counts of the distinct k-grams of one order: ``keys`` sorted, ``counts``; contexts
    ``ctx_keys`` sorted with their summed counts ``ctx_total`` and distinct next tokens
    ``ctx_types``; ``d`` the discount."""

    keys: np.ndarray
    counts: np.ndarray
    ctx_keys: np.ndarray
    ctx_total: np.ndarray
    ctx_types: np.ndarray
    d: float


class _Queries:
    """Held-out keys sorted once, so that every table is searched with sorted queries (much
    faster than random ones): ``keys[order]`` is sorted."""

    def __init__(self, keys: np.ndarray) -> None:
        self.order = np.argsort(keys)
        self.sorted = keys[self.order]

    def find(self, table_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each (sorted) query sits in ``table_keys`` and whether it is there."""
        if len(table_keys) == 0:
            return np.zeros(len(self.sorted), np.int64), np.zeros(len(self.sorted), bool)
        idx = np.searchsorted(table_keys, self.sorted)
        idx[idx == len(table_keys)] = 0
        return idx, table_keys[idx] == self.sorted

    def values(self, idx: np.ndarray, found: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``values[idx]`` (0 where not found), back in the queries' own order, as float64."""
        out = np.empty(len(self.sorted), dtype=np.float64)
        out[self.order] = np.where(found, values[idx], 0) if len(values) else 0.0
        return out


def _starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of the sorted ``ordered`` starts."""
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return np.flatnonzero(first)


def _grouped(keys: np.ndarray, counts: np.ndarray, ctx: np.ndarray) -> _Table:
    """A table from distinct sorted ``keys`` with their ``counts`` and context keys ``ctx``
    (sorted too when the keys are exact, in any order when hashed)."""
    order = None
    if len(ctx) > 1 and not bool(np.all(ctx[1:] >= ctx[:-1])):
        order = np.argsort(ctx)
        ctx, weights = ctx[order], counts[order]
    else:
        weights = counts
    starts = _starts(ctx)
    if len(starts):
        total = np.add.reduceat(weights, starts).astype(np.int64)
    else:
        total = np.zeros(0, np.int64)
    types = np.diff(np.append(starts, len(ctx))).astype(np.int64)
    return _Table(keys, counts, ctx[starts], total, types, discount(counts))


def _exact_table(grams: np.ndarray, base: np.uint64) -> _Table:
    """The table of the exact keys ``grams`` (each k-gram's context is its key // base)."""
    ordered = np.sort(grams)
    starts = _starts(ordered)
    keys = ordered[starts]
    counts = np.diff(np.append(starts, len(ordered))).astype(np.int64)
    return _grouped(keys, counts, keys // base)


def _hashed_table(grams: np.ndarray, ctx_of: np.ndarray) -> tuple[_Table, np.ndarray]:
    """The table of the hashed keys ``grams`` (``ctx_of[i]``: the context key of ``grams[i]``),
    counting occurrences; also the index of one occurrence of every distinct key."""
    order = np.argsort(grams)
    ordered = grams[order]
    starts = _starts(ordered)
    counts = np.diff(np.append(starts, len(ordered))).astype(np.int64)
    reps = order[starts]
    return _grouped(ordered[starts], counts, ctx_of[reps]), reps


def _interpolate(table: _Table, gram: _Queries, ctx: _Queries, lower: np.ndarray) -> np.ndarray:
    """``p_n`` at held-out positions with k-gram keys ``gram`` and context keys ``ctx``, from
    the lower order's probabilities ``lower``."""
    c = gram.values(*gram.find(table.keys), table.counts)
    idx, found = ctx.find(table.ctx_keys)
    total = ctx.values(idx, found, table.ctx_total)
    types = ctx.values(idx, found, table.ctx_types)
    seen = total > 0
    safe = np.where(seen, total, 1.0)
    mixed = (np.maximum(c - table.d, 0.0) + table.d * types * lower) / safe
    return np.where(seen, mixed, lower)


def _base(vocab_size: int, max_order: int) -> tuple[np.uint64, bool]:
    """The rolling key's multiplier and whether keys are exact (base ``V + 1`` packing)."""
    if (max_order + 1) * math.log2(vocab_size + 1) < 63:
        return np.uint64(vocab_size + 1), True
    return _HASH, False


def _roll(prev: np.ndarray, digits: np.ndarray, base: np.uint64) -> np.ndarray:
    """Keys of the k-grams ending at each position from those of the (k-1)-grams."""
    out = digits.copy()
    out[1:] += prev[:-1] * base
    return out


def _max_orders(n_targets: int, window: int | None, first: int) -> np.ndarray:
    """The highest order usable for each target: its context reaches back to the start of its
    window of ``window`` targets (``first``: the position of the first target in its window)."""
    j = np.arange(first, first + n_targets, dtype=np.int64)
    if window is not None:
        j = j % window
    return j + 2


def ngram_bits(
    train: np.ndarray,
    held_out: Mapping[str, np.ndarray],
    vocab_size: int,
    max_order: int,
    *,
    window: int | None = None,
) -> dict[str, np.ndarray]:
    """Total bits of every held-out stream's targets under interpolated Kneser–Ney models of
    order ``1 .. max_order`` fitted on ``train``.

    Args:
        train: 1-D integer token ids ``0 .. vocab_size - 1``.
        held_out: name -> 1-D token stream; its targets are ``stream[1:]`` (as the model's
            windows: each token is predicted from the ones before it).
        vocab_size: V, the ids' range (``p_0 = 1 / V``).
        max_order: K, the highest order (1: unigram).
        window: the model's window in targets (``data.seq_len``): the context of the target at
            stream position t reaches back no further than its window's first token,
            ``((t - 1) // window) * window``; None: back to the stream's start.

    Returns:
        name -> float64 [K]: entry ``k - 1`` is the total bits (``-log2 p``) of the stream's
        targets under the order-k model.

    Raises:
        ValueError: ``max_order`` outside ``1 .. MAX_ORDER``, an empty ``train`` or a token
            outside ``0 .. vocab_size - 1``.
    """
    if not 1 <= max_order <= MAX_ORDER:
        raise ValueError(f"n-gram order {max_order} must be between 1 and {MAX_ORDER}")
    if len(train) < 2:
        raise ValueError("the training split has fewer than 2 tokens to count")
    streams = {"train": np.asarray(train), **{f"h:{k}": np.asarray(v) for k, v in held_out.items()}}
    for name, stream in streams.items():
        if len(stream) and (int(stream.min()) < 0 or int(stream.max()) >= vocab_size):
            where = "the training split" if name == "train" else f"held-out stream {name[2:]!r}"
            raise ValueError(f"{where} has a token outside 0 .. {vocab_size - 1}")
    base, exact = _base(vocab_size, max_order)
    digits = {k: s.astype(np.uint64) + np.uint64(1) for k, s in streams.items()}
    n_train = len(train)
    # cur[name][i]: the key of the n-gram ending at position i; prev: of the (n-1)-gram (at
    # n = 1 the empty context, key 0).
    prev = {k: np.zeros(len(v), dtype=np.uint64) for k, v in digits.items()}
    cur = {k: d.copy() for k, d in digits.items()}
    names = [k for k in streams if k != "train"]
    limits = {k: _max_orders(max(len(streams[k]) - 1, 0), window, 0) for k in names}
    at_limit = {k: np.zeros(max_order + 1) for k in names}  # bits at targets whose limit is n
    at_least = {k: np.zeros(max_order + 1) for k in names}  # bits at targets whose limit >= n
    lower = {k: np.full(max(len(streams[k]) - 1, 0), 1.0 / vocab_size) for k in names}
    # Order 1: raw counts of the training tokens, context key 0 (empty).
    if exact:
        raw = _exact_table(cur["train"], base)
    else:
        raw, _ = _hashed_table(cur["train"], prev["train"])
    for n in range(1, max_order + 1):
        cont: _Table | None = None
        if n < max_order:
            # (n+1)-grams of the training stream: their raw table (the next order's) and the
            # continuation counts of order n (distinct (n+1)-grams by their last n tokens).
            nxt = _roll(cur["train"], digits["train"], base)
            if exact:
                raw_next = _exact_table(nxt[n:], base)
                cont = _exact_table(raw_next.keys % base ** np.uint64(n), base)
            else:
                raw_next, reps = _hashed_table(nxt[n:], cur["train"][n - 1 : -1])
                # The context key of the n-gram ending at position i is prev[i - 1].
                ctx_prev = np.zeros(n_train, dtype=np.uint64)
                ctx_prev[1:] = prev["train"][:-1]
                suffix = cur["train"][n:][reps]
                cont, _ = _hashed_table(suffix, ctx_prev[n:][reps])
        for k in names:
            if len(lower[k]) == 0:
                continue
            gram, ctx = _Queries(cur[k][1:]), _Queries(prev[k][:-1])
            top = _interpolate(raw, gram, ctx, lower[k])
            bits = -np.log2(top)
            limit = limits[k]
            at_limit[k][n] = float(bits[limit == n].sum())
            at_least[k][n] = float(bits[limit >= n].sum())
            if cont is not None:
                lower[k] = _interpolate(cont, gram, ctx, lower[k])
        if n < max_order:
            raw = raw_next
            for k in digits:
                step = nxt if k == "train" else _roll(cur[k], digits[k], base)
                cur[k], prev[k] = step, cur[k]
    out: dict[str, np.ndarray] = {}
    for k in names:
        totals = np.array(
            [at_limit[k][1:n].sum() + at_least[k][n] for n in range(1, max_order + 1)]
        )
        out[k[2:]] = totals
    return out


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
    from longseq.train import ConfigError

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
    name = config.task.name
    if name != "lm" or loaded.tokenizer is None:
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
        len(s) for s in held.values())
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
        (f"n-gram best (k={baseline.best_order})",
         f"{baseline.best_bits:.4f} bits per {unit} (k chosen on val from 1..{baseline.max_order}; "
         f"{baseline.train_tokens:,} training tokens, {baseline.seconds:.1f} s)"),
    ]
    if model_bits is not None:
        rows.append(("model - n-gram best", f"{model_bits - baseline.best_bits:+.4f} bits per {unit}"))
    return rows
