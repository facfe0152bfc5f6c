"""Typed registries of named components (tasks, modalities), built in or from other packages.

Built-in components register with the :meth:`Registry.register` decorator in a module that is
imported explicitly. Other distributions declare an entry point in the registry's group, e.g.::

    [project.entry-points."longseq.tasks"]
    my_task = "my_package.tasks:build_my_task"

The entry point's name is the registered name and the object it points at is the entry. Entry
points are discovered on the first lookup and each one is imported only when it is asked for, so
a plugin that fails to import is recorded (name, distribution, error) and reported when it is
asked for or listed, while the others keep working.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Generic, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    from lightning import LightningDataModule

    from longseq.configs.schema import TrainConfig
    from longseq.plugins.modality import Modality

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

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryEntry(Generic[T]):
    """One registered component and where it came from.

    ``origin`` is the module that defines the object (or the entry point's ``module:attr``);
    ``distribution`` is the installed distribution that provides it, ``None`` when unknown.
    """

    name: str
    obj: T
    origin: str
    distribution: str | None


@dataclass(frozen=True)
class PluginLoadFailure:
    """An entry point that could not be loaded: its name, distribution and the error, as text."""

    name: str
    distribution: str | None
    error: str

    def describe(self, kind: str) -> str:
        """One line: which plugin, from which distribution, failed and why."""
        source = f" from distribution {self.distribution!r}" if self.distribution else ""
        return f"{kind} plugin {self.name!r}{source} failed to load: {self.error}"


class UnknownNameError(KeyError):
    """A name that is not registered; the message lists the valid names and a close match."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        # KeyError's str() repr-quotes its argument; the message is meant to be read as is.
        return self.message


def _distribution_name(ep: metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return None if dist is None else str(dist.name)


class Registry(Generic[T]):
    """Named components of one kind, e.g. ``Registry[TaskBuilder]("task", "longseq.tasks")``.

    Args:
        kind: what the entries are, used in messages ("task", "modality").
        entry_point_group: the ``importlib.metadata`` entry-point group searched on the first
            lookup; ``None`` for a registry fed only by decorators.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, RegistryEntry[T]] = {}
        self._pending: dict[str, metadata.EntryPoint] = {}
        self._failures: dict[str, PluginLoadFailure] = {}
        self._discovered = entry_point_group is None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering the decorated object under ``name``; returns it unchanged.

        Raises:
            ValueError: ``name`` is empty or already registered.
        """

        def decorator(obj: T) -> T:
            module = inspect.getmodule(obj)
            origin = module.__name__ if module is not None else type(obj).__module__
            self._add(RegistryEntry(name, obj, origin, _owning_distribution(origin)))
            return obj

        return decorator

    def get(self, name: str) -> T:
        """The object registered under ``name``, importing its plugin if needed.

        Raises:
            UnknownNameError: ``name`` is not registered, or its plugin failed to load; the
                message lists the valid names and, where one is close, "did you mean".
        """
        return self.entry(name).obj

    def entry(self, name: str) -> RegistryEntry[T]:
        """The :class:`RegistryEntry` for ``name`` (object and origin); raises like :meth:`get`."""
        self._discover()
        if name in self._pending:
            self._load(name)
        if name in self._entries:
            return self._entries[name]
        if name in self._failures:
            raise UnknownNameError(self._failures[name].describe(self.kind))
        raise UnknownNameError(self._unknown_message(name))

    def names(self) -> list[str]:
        """Sorted names that can be looked up, including plugins not imported yet."""
        self._discover()
        return sorted({*self._entries, *self._pending})

    @property
    def failures(self) -> list[PluginLoadFailure]:
        """Plugins that failed to load so far, in the order they failed."""
        return list(self._failures.values())

    def load_all(self) -> list[PluginLoadFailure]:
        """Import every discovered plugin now; returns the failures (also kept in ``failures``)."""
        self._discover()
        for name in list(self._pending):
            self._load(name)
        return self.failures

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry(kind={self.kind!r}, entry_point_group={self.entry_point_group!r})"

    def _add(self, entry: RegistryEntry[T]) -> None:
        if not entry.name:
            raise ValueError(f"{self.kind} name must be a non-empty string")
        existing = self._entries.get(entry.name)
        if existing is not None:
            raise ValueError(
                f"{self.kind} {entry.name!r} is already registered (from {existing.origin}); "
                f"cannot register it again from {entry.origin}"
            )
        self._entries[entry.name] = entry

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        for ep in metadata.entry_points(group=self.entry_point_group or ""):
            dist = _distribution_name(ep)
            if ep.name in self._entries or ep.name in self._pending:
                owner = self._entries.get(ep.name)
                where = owner.origin if owner else "another entry point"
                self._fail(ep.name, dist, f"the name is already registered by {where}")
                continue
            self._pending[ep.name] = ep

    def _load(self, name: str) -> None:
        ep = self._pending.pop(name)
        dist = _distribution_name(ep)
        try:
            obj = ep.load()
        # A broken plugin, whatever it raises on import, must not take the others down.
        except Exception as exc:  # noqa: BLE001
            self._fail(name, dist, f"{type(exc).__name__}: {exc}")
            return
        self._add(RegistryEntry(name, obj, ep.value, dist))

    def _fail(self, name: str, distribution: str | None, error: str) -> None:
        failure = PluginLoadFailure(name, distribution, error)
        self._failures[name] = failure
        log.warning("%s", failure.describe(self.kind))

    def _unknown_message(self, name: str) -> str:
        valid = self.names()
        message = f"unknown {self.kind} {name!r}"
        close = difflib.get_close_matches(name, valid, n=1)
        message += f"; did you mean {close[0]!r}? " if close else "; "
        message += f"valid: {', '.join(valid) if valid else '(none registered)'}"
        if self._failures:
            broken = ", ".join(
                f"{f.name} ({f.distribution or 'unknown distribution'})"
                for f in self._failures.values()
            )
            message += f"; failed to load: {broken}"
        return message


def _owning_distribution(module: str) -> str | None:
    """The installed distribution whose top-level package holds ``module``, if any."""
    dists = _packages_distributions().get(module.partition(".")[0])
    return dists[0] if dists else None


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    # Scanning every installed distribution is slow; the answer does not change in a process.
    return dict(metadata.packages_distributions())


class TaskData(NamedTuple):
    """What a task builder returns: the Lightning data module and the vocabulary it needs."""

    datamodule: LightningDataModule
    vocab_size: int


class TaskBuilder(Protocol):
    """Builds a task's data from the composed, validated training config.

    A third-party task is a callable with this signature, registered under the
    ``longseq.tasks`` entry-point group and chosen with ``task.name=<entry point name>``.
    """

    def __call__(self, cfg: TrainConfig) -> TaskData: ...


TASKS: Registry[TaskBuilder] = Registry("task", entry_point_group="longseq.tasks")
"""Training tasks by name; the built-in ones live in :mod:`longseq.plugins.builtin`."""


MODALITIES: Registry[type[Modality]] = Registry("modality", entry_point_group="longseq.modalities")
"""Modality classes by name (the contract is :class:`longseq.plugins.modality.Modality`)."""
