"""Plugins: the registries of named components and the built-in entries.

``TASKS`` maps a task name (``task.name`` in the config) to a :class:`TaskBuilder`;
``MODALITIES`` maps a modality name to a class following
:class:`longseq.plugins.modality.Modality`. Other packages add entries through the
``longseq.tasks`` and ``longseq.modalities`` entry-point groups; see
:mod:`longseq.plugins.registry`.
"""

from __future__ import annotations

# Imported for its effect: it registers the built-in tasks.
from longseq.plugins import builtin as builtin
from longseq.plugins.registry import (
    MODALITIES,
    TASKS,
    PluginLoadFailure,
    Registry,
    RegistryEntry,
    TaskBuilder,
    TaskData,
    UnknownNameError,
)

__all__ = [
    "MODALITIES",
    "TASKS",
    "PluginLoadFailure",
    "Registry",
    "RegistryEntry",
    "TaskBuilder",
    "TaskData",
    "UnknownNameError",
]
