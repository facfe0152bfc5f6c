"""longseq: long-sequence models (H3, Hyena, hybrids) on domain data.

The public API, imported lazily so ``longseq --help`` stays fast:

- models: :class:`LanguageModel`, :class:`ModelConfig`, :func:`generate`, :class:`SamplingConfig`
- registries: :data:`TASKS`, :data:`MODALITIES`
- runs: :func:`load` (a trained run directory back as model, tokenizer, modality, config),
  :class:`Loaded`
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "LanguageModel": "longseq.models",
    "ModelConfig": "longseq.models",
    "SamplingConfig": "longseq.models",
    "generate": "longseq.models",
    "TASKS": "longseq.tasks.registry",
    "MODALITIES": "longseq.plugins",
    "load": "longseq.runs",
    "Loaded": "longseq.runs",
}

__all__ = [
    "MODALITIES",
    "TASKS",
    "LanguageModel",
    "Loaded",
    "ModelConfig",
    "SamplingConfig",
    "generate",
    "load",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'longseq' has no attribute {name!r}")
