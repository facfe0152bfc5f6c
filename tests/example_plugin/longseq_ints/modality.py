"""The ``ints`` modality: each ``.txt`` file holds whitespace-separated integers in
``[0, max_value]``; the integer is its own token id and ``max_value + 1`` is ``<eos>``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from longseq.plugins.modality import DataError, Document


@dataclass
class IntsConfig:
    """Options (``modality.max_value``): the largest integer a file may hold."""

    max_value: int = 99

    def validate(self) -> None:
        """Raise ValueError naming ``modality.max_value`` when it is negative."""
        if self.max_value < 0:
            raise ValueError(f"modality.max_value={self.max_value} must be >= 0")


class IntsTokenizer:
    """Ids 0..max_value are the integers themselves; ``max_value + 1`` is ``<eos>``."""

    def __init__(self, max_value: int) -> None:
        self.max_value = max_value

    @property
    def vocab_size(self) -> int:
        """``max_value + 2``."""
        return self.max_value + 2

    @property
    def eos_id(self) -> int:
        """``max_value + 1``."""
        return self.max_value + 1

    def encode(self, content: Any) -> np.ndarray:
        """list[int] -> int64 ids."""
        return np.asarray(content, dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> list[int]:
        """ids -> list[int], ``<eos>`` dropped."""
        return [int(i) for i in ids if int(i) <= self.max_value]

    def save(self, directory: Path) -> None:
        """Write ``ints.json`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ints.json").write_text(json.dumps({"max_value": self.max_value}))


class IntsModality:
    """Reads integer files, writes generated integers back as one line of text."""

    name: ClassVar[str] = "ints"
    config_class: ClassVar[type] = IntsConfig

    def __init__(self, config: IntsConfig | None = None) -> None:
        self.config = config if config is not None else IntsConfig()

    def read(self, path: str) -> Iterator[Document]:
        """One document per ``.txt`` file (a directory's, sorted, or the file itself)."""
        root = Path(path)
        files = sorted(root.glob("*.txt")) if root.is_dir() else [root]
        if not files or not files[0].is_file():
            raise DataError(f"{path}: no .txt files")
        for file in files:
            try:
                values = [int(v) for v in file.read_text().split()]
            except ValueError:
                raise DataError(f"{file}: not whitespace-separated integers") from None
            if any(not 0 <= v <= self.config.max_value for v in values):
                raise DataError(f"{file}: values must lie in [0, {self.config.max_value}]")
            yield Document(str(file), values)

    def fit_tokenizer(self, documents: Iterable[Document]) -> IntsTokenizer:
        """The fixed tokenizer for ``max_value`` (nothing to fit)."""
        return IntsTokenizer(self.config.max_value)

    def load_tokenizer(self, directory: Path) -> IntsTokenizer:
        """The tokenizer ``IntsTokenizer.save`` wrote."""
        return IntsTokenizer(json.loads((directory / "ints.json").read_text())["max_value"])

    def write(self, content: Any, path: Path) -> Path:
        """Integers as one space-separated line."""
        path.write_text(" ".join(str(int(v)) for v in content) + "\n")
        return path
