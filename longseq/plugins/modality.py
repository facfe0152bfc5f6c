"""The modality contract: what a plugin implements to turn a user's files into token streams and
generated token ids back into files. Read this file to write a modality of your own; register it
with ``@MODALITIES.register("name")`` or the ``longseq.modalities`` entry-point group.

:class:`Modality` lists the members every modality has. The optional ones (prompt parsing and
prompt files, the default output suffix, the unit of bits, a cache fingerprint, presets) and
their defaults are in :mod:`longseq.plugins.contract`; helpers for finding files, the error
policy, option checks and fixed vocabularies are in :mod:`longseq.plugins.modality_helpers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


class DataError(ValueError):
    """Bad user data. The message is one line and names the file (and record) at fault."""


def label_from_path(file: Path, label_by: str) -> str | None:
    """A document's class label from its file: ``"directory"`` -> parent folder name,
    ``"stem"`` -> file name before the first dot, anything else (``"none"``) -> None."""
    if label_by == "directory":
        return file.parent.name
    if label_by == "stem":
        return file.name.split(".")[0]
    return None


@dataclass
class Document:
    """One unit of user data.

    Attributes:
        name: where it came from (file path, plus record id where a file holds several) —
            used in error messages.
        content: ``str`` for text, code and DNA; a float32 ``np.ndarray`` in [-1, 1] for audio.
        label: class label for classification tasks, or None.
        source_sha256: the sha256 (hex) of the source ``content`` was made from, when
            ``content`` rearranges or decorates it (code: the file's text before its header
            line and fill-in-the-middle), so a run can recognise the file however it is named
            later; None: the content itself is the source.
    """

    name: str
    content: Any
    label: str | None = None
    source_sha256: str | None = None


@runtime_checkable
class Tokenizer(Protocol):
    """Maps a document's content to token ids and back."""

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included."""
        ...

    @property
    def eos_id(self) -> int:
        """Id placed between documents when they are concatenated into one stream."""
        ...

    def encode(self, content: Any) -> np.ndarray:
        """Content -> int64 ids [n]. Raises :class:`DataError` naming what cannot be encoded."""
        ...

    def decode(self, ids: Sequence[int] | np.ndarray) -> Any:
        """Ids -> content (specials dropped)."""
        ...

    def save(self, directory: Path) -> None:
        """Write the tokenizer's files into ``directory`` (shared with the model weights)."""
        ...


@runtime_checkable
class Modality(Protocol):
    """A data modality: reader, tokenizer, writer.

    ``config_class`` is a dataclass of the modality's options (hydra group ``modality/``);
    the registry constructs ``Modality(config_class(**options))``. The optional members
    (``parse_prompt``, ``read_prompt``, ``output_suffix``, ``unit``, ``fingerprint``,
    ``presets``) are described, with their defaults, in :mod:`longseq.plugins.contract`.
    """

    name: ClassVar[str]
    config_class: ClassVar[type]

    def read(self, path: str) -> Iterator[Document]:
        """Documents from a file, a directory or a glob. A missing path or a dataset with no
        usable document raises :class:`DataError`; a bad file a user would want skipped is
        skipped with a warning and counted."""
        ...

    def fit_tokenizer(self, documents: Iterable[Document]) -> Tokenizer:
        """A tokenizer for these documents (fitted where the tokenizer learns, e.g. BPE)."""
        ...

    def load_tokenizer(self, directory: Path) -> Tokenizer:
        """The tokenizer written by ``Tokenizer.save`` into ``directory``."""
        ...

    def write(self, content: Any, path: Path) -> Path:
        """Write generated (decoded) content to ``path`` (FASTA, WAV, text…); returns the path."""
        ...


@runtime_checkable
class TokenWindows(Protocol):
    """Fixed-length token windows read by random access (what
    :meth:`RandomAccessModality.windows` returns): a map-style dataset whose item ``i`` is an
    int64 ``np.ndarray`` of the window's ids, the same item for the same ``i`` in every epoch and
    every worker."""

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer that encoded the windows (saved with the model)."""
        ...

    def __len__(self) -> int:
        """Number of windows."""
        ...

    def __getitem__(self, index: int) -> np.ndarray:
        """Window ``index``: int64 ids [length]."""
        ...


@runtime_checkable
class RandomAccessModality(Protocol):
    """Optional capability of a modality whose data is too large to read whole (e.g. a
    multi-gigabase genome): token windows sampled by random access. The ``lm`` task uses it
    with ``data.sampling=random_windows``; a modality without these methods supports only
    ``data.sampling=sequential``.

    The data at a path is a set of named contigs (sequences); a region is a ``(contig, start,
    end)`` range of positions, 0-based and half-open.
    """

    def contig_lengths(self, path: str) -> dict[str, int]:
        """Length of every contig at ``path``, without reading the contigs. Raises
        :class:`DataError` naming the file when it cannot be opened for random access."""
        ...

    def windows(
        self,
        path: str,
        length: int,
        num_samples: int,
        seed: int = 0,
        regions: Sequence[tuple[str, int, int]] | None = None,
    ) -> TokenWindows:
        """``num_samples`` windows of ``length`` ids drawn (seeded by ``seed`` and the index)
        from ``regions`` (``None``: every contig whole), each window inside one region, regions
        picked in proportion to their length. Raises :class:`DataError` when no region holds a
        window."""
        ...
