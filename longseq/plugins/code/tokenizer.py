"""The code tokenizer: a text tokenizer (byte or BPE) plus the three fill-in-the-middle sentinels.

The sentinel strings of :mod:`longseq.plugins.code.fim` in a document's text encode to their own
ids, ``base.vocab_size + 0, 1, 2`` (prefix, suffix, middle); everything else is the base text
tokenizer's ids, unchanged. ``save`` writes the base tokenizer's files plus
``code_tokenizer.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from longseq.plugins.code.fim import SENTINELS
from longseq.plugins.modality import DataError, Tokenizer
from longseq.plugins.text.tokenizers import ByteTokenizer, load_text_tokenizer

__all__ = ["CODE_TOKENIZER_FILE", "CodeTokenizer", "load_code_tokenizer"]

CODE_TOKENIZER_FILE = "code_tokenizer.json"
_SPLIT = re.compile("(" + "|".join(re.escape(s) for s in SENTINELS) + ")")


class CodeTokenizer:
    """``base`` ids, then ``<fim_prefix>``, ``<fim_suffix>``, ``<fim_middle>`` (vocab + 3)."""

    def __init__(self, base: Tokenizer) -> None:
        self.base = base
        first = base.vocab_size
        self.sentinel_ids: dict[str, int] = {s: first + i for i, s in enumerate(SENTINELS)}

    @property
    def vocab_size(self) -> int:
        """The base vocabulary + 3 sentinels."""
        return self.base.vocab_size + len(SENTINELS)

    @property
    def eos_id(self) -> int:
        """The base tokenizer's ``<eos>``."""
        return self.base.eos_id

    @property
    def is_byte_level(self) -> bool:
        """True when every non-sentinel id is one UTF-8 byte (the byte base tokenizer)."""
        return isinstance(self.base, ByteTokenizer)

    def encode(self, content: Any) -> np.ndarray:
        """str -> int64 ids [n]; sentinel strings become their special ids."""
        if not isinstance(content, str):
            raise DataError(f"code tokenizer expects str content, got {type(content).__name__}")
        pieces: list[np.ndarray] = []
        for piece in _SPLIT.split(content):
            if piece in self.sentinel_ids:
                pieces.append(np.array([self.sentinel_ids[piece]], dtype=np.int64))
            elif piece:
                pieces.append(np.asarray(self.base.encode(piece), dtype=np.int64))
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """ids -> str; sentinels and the base tokenizer's specials are dropped."""
        array = np.asarray(ids, dtype=np.int64)
        return str(self.base.decode(array[array < self.base.vocab_size]))

    def save(self, directory: Path) -> None:
        """Write the base tokenizer's files and ``code_tokenizer.json`` into ``directory``."""
        directory = Path(directory)
        self.base.save(directory)
        (directory / CODE_TOKENIZER_FILE).write_text(
            json.dumps({"sentinels": list(SENTINELS)}) + "\n"
        )


def load_code_tokenizer(directory: Path) -> CodeTokenizer:
    """The :class:`CodeTokenizer` saved in ``directory``.

    Raises:
        DataError: the directory holds no code tokenizer (the path is named).
    """
    directory = Path(directory)
    path = directory / CODE_TOKENIZER_FILE
    try:
        sentinels = json.loads(path.read_text())["sentinels"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a code tokenizer ({type(exc).__name__})") from None
    if list(sentinels) != list(SENTINELS):
        raise DataError(f"{path}: sentinels {sentinels} differ from {list(SENTINELS)}")
    return CodeTokenizer(load_text_tokenizer(directory))
