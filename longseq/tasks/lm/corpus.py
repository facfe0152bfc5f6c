"""From a modality's files to cached token streams: read, split by document, fit the tokenizer,
encode, and memory-map.

One stream per split (``train``, ``val``, ``test``): every document's ids followed by the
tokenizer's eos id, stored as ``<split>.npy`` (uint16, or uint32 for vocabularies over 65,536)
together with the tokenizer under ``<cache_dir>/<key>/``. The key hashes the files (path, size,
mtime), the modality and its options and the split options, so a changed file or option builds
a new cache and an unchanged one is memory-mapped straight away.

``documents.json`` names each split's documents with their identity (:func:`document_sha256`),
so a trained run can record which files it trained on.

``meta.json`` records each split's counts and the sha256 and size of every file of the cache. A
cache is checked against it before it is used; a damaged one (a file truncated, overwritten or
missing, ``meta.json`` not JSON, a stream of the wrong shape, a tokenizer that does not load) is
moved aside and rebuilt, with a :class:`~longseq.integrity.DamagedFileWarning` naming the file.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from longseq.integrity import DamagedFileWarning, file_problem, file_record, short_reason
from longseq.plugins.contract import cache_fingerprint
from longseq.plugins.modality import DataError, Document, Modality, Tokenizer
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.lm.parts import cut_into_parts

__all__ = [
    "SPLITS",
    "Corpus",
    "cache_key",
    "document_sha256",
    "held_out_count",
    "prepare_corpus",
    "read_all",
    "resolve_path",
    "split_documents",
    "tokenizer_digest",
]

SPLITS = ("train", "val", "test")
PACKAGE_SCHEME = "pkg://"
# Bump when the cache layout or the way streams are built changes.
# 2: meta.json records every file's sha256 and size ("files").
# 3: documents.json names each split's documents and their sha256.
_CACHE_VERSION = 3
_META = "meta.json"
DOCUMENTS = "documents.json"


@dataclass
class Corpus:
    """The tokenizer and one 1-D token stream per split (memory-mapped, read-only); ``documents``
    lists each split's documents as ``{"name", "sha256"}`` (see :func:`document_sha256`)."""

    tokenizer: Tokenizer
    splits: dict[str, np.ndarray]
    directory: Path
    documents: dict[str, list[dict[str, str]]] | None = None


def document_sha256(document: Document) -> str:
    """A document's identity: its ``source_sha256`` when the modality sets one (code: the file's
    text), else the sha256 of its content (UTF-8 text, or the array's bytes)."""
    if document.source_sha256:
        return document.source_sha256
    content = document.content
    if isinstance(content, str):
        data = content.encode("utf-8")
    else:
        data = np.ascontiguousarray(content).tobytes()
    return hashlib.sha256(data).hexdigest()


def resolve_path(path: str) -> str:
    """``pkg://<package>/<file>`` -> the file inside that installed package; other paths as is."""
    if not path.startswith(PACKAGE_SCHEME):
        return path
    package, _, inner = path[len(PACKAGE_SCHEME) :].partition("/")
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise DataError(f"{path}: no installed package {package!r}") from None
    return str(Path(str(root)) / inner)


def _source_files(path: str) -> list[Path]:
    """Every file under ``path`` (a file, a directory or a glob), for the cache key."""
    if set("*?[") & set(path):
        found = [Path(p) for p in sorted(glob.glob(path, recursive=True))]
    else:
        found = [Path(path)]
    if not any(p.exists() for p in found):
        raise DataError(f"{path}: no such file or directory (data.path)")
    files: list[Path] = []
    for p in found:
        files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    return files


def cache_key(
    cfg: LMDataConfig, modality_options: Mapping[str, Any], tokenizer: Tokenizer | None = None
) -> str:
    """Hash of the files (path, size, mtime) under ``cfg.path``/``val_path``/``test_path``, the
    modality options (:func:`prepare_corpus` passes the modality's whole fingerprint: options,
    package, version), the split options and, when given, the ``tokenizer`` the streams are
    encoded with (see :func:`tokenizer_digest`); 20 hex digits."""
    digest = hashlib.sha256()
    for path in (cfg.path, cfg.val_path, cfg.test_path):
        if path is None:
            digest.update(b"-\0")
            continue
        for file in _source_files(resolve_path(path)):
            stat = file.stat()
            digest.update(f"{file.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    settings = {
        "version": _CACHE_VERSION,
        "modality": dict(modality_options),
        "split": [cfg.val_fraction, cfg.test_fraction, cfg.seed, cfg.max_tokens],
        "held_out": [cfg.val_path is not None, cfg.test_path is not None],
    }
    if tokenizer is not None:
        settings["tokenizer"] = tokenizer_digest(tokenizer)
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:20]


def _directory_digest(directory: Path) -> str | None:
    """Hash of every file's relative name and bytes under ``directory``; None if it is missing."""
    if not directory.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(q for q in directory.rglob("*") if q.is_file()):
        digest.update(f"{file.relative_to(directory).as_posix()}\0".encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def tokenizer_digest(tokenizer: Tokenizer) -> str:
    """Hash of the files ``tokenizer.save`` writes: equal digests, the same tokenizer."""
    with tempfile.TemporaryDirectory(prefix="longseq-tokenizer-") as tmp:
        tokenizer.save(Path(tmp) / "tokenizer")
        return _directory_digest(Path(tmp) / "tokenizer") or ""


def default_cache_dir() -> Path:
    """``$LONGSEQ_CACHE``, else ``$XDG_CACHE_HOME/longseq``, else ``~/.cache/longseq``."""
    if os.environ.get("LONGSEQ_CACHE"):
        return Path(os.environ["LONGSEQ_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "longseq"


def read_all(modality: Modality, path: str, key: str) -> list[Document]:
    """All documents at ``path``; the modality's skip warnings are shown only when some document
    is left (otherwise its one-line DataError says what was skipped)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        documents = list(modality.read(resolve_path(path)))
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if not documents:
        raise DataError(f"{path}: no documents to read ({key})")
    return documents


def split_documents(
    documents: list[Document], n_val: int, n_test: int, seed: int, path: str
) -> tuple[list[Document], list[Document], list[Document]]:
    """(train, val, test): a permutation seeded by ``seed`` gives ``n_test`` test documents,
    then ``n_val`` validation documents; the rest (in their original order) train."""
    n = len(documents)
    if n < n_val + n_test + 1:
        raise DataError(
            f"{path}: {n} document(s), too few to hold out {n_val} for validation and {n_test} "
            "for test by document; add files, split files into documents (a modality option "
            "such as modality.separator) or give data.val_path / data.test_path"
        )
    order = np.random.default_rng(seed).permutation(n)
    test = sorted(order[:n_test].tolist())
    val = sorted(order[n_test : n_test + n_val].tolist())
    held = set(test) | set(val)
    return (
        [documents[i] for i in range(n) if i not in held],
        [documents[i] for i in val],
        [documents[i] for i in test],
    )


def held_out_count(fraction: float, n: int) -> int:
    """Documents held out for a split: ``fraction`` of ``n``, at least one (none for 0)."""
    return max(1, round(fraction * n)) if fraction > 0 else 0


def _encode(documents: Iterable[Document], tokenizer: Tokenizer, max_tokens: int) -> np.ndarray:
    """Documents' ids joined, each followed by eos; at most ``max_tokens`` (0: all)."""
    dtype = np.uint16 if tokenizer.vocab_size <= 1 << 16 else np.uint32
    parts: list[np.ndarray] = []
    total = 0
    for document in documents:
        ids = tokenizer.encode(document.content)
        parts += [ids.astype(dtype), np.asarray([tokenizer.eos_id], dtype=dtype)]
        total += len(ids) + 1
        if max_tokens and total >= max_tokens:
            break
    stream = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    return stream[:max_tokens] if max_tokens else stream


def _build(
    modality: Modality, cfg: LMDataConfig, directory: Path, tokenizer: Tokenizer | None
) -> None:
    documents = cut_into_parts(read_all(modality, cfg.path, "data.path"), cfg)
    n_val = 0 if cfg.val_path else held_out_count(cfg.val_fraction, len(documents))
    n_test = 0 if cfg.test_path else held_out_count(cfg.test_fraction, len(documents))
    train, val, test = split_documents(documents, n_val, n_test, cfg.seed, cfg.path)
    if cfg.val_path:
        val = read_all(modality, cfg.val_path, "data.val_path")
    if cfg.test_path:
        test = read_all(modality, cfg.test_path, "data.test_path")
    if tokenizer is None:
        tokenizer = modality.fit_tokenizer(train)
    tmp = directory.with_name(f"{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tokenizer.save(tmp / "tokenizer")
    listed = {
        name: [{"name": d.name, "sha256": document_sha256(d)} for d in docs]
        for name, docs in zip(SPLITS, (train, val, test), strict=False)
    }
    (tmp / DOCUMENTS).write_text(json.dumps(listed, indent=1) + "\n")
    counts = {}
    for name, docs in zip(SPLITS, (train, val, test), strict=False):
        stream = _encode(docs, tokenizer, cfg.max_tokens if name == "train" else 0)
        np.save(tmp / f"{name}.npy", stream)
        counts[name] = {"documents": len(docs), "tokens": int(stream.size)}
    files = sorted(q.relative_to(tmp).as_posix() for q in tmp.rglob("*") if q.is_file())
    meta = {**counts, "files": {name: file_record(tmp / name) for name in files}}
    (tmp / _META).write_text(json.dumps(meta, indent=2) + "\n")
    try:
        tmp.rename(directory)
    except OSError:
        # Another process built the same cache first; theirs is identical.
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_corpus(
    modality: Modality,
    modality_options: Mapping[str, Any],
    cfg: LMDataConfig,
    tokenizer: Tokenizer | None = None,
) -> Corpus:
    """The cached corpus for these files and options, built first if it is not cached yet.

    The streams are encoded with ``tokenizer`` when given (a trained run's, to evaluate it on
    the same ids it was trained on), else with one the modality fits on the training documents.
    A given tokenizer reuses the fitted cache of the same files when that one's tokenizer is
    identical (:func:`tokenizer_digest`), and has a cache of its own otherwise.

    A cache that is damaged (see the module docstring) is rebuilt, with a warning naming the
    damaged file.

    Raises:
        DataError: a missing ``data.path``, unreadable data, no document, or too few documents
            to split; one line naming the path.
    """
    root = Path(cfg.cache_dir or default_cache_dir())
    keyed = cache_fingerprint(modality, modality_options)
    directory = root / cache_key(cfg, keyed)
    corpus = _checked_cache(modality, directory)
    if tokenizer is not None and not (
        corpus is not None
        and _directory_digest(directory / "tokenizer") == tokenizer_digest(tokenizer)
    ):
        directory = root / cache_key(cfg, keyed, tokenizer)
        corpus = _checked_cache(modality, directory)
    if corpus is not None:
        return corpus
    directory.parent.mkdir(parents=True, exist_ok=True)
    _build(modality, cfg, directory, tokenizer)
    opened = _open_cache(modality, directory)
    if not isinstance(opened, Corpus):
        raise DataError(
            f"token cache {opened} right after it was built; check the disk holding "
            f"{directory.parent} (full or failing?) or set data.cache_dir elsewhere"
        )
    return opened


def _checked_cache(modality: Modality, directory: Path) -> Corpus | None:
    """The cache in ``directory`` if it is intact; None if there is none or it was damaged (then
    it is moved away, with a warning naming the damaged file)."""
    if not directory.exists():
        return None
    opened = _open_cache(modality, directory)
    if isinstance(opened, Corpus):
        return opened
    warnings.warn(
        f"token cache {opened}; rebuilding it from the data", DamagedFileWarning, stacklevel=3
    )
    _move_aside(directory)
    return None


def _open_cache(modality: Modality, directory: Path) -> Corpus | str:
    """The cached corpus in ``directory`` after checking every file against ``meta.json``, or
    what is damaged ("<file> is damaged (<what>)")."""
    meta_path = directory / _META
    if not meta_path.is_file():
        return f"{meta_path} is missing"
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"{meta_path} is damaged (not JSON: {short_reason(exc)})"
    files = meta.get("files") if isinstance(meta, dict) else None
    counts_ok = isinstance(meta, dict) and all(
        isinstance(meta.get(n), dict) and isinstance(meta[n].get("tokens"), int) for n in SPLITS
    )
    if (
        not counts_ok
        or not isinstance(files, dict)
        or not all(isinstance(v, dict) for v in files.values())
    ):
        return f"{meta_path} is damaged (not a token cache record)"
    for name in sorted({*files, *(f"{n}.npy" for n in SPLITS), DOCUMENTS}):
        problem = file_problem(directory / name, files.get(name, {}))
        if problem is not None:
            return f"{directory / name} is damaged ({problem})"
    splits: dict[str, np.ndarray] = {}
    for name in SPLITS:
        path = directory / f"{name}.npy"
        try:
            stream = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            return f"{path} is damaged ({short_reason(exc)})"
        if stream.ndim != 1 or stream.size != meta[name]["tokens"]:
            written = meta[name]["tokens"]
            return f"{path} is damaged (shape {stream.shape} where {written} tokens were written)"
        splits[name] = stream
    try:
        documents = json.loads((directory / DOCUMENTS).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"{directory / DOCUMENTS} is damaged ({short_reason(exc)})"
    try:
        tokenizer = modality.load_tokenizer(directory / "tokenizer")
    except Exception as exc:  # the tokenizers library raises plain Exception
        return f"{directory / 'tokenizer'} is damaged (it does not load: {short_reason(exc)})"
    return Corpus(tokenizer, splits, directory, documents)


def _move_aside(directory: Path) -> None:
    """Rename a damaged cache out of the way (atomic, so a process reading it keeps its files),
    then delete it."""
    aside = directory.with_name(f"{directory.name}.damaged-{os.getpid()}")
    try:
        directory.rename(aside)
    except OSError:
        return  # another process moved it already
    shutil.rmtree(aside, ignore_errors=True)
