"""Lightning data module for next-token training on a cached corpus, and the ``lm`` task builder.

Each split's token stream is cut into contiguous windows of ``seq_len + 1`` tokens that overlap
by one (window i starts at token ``i * seq_len``): the model reads the first ``seq_len`` and is
trained on the next token at every position. The last window of a split may be short; its
missing positions are padded and take no loss and no accuracy.

With ``data.sampling=random_windows`` the examples are windows read by random access instead
(:mod:`longseq.tasks.lm.windows`): every training epoch draws ``windows_per_epoch`` fresh ones
(:class:`EpochWindowSampler`), validation and test read a fixed set from held-out regions.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Iterator, Mapping
from typing import Any

import lightning
import numpy as np
import torch
from lightning.pytorch.utilities.rank_zero import rank_zero_info
from torch.utils.data import DataLoader, Dataset, Sampler

from longseq.errors import ConfigError
from longseq.plugins.modality import DataError, Modality, Tokenizer, TokenWindows
from longseq.tasks import IGNORE_INDEX
from longseq.tasks.contract import TaskData
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.lm.corpus import prepare_corpus, tokenizer_digest
from longseq.tasks.lm.windows import EPOCH_SPAN, prepare_windows
from longseq.tasks.sampling import EpochShuffleSampler

__all__ = [
    "EpochWindowSampler",
    "LMDataModule",
    "RandomWindowDataset",
    "WindowDataset",
    "build_lm_data",
]


class WindowDataset(Dataset[dict[str, torch.Tensor]]):
    """Next-token examples from one token stream ``tokens`` [n] (any integer dtype, memmap ok).

    Item i: ``input_ids`` [seq_len] int64, ``targets`` [seq_len] int64 (the next token,
    ``IGNORE_INDEX`` on padding), ``metric_mask`` [seq_len] bool (True where a target exists).
    """

    def __init__(self, tokens: np.ndarray, seq_len: int, pad_id: int) -> None:
        self.tokens = tokens
        self.seq_len = seq_len
        self.pad_id = pad_id

    def __len__(self) -> int:
        return max(0, math.ceil((len(self.tokens) - 1) / self.seq_len))

    def __getstate__(self) -> dict[str, Any]:
        # Workers started by spawn or forkserver (Python 3.14's default on Linux) receive the
        # dataset pickled: a memory-mapped stream goes as its file and offset, not its bytes.
        state = self.__dict__.copy()
        state["tokens"] = _mapped_reference(self.tokens) or self.tokens
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        tokens = state["tokens"]
        if isinstance(tokens, tuple):
            filename, offset, dtype, length = tokens
            state["tokens"] = np.memmap(filename, np.dtype(dtype), "r", offset, (length,))
        self.__dict__.update(state)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        start = index * self.seq_len
        chunk = np.asarray(self.tokens[start : start + self.seq_len + 1], dtype=np.int64)
        n = len(chunk) - 1
        input_ids = torch.full((self.seq_len,), self.pad_id, dtype=torch.long)
        targets = torch.full((self.seq_len,), IGNORE_INDEX, dtype=torch.long)
        input_ids[:n] = torch.from_numpy(chunk[:-1])
        targets[:n] = torch.from_numpy(chunk[1:])
        return {"input_ids": input_ids, "targets": targets, "metric_mask": targets != IGNORE_INDEX}


def _mapped_reference(tokens: np.ndarray) -> tuple[str, int, str, int] | None:
    """``(file, byte offset, dtype, length)`` of a 1-D contiguous slice of a read-only memory
    map (``np.load(..., mmap_mode="r")``, a split of the token cache); None for anything else."""
    mapping = getattr(tokens, "_mmap", None)
    if not (
        isinstance(tokens, np.memmap)
        and isinstance(mapping, mmap.mmap)
        and tokens.filename
        and tokens.mode == "r"
        and tokens.ndim == 1
        and len(tokens)
        and tokens.flags.c_contiguous
    ):
        return None
    # numpy maps from the allocation-granularity boundary at or below the array's offset
    start = tokens.offset - tokens.offset % mmap.ALLOCATIONGRANULARITY
    first = start + tokens.ctypes.data - np.frombuffer(mapping, np.uint8).ctypes.data
    return str(tokens.filename), int(first), tokens.dtype.str, len(tokens)


class RandomWindowDataset(Dataset[dict[str, torch.Tensor]]):
    """Next-token examples from random-access windows of ``seq_len + 1`` ids (no padding).

    Item i: ``input_ids`` [seq_len] int64 (the window's first ``seq_len`` ids), ``targets``
    [seq_len] int64 (its last ``seq_len``), ``metric_mask`` [seq_len] bool (all True).
    """

    def __init__(self, windows: TokenWindows) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids = torch.from_numpy(np.asarray(self.windows[index], dtype=np.int64))
        targets = ids[1:].clone()
        return {
            "input_ids": ids[:-1].clone(),
            "targets": targets,
            "metric_mask": torch.ones_like(targets, dtype=torch.bool),
        }


class SplitWindowsDataset(Dataset[dict[str, torch.Tensor]]):
    """Each item of ``dataset`` (``input_ids``/``targets``/``metric_mask`` of length L) cut
    into ``pieces`` consecutive items of ``seq_len`` positions: item ``j`` is piece
    ``j % pieces`` of item ``j // pieces``. A warm-up stage over random windows reads the
    windows of the epoch, in shorter pieces, and no other."""

    def __init__(
        self, dataset: Dataset[dict[str, torch.Tensor]], seq_len: int, pieces: int
    ) -> None:
        self.dataset = dataset
        self.seq_len = seq_len
        self.pieces = pieces

    def __len__(self) -> int:
        return len(self.dataset) * self.pieces  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.dataset[index // self.pieces]
        start = (index % self.pieces) * self.seq_len
        return {key: value[start : start + self.seq_len] for key, value in item.items()}


class EpochWindowSampler(Sampler[int]):
    """Indices of ``per_epoch`` fresh random windows per epoch: epoch ``e`` yields
    ``e * per_epoch ... (e + 1) * per_epoch - 1`` (each index is its own seeded draw, so no
    shuffle is needed). Lightning calls :meth:`set_epoch` before every training epoch, so a
    resumed run continues with the windows it would have drawn."""

    def __init__(self, per_epoch: int) -> None:
        self.per_epoch = per_epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the windows of ``epoch`` next."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.per_epoch

    def __iter__(self) -> Iterator[int]:
        first = (self.epoch % EPOCH_SPAN) * self.per_epoch
        return iter(range(first, first + self.per_epoch))


class LMDataModule(lightning.LightningDataModule):
    """Train/val/test windows over the data in ``splits`` (``"train"``, ``"val"``, ``"test"``).

    With ``cfg.sampling=sequential`` each split is a token stream (``np.ndarray``) cut into
    :class:`WindowDataset` windows, and the training loader reshuffles them every epoch with the
    permutation of (``cfg.seed``, epoch). With ``random_windows`` each split is a
    :class:`~longseq.plugins.modality.TokenWindows` of ``seq_len + 1`` ids (see
    :func:`~longseq.tasks.lm.windows.prepare_windows`); training reads ``windows_per_epoch``
    fresh ones per epoch through :class:`EpochWindowSampler`, ``pad_id`` is unused.

    Batches are dicts ``{"input_ids": [B, L] int64, "targets": [B, L] int64,
    "metric_mask": [B, L] bool}`` with L = ``cfg.seq_len``.
    """

    def __init__(
        self, splits: Mapping[str, np.ndarray | TokenWindows], cfg: LMDataConfig, pad_id: int
    ) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.datasets: dict[str, Dataset[dict[str, torch.Tensor]]]
        if cfg.sampling == "random_windows":
            self.datasets = {
                name: RandomWindowDataset(windows)  # type: ignore[arg-type]
                for name, windows in splits.items()
            }
        else:
            self.datasets = {
                name: WindowDataset(tokens, cfg.seq_len, pad_id)  # type: ignore[arg-type]
                for name, tokens in splits.items()
            }

    def _loader(self, split: str, shuffle: bool, seq_len: int | None = None) -> DataLoader:
        dataset = self.datasets[split]
        batch_size = self.cfg.batch_size
        per_epoch = self.cfg.windows_per_epoch
        if seq_len is not None and seq_len != self.cfg.seq_len:
            # A warm-up stage: shorter windows, proportionally more of them per batch, so the
            # tokens per epoch and the steps per epoch stay the same.
            scale = max(1, self.cfg.seq_len // seq_len)
            batch_size, per_epoch = batch_size * scale, per_epoch * scale
            if isinstance(dataset, WindowDataset):
                dataset = WindowDataset(dataset.tokens, seq_len, dataset.pad_id)
            else:
                dataset = SplitWindowsDataset(dataset, seq_len, scale)
        sampler: Sampler[int] | None = None
        if shuffle and self.cfg.sampling == "random_windows":
            sampler = EpochWindowSampler(per_epoch)
        elif shuffle:
            sampler = EpochShuffleSampler(len(dataset), self.cfg.seed)  # type: ignore[arg-type]
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=self.cfg.num_workers,
            persistent_workers=self.cfg.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training windows (fresh random windows each epoch with random_windows);
        during the sequence-length warm-up, the current stage's shorter windows."""
        epoch = self.trainer.current_epoch if self.trainer is not None else 0
        seq_len = self.cfg.seq_len_at(epoch)
        if self.cfg.seq_len_warmup:
            rank_zero_info(f"epoch {epoch}: training on sequences of {seq_len} tokens")
        return self._loader("train", shuffle=True, seq_len=seq_len)

    def val_dataloader(self) -> DataLoader:
        """Validation windows, in order."""
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """Test windows, in order."""
        return self._loader("test", shuffle=False)


def build_lm_data(
    modality: Modality | None,
    data: LMDataConfig,
    *,
    modality_options: Mapping[str, Any],
    tokenizer: Tokenizer | None = None,
) -> TaskData:
    """The ``lm`` task: corpus (cached), tokenizer and data module of the files ``data.path``
    names, read by ``modality`` (built from ``modality_options``, which key the token cache).

    ``tokenizer``: encode with this one (a trained run's, for evaluation) instead of the one the
    modality fits on the training documents.

    Raises:
        ConfigError: ``data`` is not the ``lm`` data group, there is no modality,
            ``data.sampling=random_windows`` with a modality that has no random access, or with
            a ``tokenizer`` other than the modality's own (random windows encode themselves).
        DataError: the files cannot be read into a corpus (one line naming the path).
    """
    if not isinstance(data, LMDataConfig):
        raise ConfigError(
            f"task 'lm' needs data=lm, not the options of {type(data).__name__}; "
            "add data=lm (and modality=<name>) or use an experiment preset"
        )
    if modality is None:
        raise ConfigError("task 'lm' reads its files through a modality; choose one with modality=")
    if data.sampling == "random_windows":
        try:
            windows = prepare_windows(modality, data)
        except DataError:
            raise
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if tokenizer is not None and tokenizer_digest(tokenizer) != tokenizer_digest(
            windows.tokenizer
        ):
            raise ConfigError(
                "data.sampling=random_windows encodes with the modality's own tokenizer, which "
                "differs from the one given (check the modality options, e.g. soft_mask)"
            )
        tokenizer = windows.tokenizer
        splits: Mapping[str, np.ndarray | TokenWindows] = windows.windows
        documents = None
    else:
        corpus = prepare_corpus(modality, modality_options, data, tokenizer)
        tokenizer = corpus.tokenizer
        splits = corpus.splits
        documents = corpus.documents
    pad_id = int(getattr(tokenizer, "pad_id", tokenizer.eos_id))
    datamodule = LMDataModule(splits, data, pad_id)
    return TaskData(datamodule, tokenizer.vocab_size, tokenizer, documents=documents)
