"""The lm task's random-access windows (data.sampling=random_windows): windows across contigs,
held-out regions, batches, errors, and the genomics/windows preset end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from longseq.plugins.genomics import GenomicsConfig, GenomicsModality, write_fasta
from longseq.plugins.modality import DataError, RandomAccessModality
from longseq.plugins.text import TextModality
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.lm.datamodule import LMDataModule
from longseq.tasks.lm.windows import prepare_windows, split_regions
from tests.cli_run import train_in_subprocess

CONTIG_LENGTHS = {"chr1": 30_000, "chr2": 15_000, "chr3": 6_000, "chrM": 800}


@pytest.fixture(scope="module")
def genome(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(0)
    contigs = {
        name: "".join(rng.choice(list("ACGT"), size=n)) for name, n in CONTIG_LENGTHS.items()
    }
    path = write_fasta(contigs.items(), tmp_path_factory.mktemp("genome") / "g.fa", width=60)
    return path, contigs


def _modality(tmp_path: Path) -> GenomicsModality:
    return GenomicsModality(GenomicsConfig(cache_dir=str(tmp_path / "genomics")))


def _config(path: Path, **kwargs: object) -> LMDataConfig:
    options: dict[str, object] = {
        "path": str(path),
        "sampling": "random_windows",
        "val_fraction": 0.1,
        "test_fraction": 0.1,
        "seq_len": 99,
        "batch_size": 4,
        "windows_per_epoch": 64,
        "eval_windows": 50,
        **kwargs,
    }
    cfg = LMDataConfig(**options)  # type: ignore[arg-type]
    cfg.validate()
    return cfg


def test_contigs_are_cut_into_train_val_test_regions() -> None:
    regions = split_regions({"a": 1000, "b": 10}, val_fraction=0.1, test_fraction=0.2)
    assert regions == {
        "train": [("a", 0, 700), ("b", 0, 7)],
        "val": [("a", 700, 800), ("b", 7, 8)],
        "test": [("a", 800, 1000), ("b", 8, 10)],
    }
    assert split_regions({"a": 100}, 0.0, 0.1)["val"] == []


def test_windows_span_every_contig_in_proportion_and_respect_held_out_regions(
    tmp_path: Path, genome: tuple[Path, dict[str, str]]
) -> None:
    path, contigs = genome
    modality = _modality(tmp_path)
    assert isinstance(modality, RandomAccessModality)
    splits = prepare_windows(modality, _config(path))
    # (val start, test start) of every contig: train is [0, val start).
    bounds = {
        n: (size - 2 * round(0.1 * size), size - round(0.1 * size))
        for n, size in CONTIG_LENGTHS.items()
    }
    train = splits.windows["train"]
    picks = [train.locate(i) for i in range(3000)]  # type: ignore[attr-defined]
    starts = {name: max(bounds[name][0] - 100 + 1, 0) for name in CONTIG_LENGTHS}
    total = sum(starts.values())
    for name, count in starts.items():
        share = sum(contig == name for contig, _, _ in picks) / len(picks)
        assert abs(share - count / total) < 0.03, (name, share, count / total)
    assert {c for c, _, _ in picks} == set(CONTIG_LENGTHS)
    for contig, start, _ in picks:
        assert start >= 0 and start + 100 <= bounds[contig][0]  # never reaches val/test bases
    for split, edge in (("val", 0), ("test", 1)):
        windows = splits.windows[split]
        assert len(windows) == 50
        for i in range(len(windows)):
            contig, start, _ = windows.locate(i)  # type: ignore[attr-defined]
            low = bounds[contig][edge]
            high = bounds[contig][1] if split == "val" else CONTIG_LENGTHS[contig]
            assert low <= start and start + 100 <= high
    tokenizer = splits.tokenizer
    for i in (0, 1, 2999):
        contig, start, _ = train.locate(i)  # type: ignore[attr-defined]
        assert tokenizer.decode(train[i]) == contigs[contig][start : start + 100]


def test_held_out_files_are_whole_splits_and_take_no_fraction(
    tmp_path: Path, genome: tuple[Path, dict[str, str]]
) -> None:
    path, _ = genome
    held = write_fasta([("other", "ACGT" * 100)], tmp_path / "held.fa")
    cfg = _config(
        path, val_path=str(held), test_path=str(held), val_fraction=0.0, test_fraction=0.0
    )
    splits = prepare_windows(_modality(tmp_path), cfg)
    assert splits.regions["train"][1] == [(n, 0, length) for n, length in CONTIG_LENGTHS.items()]
    assert splits.regions["test"] == (str(held), [("other", 0, 400)])
    assert {splits.windows["val"].locate(i)[0] for i in range(10)} == {"other"}  # type: ignore[attr-defined]


def test_datamodule_yields_next_token_batches_and_fresh_windows_each_epoch(
    tmp_path: Path, genome: tuple[Path, dict[str, str]]
) -> None:
    path, _ = genome
    cfg = _config(path, seq_len=16)
    splits = prepare_windows(_modality(tmp_path), cfg)
    dm = LMDataModule(splits.windows, cfg, pad_id=0)
    loader = dm.train_dataloader()
    assert len(loader) == 64 // 4
    batch = next(iter(loader))
    assert set(batch) == {"input_ids", "targets", "metric_mask"}
    assert batch["input_ids"].shape == (4, 16) and batch["input_ids"].dtype == torch.int64
    assert batch["targets"].shape == (4, 16) and batch["targets"].dtype == torch.int64
    assert batch["metric_mask"].dtype == torch.bool and bool(batch["metric_mask"].all())
    assert torch.equal(batch["input_ids"][:, 1:], batch["targets"][:, :-1])
    again = next(iter(LMDataModule(splits.windows, cfg, pad_id=0).train_dataloader()))
    assert torch.equal(batch["input_ids"], again["input_ids"])
    loader.sampler.set_epoch(1)  # type: ignore[attr-defined]
    assert not torch.equal(next(iter(loader))["input_ids"], batch["input_ids"])
    val = list(dm.val_dataloader())
    assert sum(len(b["input_ids"]) for b in val) == 50 and len(dm.test_dataloader()) == 13


def test_modality_without_random_access_is_a_one_line_error(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("some text " * 100)
    with pytest.raises(ValueError, match=r"data\.sampling=random_windows .*'text'") as info:
        prepare_windows(TextModality(), _config(text))
    assert "\n" not in str(info.value)


def test_held_out_region_shorter_than_a_window_names_the_option(
    tmp_path: Path, genome: tuple[Path, dict[str, str]]
) -> None:
    path, _ = genome
    with pytest.raises(DataError, match=r"no val region holds a window .*data\.val_fraction"):
        prepare_windows(_modality(tmp_path), _config(path, seq_len=4000, val_fraction=0.01))


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"sampling": "shuffled"}, "data.sampling='shuffled' must be one of"),
        ({"windows_per_epoch": 0}, "data.windows_per_epoch=0"),
        ({"eval_windows": -1}, "data.eval_windows=-1"),
        ({"sampling": "random_windows", "max_tokens": 10}, "data.max_tokens=10"),
    ],
)
def test_window_options_are_checked(kwargs: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key) as info:
        LMDataConfig(path="x", **kwargs).validate()
    assert "\n" not in str(info.value)


def test_windows_preset_trains_a_few_steps(tmp_path: Path) -> None:
    overrides = [
        "experiment=genomics/windows",
        "trainer.max_steps=2",
        "model.d_model=16",
        "data.seq_len=256",
        "data.batch_size=4",
        "data.eval_windows=4",
    ]
    run_dir, metrics = train_in_subprocess(tmp_path, overrides)
    assert metrics["test/loss"] > 0.0
    tokenizer = json.loads((run_dir / "tokenizer" / "tokenizer.json").read_text())
    assert tokenizer["type"] == "longseq.genomics.dna"
