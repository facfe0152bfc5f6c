"""Helpers a modality author should not rewrite: finding the files a path names, one error policy
(raise, or skip with a warning), checking option choices, and saving / loading a fixed
vocabulary. The built-in modalities use them; so does ``tests/example_plugin``.
"""

from __future__ import annotations

import glob
import json
import warnings
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from longseq.messages import one_line
from longseq.plugins.modality import DataError

__all__ = [
    "ON_ERROR_MODES",
    "DataWarning",
    "ErrorPolicy",
    "check_choices",
    "find_files",
    "load_vocabulary",
    "save_vocabulary",
    "suffix_of",
]

ON_ERROR_MODES: tuple[str, ...] = ("raise", "skip")
"""``raise``: stop at the first bad file or record; ``skip``: warn, count and go on."""

VOCABULARY_FILE = "tokenizer.json"
"""The file :func:`save_vocabulary` writes into a tokenizer directory."""

_GLOB_CHARS = frozenset("*?[")


class DataWarning(UserWarning):
    """A bad file or record was skipped (``on_error: skip``); the message names it."""


class ErrorPolicy:
    """Raise a :class:`DataError`, or count it and warn, per a modality's ``on_error`` option.

    Args:
        on_error: ``"raise"`` or ``"skip"``.
        hint: appended to a raised error's message (e.g. ``"set modality.on_error=skip to
            skip such files"``); None: the error as it is.

    Attributes:
        skipped: the messages of the errors skipped so far, in order.
        reasons: how many were skipped for each ``reason`` given to :meth:`handle`.
    """

    def __init__(self, on_error: str = "raise", hint: str | None = None) -> None:
        if on_error not in ON_ERROR_MODES:
            raise ValueError(f"on_error={on_error!r} must be one of {', '.join(ON_ERROR_MODES)}")
        self.on_error = on_error
        self.hint = hint
        self.skipped: list[str] = []
        self.reasons: Counter[str] = Counter()

    def handle(self, error: DataError, reason: str = "bad") -> None:
        """Raise ``error`` (``"raise"``), or record it under ``reason`` and warn with a
        :class:`DataWarning` ``"skipped: <error>"``."""
        if self.on_error == "raise":
            if self.hint:
                raise DataError(f"{error}; {self.hint}") from None
            raise error
        self.skipped.append(str(error))
        self.reasons[reason] += 1
        warnings.warn(f"skipped: {error}", DataWarning, stacklevel=3)

    def summary(self) -> str:
        """The skips so far by reason, e.g. ``"2 undecodable, 1 bad"``; empty when none."""
        return ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))


def check_choices(config: object, choices: Mapping[str, Collection[Any]]) -> None:
    """Check that each ``config.<key>`` named in ``choices`` is one of its allowed values.

    Raises:
        ValueError: ``modality.<key>=<value> must be one of <allowed>``, for the first key at
            fault.
    """
    for key, allowed in choices.items():
        value = getattr(config, key)
        if value not in allowed:
            raise ValueError(
                f"modality.{key}={value!r} must be one of {', '.join(map(str, allowed))}"
            )


def suffix_of(path: Path) -> str:
    """The lower-case suffix that says what a file holds, ``.gz`` looked through:
    ``a.FA.gz`` -> ``.fa``, ``b.wav`` -> ``.wav``, ``c`` -> ``""``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def find_files(
    path: str | Path,
    suffixes: Collection[str] | None = None,
    what: str | None = None,
    gzip: bool = True,
) -> list[Path]:
    """The files ``path`` names, sorted: the file itself, a directory's files (recursively,
    hidden files and folders left out) or a glob's matches (directories among them searched
    like a directory).

    ``suffixes`` (e.g. ``[".fa", ".fasta"]``) filters the files found in directories: a name
    that ends with one of them, case-insensitively, after a ``.gz`` ending is looked through
    (``gzip=False``: not looked through); a file named directly, or matched by a glob, is
    returned whatever its suffix. ``what`` names the files in the message when a directory holds
    none (default: the suffixes, ``.fa/.fasta``).

    Raises:
        DataError: nothing exists at ``path`` (``no such file or directory``), a glob matches
            nothing (``no file matches this glob``), or no file found in a directory has one of
            ``suffixes`` (``holds no <what> file``); one line naming ``path``.
    """
    text = str(path)
    wanted = tuple(s.lower() for s in suffixes) if suffixes is not None else None
    if _GLOB_CHARS & set(text):
        matches = [Path(p) for p in sorted(glob.glob(text, recursive=True))]
        if not matches:
            raise DataError(f"{text}: no file matches this glob")
        files: list[Path] = []
        for match in matches:
            files += _directory_files(match, wanted, gzip) if match.is_dir() else [match]
    else:
        root = Path(text)
        if root.is_file():
            return [root]
        if not root.is_dir():
            raise DataError(f"{text}: no such file or directory")
        files = _directory_files(root, wanted, gzip)
    if not files:
        kinds = what or ("/".join(wanted) if wanted else "readable")
        raise DataError(f"{text}: holds no {kinds} file")
    return files


def _directory_files(root: Path, wanted: tuple[str, ...] | None, gzip: bool) -> list[Path]:
    def kept(file: Path) -> bool:
        if wanted is None:
            return True
        name = file.name.lower()
        if gzip and name.endswith(".gz"):
            name = name[: -len(".gz")]
        return name.endswith(wanted)

    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and kept(p)
    )


def save_vocabulary(directory: Path, kind: str, tokens: Sequence[str], **params: Any) -> Path:
    """Write a fixed vocabulary as ``directory/tokenizer.json``: ``{"type": kind, **params,
    "tokens": [...]}`` (``params``: what rebuilds the tokenizer, JSON values). Returns the file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    spec = {"type": kind, **params, "tokens": list(tokens)}
    path = directory / VOCABULARY_FILE
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return path


def load_vocabulary(
    directory: Path, kind: str, expected_tokens: Sequence[str] | None = None
) -> dict[str, Any]:
    """What :func:`save_vocabulary` wrote in ``directory``: the params and ``"tokens"``.

    ``expected_tokens``: the tokens this version builds from the params; a saved list that
    differs means the ids would not mean what they meant when the run was trained.

    Raises:
        DataError: the file is missing or not JSON, is not a ``kind`` vocabulary, or its
            tokens differ from ``expected_tokens``; one line naming the file.
    """
    path = Path(directory) / VOCABULARY_FILE
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the tokenizer ({one_line(exc)})") from None
    if not isinstance(spec, dict) or spec.get("type") != kind:
        raise DataError(f"{path}: not a {kind!r} tokenizer")
    tokens = spec.get("tokens")
    if not isinstance(tokens, list):
        raise DataError(f"{path}: no token list")
    if expected_tokens is not None and tokens != list(expected_tokens):
        raise DataError(
            f"{path}: its {len(tokens)} tokens differ from the {len(expected_tokens)} this "
            f"version of the {kind!r} tokenizer uses"
        )
    return spec
