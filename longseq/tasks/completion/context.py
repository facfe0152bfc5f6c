"""The repository as a code run reads it, cut points in its files, and the left-truncated
context before each cut.

The context mirrors the LM task's training stream (:mod:`longseq.tasks.lm.corpus`): the
documents in reading order (dependency order by default), each one the ``file:`` header line
(when the run's ``modality.header`` is on) and the source, followed by ``eos``. The context of a
cut is that stream up to the cut — the documents before the cut file, then the cut file's own
document up to the start of the target line — keeping only its rightmost ``budget`` tokens.
Fill-in-the-middle is never applied: a completion context is plain left-to-right code.

The whitespace that ends the text before the cut (the previous line's newline, blank lines) is
left out of the context ids and handed to the decoder as :attr:`Prompt.forced`, the text the
continuation must start with. A BPE tokenizer merges a newline with the next line's indentation
(``"\n    "``); ending the ids on a bare newline would split such a token where training never
did. For the byte tokenizer forcing ``"\n"`` is the same as giving it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from longseq.plugins.code.config import CodeConfig
from longseq.plugins.code.languages import languages
from longseq.plugins.code.order import header
from longseq.plugins.code.reader import repository_files
from longseq.plugins.modality import Tokenizer

__all__ = [
    "CutPoint",
    "Prompt",
    "RepoFile",
    "RepoStream",
    "cut_points",
    "read_repo",
    "truncate_left",
]


@dataclass(frozen=True)
class RepoFile:
    """One source file: ``name`` as the run's documents name it (the path relative to the
    repository root, prefixed with the root's name when a glob names several), its
    ``language`` and ``text``."""

    name: str
    language: str
    text: str


@dataclass(frozen=True)
class CutPoint:
    """A place to complete: ``file`` is cut at the start of line ``line`` (0-based), which
    begins at character ``offset`` of the file's text; ``target`` is that line, without its
    newline. Targets are never blank."""

    file: str
    line: int
    offset: int
    target: str


@dataclass(frozen=True)
class Prompt:
    """What a model is given at a cut: ``ids`` int64 [L] (L <= the budget) and ``forced``, the
    whitespace its continuation must begin with; the predicted line is what follows ``forced``
    up to the next newline."""

    ids: np.ndarray
    forced: str


def read_repo(path: str, config: CodeConfig) -> list[RepoFile]:
    """The files at ``path`` (a directory, a file or a glob; ``pkg://`` already resolved) in the
    reading order of a run with modality options ``config``.

    Raises:
        DataError: ``path`` does not exist or holds no source file of the selected languages
            (one line naming it).
    """
    files: list[RepoFile] = []
    for label, found in repository_files(path, config):
        for f in found:
            files.append(RepoFile(f"{label}/{f.path}" if label else f.path, f.language, f.text))
    return files


def cut_points(
    files: Sequence[RepoFile],
    n: int,
    seed: int,
    eligible: Callable[[RepoFile], list[bool]] | None = None,
) -> list[CutPoint]:
    """``n`` cut points (fewer if the files have fewer eligible lines), drawn without
    replacement and uniformly over every eligible line of ``files``, so a long file gets
    proportionally more cuts. Eligible: non-blank, and ``eligible(file)[line]`` when given
    (see :mod:`longseq.tasks.completion.select`). The same files, ``seed`` and selection give
    the same cuts, sorted by (file, line)."""
    if n < 1:
        raise ValueError(f"samples={n} must be >= 1")
    ordered = sorted(files, key=lambda f: f.name)
    if eligible is None:
        masks = [[bool(line.strip()) for line in f.text.split("\n")] for f in ordered]
    else:
        masks = [eligible(f) for f in ordered]
    counts = [sum(mask) for mask in masks]
    total = sum(counts)
    if total == 0:
        return []
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=min(n, total), replace=False))
    cuts: list[CutPoint] = []
    first = 0
    for f, count, mask in zip(ordered, counts, masks, strict=False):
        wanted = set((chosen[(chosen >= first) & (chosen < first + count)] - first).tolist())
        first += count
        if not wanted:
            continue
        k = offset = 0
        for i, line in enumerate(f.text.split("\n")):
            if mask[i] and line.strip():
                if k in wanted:
                    cuts.append(CutPoint(f.name, i, offset, line.rstrip("\r")))
                k += 1
            offset += len(line) + 1
    return cuts


def truncate_left(ids: np.ndarray, budget: int) -> np.ndarray:
    """The rightmost ``budget`` entries of ``ids`` [n] (all of them when n <= budget)."""
    if budget < 1:
        raise ValueError(f"context budget={budget} must be >= 1")
    return ids[max(0, len(ids) - budget) :]


class RepoStream:
    """Token ids of the repository stream before any cut, for one run's tokenizer.

    Args:
        files: the repository in the run's reading order (:func:`read_repo`).
        tokenizer: the run's tokenizer.
        with_header: the run's ``modality.header``.
    """

    def __init__(self, files: Sequence[RepoFile], tokenizer: Tokenizer, with_header: bool) -> None:
        self.files = list(files)
        self.tokenizer = tokenizer
        self.with_header = with_header
        self._index = {f.name: i for i, f in enumerate(self.files)}
        self._document_ids: dict[int, np.ndarray] = {}

    def _document_start(self, f: RepoFile) -> str:
        if not self.with_header:
            return ""
        return header(f.name, languages()[f.language].line_comment)

    def document_ids(self, i: int) -> np.ndarray:
        """Document ``i``'s ids (its header line and text) followed by eos, as the run's
        training stream holds it."""
        return self._ids(i)

    def _ids(self, i: int) -> np.ndarray:
        """Document ``i``'s ids followed by eos (encoded once)."""
        if i not in self._document_ids:
            f = self.files[i]
            ids = self.tokenizer.encode(self._document_start(f) + f.text)
            self._document_ids[i] = np.append(np.asarray(ids, np.int64), self.tokenizer.eos_id)
        return self._document_ids[i]

    def prompt(self, cut: CutPoint, budget: int) -> Prompt:
        """The rightmost ``budget`` tokens of the stream before ``cut``, its trailing whitespace
        moved to :attr:`Prompt.forced`; ids ``[eos]`` when nothing comes before (the first
        file, no header), as a document's start follows an eos in the stream."""
        if cut.file not in self._index:
            raise ValueError(f"{cut.file}: not a file of this repository stream")
        i = self._index[cut.file]
        f = self.files[i]
        before = self._document_start(f) + f.text[: cut.offset]
        kept = before.rstrip()
        prefix = self.tokenizer.encode(kept) if kept else np.zeros(0, np.int64)
        parts = [np.asarray(prefix, np.int64)]
        total = len(parts[0])
        j = i - 1
        while total < budget and j >= 0:
            parts.append(self._ids(j))
            total += len(parts[-1])
            j -= 1
        ids = np.concatenate(parts[::-1])
        if len(ids) == 0:
            ids = np.array([self.tokenizer.eos_id], np.int64)
        return Prompt(truncate_left(ids, budget), before[len(kept) :])
