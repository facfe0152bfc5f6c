"""Trivial next-line predictors to read a model's completion scores against.

Each is a :data:`~longseq.tasks.completion.evaluate.Predictor`, scored on the same cut points
and by the same metrics as the runs:

- ``most-frequent``: always the most frequent non-blank line (whitespace-stripped) of the
  training files, e.g. ``}`` in Go;
- ``previous-line``: the cut file's last non-blank line before the cut, repeated;
- ``ngram``: greedy decoding from an interpolated Kneser–Ney n-gram
  (:mod:`longseq.models.kneser_ney`) counted on the training files as the first run
  streams them (its tokenizer, headers and eos), with the same forced whitespace as the models.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from longseq.models.kneser_ney import KneserNey, fit_kneser_ney
from longseq.plugins.modality import Tokenizer
from longseq.tasks.completion.context import CutPoint, Prompt, RepoFile, RepoStream
from longseq.tasks.completion.decode import allowed_tokens

__all__ = ["MostFrequentLine", "NgramLine", "PreviousLine", "most_frequent_line"]


def most_frequent_line(files: Sequence[RepoFile]) -> str:
    """The most frequent non-blank line of ``files``, whitespace-stripped ("" when none; ties go
    to the line seen first)."""
    counts = Counter(line.strip() for f in files for line in f.text.split("\n") if line.strip())
    return counts.most_common(1)[0][0] if counts else ""


class MostFrequentLine:
    """Predicts :func:`most_frequent_line` of the training files at every cut."""

    def __init__(self, training: Sequence[RepoFile]) -> None:
        self.line = most_frequent_line(training)

    def __call__(self, cut: CutPoint, prompt: Prompt) -> str:
        return self.line


class PreviousLine:
    """Predicts the last non-blank line before the cut in the cut's file ("" at the first)."""

    def __init__(self, files: Sequence[RepoFile]) -> None:
        self.files = {f.name: f for f in files}

    def __call__(self, cut: CutPoint, prompt: Prompt) -> str:
        before = self.files[cut.file].text[: cut.offset].split("\n")
        return next((line for line in reversed(before) if line.strip()), "")


class NgramLine:
    """Greedy next line from a Kneser–Ney n-gram: the forced whitespace first (argmax over the
    tokens that agree with it), then free argmax until a newline, eos or ``max_line_tokens``.

    Args:
        training: the training files, in the run's reading order.
        tokenizer: the run's tokenizer (the n-gram counts its ids).
        with_header: the run's ``modality.header``.
        order: the n-gram order (its context is ``order - 1`` tokens).
        max_line_tokens: cap on the free tokens of a line.
    """

    def __init__(
        self,
        training: Sequence[RepoFile],
        tokenizer: Tokenizer,
        with_header: bool,
        order: int,
        max_line_tokens: int,
    ) -> None:
        stream = RepoStream(training, tokenizer, with_header)
        ids = np.concatenate([stream.document_ids(i) for i in range(len(training))])
        self.model: KneserNey = fit_kneser_ney(ids, tokenizer.vocab_size, order)
        self.tokenizer = tokenizer
        self.max_line_tokens = max_line_tokens
        self.pieces = [str(tokenizer.decode([i])) for i in range(tokenizer.vocab_size)]
        self._masks: dict[str, np.ndarray] = {}
        self._lines: dict[tuple[tuple[int, ...], str], str] = {}

    def _mask(self, owed: str) -> np.ndarray:
        if owed not in self._masks:
            mask = np.zeros(len(self.pieces), dtype=bool)
            mask[allowed_tokens(self.pieces, owed)] = True
            self._masks[owed] = mask
        return self._masks[owed]

    def __call__(self, cut: CutPoint, prompt: Prompt) -> str:
        context = [int(i) for i in prompt.ids[len(prompt.ids) - (self.model.max_order - 1) :]]
        key = (tuple(context), prompt.forced)
        if key not in self._lines:
            self._lines[key] = self._decode(context, prompt.forced)
        return self._lines[key]

    def _decode(self, context: list[int], forced: str) -> str:
        out: list[int] = []
        text, free = "", 0
        while True:
            p = self.model.probabilities(np.asarray(context + out, dtype=np.int64))
            if len(text) < len(forced):
                token = int(np.argmax(np.where(self._mask(forced[len(text) :]), p, -1.0)))
            else:
                token = int(np.argmax(p))
                free += 1
            out.append(token)
            text += self.pieces[token]
            if token == self.tokenizer.eos_id or "\n" in text[len(forced) :]:
                break
            if free == self.max_line_tokens:
                break
        line = str(self.tokenizer.decode(out))
        return line[len(forced) :].split("\n", 1)[0]
