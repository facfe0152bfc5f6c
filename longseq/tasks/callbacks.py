"""Lightning callbacks every longseq training run uses."""

from __future__ import annotations

import random
from typing import Any

import lightning
import numpy as np
import torch

from longseq.integrity import CHECKPOINT_DIGEST_KEY, checkpoint_digest

__all__ = ["CheckpointDigest", "StepSeed"]

# Odd multiplier that spreads (seed, step) pairs over the 32-bit seed space.
_STEP_STRIDE = 1_000_003


class StepSeed(lightning.Callback):
    """Reseed python, numpy and torch (CUDA included) before every training step from
    (seed, global step).

    Dropout masks and any other random draw of step ``s`` then depend on ``(seed, s)`` alone,
    not on everything drawn before (Lightning and the data loaders draw from the global
    generators at points that differ between a fresh and a resumed run), so a run resumed from
    a checkpoint draws exactly what the uninterrupted run drew. The data order comes from
    :class:`~longseq.tasks.sampling.EpochShuffleSampler`, seeded by (seed, epoch).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def step_seed(self, step: int) -> int:
        """The seed used for training step ``step``."""
        return (self.seed + _STEP_STRIDE * (step + 1)) % (2**32)

    def on_train_batch_start(self, trainer: lightning.Trainer, *args: Any) -> None:
        seed = self.step_seed(trainer.global_step)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # seeds every CUDA device too


class CheckpointDigest(lightning.Callback):
    """Every checkpoint saved carries the sha256 of its tensors (weights, optimizer state, ...)
    under :data:`~longseq.integrity.CHECKPOINT_DIGEST_KEY`, which
    :func:`~longseq.integrity.checkpoint_problem` recomputes before a run resumes from it: a
    checkpoint whose bytes changed after it was written is found even where it still loads."""

    def on_save_checkpoint(
        self,
        trainer: lightning.Trainer,
        pl_module: lightning.LightningModule,
        checkpoint: dict[str, Any],
    ) -> None:
        checkpoint[CHECKPOINT_DIGEST_KEY] = checkpoint_digest(checkpoint)
