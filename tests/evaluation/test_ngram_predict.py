"""The n-gram generator's next-token distribution is the scorer's Kneser–Ney model: the same
probability of every token as :func:`ngram_bits` gives it, in exact and hashed keys."""

from __future__ import annotations

import numpy as np
import pytest

from longseq.models.kneser_ney import fit_kneser_ney
from longseq.models.ngram import ngram_bits


@pytest.mark.parametrize(("vocab", "order"), [(5, 4), (300, 8)], ids=["exact", "hashed"])
def test_probabilities_match_the_scorer(vocab: int, order: int) -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(0, vocab, size=3000)
    train[100:400] = train[500:800]  # repeats, so long contexts are seen
    model = fit_kneser_ney(train, vocab, order)
    assert model.probabilities(np.zeros(0, np.int64)).sum() == pytest.approx(1.0)
    for length in (1, 3, 12):
        context = train[120 : 120 + length]
        p = model.probabilities(context)
        assert p.sum() == pytest.approx(1.0)
        target = int(train[120 + length])
        bits = ngram_bits(
            train, {"with": np.append(context, target), "without": context}, vocab, order
        )
        expected = bits["with"][order - 1] - bits["without"][order - 1]
        assert -np.log2(p[target]) == pytest.approx(expected, rel=1e-9)


def test_bad_orders_and_tokens_are_refused() -> None:
    with pytest.raises(ValueError, match="order 0"):
        fit_kneser_ney(np.arange(10) % 3, 3, 0)
    with pytest.raises(ValueError, match="outside 0 .. 2"):
        fit_kneser_ney(np.arange(10), 3, 2)
