"""Which repository files a run trained on, by the files' identity rather than by path.

A run records each training document's sha256 (``documents.json``; for code, the sha256 of the
file's text before its header and fill-in-the-middle, see
:attr:`longseq.plugins.modality.Document.source_sha256`). A file read from any path, a
sub-folder, a glob or a copy of the training repository, is a training file when its text has
one of those digests, so a completion score never counts memorised files as held out.

A run saved before that record has none: its training split is then recomputed from its
``data.path`` with the LM task's document split (as the run did), and the digests taken from
those files' text, which needs ``data.path`` to still hold the same files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from longseq.plugins.code.config import CodeConfig
from longseq.plugins.modality import DataError
from longseq.tasks.completion.context import RepoFile, read_repo
from longseq.tasks.completion.evaluate import training_files
from longseq.tasks.lm.corpus import resolve_path

__all__ = ["TrainedFiles", "file_sha256", "held_out", "recomputed_training_sha256"]


def file_sha256(text: str) -> str:
    """The identity of a source file: the sha256 (hex) of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrainedFiles:
    """The digests of the files one run trained on and where they come from: ``"recorded"``
    (the run's ``documents.json``) or ``"recomputed"`` (from ``data.path``, older runs)."""

    sha256: frozenset[str]
    source: str


def recomputed_training_sha256(run_config: Mapping[str, Any], options: CodeConfig) -> set[str]:
    """Digests of the training files of a run without a ``documents.json``: its ``data.path``
    read with the run's modality ``options`` and split as the LM task split it.

    Raises:
        DataError: the run's config has no ``data.path``, or it cannot be read (one line).
    """
    path = (run_config.get("data") or {}).get("path")
    if not isinstance(path, str) or not path:
        raise DataError("config.yaml has no data.path to recompute the training split from")
    files = read_repo(resolve_path(path), options)
    names = training_files(run_config, path, [f.name for f in files])
    return {file_sha256(f.text) for f in files if f.name in names}


def held_out(files: Sequence[RepoFile], trained: Sequence[TrainedFiles]) -> list[RepoFile]:
    """The files (in their order) whose text no run trained on."""
    seen: set[str] = set().union(*(t.sha256 for t in trained)) if trained else set()
    return [f for f in files if file_sha256(f.text) not in seen]
