"""Lightning data module for next-token training on a cached corpus, and the ``lm`` task builder.

Each split's token stream is cut into contiguous windows of ``seq_len + 1`` tokens that overlap
by one (window i starts at token ``i * seq_len``): the model reads the first ``seq_len`` and is
trained on the next token at every position. The last window of a split may be short; its
missing positions are padded and take no loss and no accuracy.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import lightning
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from longseq.plugins.registry import TaskData, build_modality
from longseq.tasks import IGNORE_INDEX
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.lm.corpus import prepare_corpus

if TYPE_CHECKING:
    from longseq.configs.schema import TrainConfig

__all__ = ["LMDataModule", "WindowDataset", "build_lm_data"]


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


class LMDataModule(lightning.LightningDataModule):
    """Train/val/test windows over the streams in ``splits`` (``"train"``, ``"val"``, ``"test"``).

    Batches are dicts ``{"input_ids": [B, L] int64, "targets": [B, L] int64,
    "metric_mask": [B, L] bool}`` with L = ``cfg.seq_len``. The training loader reshuffles the
    windows every epoch from a generator seeded with ``cfg.seed``.
    """

    def __init__(self, splits: dict[str, np.ndarray], cfg: LMDataConfig, pad_id: int) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.datasets = {
            name: WindowDataset(tokens, cfg.seq_len, pad_id) for name, tokens in splits.items()
        }

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.cfg.seed) if shuffle else None
        return DataLoader(
            self.datasets[split],
            batch_size=self.cfg.batch_size,
            shuffle=shuffle,
            generator=generator,
            num_workers=self.cfg.num_workers,
            persistent_workers=self.cfg.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training windows."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Validation windows, in order."""
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """Test windows, in order."""
        return self._loader("test", shuffle=False)


def build_lm_data(cfg: TrainConfig) -> TaskData:
    """The ``lm`` task: corpus (cached), tokenizer and data module from ``cfg``.

    Raises:
        ConfigError: ``data`` is not the ``lm`` data group, or the modality is missing/invalid.
        DataError: the files cannot be read into a corpus (one line naming the path).
    """
    from longseq.configs.diagnose import ConfigError

    if not isinstance(cfg.data, LMDataConfig):
        raise ConfigError(
            f"task 'lm' needs data=lm, not the options of {type(cfg.data).__name__}; "
            "add data=lm (and modality=<name>) or use an experiment preset"
        )
    try:
        modality = build_modality(cfg.modality)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    corpus = prepare_corpus(modality, cfg.modality, cfg.data)
    tokenizer = corpus.tokenizer
    pad_id = int(getattr(tokenizer, "pad_id", tokenizer.eos_id))
    datamodule = LMDataModule(corpus.splits, cfg.data, pad_id)
    return TaskData(datamodule, tokenizer.vocab_size, tokenizer)
