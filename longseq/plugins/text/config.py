"""Options of the ``text`` modality (hydra group ``modality=text``)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

__all__ = ["TOKENIZERS", "TextConfig"]

TOKENIZERS = ("byte", "bpe")
ON_ERROR = ("raise", "skip")
LABEL_BY = ("none", "directory", "stem")


@dataclass
class TextConfig:
    """How text files are found, split into documents and tokenized.

    ``tokenizer``: ``byte`` (the 256 byte values + ``<eos>`` + ``<pad>``, lossless, nothing to
    fit) or ``bpe`` (byte-level BPE fitted on the training documents with HF ``tokenizers``;
    ``vocab_size`` ids including the specials, merges seen at least ``min_frequency`` times).

    A directory is read recursively: files whose name ends with one of ``extensions`` (every
    file with ``all_files``), in sorted order. ``.jsonl`` files hold one JSON object per line
    whose ``text_field`` is a document. ``separator``: when set, a plain file is split into
    documents at every line equal to it (``""``: blank lines, ``"%"``: fortune files).
    ``on_error``: an undecodable file raises a one-line error (``raise``) or is skipped with a
    warning and counted (``skip``).

    Labels (for classification): ``label_by`` ``none``, ``directory`` (the name of the folder
    holding the file) or ``stem`` (the file name without its suffix); a JSONL record's
    ``label_field``, when set, takes precedence.
    """

    tokenizer: str = "byte"
    vocab_size: int = 4096
    min_frequency: int = 2
    extensions: list[str] = field(default_factory=lambda: [".txt", ".md", ".rst", ".jsonl"])
    all_files: bool = False
    text_field: str = "text"
    separator: str | None = None
    encoding: str = "utf-8"
    on_error: str = "raise"
    label_by: str = "none"
    label_field: str | None = None

    def validate(self) -> None:
        """Raise ValueError naming the ``modality.<key>`` at fault."""
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(
                f"modality.tokenizer={self.tokenizer!r} is not one of {', '.join(TOKENIZERS)}"
            )
        if self.on_error not in ON_ERROR:
            raise ValueError(f"modality.on_error={self.on_error!r} is not one of raise, skip")
        if self.label_by not in LABEL_BY:
            raise ValueError(
                f"modality.label_by={self.label_by!r} is not one of {', '.join(LABEL_BY)}"
            )
        if self.tokenizer == "bpe" and self.vocab_size < 260:
            raise ValueError(
                f"modality.vocab_size={self.vocab_size} is too small for bpe: it needs at least "
                "260 (256 byte symbols + specials)"
            )
        if self.tokenizer == "bpe" and importlib.util.find_spec("tokenizers") is None:
            raise ValueError(
                "modality.tokenizer=bpe needs the 'tokenizers' package: pip install tokenizers"
            )
        if self.min_frequency < 1:
            raise ValueError(f"modality.min_frequency={self.min_frequency} must be >= 1")
        if not self.text_field:
            raise ValueError("modality.text_field must be a non-empty key")
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ValueError(f"modality.encoding={self.encoding!r} is not a known codec") from None
