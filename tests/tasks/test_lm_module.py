"""SequenceLMTask: training through Lightning, epoch-level loss and masked accuracy."""

from __future__ import annotations

import lightning
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from longseq.tasks.lm_module import MaskedAccuracy, SequenceLMTask, sequence_loss
from longseq.tasks.optim import OptimConfig
from longseq.tasks.synthetic.config import SyntheticDataConfig
from longseq.tasks.synthetic.datamodule import SyntheticDataModule


class TinyLM(nn.Module):
    """Bigram stand-in for a longseq model: input_ids [B, L] -> logits [B, L, V]."""

    def __init__(self, vocab_size: int, width: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width)
        self.head = nn.Linear(width, vocab_size)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.embed(input_ids)))


class EchoLM(nn.Module):
    """Predicts the input token at every position (argmax of the logits is input_ids)."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return 5.0 * F.one_hot(input_ids, self.vocab_size).float() + 0.0 * self.unused


def _trainer(**kwargs: object) -> lightning.Trainer:
    return lightning.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,  # type: ignore[arg-type]
    )


def test_fit_then_test_on_associative_recall() -> None:
    torch.manual_seed(0)
    dm = SyntheticDataModule(
        SyntheticDataConfig(seq_len=8, num_train=256, num_test=64, batch_size=32)
    )
    task = SequenceLMTask(TinyLM(dm.vocab_size), OptimConfig(lr=3e-2, warmup_ratio=0.1))
    assert "model" not in task.hparams
    trainer = _trainer(max_steps=40, limit_val_batches=0)
    before = trainer.test(task, datamodule=dm, verbose=False)[0]
    trainer = _trainer(max_steps=40, limit_val_batches=0)
    trainer.fit(task, datamodule=dm)
    assert trainer.lr_scheduler_configs[0].interval == "step"
    assert trainer.global_step == 40
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    after = trainer.test(task, datamodule=dm, verbose=False)[0]
    assert 0.0 <= after["test/accuracy"] <= 1.0
    assert after["test/loss"] < before["test/loss"] - 0.2


def _batch(
    input_ids: list[list[int]], targets: list[list[int]], mask: list[list[bool]]
) -> dict[str, torch.Tensor]:
    return {
        "input_ids": torch.tensor(input_ids),
        "targets": torch.tensor(targets),
        "metric_mask": torch.tensor(mask),
    }


# Batch 1: one selected position, right. Batch 2: three selected positions, all wrong.
# Over the epoch 1/4 correct; the mean of the batch accuracies would be 1/2.
UNEVEN = [
    _batch([[1, 2, 3, 4]], [[1, -100, 7, 7]], [[True, False, False, False]]),
    _batch(
        [[1, 2, 3, 4], [5, 6, 7, 0]],
        [[2, -100, -100, 4], [0, 0, -100, 1]],
        [[True, False, False, False], [False, True, False, True]],
    ),
]
ALL_RIGHT = [_batch([[3, 4]], [[3, 4]], [[True, True]])]


class _Batches(Dataset[dict[str, torch.Tensor]]):
    """Ready-made batches served as they are (with ``batch_size=None``)."""

    def __init__(self, batches: list[dict[str, torch.Tensor]]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.batches[index]


def _loader(batches: list[dict[str, torch.Tensor]]) -> DataLoader[dict[str, torch.Tensor]]:
    return DataLoader(_Batches(batches), batch_size=None)


def test_accuracy_and_loss_are_summed_over_the_epoch() -> None:
    vocab = 8
    task = SequenceLMTask(EchoLM(vocab), OptimConfig())
    trainer = _trainer()
    result = trainer.validate(task, _loader(UNEVEN), verbose=False)[0]
    assert result["val/accuracy"] == pytest.approx(0.25)
    with torch.no_grad():
        logits = torch.cat([task(b["input_ids"]).flatten(0, 1) for b in UNEVEN])
    targets = torch.cat([b["targets"].flatten() for b in UNEVEN])
    assert result["val/loss"] == pytest.approx(float(F.cross_entropy(logits, targets)))
    # state is reset between epochs: a perfect epoch reads 1, not a blend with the last one
    result = trainer.validate(task, _loader(ALL_RIGHT), verbose=False)[0]
    assert result["val/accuracy"] == pytest.approx(1.0)
    result = trainer.test(task, _loader(UNEVEN), verbose=False)[0]
    assert result["test/accuracy"] == pytest.approx(0.25)


def test_masked_accuracy_metric() -> None:
    metric = MaskedAccuracy()
    for batch in UNEVEN:
        metric.update(batch["input_ids"], batch["targets"], batch["metric_mask"])
    assert float(metric.compute()) == pytest.approx(0.25)
    metric.reset()
    batch = UNEVEN[0]
    metric.update(batch["input_ids"], batch["targets"], torch.zeros_like(batch["metric_mask"]))
    assert float(metric.compute()) == 0.0


def test_sequence_loss_is_fp32_and_ignores_unlabelled() -> None:
    logits = torch.randn(2, 3, 5).to(torch.bfloat16)
    targets = torch.tensor([[1, -100, 2], [-100, -100, 4]])
    loss, count = sequence_loss(logits, targets)
    assert loss.dtype == torch.float32 and int(count) == 3
    keep = targets != -100
    expected = F.cross_entropy(logits.float()[keep], targets[keep])
    assert float(loss) == pytest.approx(float(expected))
    loss, count = sequence_loss(logits, torch.full((2, 3), -100))
    assert float(loss) == 0.0 and int(count) == 0
