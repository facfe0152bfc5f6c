"""Finding and reading text files: plain files, directories, globs and JSONL records.

Problems a user would want to hear about once are :class:`DataError` with one line naming the
file (and line); files skipped on purpose (empty, or undecodable with ``on_error=skip``, through
the shared :class:`~longseq.plugins.modality_helpers.ErrorPolicy`) are reported with a
:class:`~longseq.plugins.modality_helpers.DataWarning` and counted in the final error if nothing
is left.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

from longseq.plugins.modality import DataError, Document, label_from_path
from longseq.plugins.modality_helpers import DataWarning, ErrorPolicy, find_files
from longseq.plugins.text.config import TextConfig

__all__ = ["list_files", "read_documents"]


def list_files(path: str, cfg: TextConfig) -> list[Path]:
    """The files ``path`` names, in sorted order: the file itself, a directory's text files
    (recursively, hidden ones left out; names ending with one of ``extensions``, every file with
    ``all_files``), or a glob's matches (see
    :func:`~longseq.plugins.modality_helpers.find_files`).

    Raises:
        DataError: nothing exists at ``path``, the glob matches nothing, or a directory holds no
            text file.
    """
    return find_files(path, None if cfg.all_files else cfg.extensions, gzip=False)


def read_documents(path: str, cfg: TextConfig) -> Iterator[Document]:
    """Documents from every file :func:`list_files` finds, in order.

    Raises:
        DataError: a missing path, an undecodable file (``on_error=raise``), a bad JSONL record,
            or no document at all (the message counts what was skipped).
    """
    policy = ErrorPolicy(cfg.on_error, hint="set modality.on_error=skip to skip it")
    count = 0
    for file in list_files(path, cfg):
        for document in _read_file(file, cfg, policy):
            count += 1
            yield document
    if count == 0:
        why = policy.summary()
        detail = f" ({why})" if why else ""
        raise DataError(f"{path}: no documents to read{detail}")


def _read_file(file: Path, cfg: TextConfig, policy: ErrorPolicy) -> Iterator[Document]:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise DataError(f"{file}: cannot read ({exc.strerror or exc})") from None
    if not raw.strip():
        warnings.warn(f"{file}: empty file, skipped", DataWarning, stacklevel=2)
        policy.reasons["empty"] += 1
        return
    try:
        text = raw.decode(cfg.encoding)
    except UnicodeDecodeError as exc:
        message = f"{file}: not valid {cfg.encoding} text (byte {exc.start}: {raw[exc.start]:#04x})"
        policy.handle(DataError(message), "undecodable")
        return
    label = label_from_path(file, cfg.label_by)
    if file.name.lower().endswith(".jsonl"):
        yield from _jsonl_documents(file, text, cfg, policy, label)
    elif cfg.separator is None:
        yield Document(str(file), text, label)
    else:
        yield from _separated_documents(file, text, cfg.separator, label)


def _separated_documents(
    file: Path, text: str, separator: str, label: str | None
) -> Iterator[Document]:
    chunk: list[str] = []
    index = 0
    for line in [*text.splitlines(keepends=True), separator]:
        if line.rstrip("\r\n") != separator:
            chunk.append(line)
            continue
        body = "".join(chunk).strip("\r\n")
        chunk = []
        if body.strip():
            yield Document(f"{file}#{index}", body, label)
            index += 1


def _jsonl_documents(
    file: Path, text: str, cfg: TextConfig, policy: ErrorPolicy, label: str | None
) -> Iterator[Document]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"{file}:{lineno}: invalid JSON ({exc.msg})"
        else:
            value = record.get(cfg.text_field) if isinstance(record, dict) else None
            if isinstance(value, str):
                if value.strip():
                    if cfg.label_field is not None and isinstance(record, dict):
                        label = _record_label(record, cfg.label_field, f"{file}:{lineno}")
                    yield Document(f"{file}:{lineno}", value, label)
                continue
            problem = f"{file}:{lineno}: no string field {cfg.text_field!r} (modality.text_field)"
        policy.handle(DataError(problem), "bad records")


def _record_label(record: dict[str, object], field: str, where: str) -> str:
    value = record.get(field)
    if value is None or isinstance(value, (dict, list)):
        raise DataError(f"{where}: no label field {field!r} (modality.label_field)")
    return str(value)
