"""The ``code`` modality (registered as ``MODALITIES["code"]`` on import): repositories read with
tree-sitter — files in dependency order, syntax-aware fill-in-the-middle, and a long-range
identifier-recall metric. Add a language with
:func:`~longseq.plugins.code.languages.register_language`.
"""

from __future__ import annotations

from longseq.plugins.code.config import CodeConfig
from longseq.plugins.code.fim import FimExample, fim_transform
from longseq.plugins.code.languages import register_language
from longseq.plugins.code.metrics import (
    identifier_recall,
    long_range_identifier_mask,
    stream_identifier_mask,
)
from longseq.plugins.code.modality import CodeModality
from longseq.plugins.code.tokenizer import CodeTokenizer

__all__ = [
    "CodeConfig",
    "CodeModality",
    "CodeTokenizer",
    "FimExample",
    "fim_transform",
    "identifier_recall",
    "long_range_identifier_mask",
    "register_language",
    "stream_identifier_mask",
]
