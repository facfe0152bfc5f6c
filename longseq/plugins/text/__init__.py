"""The ``text`` modality (registered as ``MODALITIES["text"]`` on import): byte or BPE tokens
from text files; a public-domain sample corpus ships in ``data/`` (see ``data/NOTICE``)."""

from __future__ import annotations

from longseq.plugins.text.config import TextConfig
from longseq.plugins.text.modality import TextModality
from longseq.plugins.text.tokenizers import BPETokenizer, ByteTokenizer, load_text_tokenizer

__all__ = ["BPETokenizer", "ByteTokenizer", "TextConfig", "TextModality", "load_text_tokenizer"]
