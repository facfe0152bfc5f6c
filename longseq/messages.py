"""How a message reaches the user: one line, and what to install for an optional dependency.

Every one-line error, warning and note in longseq folds its text with :func:`one_line`; every
missing optional package is named with :func:`missing_dependency` (one wording, one place).
"""

from __future__ import annotations

import importlib.util

__all__ = ["MissingDependency", "is_installed", "missing_dependency", "one_line", "require"]


def one_line(text: object) -> str:
    """``text`` (an exception's message included) with every run of whitespace made one space."""
    return " ".join(str(text).split())


class MissingDependency(RuntimeError):
    """An optional package a feature needs is not installed; the message says what to install."""


def is_installed(package: str) -> bool:
    """Whether ``package`` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def missing_dependency(what: str, package: str, extra: str) -> str:
    """The one wording for a missing optional package: ``<what> needs <package>: pip install
    'longseq[<extra>]'``."""
    return f"{what} needs {package}: pip install 'longseq[{extra}]'"


def require(what: str, package: str, extra: str) -> None:
    """Do nothing when ``package`` is installed.

    Raises:
        MissingDependency: it is not (the message of :func:`missing_dependency`).
    """
    if not is_installed(package):
        raise MissingDependency(missing_dependency(what, package, extra))
