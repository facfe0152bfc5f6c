"""Which lines may be cut: every non-blank line, or only those worth predicting.

``skip_trivial`` leaves out lines with no letter or digit (``}``, ``)``, ``});``, ``*/``): in
Go or C a lone ``}`` is about one line in seven, and always answering it scores that much.
``min_identifiers`` keeps lines with at least that many identifiers (tree-sitter identifier
nodes of the whole file's parse, as :mod:`longseq.tasks.completion.metrics` counts them).
"""

from __future__ import annotations

import bisect

from longseq.plugins.code.languages import parse
from longseq.plugins.code.metrics import identifier_spans
from longseq.tasks.completion.context import RepoFile

__all__ = ["eligible_lines", "is_trivial"]


def is_trivial(line: str) -> bool:
    """True for a line without any letter or digit (blank lines included)."""
    return not any(c.isalnum() for c in line)


def eligible_lines(
    file: RepoFile, *, skip_trivial: bool = False, min_identifiers: int = 0
) -> list[bool]:
    """Per line of ``file.text`` (split on newlines): may it be cut? Blank lines never."""
    lines = file.text.split("\n")
    keep = [bool(line.strip()) and not (skip_trivial and is_trivial(line)) for line in lines]
    if min_identifiers > 0:
        starts, at = [], 0
        for line in lines:
            starts.append(at)
            at += len(line.encode("utf-8")) + 1
        counts = [0] * len(lines)
        for begin, _, _ in identifier_spans(parse(file.text, file.language)):
            counts[bisect.bisect_right(starts, begin) - 1] += 1
        keep = [k and c >= min_identifiers for k, c in zip(keep, counts, strict=False)]
    return keep
