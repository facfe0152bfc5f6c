"""The ``code`` modality: a repository in, files in dependency order with FIM, code files out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from longseq.plugins.code.config import CodeConfig
from longseq.plugins.code.fim import SENTINELS
from longseq.plugins.code.reader import read_repository
from longseq.plugins.code.tokenizer import CodeTokenizer, load_code_tokenizer
from longseq.plugins.modality import DataError, Document, Tokenizer
from longseq.plugins.registry import MODALITIES
from longseq.plugins.text.tokenizers import BPETokenizer, ByteTokenizer

__all__ = ["CodeModality"]


@MODALITIES.register("code")
class CodeModality:
    """Source code of a repository (``str`` content per file); see
    :class:`~longseq.plugins.code.config.CodeConfig` for the options."""

    name: ClassVar[str] = "code"
    config_class: ClassVar[type] = CodeConfig

    def __init__(self, config: CodeConfig | None = None) -> None:
        self.config = config if config is not None else CodeConfig()
        self.config.validate()

    @property
    def unit(self) -> str | None:
        """``"byte"`` with the byte tokenizer (one token, one byte), else None."""
        return "byte" if self.config.tokenizer == "byte" else None

    def read(self, path: str) -> Iterator[Document]:
        """Documents of the repository (or file, or glob) at ``path``, in reading order."""
        return read_repository(path, self.config)

    def fit_tokenizer(self, documents: Iterable[Document]) -> Tokenizer:
        """The byte tokenizer, or BPE fitted on ``documents`` (sentinels removed), plus the FIM
        sentinels."""
        if self.config.tokenizer == "byte":
            return CodeTokenizer(ByteTokenizer())
        texts = (_strip_sentinels(d.content) for d in documents if isinstance(d.content, str))
        base = BPETokenizer.fit(texts, self.config.vocab_size, self.config.min_frequency)
        return CodeTokenizer(base)

    def load_tokenizer(self, directory: Path) -> Tokenizer:
        """The tokenizer saved in ``directory`` by ``CodeTokenizer.save``."""
        return load_code_tokenizer(Path(directory))

    def write(self, content: Any, path: Path) -> Path:
        """Write decoded source to ``path`` (``.txt`` added when it has no suffix), UTF-8."""
        if not isinstance(content, str):
            raise DataError(f"{path}: code modality writes str, got {type(content).__name__}")
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(".txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        return target


def _strip_sentinels(text: str) -> str:
    for sentinel in SENTINELS:
        text = text.replace(sentinel, "")
    return text
