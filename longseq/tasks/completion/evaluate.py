"""The completion experiment for one run: every cut point at every context budget, scored.

Which files get cut is decided by :mod:`longseq.tasks.completion.holdout` (by the files'
identity recorded in each run); :func:`training_files` recomputes the split of runs saved
before that record.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from longseq.plugins.modality import DataError, Document
from longseq.tasks.completion.context import CutPoint, Prompt, RepoFile, RepoStream, truncate_left
from longseq.tasks.completion.metrics import exact_match, identifier_accuracy, line_identifiers
from longseq.tasks.completion.stats import bootstrap_ci
from longseq.tasks.lm.corpus import held_out_count, resolve_path, split_documents

__all__ = [
    "ContextResult",
    "Predictor",
    "context_budget",
    "evaluate_contexts",
    "same_path",
    "training_files",
    "true_identifiers",
]

Predictor = Callable[[CutPoint, Prompt], str]
"""``(cut, prompt) -> predicted line`` (no newline). The cut is there for oracles and logging;
a model sees only the prompt."""


@dataclass
class ContextResult:
    """One run at one context length.

    Attributes:
        context: the context length asked for, in tokens.
        n: cut points scored (0 when not applicable).
        exact_match: share of lines predicted exactly (whitespace-stripped), or None.
        identifier_accuracy: mean :func:`identifier_accuracy` over the ``identifier_lines``
            targets that hold an identifier, or None.
        identifier_lines: how many targets hold an identifier.
        mean_context_tokens: mean tokens actually given (less than ``context`` where the
            repository before a cut is shorter, or a run's positions leave less room), or None.
        seconds: wall time of prefill and decoding over all cuts.
        note: why the context length does not apply to this run ("" when it does).
        predictions: the predicted line per cut, in cut order.
        budget: the most context tokens a cut was given: ``context``, or less where the run's
            learned positions leave less room (None when not applicable).
        trained_seq_len: the longest sequence the run was trained on (None: not recorded).
        extrapolated: cuts whose context is longer than ``trained_seq_len`` (positions the
            run never trained on).
        correct: per cut, whether the line was predicted exactly.
        identifier_scores: per cut, :func:`identifier_accuracy` (None: no identifier).
        context_tokens: per cut, the context tokens given.
        exact_match_ci: 95% bootstrap interval of ``exact_match`` over the cuts, or None.
        identifier_accuracy_ci: 95% bootstrap interval of ``identifier_accuracy``, or None.
    """

    context: int
    n: int = 0
    exact_match: float | None = None
    identifier_accuracy: float | None = None
    identifier_lines: int = 0
    mean_context_tokens: float | None = None
    seconds: float = 0.0
    note: str = ""
    predictions: list[str] = field(default_factory=list)
    budget: int | None = None
    trained_seq_len: int | None = None
    extrapolated: int = 0
    correct: list[bool] = field(default_factory=list)
    identifier_scores: list[float | None] = field(default_factory=list)
    context_tokens: list[int] = field(default_factory=list)
    exact_match_ci: tuple[float, float] | None = None
    identifier_accuracy_ci: tuple[float, float] | None = None


def same_path(a: str, b: str) -> bool:
    """True when two data paths (``pkg://`` allowed) name the same file or directory."""
    try:
        return os.path.realpath(resolve_path(a)) == os.path.realpath(resolve_path(b))
    except DataError:
        return False


def training_files(run_config: Mapping[str, Any], repo: str, names: Sequence[str]) -> set[str]:
    """The documents among ``names`` that the run trained on.

    ``names`` is the repository as this run reads it, in reading order. When the run's
    ``data.path`` is ``repo``, the LM task's split (``data.val_fraction``,
    ``data.test_fraction``, ``data.seed``; nothing held out for a split given its own
    ``val_path``/``test_path``) is recomputed and its train part returned; otherwise nothing.
    """
    data = run_config.get("data") or {}
    path = data.get("path")
    if not isinstance(path, str) or not same_path(path, repo):
        return set()
    n = len(names)
    n_val = 0 if data.get("val_path") else held_out_count(float(data.get("val_fraction", 0.0)), n)
    n_test = (
        0 if data.get("test_path") else held_out_count(float(data.get("test_fraction", 0.0)), n)
    )
    documents = [Document(name=name, content="") for name in names]
    try:
        train, _, _ = split_documents(documents, n_val, n_test, int(data.get("seed", 0)), path)
    except DataError:
        # Too few files to have been split this way: the run trained on all of them.
        return set(names)
    return {d.name for d in train}


def context_budget(
    context: int, max_positions: int, max_line_tokens: int
) -> tuple[int | None, str]:
    """``(tokens of context to give, note)`` for a context length on a run.

    A run without learned positions (``max_positions`` 0) takes any length. A run with them
    cannot see more than ``max_positions`` tokens: a longer context length does not apply
    (``None`` and a note saying why); a shorter one is cut to leave room for the line,
    ``min(context, max_positions - max_line_tokens)`` (and, per cut, for the forced whitespace
    before the line). The tokens actually given are reported as ``mean_context_tokens``.
    """
    if context < 1:
        raise ValueError(f"context length {context} must be >= 1")
    if max_positions <= 0:
        return context, ""
    if context > max_positions:
        return None, f"context {context} exceeds max_position_embeddings={max_positions}"
    room = max_positions - max_line_tokens
    if room < 1:
        return None, (
            f"max_position_embeddings={max_positions} leaves no room for a context and "
            f"{max_line_tokens} line tokens"
        )
    return min(context, room), ""


def true_identifiers(files: Sequence[RepoFile], cuts: Sequence[CutPoint]) -> list[list[str]]:
    """The identifiers of each cut's target line (see :func:`line_identifiers`)."""
    by_name = {f.name: f for f in files}
    return [
        line_identifiers(by_name[c.file].text[: c.offset], c.target, by_name[c.file].language)
        for c in cuts
    ]


def evaluate_contexts(
    stream: RepoStream,
    cuts: Sequence[CutPoint],
    contexts: Sequence[int],
    predict: Predictor,
    *,
    max_positions: int = 0,
    max_line_tokens: int = 64,
    trained_seq_len: int | None = None,
    targets: Sequence[Sequence[str]] | None = None,
    progress: Callable[[ContextResult], None] | None = None,
) -> list[ContextResult]:
    """Predict and score every cut at every context length; one result per length, in order.

    Args:
        stream: the repository as this run streams it.
        cuts: the cut points (the same for every run compared).
        contexts: context lengths in tokens, each >= 1.
        predict: the line predictor (e.g. :class:`longseq.tasks.completion.decode.LineDecoder`).
        max_positions: the run's ``max_position_embeddings`` (0: none); see
            :func:`context_budget`.
        max_line_tokens: the predictor's token cap per line.
        trained_seq_len: the longest sequence the run was trained on; cuts given a longer
            context are counted in :attr:`ContextResult.extrapolated` (None: not known).
        targets: :func:`true_identifiers` of ``cuts`` (computed here when None).
        progress: called with each finished result.
    """
    files = {f.name: f for f in stream.files}
    if targets is None:
        targets = true_identifiers(stream.files, cuts)
    results: list[ContextResult] = []
    for context in contexts:
        budget, note = context_budget(context, max_positions, max_line_tokens)
        result = ContextResult(context=context, note=note, trained_seq_len=trained_seq_len)
        result.budget = budget
        if budget is not None and cuts:
            limit = max_positions - max_line_tokens if max_positions > 0 else 0
            _score(result, stream, cuts, targets, files, predict, budget, limit)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _score(
    result: ContextResult,
    stream: RepoStream,
    cuts: Sequence[CutPoint],
    targets: Sequence[Sequence[str]],
    files: Mapping[str, RepoFile],
    predict: Predictor,
    budget: int,
    limit: int,
) -> None:
    """Fill ``result``; ``limit`` > 0 caps prompt tokens plus forced characters (a run with
    learned positions must also fit the forced whitespace, at most one token per character)."""
    matches, scores, lengths = 0, [], []
    for cut, target in zip(cuts, targets, strict=False):
        prompt = stream.prompt(cut, budget)
        if limit > 0 and len(prompt.ids) + len(prompt.forced) > limit:
            room = max(1, limit - len(prompt.forced))
            prompt = Prompt(truncate_left(prompt.ids, room), prompt.forced)
        start = time.perf_counter()
        line = predict(cut, prompt)
        result.seconds += time.perf_counter() - start
        lengths.append(len(prompt.ids))
        result.predictions.append(line)
        right = exact_match(line, cut.target)
        matches += right
        result.correct.append(right)
        f = files[cut.file]
        score = identifier_accuracy(
            line_identifiers(f.text[: cut.offset], line, f.language), target
        )
        result.identifier_scores.append(score)
        if score is not None:
            scores.append(score)
        if result.trained_seq_len is not None and len(prompt.ids) > result.trained_seq_len:
            result.extrapolated += 1
    result.context_tokens = lengths
    result.n = len(cuts)
    result.exact_match = matches / len(cuts)
    result.identifier_lines = len(scores)
    result.identifier_accuracy = float(np.mean(scores)) if scores else None
    result.mean_context_tokens = float(np.mean(lengths))
    result.exact_match_ci = bootstrap_ci([float(c) for c in result.correct])
    result.identifier_accuracy_ci = bootstrap_ci(scores)
