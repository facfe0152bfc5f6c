"""Count-based order-k language models: interpolated Kneser–Ney n-grams over token ids.

:func:`ngram_bits` fits interpolated Kneser–Ney models of every order ``1 .. max_order`` on a
training token stream and returns the total bits of each held-out stream's targets under each
of them. Counting is vectorised numpy: the k-grams of a stream are rolling keys (exact base-``V``
packing while ``(V + 1) ** (max_order + 1)`` fits in 63 bits, e.g. a 10-token DNA vocabulary
up to k = 17; otherwise a 64-bit multiplicative rolling hash, where two different k-grams collide
with probability about
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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_ORDER", "discount", "ngram_bits"]

MAX_ORDER = 32
"""The highest order :func:`ngram_bits` accepts."""

_HASH = np.uint64(0x9E3779B97F4A7C15)  # odd: a 64-bit multiplicative rolling hash


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
