"""The Lightning side of a run: the trainer with longseq's callbacks and loggers
(:func:`build_trainer`), FSDP2 as a strategy, gathering a sharded model back
(:func:`full_state_dict`) and running a stage so that Ctrl-C stays an interrupt
(:func:`run_stage`). Lightning is imported inside the functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from longseq.configs.diagnose import ConfigError
from longseq.configs.schema import FSDP2, TrainConfig
from longseq.messages import one_line
from longseq.training.resume import log_version

if TYPE_CHECKING:
    import lightning
    import torch

__all__ = ["build_trainer", "full_state_dict", "run_stage"]

R = TypeVar("R")


def build_trainer(
    config: TrainConfig, run_dir: Path, resumed: bool, extra: Sequence[Any] = ()
) -> lightning.Trainer:
    import lightning
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, RichProgressBar
    from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger

    from longseq.tasks.callbacks import CheckpointDigest, StepSeed

    ckpt = config.checkpoint
    callbacks: list[Any] = [
        # One callback for both: Lightning writes last.ckpt only when this callback has just
        # saved a top-k checkpoint.
        ModelCheckpoint(
            dirpath=run_dir / "checkpoints",
            filename="best-{epoch}-{step}" if ckpt.monitor else "{epoch}-{step}",
            monitor=ckpt.monitor,
            mode=ckpt.mode,
            save_top_k=ckpt.save_top_k if ckpt.monitor else 1,
            save_last=True,
            every_n_epochs=ckpt.every_n_epochs,
        ),
        StepSeed(config.seed),
        CheckpointDigest(),
        *extra,
    ]
    loggers: list[Logger] = []
    if config.loggers:
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    version = log_version(run_dir) if resumed else ""
    if "csv" in config.loggers:
        loggers.append(CSVLogger(save_dir=run_dir, name="logs", version=version))
    if "tensorboard" in config.loggers:
        loggers.append(
            TensorBoardLogger(
                save_dir=run_dir, name="logs", version=version, default_hp_metric=False
            )
        )
    if config.trainer.enable_progress_bar:
        callbacks.append(RichProgressBar())
    kwargs = config.trainer.trainer_kwargs()
    if getattr(config.data, "seq_len_warmup", None):
        # The training loader changes its sequence length from stage to stage.
        kwargs["reload_dataloaders_every_n_epochs"] = 1
    if kwargs["strategy"] == FSDP2:
        kwargs["strategy"] = _fsdp2_strategy()
    try:
        trainer = lightning.Trainer(
            **kwargs,
            default_root_dir=run_dir,
            logger=loggers or False,
            callbacks=callbacks,
        )
        # What Lightning checks only when it launches: devices and nodes against the launcher's
        # (SLURM's tasks per node and nodes, torchrun's world size).
        environment = getattr(trainer.strategy, "cluster_environment", None)
        if environment is not None:
            environment.validate_settings(
                num_devices=trainer.num_devices, num_nodes=trainer.num_nodes
            )
    except (ValueError, MisconfigurationException) as exc:
        # Lightning's check of accelerator, devices, strategy and nodes against this machine.
        raise ConfigError(f"trainer: {one_line(exc)}") from None
    return trainer


def _fsdp2_strategy() -> Any:
    """Lightning's ModelParallelStrategy as pure data parallelism over every process (a 1-D
    FSDP2 mesh: ``data_parallel`` = all processes, ``tensor_parallel`` = 1), saving whole
    checkpoint files (rank 0 gathers them), as DDP does."""
    from lightning.pytorch.strategies import ModelParallelStrategy

    class FSDP2Strategy(ModelParallelStrategy):
        def setup_environment(self) -> None:
            self._data_parallel_size = self.num_nodes * self.num_processes
            self._tensor_parallel_size = 1
            super().setup_environment()

    return FSDP2Strategy(save_distributed_checkpoint=False)


def full_state_dict(model: Any) -> dict[str, Any] | None:
    """The whole state dict of a model sharded by FSDP2 (on CPU, on rank 0; empty elsewhere),
    gathered by every process together; None for a model that is not sharded."""
    from torch.distributed.fsdp import FSDPModule

    if not isinstance(model, FSDPModule):
        return None
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    # an FSDPModule is the sharded nn.Module itself (fully_shard swaps the module's class)
    return get_model_state_dict(cast("torch.nn.Module", model), options=options)


def run_stage(trainer: lightning.Trainer, stage: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run ``trainer.fit``/``trainer.test``; turn Lightning's Ctrl-C exit back into the
    interrupt."""
    try:
        return stage(*args, **kwargs)
    except SystemExit:
        # Lightning catches KeyboardInterrupt, shuts down and calls sys.exit(1).
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
