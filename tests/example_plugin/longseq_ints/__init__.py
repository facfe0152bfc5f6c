"""Example third-party longseq modality: integers in text files (see docs/plugins.md)."""

from __future__ import annotations

from longseq_ints.modality import IntsConfig, IntsModality, IntsTokenizer

__all__ = ["IntsConfig", "IntsModality", "IntsTokenizer"]
