"""Checks for the files longseq reads back: checksums, checkpoints, one-line descriptions.

Every file a run or a cache holds is checked before it is trusted:

- run directories: ``config.json`` records the sha256 and size of ``model.safetensors`` and of
  the tokenizer files (:func:`record_files`); :func:`longseq.load` verifies them
  (:func:`file_problem`);
- Lightning checkpoints carry a digest of their tensors
  (:class:`longseq.tasks.callbacks.CheckpointDigest`) that
  :func:`checkpoint_problem` recomputes, after checking the file loads at all;
- token caches record their files' checksums in ``meta.json`` (:mod:`longseq.tasks.lm.corpus`).

A damaged file is described in a few words (``truncated: 1,024 of 70,512 bytes``) so that the
error or warning naming it fits on one line. Warnings about damaged files that longseq works
around (a damaged ``last.ckpt`` skipped, a damaged token cache rebuilt) are
:class:`DamagedFileWarning`; the CLI prints each as one ``warning: ...`` line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from longseq.messages import one_line

__all__ = [
    "CHECKPOINT_DIGEST_KEY",
    "DamagedFileWarning",
    "checkpoint_digest",
    "checkpoint_problem",
    "file_problem",
    "file_record",
    "sha256_file",
    "short_reason",
]

CHECKPOINT_DIGEST_KEY = "longseq_digest"
"""Key of a Lightning checkpoint holding the sha256 of its tensors (:func:`checkpoint_digest`)."""

_CHUNK = 1 << 22


class DamagedFileWarning(UserWarning):
    """A damaged file that longseq did not use and worked around (skipped or rebuilt)."""


def short_reason(exc: BaseException, limit: int = 240) -> str:
    """The first sentence of ``exc``'s message (libraries append paragraphs of advice), at most
    ``limit`` characters, prefixed with the exception's type when the message is empty."""
    text = one_line(exc)
    head, sep, _ = text.partition(". ")
    text = head if sep else text.rstrip(".")
    if not text:
        return type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file's bytes (read in 4 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    """``{"sha256": ..., "bytes": ...}`` of the file at ``path``."""
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def file_problem(path: Path, record: Mapping[str, Any]) -> str | None:
    """What is wrong with ``path`` against its ``record`` (:func:`file_record`), in a few words;
    None when it matches. A missing file, a size that differs (``truncated: N of M bytes``) and a
    sha256 that differs are told apart."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    expected = record.get("bytes")
    if isinstance(expected, int) and size != expected:
        if size < expected:
            return f"truncated: {size:,} of {expected:,} bytes"
        return f"{size:,} bytes where {expected:,} were written"
    if sha256_file(path) != record.get("sha256"):
        return (
            "its sha256 differs from the one recorded when it was written "
            "(overwritten or corrupted)"
        )
    return None


def _tensors(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    import torch

    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, Mapping):
        for key in sorted(value, key=str):
            if prefix == "" and key == CHECKPOINT_DIGEST_KEY:
                continue
            yield from _tensors(value[key], f"{prefix}/{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _tensors(item, f"{prefix}/{i}")


def checkpoint_digest(checkpoint: Mapping[str, Any]) -> str:
    """sha256 over every tensor of ``checkpoint`` (model weights, optimizer and scheduler state,
    metric states: names, dtypes, shapes and bytes) and its epoch and global step."""
    import torch

    digest = hashlib.sha256()
    digest.update(f"{checkpoint.get('epoch')}\0{checkpoint.get('global_step')}\0".encode())
    for name, tensor in _tensors(checkpoint, ""):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        if t.numel():
            digest.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
    return digest.hexdigest()


_CHECKPOINT_KEYS = ("state_dict", "epoch", "global_step")


def checkpoint_problem(path: Path) -> str | None:
    """What is wrong with the Lightning checkpoint at ``path`` in a few words (it does not load,
    lacks Lightning's keys, or its tensors differ from the digest saved in it); None when it is
    intact. Loads the whole file once (``weights_only``, no pickled code)."""
    import torch

    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"unreadable ({short_reason(exc)})"
    if size == 0:
        return "empty (0 bytes)"
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, IndexError, UnpicklingError...
        return f"truncated or overwritten, it does not load: {short_reason(exc)}"
    if not isinstance(checkpoint, dict) or any(k not in checkpoint for k in _CHECKPOINT_KEYS):
        return "not a Lightning checkpoint (no state_dict, epoch and global_step)"
    saved = checkpoint.get(CHECKPOINT_DIGEST_KEY)
    if saved is not None and saved != checkpoint_digest(checkpoint):
        return "corrupted, its tensors differ from the digest saved in it"
    return None
