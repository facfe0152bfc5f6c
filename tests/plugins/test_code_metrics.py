"""The long-range identifier-recall mask and metric."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from longseq.plugins.code.languages import parse
from longseq.plugins.code.metrics import (
    identifier_recall,
    identifier_spans,
    long_range_identifier_mask,
    stream_identifier_mask,
    token_byte_offsets,
)
from longseq.plugins.code.tokenizer import CodeTokenizer
from longseq.plugins.text.tokenizers import ByteTokenizer


def test_mask_on_a_hand_built_example() -> None:
    # Ten 2-byte tokens: bytes [0,2), [2,4), ... [18,20).
    offsets = np.array([[2 * i, 2 * i + 2] for i in range(10)])
    spans = [
        (0, 4, "alpha"),  # first occurrence, tokens 0-1
        (6, 8, "beta"),  # first occurrence, token 3
        (10, 12, "alpha"),  # token 5: 5 tokens after alpha's first -> counts for N < 5
        (12, 14, "beta"),  # token 6: 3 tokens after beta's first -> counts for N < 3
        (16, 20, "alpha"),  # tokens 8-9: 8 after -> counts for N < 8
    ]
    mask = long_range_identifier_mask(offsets, spans, min_distance=4)
    assert mask.tolist() == [False] * 5 + [True, False, False, True, True]
    mask = long_range_identifier_mask(offsets, spans, min_distance=2)
    assert mask.tolist() == [False] * 5 + [True, True, False, True, True]
    mask = long_range_identifier_mask(offsets, spans, min_distance=4, first_token_only=True)
    assert mask.tolist() == [False] * 5 + [True, False, False, True, False]
    assert not long_range_identifier_mask(offsets, spans, min_distance=8).any()


def test_identifier_spans_come_from_the_tree() -> None:
    source = "def total(items):\n    return sum(items)\n"
    spans = identifier_spans(parse(source, "python"))
    assert [name for _, _, name in spans] == ["total", "items", "sum", "items"]
    start, end, _ = spans[1]
    assert source.encode()[start:end] == b"items"


def test_stream_mask_marks_only_far_repeats_of_identifiers() -> None:
    tok = CodeTokenizer(ByteTokenizer())
    source = "value = 1\n" + "#" * 40 + "\nprint(value)\n"
    ids, mask = stream_identifier_mask([(source, "python")], tok, min_distance=20)
    assert len(ids) == len(source.encode()) + 1 and ids[-1] == tok.eos_id
    marked = bytes(ids[mask].astype(np.uint8)).decode()
    assert marked == "value"
    # Across documents: the second file repeats a name of the first.
    docs = [("value = 1\n", "python"), ("x = value\n", "python")]
    ids, mask = stream_identifier_mask(docs, tok, min_distance=5)
    assert bytes(ids[mask].astype(np.uint8)).decode() == "value"


def test_byte_offsets_count_multibyte_characters_and_specials() -> None:
    tok = CodeTokenizer(ByteTokenizer())
    ids = np.concatenate([tok.encode("é<fim_middle>a"), [tok.eos_id]])
    assert token_byte_offsets(tok, ids).tolist() == [[0, 1], [1, 2], [2, 2], [2, 3], [3, 3]]


def test_identifier_recall_from_logits_and_predictions() -> None:
    targets = torch.tensor([[1, 2, 3, 4]])
    mask = torch.tensor([[False, True, True, False]])
    logits = torch.nn.functional.one_hot(torch.tensor([[1, 2, 0, 0]]), 5).float()
    assert identifier_recall(logits, targets, mask) == pytest.approx(0.5)
    assert identifier_recall(np.array([[0, 2, 3, 0]]), targets.numpy(), mask.numpy()) == 1.0
    assert np.isnan(identifier_recall(targets, targets, torch.zeros_like(mask)))
    with pytest.raises(ValueError, match="same shape"):
        identifier_recall(targets[:, :2], targets, mask)
