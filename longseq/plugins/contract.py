"""The optional members of the modality contract, their defaults, and the functions longseq calls
instead of naming a modality.

A modality (see :class:`longseq.plugins.modality.Modality`) may define any of these; one that
does not gets the default of :class:`ModalityDefaults` (a class a plugin may inherit from):

- ``parse_prompt(text) -> content``: what ``longseq generate --prompt TEXT`` encodes.
  Default: the text as is.
- ``read_prompt(path) -> content``: what ``--prompt-file PATH`` encodes. Default: the file's
  UTF-8 text through ``parse_prompt``.
- ``output_suffix: str | None``: ``longseq generate`` without ``--output`` writes
  ``RUN_DIR/generated<suffix>`` with ``write``. Default None: the content is printed.
- ``unit: str | None``: ``longseq eval`` reports bits per <unit> (one token is one unit; tokens
  that decode to nothing, the specials, are left out). Default None: bits per token only.
- ``fingerprint() -> str``: joins the token-cache key, beside the package providing the modality,
  its version and the options, which are always there. Default ``""``.
- ``presets: str | None``: a package whose ``<name>.yaml`` files ``experiment=<modality>/<name>``
  finds. Default None.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from longseq.messages import one_line
from longseq.plugins.modality import DataError

if TYPE_CHECKING:
    from importlib.abc import Traversable

__all__ = [
    "ModalityDefaults",
    "cache_fingerprint",
    "modality_package",
    "output_suffix",
    "preset_files",
    "prompt_from_file",
    "prompt_from_text",
    "unit_of",
]


class ModalityDefaults:
    """The optional members of a modality with their defaults; inherit to get them, override
    what your data needs (see the module docstring)."""

    output_suffix: ClassVar[str | None] = None
    """Suffix of ``longseq generate``'s default output file (``".fa"``); None: print."""

    presets: ClassVar[str | None] = None
    """Package holding experiment presets (``<name>.yaml``), e.g. ``"my_plugin.presets"``."""

    @property
    def unit(self) -> str | None:
        """What one token is (``"base"``, ``"sample"``, ``"byte"``), or None: bits per token."""
        return None

    def parse_prompt(self, text: str) -> Any:
        """The content a ``--prompt`` string stands for (what the tokenizer encodes)."""
        return text

    def read_prompt(self, path: Path) -> Any:
        """The content of a ``--prompt-file``: its UTF-8 text, through ``parse_prompt``.

        Raises:
            DataError: the file cannot be read as UTF-8 text; one line naming it.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read the prompt ({one_line(exc)})") from None
        return prompt_from_text(self, text)

    def fingerprint(self) -> str:
        """What else, beyond the package version and options, changes the tokens (e.g. a
        tokenizer revision); joins the token-cache key."""
        return ""


def _member(modality: object, name: str) -> Any:
    """``modality.<name>``, or :class:`ModalityDefaults`'s (bound to ``modality``)."""
    if hasattr(modality, name):
        return getattr(modality, name)
    default = getattr(ModalityDefaults, name)
    if isinstance(default, property):
        return default.fget(modality) if default.fget is not None else None
    if callable(default):
        return default.__get__(modality)
    return default


def prompt_from_text(modality: object, text: str) -> Any:
    """The content ``--prompt text`` stands for, per ``modality.parse_prompt``.

    Raises:
        DataError: the modality takes no such prompt (e.g. audio: a WAV file only).
    """
    return _member(modality, "parse_prompt")(text)


def prompt_from_file(modality: object, path: Path) -> Any:
    """The content of the prompt file ``path``, per ``modality.read_prompt``.

    Raises:
        DataError: the file cannot be read as a prompt; one line naming it.
    """
    return _member(modality, "read_prompt")(Path(path))


def output_suffix(modality: object) -> str | None:
    """Suffix of ``longseq generate``'s default output file, or None to print the content."""
    value = _member(modality, "output_suffix")
    return str(value) if value else None


def unit_of(modality: object) -> str | None:
    """What one token of ``modality`` is, for bits per <unit>; None: bits per token."""
    value = _member(modality, "unit")
    return str(value) if value else None


def modality_package(modality: object) -> tuple[str, str]:
    """``(distribution, version)`` of the installed package that provides ``modality``: the
    registry's entry for its name when that is this class (an entry point's distribution), else
    the distribution owning the class's module; ``""`` for what is unknown."""
    from longseq.plugins.registry import MODALITIES, UnknownNameError, _owning_distribution

    cls = type(modality)
    distribution = None
    name = getattr(modality, "name", None)
    if isinstance(name, str) and name in MODALITIES:
        try:
            entry = MODALITIES.entry(name)
        except UnknownNameError:
            entry = None
        if entry is not None and entry.obj is cls:
            distribution = entry.distribution
    if distribution is None:
        distribution = _owning_distribution(cls.__module__)
    if not distribution:
        return "", ""
    try:
        return distribution, metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return distribution, ""


def cache_fingerprint(modality: object, options: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``modality`` goes into the token-cache key: its package and version (a new
    version of a plugin, whose tokenizer code may have changed, builds a new cache), its
    ``options`` and its own ``fingerprint()``."""
    package, version = modality_package(modality)
    return {
        "options": dict(options),
        "package": package,
        "version": version,
        "fingerprint": str(_member(modality, "fingerprint")()),
    }


def preset_files(modality_class: type) -> dict[str, Traversable]:
    """The experiment presets a modality ships: ``{name: <name>.yaml}`` from the package its
    ``presets`` member names; empty without one.

    Raises:
        DataError: ``presets`` names a package that is not installed.
    """
    package = getattr(modality_class, "presets", None)
    if not package:
        return {}
    try:
        root = resources.files(str(package))
    except ModuleNotFoundError:
        name = getattr(modality_class, "name", modality_class.__name__)
        raise DataError(
            f"modality {name!r}: presets package {package!r} is not installed"
        ) from None
    return {
        item.name.removesuffix(".yaml"): item
        for item in root.iterdir()
        if item.is_file() and item.name.endswith(".yaml")
    }
