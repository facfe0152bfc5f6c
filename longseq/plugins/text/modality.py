"""The ``text`` modality: plain text, Markdown, reST and JSONL files in, text files out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from longseq.plugins.modality import DataError, Document, Tokenizer
from longseq.plugins.registry import MODALITIES
from longseq.plugins.text.config import TextConfig
from longseq.plugins.text.reader import read_documents
from longseq.plugins.text.tokenizers import BPETokenizer, ByteTokenizer, load_text_tokenizer

__all__ = ["TextModality"]


@MODALITIES.register("text")
class TextModality:
    """Text documents (``str`` content) with a byte or a fitted BPE tokenizer; see
    :class:`~longseq.plugins.text.config.TextConfig` for the options."""

    name: ClassVar[str] = "text"
    config_class: ClassVar[type] = TextConfig

    def __init__(self, config: TextConfig | None = None) -> None:
        self.config = config if config is not None else TextConfig()
        self.config.validate()

    @property
    def unit(self) -> str | None:
        """``"byte"`` with the byte tokenizer (one token, one byte), else None."""
        return "byte" if self.config.tokenizer == "byte" else None

    def read(self, path: str) -> Iterator[Document]:
        """Documents from a file, a directory (recursively) or a glob; see :class:`TextConfig`."""
        return read_documents(path, self.config)

    def fit_tokenizer(self, documents: Iterable[Document]) -> Tokenizer:
        """The byte tokenizer (nothing to fit), or BPE trained on ``documents``."""
        if self.config.tokenizer == "byte":
            return ByteTokenizer()
        texts = (d.content for d in documents if isinstance(d.content, str))
        return BPETokenizer.fit(texts, self.config.vocab_size, self.config.min_frequency)

    def load_tokenizer(self, directory: Path) -> Tokenizer:
        """The tokenizer saved in ``directory`` by ``Tokenizer.save``."""
        return load_text_tokenizer(Path(directory))

    def write(self, content: Any, path: Path) -> Path:
        """Write decoded text to ``path`` (``.txt`` added when it has no suffix), UTF-8."""
        if not isinstance(content, str):
            raise DataError(f"{path}: text modality writes str, got {type(content).__name__}")
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(".txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        return target
