"""Typed registries of named components (modalities here, tasks in :mod:`longseq.tasks.registry`),
built in or from other packages.

Built-in components register with the :meth:`Registry.register` decorator in a module that is
imported explicitly. Other distributions declare an entry point in the registry's group, e.g.::

    [project.entry-points."longseq.modalities"]
    my_modality = "my_package.modality:MyModality"

The entry point's name is the registered name and the object it points at is the entry. Entry
points are discovered on the first lookup and each one is imported only when it is asked for, so
a plugin that fails to import is recorded (name, distribution, error) and reported when it is
asked for or listed, while the others keep working.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

if TYPE_CHECKING:
    from longseq.plugins.modality import Modality

__all__ = [
    "MODALITIES",
    "PluginLoadFailure",
    "Registry",
    "RegistryEntry",
    "UnknownNameError",
    "build_modality",
    "missing_modality",
    "modality_config",
    "modality_source",
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
    """An entry point that could not be loaded: its name, distribution and the error, as text.

    ``clash`` marks an entry point refused because another entry (``error`` names it: the
    built-in, or another distribution's entry point) has the name already; that entry keeps the
    name and works. ``origin`` is the refused entry point's ``module:attr`` when known.
    """

    name: str
    distribution: str | None
    error: str
    clash: bool = False
    origin: str | None = None

    def describe(self, kind: str) -> str:
        """One line: which plugin, from which distribution, failed and why."""
        source = f" from distribution {self.distribution!r}" if self.distribution else ""
        if self.clash:
            return f"{kind} plugin {self.name!r}{source} ({self.origin}) is ignored: {self.error}"
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
    """Named components of one kind, e.g. ``Registry[Task]("task", "longseq.tasks")``.

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
        self._lazy: dict[str, str] = {}
        self._failures: dict[str, PluginLoadFailure] = {}
        # Entry points refused because their name was taken (the name's owner still works).
        self._clashes: list[PluginLoadFailure] = []
        self._discovered = entry_point_group is None

    def register(self, name: str, origin: str | None = None) -> Callable[[T], T]:
        """Decorator registering the decorated object under ``name``; returns it unchanged.

        ``origin``: the module to report the entry as coming from; by default the module that
        defines the object (for an instance, its class's module).

        Raises:
            ValueError: ``name`` is empty or already registered.
        """

        def decorator(obj: T) -> T:
            where = origin
            if where is None:
                module = inspect.getmodule(obj)
                where = module.__name__ if module is not None else type(obj).__module__
            self._add(RegistryEntry(name, obj, where, _owning_distribution(where)))
            return obj

        return decorator

    def register_lazy(self, name: str, module: str) -> None:
        """Declare a built-in entry that ``module`` registers (with :meth:`register`) when it is
        imported; the import happens on the first lookup of ``name`` (or :meth:`load_all`).

        Raises:
            ValueError: ``name`` is empty or already registered.
        """
        if not name:
            raise ValueError(f"{self.kind} name must be a non-empty string")
        if name in self._entries or name in self._lazy:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._lazy[name] = module

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
        if name in self._lazy:
            self._import_builtin(name)
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
        return sorted({*self._entries, *self._pending, *self._lazy})

    @property
    def failures(self) -> list[PluginLoadFailure]:
        """Plugins that failed to load so far: entry points refused for a name already taken
        (``clash``, found when entry points are discovered), then the others in the order they
        failed."""
        return [*self._clashes, *self._failures.values()]

    def load_all(self) -> list[PluginLoadFailure]:
        """Import every discovered plugin now; returns the failures (also kept in ``failures``)."""
        self._discover()
        for name in list(self._lazy):
            self._import_builtin(name)
        for name in list(self._pending):
            self._load(name)
        return self.failures

    def entries(self) -> list[RegistryEntry[T]]:
        """Every loaded entry, sorted by name (call :meth:`load_all` first to load them all)."""
        return [self._entries[name] for name in sorted(self._entries)]

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
            owner = self._owner(ep.name)
            if owner is not None:
                clash = PluginLoadFailure(
                    ep.name,
                    _distribution_name(ep),
                    f"the name {ep.name!r} is already registered by {owner}",
                    True,
                    ep.value,
                )
                self._clashes.append(clash)
                log.warning("%s", clash.describe(self.kind))
                continue
            self._pending[ep.name] = ep

    def _owner(self, name: str) -> str | None:
        """Who holds ``name`` already, in words ("the built-in longseq.plugins.text (longseq)",
        "the entry point m:C of distribution 'd'"); None when it is free."""
        entry = self._entries.get(name)
        if entry is not None:
            builtin = "the built-in " if entry.distribution == "longseq" else ""
            return f"{builtin}{entry.origin} ({entry.distribution or 'unknown distribution'})"
        if name in self._lazy:
            return f"the built-in {self._lazy[name]} (longseq)"
        other = self._pending.get(name)
        if other is not None:
            dist = _distribution_name(other)
            return f"the entry point {other.value} of distribution {dist or 'unknown'!r}"
        return None

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

    def _import_builtin(self, name: str) -> None:
        module = self._lazy.pop(name)
        try:
            importlib.import_module(module)
        # A broken built-in plugin must not take the others down either.
        except Exception as exc:  # noqa: BLE001
            self._fail(name, "longseq", f"{type(exc).__name__}: {exc}")
            return
        if name not in self._entries:
            self._fail(name, "longseq", f"importing {module} did not register {self.kind} {name!r}")

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


MODALITIES: Registry[type[Modality]] = Registry("modality", entry_point_group="longseq.modalities")
"""Modality classes by name (the contract is :class:`longseq.plugins.modality.Modality`)."""


def modality_config(options: Mapping[str, Any]) -> tuple[type[Modality], Any]:
    """The modality class named by ``options["name"]`` and its ``config_class`` instance built
    from the other options, type-checked and validated.

    Raises:
        ValueError: one line naming ``modality.name`` (unknown modality) or ``modality.<key>``
            (an option the modality does not have, with the valid keys, or a bad value).
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    name = options.get("name")
    if not name:
        raise ValueError(
            f"modality.name is not set; choose one with modality=<name> "
            f"(valid: {', '.join(MODALITIES.names())})"
        )
    try:
        cls = MODALITIES.get(str(name))
    except UnknownNameError as exc:
        raise ValueError(f"modality.name: {exc}") from None
    config_class = getattr(cls, "config_class", None)
    if not (isinstance(config_class, type) and is_dataclass(config_class)):
        raise ValueError(f"modality {name!r}: config_class must be a dataclass")
    valid = [f.name for f in fields(config_class)]
    given = {str(k): v for k, v in options.items() if k != "name"}
    for key in given:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f"did you mean 'modality.{close[0]}'? " if close else ""
            raise ValueError(
                f"unknown option 'modality.{key}' for modality {name!r}; {hint}"
                f"valid keys: {', '.join(valid) or '(none)'}"
            )
    try:
        merged = OmegaConf.merge(OmegaConf.structured(config_class), given)
        config = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        detail = (getattr(exc, "msg", None) or str(exc)).splitlines()[0]
        raise ValueError(f"invalid value for 'modality.{key}': {detail}") from None
    check = getattr(config, "validate", None)
    if callable(check):
        check()
    return cls, config


def modality_source(name: str) -> dict[str, str]:
    """Where the modality ``name`` comes from, for a run to record (see :func:`missing_modality`):
    ``name``, ``distribution`` and its installed ``version`` (empty when unknown) and ``origin``
    (the module or entry point).

    Raises:
        UnknownNameError: ``name`` is not registered or does not load.
    """
    entry = MODALITIES.entry(name)
    distribution = entry.distribution or ""
    try:
        version = metadata.version(distribution) if distribution else ""
    except metadata.PackageNotFoundError:
        version = ""
    return {"name": name, "distribution": distribution, "version": version, "origin": entry.origin}


def missing_modality(name: str, source: Mapping[str, Any] | None) -> str | None:
    """One line saying which package to install when the modality ``name`` a run was trained
    with is not installed here (``source``: what :func:`modality_source` recorded then, None for
    a run saved before the record); None when it is installed."""
    if name in MODALITIES:
        return None
    if not isinstance(source, Mapping) or not source.get("distribution"):
        return (
            f"modality {name!r} is not installed; install the package that provides it (the "
            f"entry point {name!r} of group 'longseq.modalities'; this run does not record it)"
        )
    distribution, version = str(source["distribution"]), str(source.get("version") or "")
    pinned = f"{distribution}=={version}" if version else distribution
    made_by = f"{distribution} {version}".strip()
    return (
        f"modality {name!r} is not installed; this run was trained with it from {made_by}: "
        f"install it with pip install '{pinned}'"
    )


def build_modality(options: Mapping[str, Any]) -> Modality:
    """The modality ``options`` describe (see :func:`modality_config`), constructed."""
    cls, config = modality_config(options)
    # The Protocol describes instances; every modality class takes its config_class instance.
    constructor = cast(Callable[[Any], "Modality"], cls)
    return constructor(config)
