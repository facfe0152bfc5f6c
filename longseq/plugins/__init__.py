"""Plugins: modalities (how files become documents and token ids) and their registry.

``MODALITIES`` maps a modality name to a class following
:class:`longseq.plugins.modality.Modality`; other packages add entries through the
``longseq.modalities`` entry-point group (see :mod:`longseq.plugins.registry`). Tasks have their
own registry, :data:`longseq.tasks.registry.TASKS`.
"""

from __future__ import annotations

# Imported for its effect: it declares the built-in modalities.
from longseq.plugins import builtin as builtin
from longseq.plugins.registry import (
    MODALITIES,
    PluginLoadFailure,
    Registry,
    RegistryEntry,
    UnknownNameError,
)

__all__ = [
    "MODALITIES",
    "PluginLoadFailure",
    "Registry",
    "RegistryEntry",
    "UnknownNameError",
]
