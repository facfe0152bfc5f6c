"""Next-line metrics: exact match and identifier accuracy.

Identifiers are the code plugin's (:func:`longseq.plugins.code.metrics.identifier_spans`):
tree-sitter nodes whose type ends in ``identifier`` (``identifier``, ``type_identifier``,
``field_identifier``...), so keywords, literals and operators never count. A line is parsed
after the file's text before it, so the grammar sees it where it stands in the file; the
predicted line is parsed after the same text, in place of the true one.
"""

from __future__ import annotations

from collections.abc import Sequence

from longseq.plugins.code.languages import parse
from longseq.plugins.code.metrics import identifier_spans

__all__ = ["exact_match", "identifier_accuracy", "line_identifiers"]


def exact_match(prediction: str, target: str) -> bool:
    """True when the two lines are equal once leading and trailing whitespace is stripped
    (indentation and trailing spaces do not count; inner whitespace does)."""
    return prediction.strip() == target.strip()


def line_identifiers(prefix: str, line: str, language: str) -> list[str]:
    """The identifier names of ``line``, in source order, parsed as the line that follows
    ``prefix`` (the file's text up to the line's start) in a ``language`` file."""
    start = len(prefix.encode("utf-8"))
    tree = parse(prefix + line, language)
    return [name for begin, _, name in identifier_spans(tree) if begin >= start]


def identifier_accuracy(predicted: Sequence[str], target: Sequence[str]) -> float | None:
    """The share of the true line's identifiers that the prediction gets right, in order.

    With ``target`` = t_1..t_n and ``predicted`` = p_1..p_m (the identifier names of each line,
    in source order), the score is ``#{i <= n : i <= m and p_i == t_i} / n``: the i-th
    identifier of the prediction must be the i-th identifier of the true line. A missing or
    extra identifier shifts the ones after it, which then count as wrong; identifiers the
    prediction adds after t_n cost nothing. ``None`` when the true line has no identifier
    (such lines are left out of the mean).
    """
    if not target:
        return None
    right = sum(1 for p, t in zip(predicted, target, strict=False) if p == t)
    return right / len(target)
