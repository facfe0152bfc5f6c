"""Lightning module for next-token sequence models: loss, masked accuracy, optimiser wiring."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import lightning
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities.types import OptimizerLRSchedulerConfig
from torch import nn
from torchmetrics import MeanMetric, Metric

from longseq.tasks import IGNORE_INDEX
from longseq.tasks.optim import OptimConfig, build_optimizer

if TYPE_CHECKING:
    from torch.distributed.device_mesh import DeviceMesh


class MaskedAccuracy(Metric):
    """Accuracy over the selected positions of an epoch: total correct / total selected.

    Sums (not a mean of batch means), so batches with different numbers of selected positions
    weigh by their counts; torchmetrics sums the states across processes.
    """

    full_state_update = False
    correct: torch.Tensor
    total: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.add_state("correct", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> None:
        """``preds``, ``targets``: [B, L] int64; ``mask``: [B, L] bool, positions that count."""
        self.correct += ((preds == targets) & mask).sum()
        self.total += mask.sum()

    def compute(self) -> torch.Tensor:
        """Fraction correct (0 when nothing was selected)."""
        return self.correct.float() / self.total.clamp_min(1).float()


def fully_shard_layers(model: nn.Module, mesh: DeviceMesh | None) -> None:
    """FSDP2 (``torch.distributed.fsdp.fully_shard``) over ``mesh``: every block of
    ``model.layers`` is its own unit, the remaining parameters belong to the root. Idempotent."""
    from torch.distributed.fsdp import FSDPModule, fully_shard

    if isinstance(model, FSDPModule):
        return
    for layer in getattr(model, "layers", ()):
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy in fp32 over labelled positions, and their count.

    ``logits``: [B, L, V] any float dtype; ``targets``: [B, L] int64, ``IGNORE_INDEX`` for none.
    Returns (loss: scalar fp32, count: scalar int64); the loss is 0 if no position is labelled.
    """
    labelled = targets != IGNORE_INDEX
    # Upcast only the labelled rows: MQAR labels k of L positions, and a full fp32 copy of
    # [B, L, V] logits is the largest tensor of a step.
    selected = logits[labelled].float()
    summed = F.cross_entropy(selected, targets[labelled], reduction="sum")
    count = labelled.sum()
    return summed / count.clamp_min(1), count


class SequenceLMTask(lightning.LightningModule):
    """Trains ``model`` (``input_ids: [B, L] int64 -> logits: [B, L, V]``) on next-token labels.

    Batches are dicts with ``input_ids`` [B, L], ``targets`` [B, L] (-100: no loss) and
    ``metric_mask`` [B, L] bool. Logs ``train/loss`` per step, and per epoch ``val/loss``,
    ``val/accuracy`` (resp. ``test/...``): the token-weighted mean loss and the accuracy of the
    argmax prediction on ``metric_mask`` positions, both summed over the whole epoch.
    Under ``trainer.strategy=fsdp2`` the model is sharded in :meth:`configure_model`.
    """

    def __init__(self, model: nn.Module, optim: OptimConfig) -> None:
        super().__init__()
        optim.validate()
        # Plain values only: checkpoints then load with torch.load(weights_only=True).
        self.save_hyperparameters({"optim": dataclasses.asdict(optim)})
        self.model = model
        self.optim = optim
        self.val_loss = MeanMetric()
        self.val_accuracy = MaskedAccuracy()
        self.test_loss = MeanMetric()
        self.test_accuracy = MaskedAccuracy()

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``input_ids``: [B, L] int64 -> logits [B, L, V]."""
        return self.model(input_ids)

    def configure_model(self) -> None:
        """Under ``trainer.strategy=fsdp2`` (Lightning's ModelParallelStrategy, which gives the
        module a device mesh), shard the model with FSDP2: each layer, then the rest (embedding,
        final norm) at the root. Nothing under any other strategy."""
        mesh = self.device_mesh
        if mesh is not None:
            fully_shard_layers(self.model, mesh["data_parallel"])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, _ = sequence_loss(self(batch["input_ids"]), batch["targets"])
        # Under DDP/FSDP the logged loss is the mean over the processes' batches (the global
        # batch's loss when each labels as many positions), as one process would log it.
        self.log(
            "train/loss",
            loss,
            prog_bar=True,
            batch_size=batch["input_ids"].shape[0],
            sync_dist=True,
        )
        return loss

    def _evaluate(
        self,
        batch: dict[str, torch.Tensor],
        loss_metric: MeanMetric,
        accuracy: MaskedAccuracy,
        prefix: str,
    ) -> None:
        logits = self(batch["input_ids"])
        loss, count = sequence_loss(logits, batch["targets"])
        loss_metric.update(loss, weight=count)
        accuracy.update(logits.argmax(dim=-1), batch["targets"], batch["metric_mask"])
        # Logging the Metric objects lets Lightning compute, sync and reset them per epoch.
        self.log(f"{prefix}/loss", loss_metric, on_step=False, on_epoch=True, prog_bar=True)
        self.log(f"{prefix}/accuracy", accuracy, on_step=False, on_epoch=True, prog_bar=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_loss, self.val_accuracy, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_loss, self.test_accuracy, "test")

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        """AdamW + per-step schedule over ``trainer.estimated_stepping_batches`` steps."""
        optimizer, scheduler = build_optimizer(
            self.model, self.optim, int(self.trainer.estimated_stepping_batches)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }
