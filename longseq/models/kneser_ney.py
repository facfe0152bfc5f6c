"""Next-token distributions from the interpolated Kneser–Ney n-gram of :mod:`.ngram`.

:func:`~longseq.models.ngram.ngram_bits` scores held-out streams and keeps one or two orders'
tables at a time. A generator (the n-gram baseline of ``longseq complete``) instead asks for
``p(w | context)`` over the whole vocabulary, one token after another, so :func:`fit_kneser_ney`
keeps every order's tables (raw counts at each order, continuation counts below the top one),
built by the same counting code, and :meth:`KneserNey.probabilities` applies the same
interpolation: ``p_n(w | c)`` from order 1 up to the longest context available, at most
``max_order - 1`` tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from longseq.models.ngram import (
    MAX_ORDER,
    _base,
    _exact_table,
    _hashed_table,
    _interpolate,
    _Queries,
    _roll,
    _Table,
)

__all__ = ["KneserNey", "fit_kneser_ney"]

_WRAP = 1 << 64


@dataclass
class KneserNey:
    """Fitted tables of orders ``1 .. max_order``: ``raw[n - 1]`` (counts of n-grams) and
    ``cont[n - 1]`` (continuation counts, for n < max_order)."""

    vocab_size: int
    max_order: int
    base: np.uint64
    raw: list[_Table]
    cont: list[_Table]

    def _key(self, tokens: np.ndarray) -> np.uint64:
        """The rolling key of a k-gram (as :func:`ngram_bits` builds them; 0 for none)."""
        key, base = 0, int(self.base)
        for t in tokens.tolist():
            key = (key * base + int(t) + 1) % _WRAP
        return np.uint64(key)

    def probabilities(self, context: np.ndarray) -> np.ndarray:
        """float64 [V]: ``p(w | context)`` for every token ``w``, from the last
        ``max_order - 1`` tokens of ``context`` (int [L], L may be 0)."""
        ids = np.asarray(context, dtype=np.int64)
        tail = ids[len(ids) - min(len(ids), self.max_order - 1) :]
        top = len(tail) + 1
        digits = np.arange(1, self.vocab_size + 1, dtype=np.uint64)
        lower = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for n in range(1, top + 1):
            ctx_key = self._key(tail[len(tail) - (n - 1) :] if n > 1 else tail[:0])
            with np.errstate(over="ignore"):
                grams = digits + ctx_key * self.base
            gram = _Queries(grams)
            ctx = _Queries(np.full(self.vocab_size, ctx_key, dtype=np.uint64))
            table = self.raw[n - 1] if n == top else self.cont[n - 1]
            lower = _interpolate(table, gram, ctx, lower)
        return lower


def fit_kneser_ney(train: np.ndarray, vocab_size: int, max_order: int) -> KneserNey:
    """Count every order ``1 .. max_order`` of ``train`` (1-D ids in ``0 .. vocab_size - 1``).

    Raises:
        ValueError: ``max_order`` outside ``1 .. MAX_ORDER``, fewer than 2 tokens, or a token
            outside the vocabulary.
    """
    if not 1 <= max_order <= MAX_ORDER:
        raise ValueError(f"n-gram order {max_order} must be between 1 and {MAX_ORDER}")
    stream = np.asarray(train)
    if len(stream) < 2:
        raise ValueError("the training files have fewer than 2 tokens to count")
    if int(stream.min()) < 0 or int(stream.max()) >= vocab_size:
        raise ValueError(f"the training files have a token outside 0 .. {vocab_size - 1}")
    base, exact = _base(vocab_size, max_order)
    digits = stream.astype(np.uint64) + np.uint64(1)
    prev = np.zeros(len(digits), dtype=np.uint64)
    cur = digits.copy()
    raw = [_exact_table(cur, base) if exact else _hashed_table(cur, prev)[0]]
    cont: list[_Table] = []
    for n in range(1, max_order):
        nxt = _roll(cur, digits, base)
        if exact:
            raw_next = _exact_table(nxt[n:], base)
            cont.append(_exact_table(raw_next.keys % base ** np.uint64(n), base))
        else:
            raw_next, reps = _hashed_table(nxt[n:], cur[n - 1 : -1])
            ctx_prev = np.zeros(len(digits), dtype=np.uint64)
            ctx_prev[1:] = prev[:-1]
            cont.append(_hashed_table(cur[n:][reps], ctx_prev[n:][reps])[0])
        raw.append(raw_next)
        cur, prev = nxt, cur
    return KneserNey(vocab_size, max_order, base, raw, cont)
