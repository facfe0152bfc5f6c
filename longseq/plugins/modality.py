"""The modality contract: what a plugin implements to turn a user's files into token streams and
generated token ids back into files. Read this file to write a modality of your own; register it
with ``@MODALITIES.register("name")`` or the ``longseq.modalities`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


class DataError(ValueError):
    """Bad user data. The message is one line and names the file (and record) at fault."""


@dataclass
class Document:
    """One unit of user data.

    Attributes:
        name: where it came from (file path, plus record id where a file holds several) —
            used in error messages.
        content: ``str`` for text, code and DNA; a float32 ``np.ndarray`` in [-1, 1] for audio.
        label: class label for classification tasks, or None.
    """

    name: str
    content: Any
    label: str | None = None


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
    the registry constructs ``Modality(config_class(**options))``.
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
