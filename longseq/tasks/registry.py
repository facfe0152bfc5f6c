"""The registry of tasks: :data:`TASKS`, the built-in ones plus the ``longseq.tasks`` entry
points of other distributions (each pointing at a :class:`~longseq.tasks.contract.Task`)."""

from __future__ import annotations

from longseq.plugins.registry import Registry, UnknownNameError
from longseq.tasks.builtin import BUILTIN_TASKS
from longseq.tasks.contract import Task

__all__ = ["TASKS", "task_named"]

TASKS: Registry[Task] = Registry("task", entry_point_group="longseq.tasks")
"""Training tasks by name; the built-in ones live in :mod:`longseq.tasks.builtin`."""

for _task in BUILTIN_TASKS:
    TASKS.register(_task.name, origin="longseq.tasks.builtin")(_task)


def task_named(name: str) -> Task:
    """The task registered as ``name``.

    Raises:
        UnknownNameError: ``name`` is not registered, its plugin does not load, or its entry
            point is not a :class:`~longseq.tasks.contract.Task` (one line naming it).
    """
    entry = TASKS.entry(name)
    if not isinstance(entry.obj, Task):
        made = type(entry.obj).__name__
        raise UnknownNameError(
            f"task {name!r} ({entry.origin}) is a {made}, not a longseq.tasks.contract.Task; "
            "a longseq.tasks entry point must point at a Task"
        )
    return entry.obj
