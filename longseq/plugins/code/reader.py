"""From a path to code documents: walk, order by dependency, add headers, apply FIM.

``path`` is a repository directory, one source file, or a glob of either (each match read in
sorted order as its own repository). A stdlib package works through the lm task's
``pkg://<package>`` form, e.g. ``data.path=pkg://email`` (resolved at run time by
:func:`longseq.tasks.lm.corpus.resolve_path`).
"""

from __future__ import annotations

import glob
import hashlib
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from longseq.plugins.code.config import CodeConfig
from longseq.plugins.code.fim import fim_transform
from longseq.plugins.code.languages import language_for_path, languages, parse
from longseq.plugins.code.order import header, order_files
from longseq.plugins.code.walker import SourceFile, WalkResult, report_skips, walk_repository
from longseq.plugins.modality import DataError, Document

__all__ = ["read_repository", "repository_files"]

_GLOB_CHARS = frozenset("*?[")


def _roots(path: str) -> list[Path]:
    if _GLOB_CHARS & set(path):
        matches = [Path(p) for p in sorted(glob.glob(path, recursive=True))]
        if not matches:
            raise DataError(f"{path}: no file or directory matches this glob")
        return matches
    root = Path(path)
    if not root.exists():
        raise DataError(f"{path}: no such file or directory")
    return [root]


def _single_file(path: Path, cfg: CodeConfig) -> WalkResult:
    result = WalkResult(path.parent)
    spec = language_for_path(path.name)
    if spec is None or (cfg.languages and spec.name not in cfg.languages):
        result.skipped["not a source file of a selected language"] += 1
        return result
    if path.stat().st_size > cfg.max_file_bytes:
        result.skipped[f"larger than max_file_bytes={cfg.max_file_bytes}"] += 1
        return result
    try:
        result.files.append(SourceFile(path.name, spec.name, path.read_text(encoding="utf-8")))
    except UnicodeDecodeError:
        result.skipped["not UTF-8"] += 1
    return result


def repository_files(path: str, cfg: CodeConfig) -> list[tuple[str, list[SourceFile]]]:
    """``[(root label, files in reading order)]`` for every root ``path`` names.

    Skips are warned about (one line per reason with its count).

    Raises:
        DataError: ``path`` does not exist, or no source file is left; one line naming it.
    """
    roots = _roots(path)
    wanted = cfg.languages or None
    found: list[tuple[str, list[SourceFile]]] = []
    skipped: Counter[str] = Counter()
    for root in roots:
        if root.is_dir():
            result = walk_repository(
                root,
                max_file_bytes=cfg.max_file_bytes,
                languages=wanted,
                extra_excluded_dirs=cfg.exclude_dirs,
            )
        else:
            result = _single_file(root, cfg)
        report_skips(result, "code")
        skipped.update(result.skipped)
        if not result.files:
            continue
        files = result.files
        if cfg.order == "dependency":
            root_name = root.resolve().name if root.is_dir() else ""
            files = order_files(files, root_name, result.go_mod)
        label = root.resolve().name if len(roots) > 1 and root.is_dir() else ""
        found.append((label, files))
    if not found:
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items()))
        selected = ", ".join(cfg.languages) if cfg.languages else ", ".join(sorted(languages()))
        raise DataError(
            f"{path}: no source files found (languages: {selected})"
            + (f"; skipped: {detail}" if detail else "")
        )
    return found


def read_repository(path: str, cfg: CodeConfig) -> Iterator[Document]:
    """One :class:`Document` per source file in reading order (see :class:`CodeConfig`).

    ``name`` is the file's path relative to its root (prefixed with the root's name when a glob
    names several); ``content`` is the ``file:`` header line (when ``cfg.header``) and the
    source, or the PSM fill-in-the-middle arrangement of both for a ``fim_rate`` share of files;
    ``source_sha256`` is the sha256 of the file's text alone (its identity in a run's record).
    """
    for label, files in repository_files(path, cfg):
        for f in files:
            name = f"{label}/{f.path}" if label else f.path
            text = (
                header(name, languages()[f.language].line_comment) if cfg.header else ""
            ) + f.text
            yield Document(
                name=name,
                content=_maybe_fim(text, f.language, name, cfg),
                source_sha256=hashlib.sha256(f.text.encode("utf-8")).hexdigest(),
            )


def _maybe_fim(text: str, language: str, name: str, cfg: CodeConfig) -> str:
    if cfg.fim_rate <= 0.0:
        return text
    # Seeded per file, so a document's split does not depend on which other files are read.
    rng = np.random.default_rng([cfg.seed, zlib.crc32(name.encode("utf-8"))])
    if rng.random() >= cfg.fim_rate:
        return text
    example = fim_transform(
        text, parse(text, language), rng, max_middle_fraction=cfg.fim_max_middle_fraction
    )
    return text if example is None else example.psm()
