"""The classification head and Lightning module: mean-pooled final hidden state -> linear."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import lightning
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities.types import OptimizerLRSchedulerConfig
from torch import nn
from torchmetrics import MeanMetric

from longseq.models import LanguageModel
from longseq.tasks.lm_module import MaskedAccuracy
from longseq.tasks.optim import OptimConfig, build_optimizer

__all__ = ["ClassificationTask", "SequenceClassifier"]

HEAD_NAME = "classifier.safetensors"
CLASSES_NAME = "classes.json"


def final_hidden(model: LanguageModel, input_ids: torch.Tensor) -> torch.Tensor:
    """``input_ids`` [B, L] int64 -> the final-normed hidden states [B, L, D] of ``model``."""
    h = model.embedding(input_ids)
    if model.pos_embedding is not None:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        h = h + model.pos_embedding(positions)
    h = model.drop(h)
    for layer in model.layers:
        h = layer(h, None)
    return model.norm_f(h)


class SequenceClassifier(nn.Module):
    """A language model body and a linear head on its mean-pooled final hidden state.

    ``forward(input_ids: [B, L] int64, mask: [B, L] bool) -> logits [B, C]``; padded positions
    (mask False) are left out of the mean.
    """

    def __init__(self, model: LanguageModel, num_classes: int) -> None:
        super().__init__()
        self.model = model
        self.head = nn.Linear(model.config.d_model, num_classes)

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = final_hidden(self.model, input_ids)
        weights = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
        return self.head(pooled).float()

    def param_groups(self, lr: float, weight_decay: float) -> list[dict[str, Any]]:
        """The body's AdamW groups with the head's weight added to ``decay`` and its bias to
        ``no_decay`` (group names stay unique: Lightning's LR monitor logs by name)."""
        groups = self.model.param_groups(lr, weight_decay)
        by_name = {g["name"]: g for g in groups}
        for name, p, decay in (
            ("decay", self.head.weight, weight_decay),
            ("no_decay", self.head.bias, 0.0),
        ):
            if name in by_name:
                by_name[name]["params"].append(p)
            else:
                groups.append({"name": name, "params": [p], "weight_decay": decay})
        return groups


class ClassificationTask(lightning.LightningModule):
    """Cross-entropy on ``label`` for batches ``{"input_ids", "mask", "label"}``; logs
    ``train/loss`` per step and ``val|test/loss``, ``val|test/accuracy`` per epoch (summed over
    the epoch, like :class:`~longseq.tasks.lm_module.SequenceLMTask`)."""

    def __init__(self, model: LanguageModel, optim: OptimConfig, classes: list[str]) -> None:
        super().__init__()
        optim.validate()
        # Plain values only: checkpoints then load with torch.load(weights_only=True).
        self.save_hyperparameters({"optim": dataclasses.asdict(optim), "classes": list(classes)})
        self.classes = list(classes)
        self.classifier = SequenceClassifier(model, len(classes))
        self.optim = optim
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self.val_accuracy, self.test_accuracy = MaskedAccuracy(), MaskedAccuracy()

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[B, L] ids and mask -> class logits [B, C]."""
        return self.classifier(input_ids, mask)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = F.cross_entropy(self(batch["input_ids"], batch["mask"]), batch["label"])
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["label"].shape[0])
        return loss

    def _evaluate(
        self, batch: dict[str, torch.Tensor], loss: MeanMetric, acc: MaskedAccuracy, prefix: str
    ) -> None:
        logits = self(batch["input_ids"], batch["mask"])
        labels = batch["label"]
        loss.update(F.cross_entropy(logits, labels), weight=labels.shape[0])
        preds = logits.argmax(dim=-1)
        acc.update(
            preds[:, None], labels[:, None], torch.ones_like(labels[:, None], dtype=torch.bool)
        )
        self.log(f"{prefix}/loss", loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log(f"{prefix}/accuracy", acc, on_step=False, on_epoch=True, prog_bar=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_loss, self.val_accuracy, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_loss, self.test_accuracy, "test")

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        """AdamW + per-step schedule over ``trainer.estimated_stepping_batches`` steps."""
        optimizer, scheduler = build_optimizer(
            self.classifier, self.optim, int(self.trainer.estimated_stepping_batches)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }

    def save_head(self, directory: Path) -> None:
        """Write the head (``classifier.safetensors``) and the class names (``classes.json``)."""
        from safetensors.torch import save_model

        directory.mkdir(parents=True, exist_ok=True)
        save_model(self.classifier.head, str(directory / HEAD_NAME))
        (directory / CLASSES_NAME).write_text(json.dumps(self.classes, indent=2) + "\n")
