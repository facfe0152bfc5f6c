"""``data.num_workers``: every task's loaders read in worker processes, and the batches are the
ones a single process reads (same seed, same epoch), random windows included."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from longseq.plugins.genomics import GenomicsConfig, GenomicsModality, write_fasta
from longseq.tasks.classification.config import ClassificationDataConfig
from longseq.tasks.classification.data import ClassificationDataModule, Examples
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.lm.datamodule import LMDataModule, WindowDataset
from longseq.tasks.lm.windows import prepare_windows
from longseq.tasks.synthetic.config import SyntheticDataConfig
from longseq.tasks.synthetic.datamodule import SyntheticDataModule

WORKERS = 2


def _read(dm: Any) -> list[dict[str, torch.Tensor]]:
    """Training batches of epochs 0 and 1, then the validation batches, of data module ``dm``."""
    batches: list[dict[str, torch.Tensor]] = []
    for epoch in (0, 1):
        loader: DataLoader = dm.train_dataloader()
        assert loader.num_workers == dm.cfg.num_workers
        loader.sampler.set_epoch(epoch)  # type: ignore[union-attr]
        batches += list(loader)
    val: DataLoader = dm.val_dataloader()
    assert val.num_workers == dm.cfg.num_workers
    return batches + list(val)


def _assert_same(make: Callable[[int], Any]) -> None:
    alone, workers = _read(make(0)), _read(make(WORKERS))
    assert len(alone) == len(workers) > 2
    for one, other in zip(alone, workers, strict=False):
        assert one.keys() == other.keys()
        for key in one:
            assert torch.equal(one[key], other[key]), key
    # the two epochs differ: the workers did not just repeat the first one
    assert not torch.equal(alone[0]["input_ids"], alone[len(alone) // 2]["input_ids"])


def test_random_windows_are_the_same_with_workers(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    contigs = [
        (name, "".join(rng.choice(list("ACGTacgt"), size=n)))
        for name, n in (("chr1", 9_000), ("chr2", 4_000), ("chrM", 700))
    ]
    path = write_fasta(contigs, tmp_path / "g.fa", width=60)
    modality = GenomicsModality(
        GenomicsConfig(cache_dir=str(tmp_path / "cache"), reverse_complement=True)
    )

    def make(num_workers: int) -> LMDataModule:
        cfg = LMDataConfig(
            path=str(path),
            sampling="random_windows",
            seq_len=64,
            batch_size=4,
            windows_per_epoch=16,
            eval_windows=8,
            seed=5,
            val_fraction=0.1,
            test_fraction=0.1,
            num_workers=num_workers,
        )
        return LMDataModule(prepare_windows(modality, cfg).windows, cfg, pad_id=0)

    _assert_same(make)


def test_sequential_windows_are_the_same_with_workers(tmp_path: Path) -> None:
    tokens = np.random.default_rng(1).integers(0, 200, size=3_000).astype(np.uint16)
    np.save(tmp_path / "stream.npy", tokens)
    stream = np.load(tmp_path / "stream.npy", mmap_mode="r")  # memory-mapped, as the cache is

    def make(num_workers: int) -> LMDataModule:
        cfg = LMDataConfig(path="unused", seq_len=50, batch_size=8, seed=3, num_workers=num_workers)
        return LMDataModule({"train": stream, "val": stream[:700]}, cfg, pad_id=0)

    _assert_same(make)


def test_classification_examples_are_the_same_with_workers() -> None:
    rng = np.random.default_rng(2)
    examples = Examples(
        torch.from_numpy(rng.integers(0, 50, size=(40, 12))),
        torch.from_numpy(rng.random((40, 12)) < 0.8),
        torch.from_numpy(rng.integers(0, 3, size=40)),
    )

    def make(num_workers: int) -> ClassificationDataModule:
        cfg = ClassificationDataConfig(
            path="unused", seq_len=12, batch_size=8, seed=4, num_workers=num_workers
        )
        return ClassificationDataModule({"train": examples, "val": examples}, cfg)

    _assert_same(make)


def test_synthetic_examples_are_the_same_with_workers() -> None:
    def make(num_workers: int) -> SyntheticDataModule:
        cfg = SyntheticDataConfig(
            num_train=64, num_test=16, batch_size=16, seed=6, num_workers=num_workers
        )
        dm = SyntheticDataModule(cfg)
        dm.setup("fit")
        return dm

    _assert_same(make)


@pytest.mark.parametrize("config", [LMDataConfig, ClassificationDataConfig, SyntheticDataConfig])
def test_negative_num_workers_names_the_key(config: type) -> None:
    options = {"path": "x"} if config is not SyntheticDataConfig else {}
    with pytest.raises(ValueError, match=r"data\.num_workers=-1 must be >= 0"):
        config(num_workers=-1, **options).validate()


def test_memory_mapped_stream_is_pickled_by_reference(tmp_path: Path) -> None:
    # what a worker started by spawn or forkserver receives: the file, not the tokens
    tokens = np.random.default_rng(7).integers(0, 60_000, size=50_000).astype(np.uint16)
    np.save(tmp_path / "stream.npy", tokens)
    stream = np.load(tmp_path / "stream.npy", mmap_mode="r")
    for view in (stream, stream[12_345:], stream[100:2_000]):
        dataset = WindowDataset(view, seq_len=64, pad_id=0)
        data = pickle.dumps(dataset)
        assert len(data) < 2_000
        copy = pickle.loads(data)
        assert isinstance(copy.tokens, np.memmap) and np.array_equal(copy.tokens, view)
        for i in (0, len(dataset) // 2, len(dataset) - 1):
            assert all(
                torch.equal(a, b)
                for a, b in zip(dataset[i].values(), copy[i].values(), strict=False)
            )
    in_memory = WindowDataset(np.asarray(tokens[:300]), seq_len=64, pad_id=0)
    assert np.array_equal(pickle.loads(pickle.dumps(in_memory)).tokens, tokens[:300])
