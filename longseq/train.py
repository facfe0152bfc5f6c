"""Build everything one training run needs from a composed config, train it, test it, save it.

:func:`longseq.configs.compose.compose` turns command-line style overrides into a config and
:mod:`longseq.configs.validate` checks it; :func:`train` builds the run's modality once, hands it
to the task for its data, trains the model on it and fills a run directory::

    run_dir/
      config.yaml            the resolved config (written before training starts)
      checkpoints/           Lightning checkpoints: last.ckpt (resume) and the best by val/loss
      logs/                  CSV logs (metrics.csv, hparams.yaml) and TensorBoard event files;
                             a resumed run logs into logs/resume-N/ (nothing earlier is lost)
      model.safetensors      final weights, with config.json (LanguageModel.from_pretrained)
      config.json            also records "training": seq_len, and the modality's name,
                             distribution and version (a run whose plugin is missing names the
                             package to install)
      classifier.safetensors the classification head and classes.json (task classification)
      tokenizer/             the modality's tokenizer (tasks on user files, e.g. lm), written
                             before training starts
      documents.json         each split's documents (name, sha256) when the task splits files
                             by document; config.json records "training": {"seq_len": ...}
      metrics.json           final test metrics and wall-clock seconds

Lightning and torch are imported inside the functions that need them, so composing or showing a
config stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from longseq.configs.compose import compose
from longseq.configs.diagnose import ConfigError
from longseq.configs.schema import FSDP2, TrainConfig
from longseq.configs.validate import compose_run, to_train_config, validate
from longseq.models.config import ModelConfig
from longseq.plugins.registry import modality_source
from longseq.training.resume import resume_checkpoint
from longseq.training.task_data import build_task_data
from longseq.training.trainer import build_trainer, full_state_dict, run_stage

if TYPE_CHECKING:
    import lightning

# compose, compose_run, to_train_config and validate live in longseq.configs, resume_checkpoint
# in longseq.training.resume; they are offered here too, beside train.
__all__ = [
    "ConfigError",
    "compose",
    "compose_run",
    "resume_checkpoint",
    "to_train_config",
    "train",
    "validate",
]


def train(
    cfg: DictConfig | TrainConfig,
    run_dir: Path,
    callbacks: Sequence[lightning.Callback] = (),
) -> dict[str, float]:
    """Train and test the model ``cfg`` describes; fill ``run_dir`` (see the module docstring).

    With ``cfg.resume`` set, training continues from a Lightning checkpoint (see
    :func:`resume_checkpoint`); the resumed run follows the uninterrupted run's loss curve.
    ``callbacks`` are added to the Lightning trainer's own. Under DDP every process runs this
    function; only global rank 0 writes files.

    Returns the final test metrics (``test/accuracy``, ``test/loss``, ...) as floats, plus
    ``wall_clock_s``, the seconds from the call to the saved model.

    Raises:
        ConfigError: the config is invalid, or ``resume`` names no checkpoint or a run whose
            config differs (nothing is trained).
        DataError: the task's files cannot be read (nothing is trained; one line naming the file).
        KeyboardInterrupt: training or testing was interrupted; ``run_dir`` keeps what was
            written so far (config.yaml, checkpoints: ``resume=auto`` continues from there).
    """
    import lightning
    from lightning.pytorch.utilities.model_helpers import is_overridden
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    from longseq.models import LanguageModel
    from longseq.runs import DOCUMENTS, record_files
    from longseq.tasks.lm_module import SequenceLMTask

    start = time.perf_counter()
    config = cfg if isinstance(cfg, TrainConfig) else to_train_config(cfg)
    if isinstance(cfg, TrainConfig):
        validate(config)
    run_dir = Path(run_dir)
    ckpt_path = resume_checkpoint(config, run_dir)
    writer = getattr(rank_zero_only, "rank", 0) == 0

    lightning.seed_everything(config.seed, workers=True, verbose=False)
    task_data = build_task_data(config)
    config = dataclasses.replace(config, model=_with_vocab(config.model, task_data.vocab_size))

    model = LanguageModel(config.model)
    make_module = task_data.make_module or SequenceLMTask
    module = make_module(model, config.optim)
    if config.trainer.strategy == FSDP2 and not is_overridden("configure_model", module):
        raise ConfigError(
            f"trainer.strategy={FSDP2}: task {config.task.name!r} does not shard its model "
            "(its module has no configure_model); use trainer.strategy=ddp"
        )
    # Built before anything is written: a trainer setting this machine cannot run leaves no run.
    trainer = build_trainer(config, run_dir, resumed=ckpt_path is not None, extra=callbacks)
    if writer:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(run_dir / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(config)))
        if task_data.tokenizer is not None:
            task_data.tokenizer.save(run_dir / "tokenizer")
        if task_data.documents is not None:
            documents = {k: [dict(d) for d in v] for k, v in task_data.documents.items()}
            _write_atomic(run_dir / DOCUMENTS, json.dumps(documents, indent=1) + "\n")
    with warnings.catch_warnings():
        # Synthetic batches are generated in memory: data-loader worker hints are noise here.
        warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
        # FSDP2 warns that the model returns a view (the logits without the vocabulary's
        # padding); the loss never changes it in place.
        warnings.filterwarnings("ignore", message=r"FSDP2-wrapped module .* returned a view tensor")
        run_stage(
            trainer,
            trainer.fit,
            module,
            datamodule=task_data.datamodule,
            ckpt_path=None if ckpt_path is None else str(ckpt_path),
            weights_only=True,
        )
        results = run_stage(trainer, trainer.test, module, datamodule=task_data.datamodule)

    metrics = {str(k): float(v) for k, v in (results[0] if results else {}).items()}
    metrics["wall_clock_s"] = time.perf_counter() - start
    full = full_state_dict(model)  # a collective under FSDP2: every process takes part
    if trainer.is_global_zero:
        if full is not None:
            model = LanguageModel(config.model)
            model.load_state_dict(full)
        model.save_pretrained(run_dir)
        seq_len = getattr(config.data, "seq_len", None)
        training: dict[str, Any] = {"seq_len": seq_len} if isinstance(seq_len, int) else {}
        training["steps"] = int(trainer.global_step)  # to compare runs at equal compute
        if config.modality:
            # Which package read the data: a run whose plugin is missing names what to install.
            training["modality"] = modality_source(str(config.modality["name"]))
        record_files(run_dir, training or None)
        save_head = getattr(module, "save_head", None)
        if callable(save_head):
            save_head(run_dir)
        _write_atomic(
            run_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True) + "\n"
        )
    return metrics


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _with_vocab(model: ModelConfig, task_vocab: int) -> ModelConfig:
    """``model`` with the task's vocabulary, unless it asked for a larger one."""
    if model.vocab_size == 0:
        return dataclasses.replace(model, vocab_size=task_vocab)
    if model.vocab_size < task_vocab:
        raise ConfigError(
            f"model.vocab_size={model.vocab_size} is smaller than the task's vocabulary "
            f"({task_vocab}); leave it at 0 to take the task's"
        )
    return model
