"""Long-range identifier recall: can the model reproduce a name it last needed far back?

A position counts when its token belongs to an identifier occurrence (a tree-sitter node whose
type ends in ``identifier``) whose name first appeared more than ``min_distance`` tokens before
this occurrence's first token — the first occurrence stands in for the definition. Local
context cannot predict such a name; only a model that carries it across the gap can.

Masks are over positions of the token stream. For next-token prediction, where ``logits[t]``
predicts ``ids[t + 1]``, score with ``identifier_recall(logits[:-1], ids[1:], mask[1:])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from longseq.plugins.code.languages import parse
from longseq.plugins.text.tokenizers import ByteTokenizer

if TYPE_CHECKING:
    from tree_sitter import Tree

    from longseq.plugins.modality import Tokenizer

__all__ = [
    "identifier_recall",
    "identifier_spans",
    "long_range_identifier_mask",
    "stream_identifier_mask",
    "token_byte_offsets",
]


def identifier_spans(tree: Tree, offset: int = 0) -> list[tuple[int, int, str]]:
    """``(start_byte, end_byte, name)`` of every identifier node in ``tree``, in source order;
    byte offsets are shifted by ``offset``."""
    spans: list[tuple[int, int, str]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type.endswith("identifier") and node.end_byte > node.start_byte:
            name = (node.text or b"").decode("utf-8", errors="replace")
            spans.append((node.start_byte + offset, node.end_byte + offset, name))
            continue
        stack.extend(reversed(node.children))
    return sorted(spans)


def long_range_identifier_mask(
    token_offsets: np.ndarray,
    spans: Sequence[tuple[int, int, str]],
    min_distance: int,
    *,
    first_token_only: bool = False,
) -> np.ndarray:
    """Bool mask [n] of the tokens that repeat an identifier first seen > ``min_distance`` tokens
    earlier.

    Args:
        token_offsets: int [n, 2], each token's ``[start, end)`` byte range in the stream,
            non-decreasing.
        spans: identifier occurrences ``(start_byte, end_byte, name)`` in stream bytes.
        min_distance: the gap, in tokens, between the first occurrence's first token and this
            occurrence's first token must exceed it.
        first_token_only: mark only the first token of each qualifying occurrence.
    """
    offsets = np.asarray(token_offsets, dtype=np.int64).reshape(-1, 2)
    mask = np.zeros(len(offsets), dtype=bool)
    starts, ends = offsets[:, 0], offsets[:, 1]
    first_seen: dict[str, int] = {}
    for start, end, name in sorted(spans):
        # First token whose end lies past the identifier's first byte; tokens up to ``end``.
        first = int(np.searchsorted(ends, start, side="right"))
        last = int(np.searchsorted(starts, end, side="left"))
        if first >= len(offsets) or first >= last:
            continue
        seen = first_seen.setdefault(name, first)
        if first - seen > min_distance:
            mask[first : first + 1 if first_token_only else last] = True
    return mask


def token_byte_offsets(tokenizer: Tokenizer, ids: np.ndarray) -> np.ndarray:
    """int64 [n, 2] byte range of each id in the decoded text (specials are empty ranges).

    Exact for tokenizers whose ids each decode to whole characters; raises ValueError when the
    per-token pieces do not add up to the decoded text (a character split across tokens).
    """
    ids = np.asarray(ids, dtype=np.int64)
    if isinstance(tokenizer, ByteTokenizer) or getattr(tokenizer, "is_byte_level", False):
        # One byte per id below 256; specials (eos, pad, sentinels) decode to nothing.
        lengths = (ids < 256).astype(np.int64)
    else:
        lengths = np.array([len(tokenizer.decode([int(i)]).encode("utf-8")) for i in ids], np.int64)
    total = len(tokenizer.decode(ids).encode("utf-8"))
    if int(lengths.sum()) != total:
        raise ValueError(
            f"token byte lengths sum to {int(lengths.sum())}, decoded text has {total} bytes: "
            "this tokenizer splits characters across tokens"
        )
    ends = np.cumsum(lengths)
    return np.stack([ends - lengths, ends], axis=1)


def stream_identifier_mask(
    documents: Sequence[tuple[str, str]],
    tokenizer: Tokenizer,
    min_distance: int,
    *,
    first_token_only: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Token stream and long-range identifier mask for ``(text, language)`` documents.

    Documents are encoded one after another, each followed by ``eos``, as the LM task streams
    them; identifiers come from parsing each text with its language's grammar.

    Returns:
        ``(ids, mask)``: int64 [n] and bool [n].
    """
    all_ids: list[np.ndarray] = []
    offsets: list[np.ndarray] = []
    spans: list[tuple[int, int, str]] = []
    base = 0
    for text, language in documents:
        ids = np.concatenate([tokenizer.encode(text), [tokenizer.eos_id]]).astype(np.int64)
        doc_offsets = token_byte_offsets(tokenizer, ids)
        spans += identifier_spans(parse(text, language), offset=base)
        all_ids.append(ids)
        offsets.append(doc_offsets + base)
        base += len(text.encode("utf-8"))
    if not all_ids:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    stream_offsets = np.concatenate(offsets)
    mask = long_range_identifier_mask(
        stream_offsets, spans, min_distance, first_token_only=first_token_only
    )
    return np.concatenate(all_ids), mask


def identifier_recall(logits_or_predictions: Any, targets: Any, mask: Any) -> float:
    """Accuracy on the masked positions (NaN when the mask selects none).

    Args:
        logits_or_predictions: float logits [..., V] (argmax is taken) or int predictions [...],
            a torch tensor or numpy array.
        targets: int ids [...], the same leading shape.
        mask: bool [...], the positions to score (e.g. from :func:`long_range_identifier_mask`).
    """
    preds = _to_numpy(logits_or_predictions)
    target = _to_numpy(targets)
    if preds.ndim == target.ndim + 1:
        preds = preds.argmax(axis=-1)
    selected = _to_numpy(mask).astype(bool)
    if preds.shape != target.shape or selected.shape != target.shape:
        raise ValueError(
            f"identifier_recall: predictions {preds.shape}, targets {target.shape} and mask "
            f"{selected.shape} must have the same shape"
        )
    count = int(selected.sum())
    if count == 0:
        return float("nan")
    return float((preds[selected] == target[selected]).sum()) / count


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)
