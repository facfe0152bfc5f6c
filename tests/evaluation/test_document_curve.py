"""Loss by distance from the document start: documents cut at eos, each read from its start
(batched or not, the same losses as the model's own on that input), a token-weighted mean per
offset with a band that resamples documents."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from longseq.evaluation.document_curve import (
    document_curve,
    document_losses,
    split_documents_at,
)
from longseq.evaluation.metrics import token_losses
from longseq.models import LanguageModel, ModelConfig


def test_documents_are_the_runs_between_eos() -> None:
    docs = split_documents_at(np.array([5, 1, 2, 0, 3, 0, 0, 4]), eos_id=0)
    assert [d.tolist() for d in docs] == [[5, 1, 2], [3], [4]]


@pytest.mark.parametrize("mixer", [None, [0]], ids=["h3", "attention"])
def test_losses_are_the_models_from_the_document_start(mixer: list[int] | None) -> None:
    torch.manual_seed(0)
    model = LanguageModel(
        ModelConfig(d_model=16, n_layer=1, vocab_size=9, attn_layer_idx=mixer or [])
    )
    rng = np.random.default_rng(0)
    docs = [rng.integers(1, 9, size=n) for n in (5, 12, 3, 20)]
    batched = document_losses(model, docs, eos_id=0, length=16, batch_size=3, device="cpu")
    single = document_losses(model, docs, eos_id=0, length=16, batch_size=1, device="cpu")
    for doc, a, b in zip(docs, batched, single, strict=False):
        n = min(len(doc), 16)
        assert len(a) == n and np.allclose(a, b, atol=1e-5)
        ids = torch.as_tensor(np.concatenate([[0], doc[: n - 1]]), dtype=torch.long)[None]
        with torch.no_grad():
            expected = token_losses(model(ids), torch.as_tensor(doc[:n], dtype=torch.long)[None])
        assert np.allclose(a, expected[0].numpy(), atol=1e-5)


def test_curve_is_the_token_weighted_mean_with_a_band_over_documents() -> None:
    losses = [np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0]), np.array([2.0])]
    points = document_curve(losses)
    assert [(p.start, p.count, p.documents) for p in points] == [(0, 3, 3), (1, 2, 2), (2, 1, 1)]
    assert [p.loss for p in points] == [2.0, 3.0, 3.0]
    for p in points:
        assert p.low <= p.loss <= p.high
    assert points[2].low == points[2].high == 3.0  # one document: nothing to resample
    binned = document_curve(losses, buckets=2)
    assert sum(p.count for p in binned) == 6
    same = document_curve([np.ones(4)] * 5)
    assert all(p.low == p.high == 1.0 for p in same)
    with pytest.raises(ValueError, match="buckets=-1"):
        document_curve(losses, buckets=-1)
