"""The training config schema: dataclasses that every YAML file in this package is checked against.

The YAML files only set values. Because the composed config is typed by :class:`TrainConfig`, a
misspelt key or a value of the wrong type fails at compose time with the key's full name.
``model``, ``data`` and ``optim`` reuse the dataclasses of the packages that consume them.

``data`` depends on the task: each ``data/<option>.yaml`` starts from its schema stored in the
ConfigStore as ``data/<option>_schema`` (:data:`DATA_SCHEMAS`), e.g. ``data/lm.yaml``::

    defaults:
      - lm_schema
      - _self_

``modality`` is a plain mapping at compose time: ``name`` (a key of
:data:`longseq.plugins.MODALITIES`) plus the modality's own options, which are checked against
the modality's ``config_class`` when the config is validated (:func:`longseq.plugins.registry.
modality_config`). A registered modality without a ``modality/<name>.yaml`` file gets one from
its ``config_class`` defaults (:func:`register_modality_config`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from longseq.configs.diagnose import SCHEMA_SUFFIX
from longseq.models.config import ModelConfig
from longseq.tasks.builtin import BUILTIN_TASKS
from longseq.tasks.optim import OptimConfig

__all__ = [
    "DATA_SCHEMAS",
    "FSDP2",
    "LOGGERS",
    "SCHEMA_NAME",
    "CheckpointConfig",
    "TaskConfig",
    "TrainConfig",
    "TrainerConfig",
    "register_configs",
    "register_modality_config",
]

SCHEMA_NAME = "train_schema"
"""Name of :class:`TrainConfig` in hydra's ConfigStore; the primary config extends it."""


DATA_SCHEMAS: dict[str, type] = {task.data_group: task.data_config for task in BUILTIN_TASKS}
"""``data/<name>.yaml`` -> the dataclass its values are checked against (``<name>_schema``): each
built-in task's ``data_group`` and ``data_config`` (:mod:`longseq.tasks.builtin`)."""


@dataclass
class TaskConfig:
    """Which objective to train: a name in :data:`longseq.tasks.registry.TASKS`."""

    name: str = "synthetic"


FSDP2 = "fsdp2"
"""``trainer.strategy=fsdp2``: FSDP2 (``torch.distributed.fsdp.fully_shard``, each layer a unit)
through Lightning's ModelParallelStrategy, data parallel over every process; runs on CPU (gloo)
as on GPU. Checkpoints are whole files, like DDP's."""

# Lightning's FSDP (FSDP1) strategies refuse any accelerator but CUDA.
_CUDA_ONLY_STRATEGIES = ("fsdp", "fsdp_cpu_offload")


@dataclass
class TrainerConfig:
    """The ``lightning.Trainer`` arguments longseq exposes; see Lightning's docs for each one.

    ``devices`` takes an int, a list of indices or ``"auto"``; ``val_check_interval`` takes a
    fraction of an epoch (float in (0, 1]), a number of training batches (int) or ``None``.
    ``strategy`` is a Lightning strategy name (``auto``, ``ddp``, ``fsdp`` on CUDA, ...) or
    ``fsdp2`` (:data:`FSDP2`). ``max_time`` stops training after a wall-clock time, as
    ``"DD:HH:MM:SS"`` or a number of seconds (Lightning's Timer): give two runs the same
    ``max_time`` (and ``max_epochs=-1``) to compare them at equal training time.
    """

    max_epochs: int = 10
    max_steps: int = -1
    accelerator: str = "auto"
    devices: Any = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    gradient_clip_val: float | None = 1.0
    log_every_n_steps: int = 50
    val_check_interval: Any = None
    check_val_every_n_epoch: int | None = 1
    enable_progress_bar: bool = True
    deterministic: bool = False
    max_time: Any = None

    def validate(self) -> None:
        """Raise ValueError naming the ``trainer.<key>`` at fault."""
        if self.max_epochs == 0 or self.max_epochs < -1:
            raise ValueError(
                f"trainer.max_epochs={self.max_epochs} must be >= 1, or -1 for no epoch limit"
            )
        if self.max_epochs == -1 and self.max_steps == -1 and self.max_time is None:
            raise ValueError(
                "trainer.max_epochs=-1 needs trainer.max_steps or trainer.max_time set to stop "
                "training"
            )
        self._validate_max_time()
        if self.max_steps < -1 or self.max_steps == 0:
            raise ValueError(f"trainer.max_steps={self.max_steps} must be positive, or -1 for none")
        if self.num_nodes < 1:
            raise ValueError(f"trainer.num_nodes={self.num_nodes} must be at least 1")
        if self.strategy in _CUDA_ONLY_STRATEGIES and self.accelerator not in ("gpu", "cuda"):
            raise ValueError(
                f"trainer.strategy={self.strategy} needs trainer.accelerator=gpu (Lightning's FSDP "
                f"runs on CUDA only; here trainer.accelerator={self.accelerator}); on CPU use "
                "trainer.strategy=fsdp2 (FSDP2 through Lightning's ModelParallelStrategy) or "
                "trainer.strategy=ddp"
            )
        if self.gradient_clip_val is not None and self.gradient_clip_val < 0:
            raise ValueError(
                f"trainer.gradient_clip_val={self.gradient_clip_val} must be >= 0 or null"
            )
        if self.log_every_n_steps < 1:
            raise ValueError(f"trainer.log_every_n_steps={self.log_every_n_steps} must be >= 1")
        if self.check_val_every_n_epoch is not None and self.check_val_every_n_epoch < 1:
            raise ValueError(
                f"trainer.check_val_every_n_epoch={self.check_val_every_n_epoch} must be >= 1"
            )
        self._validate_val_check_interval()

    def _validate_val_check_interval(self) -> None:
        v = self.val_check_interval
        ok = (
            v is None
            or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)
            or (isinstance(v, float) and 0.0 < v <= 1.0)
        )
        if not ok:
            raise ValueError(
                f"trainer.val_check_interval={v!r} must be null, a number of batches (int >= 1) "
                "or a fraction of an epoch (float in (0, 1])"
            )

    def _validate_max_time(self) -> None:
        v = self.max_time
        if v is None:
            return
        if isinstance(v, int) and not isinstance(v, bool):
            ok = v > 0
        else:
            parts = str(v).split(":")
            ok = isinstance(v, str) and len(parts) == 4 and all(p.isdigit() for p in parts)
            ok = ok and any(int(p) for p in parts)
        if not ok:
            raise ValueError(
                f"trainer.max_time={v!r} must be null, 'DD:HH:MM:SS' (e.g. '00:00:06:10') or a "
                "positive number of seconds"
            )

    def trainer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``lightning.Trainer`` (every field keeps Lightning's name;
        ``max_time`` in seconds becomes ``{"seconds": n}``)."""
        kwargs = asdict(self)
        if isinstance(self.max_time, int) and not isinstance(self.max_time, bool):
            kwargs["max_time"] = {"seconds": self.max_time}
        return kwargs


@dataclass
class CheckpointConfig:
    """Lightning checkpoints in ``run_dir/checkpoints/``: ``last.ckpt`` (what ``resume=auto``
    continues from) every ``every_n_epochs`` epochs, plus the ``save_top_k`` best by ``monitor``
    (``mode`` min or max) as ``best-epoch=E-step=S.ckpt``; with ``monitor: null`` only the latest
    (``epoch=E-step=S.ckpt``) is kept beside ``last.ckpt``.
    Checkpoints fall on epoch ends, so a resumed run follows the uninterrupted run's curve."""

    every_n_epochs: int = 1
    monitor: str | None = "val/loss"
    mode: str = "min"
    save_top_k: int = 1

    def validate(self) -> None:
        """Raise ValueError naming the ``checkpoint.<key>`` at fault."""
        if self.every_n_epochs < 1:
            raise ValueError(f"checkpoint.every_n_epochs={self.every_n_epochs} must be >= 1")
        if self.mode not in ("min", "max"):
            raise ValueError(f"checkpoint.mode={self.mode!r} must be 'min' or 'max'")
        if self.save_top_k == 0 or self.save_top_k < -1:
            raise ValueError(
                f"checkpoint.save_top_k={self.save_top_k} must be >= 1, or -1 for all "
                "(checkpoint.monitor=null keeps only the latest)"
            )


LOGGERS = ("csv", "tensorboard")
"""Logger names ``loggers`` may list: CSV (``logs/metrics.csv``) and TensorBoard event files
(``logs/events.out.tfevents.*``, through tensorboardX)."""


@dataclass
class TrainConfig:
    """Everything one ``longseq train`` run needs; ``name`` names the run directory.

    ``resume``: null (start fresh), ``auto`` (continue from ``run_dir/checkpoints/last.ckpt`` if
    there is one, else start fresh) or the path of a Lightning ``.ckpt`` file.
    """

    name: str = "default"
    seed: int = 0
    resume: str | None = None
    loggers: list[str] = field(default_factory=lambda: list(LOGGERS))
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    # One of DATA_SCHEMAS' dataclasses, set by the data group option (data/<name>.yaml).
    data: Any = MISSING
    # {"name": <modality>, **options}; empty when the task reads no files (synthetic).
    modality: dict[str, Any] = field(default_factory=dict)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def register_configs() -> None:
    """Store the schemas in hydra's ConfigStore (idempotent); the primary config extends
    :class:`TrainConfig`, each ``data/<name>.yaml`` its ``<name>_schema``."""
    store = ConfigStore.instance()
    store.store(name=SCHEMA_NAME, node=TrainConfig, provider="longseq")
    for name, schema in DATA_SCHEMAS.items():
        store.store(group="data", name=name + SCHEMA_SUFFIX, node=schema, provider="longseq")


def register_modality_config(name: str, config_class: type) -> None:
    """Offer ``modality=<name>`` for a registered modality that ships no YAML: its options are
    ``config_class``'s defaults (a YAML file of the same name, if any, takes precedence)."""
    options: dict[str, Any] = {"name": name}
    if is_dataclass(config_class):
        options.update(asdict(config_class()))
    ConfigStore.instance().store(group="modality", name=name, node=options, provider="plugin")
