"""The modalities that ship with longseq, registered by name in :data:`longseq.plugins.MODALITIES`.

Imported explicitly by :mod:`longseq.plugins`. Each modality package ``longseq.plugins.<name>``
is imported on the first lookup of its name and registers its class there with
``@MODALITIES.register("<name>")``, so looking names up and listing them stays cheap. The
built-in tasks live in :mod:`longseq.tasks.builtin`.
"""

from __future__ import annotations

from longseq.plugins.registry import MODALITIES

__all__ = ["BUILTIN_MODALITIES"]

BUILTIN_MODALITIES = ("text", "genomics", "audio", "code")
"""Modalities whose package ``longseq.plugins.<name>`` registers them on import."""

for _name in BUILTIN_MODALITIES:
    MODALITIES.register_lazy(_name, f"longseq.plugins.{_name}")
