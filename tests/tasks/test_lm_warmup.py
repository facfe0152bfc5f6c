"""Sequence-length warm-up (data.seq_len_warmup): stages, batches, and a training run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning
import pytest
import torch

from longseq.tasks.lm.config import LMDataConfig, SeqLenStage
from longseq.tasks.lm.datamodule import SplitWindowsDataset
from longseq.train import ConfigError, compose, train


def test_seq_len_at_walks_the_stages() -> None:
    cfg = LMDataConfig(
        path="x", seq_len=64, seq_len_warmup=[SeqLenStage(16, 2), SeqLenStage(32, 1)]
    )
    cfg.validate()
    assert [cfg.seq_len_at(e) for e in range(5)] == [16, 16, 32, 64, 64]
    assert LMDataConfig(path="x").seq_len_at(0) == 256


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        (
            [SeqLenStage(64, 1)],
            r"data.seq_len_warmup\[0\].seq_len=64 must grow .* below data.seq_len=64",
        ),
        (
            [SeqLenStage(32, 1), SeqLenStage(16, 1)],
            r"data.seq_len_warmup\[1\].seq_len=16 must grow",
        ),
        ([SeqLenStage(16, 0)], r"data.seq_len_warmup\[0\].epochs=0 must be at least 1"),
    ],
)
def test_bad_stages_name_the_stage(stages: list[SeqLenStage], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LMDataConfig(path="x", seq_len=64, seq_len_warmup=stages).validate()


def test_split_windows_cuts_each_window_into_consecutive_pieces() -> None:
    ids = torch.arange(12)
    items = [{"input_ids": ids + 100 * i, "targets": ids + 1 + 100 * i} for i in range(3)]
    split = SplitWindowsDataset(items, seq_len=4, pieces=3)  # type: ignore[arg-type]
    assert len(split) == 9
    assert split[4]["input_ids"].tolist() == [104, 105, 106, 107]
    assert split[4]["targets"].tolist() == [105, 106, 107, 108]
    assert torch.equal(
        torch.cat([split[j]["input_ids"] for j in range(3, 6)]), items[1]["input_ids"]
    )


class RecordShapes(lightning.Callback):
    def __init__(self) -> None:
        self.shapes: dict[int, set[tuple[int, ...]]] = {}

    def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, *args: Any) -> None:
        self.shapes.setdefault(trainer.current_epoch, set()).add(tuple(batch["input_ids"].shape))


@pytest.mark.parametrize("sampling", ["sequential", "random_windows"])
def test_training_runs_short_then_long(tmp_path: Path, sampling: str) -> None:
    if sampling == "sequential":
        corpus = tmp_path / "corpus"
        corpus.mkdir()
        for i in range(12):
            (corpus / f"doc{i}.txt").write_text(f"document {i}: " + "lorem ipsum dolor " * 40)
        data = [
            "task.name=lm",
            "data=lm",
            "modality=text",
            f"data.path={corpus}",
            "modality.tokenizer=byte",
            f"data.cache_dir={tmp_path / 'cache'}",
        ]
    else:
        data = ["experiment=genomics/windows", "data.windows_per_epoch=16", "data.eval_windows=4"]
    record = RecordShapes()
    overrides = [
        *data,
        "data.seq_len=64",
        "data.batch_size=4",
        "model.d_model=16",
        "model.n_layer=1",
        "trainer.max_epochs=3",
        "trainer.max_steps=-1",
        "trainer.enable_progress_bar=false",
        "data.seq_len_warmup=[{seq_len:16,epochs:1},{seq_len:32,epochs:1}]",
    ]
    train(compose(overrides), tmp_path / "run", callbacks=[record])
    full = {shape[1] for shape in record.shapes[2]}
    assert {shape[1] for shape in record.shapes[0]} == {16}
    assert {shape[1] for shape in record.shapes[1]} == {32}
    assert full == {64}
    # tokens per batch stay constant: 4 x 64 = 16 x 16 = 8 x 32 (a stream's last batch may be short)
    assert max(s[0] * s[1] for s in record.shapes[0]) == max(s[0] * s[1] for s in record.shapes[2])


def test_a_bad_stage_from_the_command_line_is_one_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data.seq_len_warmup\[0\].seq_len=512"):
        train(
            compose(
                [
                    "experiment=genomics/windows",
                    "data.seq_len_warmup=[{seq_len:512,epochs:1}]",
                    "data.seq_len=256",
                ]
            ),
            tmp_path / "run",
        )
