"""A corpus with too few documents to hold out validation and test documents (one genome, one
book) is cut into contiguous parts first, so that ``val_fraction`` and ``test_fraction`` hold
out whole parts, as they would hold out whole documents of a larger corpus."""

from __future__ import annotations

import math
from collections.abc import Sequence

from longseq.plugins.modality import Document
from longseq.tasks.lm.config import LMDataConfig

__all__ = ["cut_into_parts"]


def _held_out(fraction: float, n: int) -> int:
    # Same rule as corpus.held_out_count (not imported: corpus imports this module).
    return max(1, round(fraction * n)) if fraction > 0 else 0


def cut_into_parts(documents: Sequence[Document], cfg: LMDataConfig) -> list[Document]:
    """``documents`` unchanged when there are enough of them to hold out what ``cfg`` asks for;
    otherwise each one cut into equal contiguous parts (``name (part i/k)``), about
    ``1 / min(fraction)`` parts in all, so the held-out parts are close to the fractions asked for.

    Documents whose content cannot be sliced, or is too short to cut, are returned unchanged
    (the split then reports that there are too few documents).
    """
    fractions = [
        f
        for f, given in ((cfg.val_fraction, cfg.val_path), (cfg.test_fraction, cfg.test_path))
        if not given and f > 0
    ]
    n = len(documents)
    needed = sum(_held_out(f, n) for f in fractions) + 1
    if not fractions or n >= needed:
        return list(documents)
    target = max(needed, math.ceil(1 / min(fractions)))
    per = math.ceil(target / max(n, 1))
    parts: list[Document] = []
    for document in documents:
        content = document.content
        try:
            length = len(content)
        except TypeError:
            return list(documents)
        if length < per:
            return list(documents)
        bounds = [length * i // per for i in range(per + 1)]
        parts += [
            # A part keeps its file's identity: a run that trained on one part trained on it.
            Document(
                f"{document.name} (part {i + 1}/{per})",
                content[a:b],
                document.label,
                document.source_sha256,
            )
            for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=False))
        ]
    return parts
