"""Labelled documents -> (window, label) examples, split by document, and their data module."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lightning
import torch
from torch.utils.data import DataLoader, Dataset

from longseq.errors import ConfigError
from longseq.models import LanguageModel
from longseq.plugins.modality import DataError, Document, Modality, Tokenizer
from longseq.tasks.classification.config import ClassificationDataConfig
from longseq.tasks.contract import TaskData
from longseq.tasks.lm.corpus import held_out_count, read_all, split_documents
from longseq.tasks.optim import OptimConfig
from longseq.tasks.sampling import EpochShuffleSampler

__all__ = ["ClassificationDataModule", "Examples", "build_classification_data", "make_examples"]


@dataclass
class Examples:
    """``input_ids`` [n, L] int64 (padded), ``mask`` [n, L] bool (real tokens), ``label`` [n]."""

    input_ids: torch.Tensor
    mask: torch.Tensor
    label: torch.Tensor


class _ExampleDataset(Dataset[dict[str, torch.Tensor]]):
    def __init__(self, examples: Examples) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return int(self.examples.label.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        e = self.examples
        return {"input_ids": e.input_ids[index], "mask": e.mask[index], "label": e.label[index]}


def make_examples(
    documents: list[Document],
    tokenizer: Tokenizer,
    classes: list[str],
    cfg: ClassificationDataConfig,
    pad_id: int,
) -> Examples:
    """Every document's windows of ``cfg.seq_len`` tokens with its label's index in ``classes``.

    Raises:
        DataError: a document's label is not among ``classes`` (seen in training).
    """
    index = {name: i for i, name in enumerate(classes)}
    rows: list[torch.Tensor] = []
    labels: list[int] = []
    for document in documents:
        if document.label not in index:
            raise DataError(
                f"{document.name}: label {document.label!r} does not occur in the training "
                f"documents ({', '.join(classes)})"
            )
        ids = torch.from_numpy(tokenizer.encode(document.content))
        windows = list(torch.split(ids, cfg.seq_len)) or [ids]
        if cfg.max_windows_per_document:
            windows = windows[: cfg.max_windows_per_document]
        rows += windows
        labels += [index[str(document.label)]] * len(windows)
    input_ids = torch.full((len(rows), cfg.seq_len), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), cfg.seq_len), dtype=torch.bool)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = True
    return Examples(input_ids, mask, torch.tensor(labels, dtype=torch.long))


class ClassificationDataModule(lightning.LightningDataModule):
    """Batches ``{"input_ids": [B, L] int64, "mask": [B, L] bool, "label": [B] int64}``; the
    training loader reshuffles every epoch with the permutation of (``cfg.seed``, epoch)."""

    def __init__(self, splits: dict[str, Examples], cfg: ClassificationDataConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.datasets = {name: _ExampleDataset(examples) for name, examples in splits.items()}

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = self.datasets[split]
        return DataLoader(
            dataset,
            batch_size=self.cfg.batch_size,
            sampler=EpochShuffleSampler(len(dataset), self.cfg.seed) if shuffle else None,
            num_workers=self.cfg.num_workers,
            persistent_workers=self.cfg.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training examples."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Validation examples, in order."""
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """Test examples, in order."""
        return self._loader("test", shuffle=False)


def _labelled(documents: list[Document]) -> list[Document]:
    for document in documents:
        if document.label is None:
            raise DataError(
                f"{document.name}: no label; let the modality set one "
                "(e.g. modality.label_by=directory)"
            )
    return documents


def build_classification_data(
    modality: Modality | None,
    data: ClassificationDataConfig,
    *,
    modality_options: Mapping[str, Any],
    tokenizer: Tokenizer | None = None,
) -> TaskData:
    """The ``classification`` task's data, tokenizer and Lightning module factory: the labelled
    documents ``modality`` reads from ``data.path``. ``modality_options`` (what the modality was
    built from) are not needed: examples are built in memory, with no cache to key.

    Raises:
        ConfigError: there is no modality, or a ``tokenizer`` is given (the classes and the
            tokenizer are fitted together on the training documents).
        DataError: missing files, unlabelled documents, fewer than two classes.
    """
    from longseq.tasks.classification.module import ClassificationTask

    if modality is None:
        raise ConfigError(
            "task 'classification' reads its files through a modality; choose one with modality="
        )
    if tokenizer is not None:
        raise ConfigError("task 'classification' fits its own tokenizer; it cannot take a run's")
    documents = _labelled(read_all(modality, data.path, "data.path"))
    n_val = 0 if data.val_path else held_out_count(data.val_fraction, len(documents))
    n_test = 0 if data.test_path else held_out_count(data.test_fraction, len(documents))
    train, val, test = split_documents(documents, n_val, n_test, data.seed, data.path)
    if data.val_path:
        val = _labelled(read_all(modality, data.val_path, "data.val_path"))
    if data.test_path:
        test = _labelled(read_all(modality, data.test_path, "data.test_path"))
    classes = sorted({str(d.label) for d in train})
    if len(classes) < 2:
        raise DataError(f"{data.path}: the training documents hold {len(classes)} class(es)")
    tokenizer = modality.fit_tokenizer(train)
    pad_id = int(getattr(tokenizer, "pad_id", tokenizer.eos_id))
    splits = {
        name: make_examples(docs, tokenizer, classes, data, pad_id)
        for name, docs in (("train", train), ("val", val), ("test", test))
    }

    def make_module(model: torch.nn.Module, optim: OptimConfig) -> lightning.LightningModule:
        if not isinstance(model, LanguageModel):
            raise TypeError(f"classification needs a LanguageModel, got {type(model).__name__}")
        return ClassificationTask(model, optim, classes)

    return TaskData(
        ClassificationDataModule(splits, data), tokenizer.vocab_size, tokenizer, make_module
    )
