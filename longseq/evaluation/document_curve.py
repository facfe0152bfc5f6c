"""Loss by distance from the document start, with confidence bands.

The context curve (:mod:`.curve`) counts positions from the window start; a window starts
anywhere in the stream, so its position 0 may be the middle of a file and position 500 the top
of the next one: position and content are mixed. Here every held-out document (the stream cut
at eos) is read on its own from its start, as the model saw documents start during training
(after an eos): the input is ``eos`` and the document's first ``n - 1`` tokens, the targets its
first ``n`` tokens (``n`` up to ``data.seq_len``), so the loss at offset ``d`` is the loss of
the document's token ``d`` after reading all ``d`` tokens before it.

Offsets are grouped like the context curve (one point each, or log-spaced bins); a point's loss
is the token-weighted mean over the documents that reach it. Its 95% band resamples the
documents with replacement (tokens of one document are not independent draws).
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from longseq.evaluation.metrics import token_losses
from longseq.reporting import png
from longseq.tasks import IGNORE_INDEX

__all__ = [
    "DocumentPoint",
    "document_curve",
    "document_losses",
    "run_document_losses",
    "split_documents_at",
    "write_document_csv",
    "write_document_png",
]

_LN2 = math.log(2.0)


@dataclass
class DocumentPoint:
    """Offsets ``[start, end)`` from the document start: mean ``loss`` (nats; NaN without a
    target), its 95% bootstrap band ``[low, high]`` over documents, the targets ``count`` and
    the ``documents`` that reach ``start``."""

    start: int
    end: int
    loss: float
    low: float
    high: float
    count: int
    documents: int

    @property
    def bits(self) -> float:
        """``loss / ln 2``."""
        return self.loss / _LN2


def split_documents_at(stream: np.ndarray, eos_id: int) -> list[np.ndarray]:
    """The documents of a token stream: the runs between eos ids (empty ones dropped)."""
    ids = np.asarray(stream, dtype=np.int64)
    cuts = np.flatnonzero(ids == eos_id)
    pieces = np.split(ids, cuts)
    out = [p[1:] if len(p) and p[0] == eos_id else p for p in pieces]
    return [p for p in out if len(p)]


@torch.inference_mode()
def document_losses(
    model: torch.nn.Module,
    documents: Sequence[np.ndarray],
    eos_id: int,
    length: int,
    batch_size: int,
    device: str,
) -> list[np.ndarray]:
    """Per document, float64 [min(len, length)]: the loss of its token ``d`` after ``eos`` and
    its tokens ``0 .. d-1``."""
    if length < 1 or batch_size < 1:
        raise ValueError(f"length={length} and batch_size={batch_size} must be >= 1")
    model.eval()
    order = sorted(range(len(documents)), key=lambda i: len(documents[i]))
    out: list[np.ndarray] = [np.zeros(0)] * len(documents)
    for first in range(0, len(order), batch_size):
        chosen = order[first : first + batch_size]
        width = min(length, max(len(documents[i]) for i in chosen))
        ids = torch.full((len(chosen), width), eos_id, dtype=torch.long)
        targets = torch.full((len(chosen), width), IGNORE_INDEX, dtype=torch.long)
        for row, i in enumerate(chosen):
            doc = torch.as_tensor(documents[i][:width], dtype=torch.long)
            ids[row, 1 : len(doc)] = doc[:-1]
            targets[row, : len(doc)] = doc
        losses = token_losses(model(ids.to(device)), targets.to(device)).double().cpu().numpy()
        for row, i in enumerate(chosen):
            out[i] = losses[row, : min(len(documents[i]), width)]
    return out


def _edges(length: int, buckets: int) -> np.ndarray:
    if buckets == 0 or buckets >= length:
        return np.arange(length + 1)
    return np.unique(np.round(np.geomspace(1, length + 1, buckets + 1)).astype(np.int64)) - 1


def document_curve(
    losses: Sequence[np.ndarray], buckets: int = 0, *, seed: int = 0, resamples: int = 1000
) -> list[DocumentPoint]:
    """Mean loss by offset from the document start (one point per offset, or at most
    ``buckets`` log-spaced bins) with a 95% bootstrap band over documents."""
    if buckets < 0:
        raise ValueError(f"buckets={buckets} must be >= 0 (0: one point per offset)")
    length = max((len(x) for x in losses), default=0)
    if length == 0:
        return []
    edges = _edges(length, buckets)
    pairs = list(itertools.pairwise(edges.tolist()))
    sums = np.zeros((len(losses), len(pairs)))
    counts = np.zeros((len(losses), len(pairs)))
    for d, x in enumerate(losses):
        for b, (start, end) in enumerate(pairs):
            part = x[start:end]
            sums[d, b], counts[d, b] = part.sum(), len(part)
    rng = np.random.default_rng(seed)
    weights = np.stack(
        [
            np.bincount(rng.integers(0, len(losses), len(losses)), minlength=len(losses))
            for _ in range(resamples)
        ]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (weights @ sums) / (weights @ counts)
    points = []
    for b, (start, end) in enumerate(pairs):
        count = int(counts[:, b].sum())
        loss = float(sums[:, b].sum()) / count if count else math.nan
        valid = boot[:, b][np.isfinite(boot[:, b])]
        low, high = np.percentile(valid, [2.5, 97.5]) if len(valid) else (math.nan, math.nan)
        points.append(
            DocumentPoint(
                start,
                end,
                loss,
                float(low),
                float(high),
                count,
                int(np.count_nonzero(counts[:, b])),
            )
        )
    return points


def write_document_csv(points: Sequence[DocumentPoint], path: str | Path) -> Path:
    """Write ``offset,loss,bits,bits_low,bits_high,count,documents`` rows (offset: a point's
    first offset from the document start); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["offset", "loss", "bits", "bits_low", "bits_high", "count", "documents"])
        for p in points:
            if p.count:
                values = [
                    f"{p.loss:.9g}",
                    f"{p.bits:.9g}",
                    f"{p.low / _LN2:.9g}",
                    f"{p.high / _LN2:.9g}",
                ]
            else:
                values = [""] * 4
            writer.writerow([p.start, *values, p.count, p.documents])
    return path


def write_document_png(points: Sequence[DocumentPoint], path: str | Path, title: str = "") -> Path:
    """Bits per token against the tokens of the document read (``offset + 1``, log axis) with
    the 95% band. Needs matplotlib (the ``bench`` extra): else
    :class:`~longseq.messages.MissingDependency`."""
    shown = [p for p in points if p.count]
    x = [math.sqrt((p.start + 1) * p.end) for p in shown]
    with png(path) as (_, ax):
        ax.plot(x, [p.bits for p in shown], marker="." if len(shown) <= 64 else None)
        ax.fill_between(
            x,
            [p.low / _LN2 for p in shown],
            [p.high / _LN2 for p in shown],
            alpha=0.3,
            label="95% band (documents resampled)",
        )
        ax.set_xscale("log")
        ax.set_xlabel("tokens of the document read (offset from its start + 1)")
        ax.set_ylabel("bits per token")
        ax.set_title(title or "loss by distance from the document start")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    return Path(path)


def run_document_losses(
    run_dir: str | Path,
    overrides: Sequence[str] = (),
    *,
    split: str = "test",
    device: str = "cpu",
    batch_size: int | None = None,
    max_documents: int | None = None,
) -> list[np.ndarray]:
    """:func:`document_losses` of a run's held-out ``split`` (rebuilt as
    :func:`~.metrics.evaluate` rebuilds it), each document read up to ``data.seq_len`` tokens;
    :func:`document_curve` turns them into the curve.

    Raises:
        ConfigError: a run whose data is not a token stream of documents
            (``data.sampling=random_windows``, a synthetic task).
        RunError, DataError, ValueError: as :func:`~.metrics.evaluate`.
    """
    from longseq.devices import resolve_device
    from longseq.evaluation.metrics import SPLITS, _load, _run_config, _task_data
    from longseq.runs import RunError
    from longseq.tasks.lm.datamodule import WindowDataset
    from longseq.train import ConfigError

    if split not in SPLITS:
        raise ValueError(f"split {split!r} must be one of {', '.join(SPLITS)}")
    device = resolve_device(device)
    loaded = _load(Path(run_dir), device)
    config = _run_config(loaded, overrides, batch_size)
    task_data = _task_data(config, loaded)
    dataset = getattr(task_data.datamodule, "datasets", {}).get(split)
    tokenizer = task_data.tokenizer
    if not isinstance(dataset, WindowDataset) or tokenizer is None:
        raise ConfigError(
            f"{run_dir}: --document-curve needs a corpus of documents (task.name=lm with "
            "data.sampling=sequential)"
        )
    documents = split_documents_at(np.asarray(dataset.tokens), tokenizer.eos_id)
    if max_documents is not None:
        documents = documents[:max_documents]
    if not documents:
        raise RunError(f"{run_dir}: the {split} split has no document to read")
    seq_len = int(getattr(config.data, "seq_len", 0)) or max(len(d) for d in documents)
    return document_losses(
        loaded.model,
        documents,
        tokenizer.eos_id,
        seq_len,
        int(getattr(config.data, "batch_size", 8)),
        device,
    )
