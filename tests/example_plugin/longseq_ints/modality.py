"""The ``ints`` modality: each ``.txt`` file holds whitespace-separated integers in
``[0, max_value]``; the integer is its own token id and ``max_value + 1`` is ``<eos>``.

It uses every member of the modality contract (``longseq/plugins/contract.py``): prompts are
parsed from text, generated integers go to ``generated.ints``, ``longseq eval`` reports bits per
integer, the presets in ``longseq_ints/presets/`` are ``experiment=ints/<name>``, and the token
cache is rebuilt when this package's version (or :data:`TOKENIZER_REVISION`) changes. The
helpers of ``longseq.plugins.modality_helpers`` find the files, apply ``on_error``, check the
options and save the vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from longseq.plugins.contract import ModalityDefaults
from longseq.plugins.modality import DataError, Document
from longseq.plugins.modality_helpers import (
    ON_ERROR_MODES,
    ErrorPolicy,
    check_choices,
    find_files,
    load_vocabulary,
    save_vocabulary,
)

TOKENIZER_REVISION = "1"
"""Bump when the ids of the same integers change: cached token streams are rebuilt."""


@dataclass
class IntsConfig:
    """Options: ``modality.max_value``, the largest integer a file may hold;
    ``modality.on_error``, ``raise`` on a bad file or ``skip`` it with a warning."""

    max_value: int = 99
    on_error: str = "raise"

    def validate(self) -> None:
        """Raise ValueError naming ``modality.<key>`` at fault."""
        if self.max_value < 0:
            raise ValueError(f"modality.max_value={self.max_value} must be >= 0")
        check_choices(self, {"on_error": ON_ERROR_MODES})


class IntsTokenizer:
    """Ids 0..max_value are the integers themselves; ``max_value + 1`` is ``<eos>``."""

    KIND: ClassVar[str] = "ints"

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

    @property
    def tokens(self) -> list[str]:
        """Each id's symbol: the integers, then ``<eos>``."""
        return [str(i) for i in range(self.max_value + 1)] + ["<eos>"]

    def encode(self, content: Any) -> np.ndarray:
        """list[int] -> int64 ids (``parse_prompt`` turns a prompt string into that list)."""
        return np.asarray(content, dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> list[int]:
        """ids -> list[int], ``<eos>`` dropped."""
        return [int(i) for i in ids if int(i) <= self.max_value]

    def save(self, directory: Path) -> None:
        """Write ``tokenizer.json`` into ``directory``."""
        save_vocabulary(directory, self.KIND, self.tokens, max_value=self.max_value)

    @classmethod
    def load(cls, directory: Path) -> IntsTokenizer:
        """The tokenizer :meth:`save` wrote (a one-line DataError when it is not one)."""
        spec = load_vocabulary(directory, cls.KIND)
        tokenizer = cls(int(spec["max_value"]))
        load_vocabulary(directory, cls.KIND, expected_tokens=tokenizer.tokens)
        return tokenizer


class IntsModality(ModalityDefaults):
    """Reads integer files, writes generated integers back as one line of text."""

    name: ClassVar[str] = "ints"
    config_class: ClassVar[type] = IntsConfig
    output_suffix: ClassVar[str] = ".ints"
    presets: ClassVar[str] = "longseq_ints.presets"

    def __init__(self, config: IntsConfig | None = None) -> None:
        self.config = config if config is not None else IntsConfig()
        self.config.validate()
        self._policy = ErrorPolicy(self.config.on_error, "set modality.on_error=skip to skip it")

    @property
    def unit(self) -> str:
        """One token is one integer: ``longseq eval`` reports bits per integer."""
        return "integer"

    def fingerprint(self) -> str:
        """The tokenizer revision, in the token-cache key beside this package's version."""
        return f"ints tokenizer {TOKENIZER_REVISION}"

    def read(self, path: str) -> Iterator[Document]:
        """One document per ``.txt`` file (a file, a directory's, recursively, or a glob's)."""
        count = 0
        for file in find_files(path, [".txt"]):
            try:
                values = self._parse(file.read_text(encoding="utf-8"), str(file))
            except (DataError, UnicodeDecodeError) as exc:
                error = exc if isinstance(exc, DataError) else DataError(f"{file}: not UTF-8")
                self._policy.handle(error, "bad")
                continue
            count += 1
            yield Document(str(file), values)
        if count == 0:
            raise DataError(f"{path}: no usable integer file ({self._policy.summary()} skipped)")

    def parse_prompt(self, text: str) -> list[int]:
        """``--prompt "3 1 4"`` -> ``[3, 1, 4]`` (a DataError naming a bad number)."""
        return self._parse(text, "prompt")

    def _parse(self, text: str, where: str) -> list[int]:
        values: list[int] = []
        for word in text.split():
            try:
                value = int(word)
            except ValueError:
                raise DataError(f"{where}: {word!r} is not an integer") from None
            if not 0 <= value <= self.config.max_value:
                raise DataError(f"{where}: {value} lies outside [0, {self.config.max_value}]")
            values.append(value)
        return values

    def fit_tokenizer(self, documents: Iterable[Document]) -> IntsTokenizer:
        """The fixed tokenizer for ``max_value`` (nothing to fit)."""
        return IntsTokenizer(self.config.max_value)

    def load_tokenizer(self, directory: Path) -> IntsTokenizer:
        """The tokenizer ``IntsTokenizer.save`` wrote."""
        return IntsTokenizer.load(directory)

    def write(self, content: Any, path: Path) -> Path:
        """Integers as one space-separated line."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(" ".join(str(int(v)) for v in content) + "\n")
        return path
