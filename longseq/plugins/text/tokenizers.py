"""Text tokenizers: bytes (lossless, fixed) and byte-level BPE fitted with HF ``tokenizers``.

Both follow :class:`longseq.plugins.modality.Tokenizer`. ``save(directory)`` writes
``text_tokenizer.json`` (which kind) and, for BPE, HF's ``tokenizer.json``;
:func:`load_text_tokenizer` reads either back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from longseq.plugins.modality import DataError

if TYPE_CHECKING:
    from tokenizers import Tokenizer as HFTokenizer

__all__ = ["BPETokenizer", "ByteTokenizer", "load_text_tokenizer"]

KIND_FILE = "text_tokenizer.json"
HF_FILE = "tokenizer.json"
EOS = "<eos>"
PAD = "<pad>"


def _check_text(content: Any) -> str:
    if not isinstance(content, str):
        raise DataError(f"text tokenizer expects str content, got {type(content).__name__}")
    return content


class ByteTokenizer:
    """UTF-8 bytes as ids 0..255, then ``<eos>`` = 256 and ``<pad>`` = 257 (vocab 258).

    ``decode(encode(s)) == s`` for every string; undecodable byte runs (only possible from
    generated ids) decode to U+FFFD.
    """

    eos_id: int = 256
    pad_id: int = 257

    @property
    def vocab_size(self) -> int:
        """256 byte values + 2 specials."""
        return 258

    def encode(self, content: Any) -> np.ndarray:
        """str -> int64 ids [n bytes]."""
        data = _check_text(content).encode("utf-8")
        return np.frombuffer(data, dtype=np.uint8).astype(np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """ids -> str; ids >= 256 (specials) are dropped."""
        array = np.asarray(ids, dtype=np.int64)
        return array[array < 256].astype(np.uint8).tobytes().decode("utf-8", errors="replace")

    def save(self, directory: Path) -> None:
        """Write ``text_tokenizer.json`` ({"kind": "byte"}) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / KIND_FILE).write_text(json.dumps({"kind": "byte"}) + "\n")


class BPETokenizer:
    """Byte-level BPE (GPT-2 style pre-tokenization, lossless on any text) from HF ``tokenizers``.

    Ids 0 and 1 are ``<eos>`` and ``<pad>``; build one with :meth:`fit` or :meth:`load`.
    """

    def __init__(self, tokenizer: HFTokenizer) -> None:
        self._tokenizer = tokenizer
        eos, pad = tokenizer.token_to_id(EOS), tokenizer.token_to_id(PAD)
        if eos is None or pad is None:
            raise DataError(f"BPE tokenizer has no {EOS} / {PAD} tokens")
        self._eos_id, self.pad_id = int(eos), int(pad)

    @classmethod
    def fit(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> BPETokenizer:
        """Train on ``texts``: at most ``vocab_size`` ids (specials and 256 byte symbols
        included)."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=[EOS, PAD],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer.train_from_iterator(texts, trainer=trainer)
        return cls(tokenizer)

    @classmethod
    def load(cls, directory: Path) -> BPETokenizer:
        """The tokenizer saved by :meth:`save` in ``directory``."""
        from tokenizers import Tokenizer

        path = directory / HF_FILE
        if not path.is_file():
            raise DataError(f"{path}: no BPE tokenizer file")
        return cls(Tokenizer.from_file(str(path)))

    @property
    def vocab_size(self) -> int:
        """Ids in use, specials included."""
        return int(self._tokenizer.get_vocab_size(with_added_tokens=True))

    @property
    def eos_id(self) -> int:
        """Id of ``<eos>``."""
        return self._eos_id

    def encode(self, content: Any) -> np.ndarray:
        """str -> int64 ids [n]."""
        return np.asarray(self._tokenizer.encode(_check_text(content)).ids, dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """ids -> str, specials dropped."""
        return str(self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=True))

    def save(self, directory: Path) -> None:
        """Write ``tokenizer.json`` (HF format) and ``text_tokenizer.json`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        self._tokenizer.save(str(directory / HF_FILE))
        (directory / KIND_FILE).write_text(json.dumps({"kind": "bpe"}) + "\n")


def load_text_tokenizer(directory: Path) -> ByteTokenizer | BPETokenizer:
    """The text tokenizer saved in ``directory`` (by either class's ``save``)."""
    path = directory / KIND_FILE
    try:
        kind = json.loads(path.read_text())["kind"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a text tokenizer ({type(exc).__name__})") from None
    if kind == "byte":
        return ByteTokenizer()
    if kind == "bpe":
        return BPETokenizer.load(directory)
    raise DataError(f"{path}: unknown tokenizer kind {kind!r}")
