"""Build everything one training run needs from a composed config, train it, test it, save it.

``compose`` turns command-line style overrides into a typed, validated config; ``train`` runs it
and fills a run directory::

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
import difflib
import json
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from hydra import compose as hydra_compose
from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from longseq.configs.diagnose import CONFIG_NAME, ConfigError, explain_compose_error
from longseq.configs.schema import (
    FSDP2,
    LOGGERS,
    TrainConfig,
    register_configs,
    register_modality_config,
)
from longseq.models.config import ModelConfig
from longseq.plugins import MODALITIES, TASKS, UnknownNameError
from longseq.plugins.registry import modality_config, modality_source
from longseq.tasks.classification.config import ClassificationDataConfig
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.synthetic.config import SyntheticDataConfig

if TYPE_CHECKING:
    import lightning

__all__ = [
    "ConfigError",
    "compose",
    "compose_run",
    "resume_checkpoint",
    "to_train_config",
    "train",
    "validate",
]

CONFIG_MODULE = "longseq.configs"

R = TypeVar("R")

# The data group each built-in task reads (a third-party task checks its own).
_TASK_DATA: dict[str, tuple[str, type]] = {
    "synthetic": ("synthetic", SyntheticDataConfig),
    "lm": ("lm", LMDataConfig),
    "classification": ("classification", ClassificationDataConfig),
}

# The built-in tasks that read the user's files through a modality.
_FILE_TASKS = ("lm", "classification")


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``train.yaml`` with hydra-style ``overrides`` (``model=hyena``, ``data.seq_len=64``).

    Returns the composed config, typed by :class:`~longseq.configs.schema.TrainConfig`.

    Raises:
        ConfigError: an unknown group option, key or type-mismatched value; the message is one
            line naming the override and the valid choices.
    """
    register_configs()
    overrides = _implied_overrides(list(overrides))
    _offer_plugin_modality(overrides)
    _offer_plugin_presets(overrides)
    # Work beside a hydra app or notebook that initialized hydra already, and leave it as it was.
    previous = GlobalHydra.instance().hydra
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
            try:
                return hydra_compose(CONFIG_NAME, overrides=overrides)
            except Exception as exc:
                raise ConfigError(explain_compose_error(exc, overrides)) from exc
    finally:
        GlobalHydra.instance().hydra = previous


def _implied_overrides(overrides: list[str]) -> list[str]:
    """``overrides`` plus what they leave unsaid but mean, when they name no ``experiment``:

    - ``modality=X`` without ``task.name`` trains a language model on the files
      (``task.name=lm``), or the task whose data group ``data=`` chose (``data=classification``);
    - a built-in task without ``data=`` reads its own data group (``task.name=lm``: ``data=lm``);
    - choosing ``data=``, ``modality=`` or a task other than the default's drops the default
      (synthetic) preset, whose synthetic data options would not fit.
    """
    chosen: dict[str, str] = {}
    for text in overrides:
        key, sep, value = text.partition("=")
        if sep and not key.startswith("~"):
            chosen[key.lstrip("+")] = value.strip()
    if "experiment" in {text.partition("=")[0].lstrip("+~") for text in overrides}:
        return overrides
    task = chosen.get("task.name")
    modality = chosen.get("modality", "")
    data = chosen.get("data")
    by_group = {group: name for name, (group, _) in _TASK_DATA.items()}
    implied: list[str] = []
    if task is None:
        if data is not None:
            task = by_group.get(data)
        elif modality not in ("", "null"):
            task = "lm"
        if task is not None:
            implied.append(f"task.name={task}")
    if data is None and task in _TASK_DATA and (task != "synthetic" or modality):
        implied.append(f"data={_TASK_DATA[task][0]}")
    if implied or data is not None or "modality" in chosen:
        implied.append("~experiment")
    return [*overrides, *implied]


def _offer_plugin_modality(overrides: Sequence[str]) -> None:
    """Let ``modality=<name>`` pick a registered (e.g. entry-point) modality that ships no YAML
    in ``configs/modality/``: its config is made from the modality's ``config_class``."""
    for text in overrides:
        key, sep, value = text.partition("=")
        if key.lstrip("+") == "modality" and sep and value:
            _offer_modality_config(value)


def _offer_modality_config(name: str) -> None:
    """A ``modality=<name>`` group option made from the registered modality's
    ``config_class``, when longseq ships no ``configs/modality/<name>.yaml``."""
    from importlib import resources

    shipped = resources.files(CONFIG_MODULE) / "modality" / f"{name}.yaml"
    if shipped.is_file() or name not in MODALITIES:
        return
    register_modality_config(name, getattr(_modality_class(name), "config_class", object))


def _modality_class(name: str) -> type:
    try:
        return MODALITIES.get(name)
    except UnknownNameError as exc:
        # An installed plugin that does not load: say so, not "unknown option".
        raise ConfigError(f"modality={name}: {' '.join(str(exc).split())}") from None


def _offer_plugin_presets(overrides: Sequence[str]) -> None:
    """Let ``experiment=<modality>/<name>`` find the presets a modality's package ships (its
    ``presets`` member, see :mod:`longseq.plugins.contract`) beside the ones in
    ``configs/experiment/``; a shipped file of the same name takes precedence."""
    from importlib import resources

    from hydra.core.config_store import ConfigStore

    from longseq.plugins.contract import preset_files
    from longseq.plugins.modality import DataError

    for text in overrides:
        key, sep, value = text.partition("=")
        modality, slash, preset = value.partition("/")
        if key.lstrip("+") != "experiment" or not sep or not slash:
            continue
        shipped = resources.files(CONFIG_MODULE) / "experiment" / modality
        if (shipped / f"{preset}.yaml").is_file() or modality not in MODALITIES:
            continue
        try:
            presets = preset_files(_modality_class(modality))
        except DataError as exc:
            raise ConfigError(f"experiment={value}: {exc}") from None
        _offer_modality_config(modality)
        for name, file in presets.items():
            if (shipped / f"{name}.yaml").is_file():
                continue
            try:
                node = OmegaConf.create(file.read_text(encoding="utf-8"))
            except (OmegaConfBaseException, OSError, ValueError) as exc:
                reason = " ".join(str(exc).split())
                raise ConfigError(f"preset {file} of modality {modality!r}: {reason}") from None
            ConfigStore.instance().store(
                group=f"experiment/{modality}", name=name, node=node, package="_global_",
                provider=f"modality {modality}",
            )


def compose_run(
    saved: Mapping[str, Any], overrides: Sequence[str] = (), source: str = "config.yaml"
) -> TrainConfig:
    """The config a run saved (its ``config.yaml``, as a mapping) with ``key=value`` overrides
    on top, typed and validated like :func:`to_train_config`.

    The saved config is resolved already, so there are no groups to choose: each override sets
    one key (``data.path=other.fa``, ``data.seq_len=4096``); values are parsed as YAML.

    Raises:
        ConfigError: ``saved`` does not fit the schema (``source`` names it), or an override is
            not ``key=value``, names an unknown key (with the closest one) or a wrong-typed value.
    """
    base = OmegaConf.structured(TrainConfig)
    task = saved.get("task")
    expected = _TASK_DATA.get(str(task.get("name"))) if isinstance(task, Mapping) else None
    if expected is not None:
        base.data = OmegaConf.structured(expected[1])
    try:
        cfg = OmegaConf.merge(base, dict(saved))
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{source}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(cfg, DictConfig):
        raise ConfigError(f"{source}: not a mapping")
    for text in overrides:
        key, sep, _ = text.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {text!r} is not key=value (e.g. data.seq_len=4096)")
        try:
            # Merging a mapping into a mapping gives a mapping.
            cfg = cast(DictConfig, OmegaConf.merge(cfg, OmegaConf.from_dotlist([text])))
        except OmegaConfBaseException as exc:
            raise ConfigError(_explain_override(cfg, text, exc)) from exc
    return to_train_config(cfg)


def _explain_override(cfg: DictConfig, text: str, exc: OmegaConfBaseException) -> str:
    """One line for an override that ``cfg`` rejects: the unknown key and the closest one, or
    omegaconf's first line."""
    key = text.partition("=")[0].strip()
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if isinstance(node, DictConfig) and leaf not in node:
        known = [f"{parent}.{k!s}" if parent else str(k) for k in node]
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {key!r}{hint}"
    return f"override {text!r}: {str(exc).splitlines()[0]}"


def to_train_config(cfg: DictConfig) -> TrainConfig:
    """The composed ``cfg`` as a :class:`TrainConfig` dataclass, validated (see :func:`validate`).

    Raises:
        ConfigError: a value the schema or a component's ``validate()`` rejects.
    """
    try:
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc
    if not isinstance(obj, TrainConfig):
        raise ConfigError(f"composed config is a {type(obj).__name__}, not a TrainConfig")
    validate(obj)
    return obj


def validate(cfg: TrainConfig) -> None:
    """Check every part of ``cfg`` before anything is built.

    Raises:
        ConfigError: naming the key at fault (``task.name``, ``data.seq_len``, ...).
    """
    try:
        TASKS.get(cfg.task.name)
    except UnknownNameError as exc:
        raise ConfigError(f"task.name: {exc}") from exc
    expected = _TASK_DATA.get(cfg.task.name)
    if expected is not None and not isinstance(cfg.data, expected[1]):
        raise ConfigError(
            f"task.name={cfg.task.name} reads data={expected[0]}, but the data options are "
            f"{type(cfg.data).__name__}'s; make task.name and data= match (task.name=lm with "
            "data=lm) or pick an experiment preset"
        )
    unknown = [name for name in cfg.loggers if name not in LOGGERS]
    if unknown:
        raise ConfigError(
            f"loggers: unknown logger {unknown[0]!r}; valid: {', '.join(LOGGERS)} (or [] for none)"
        )
    reads_files = cfg.task.name in _FILE_TASKS
    if cfg.modality and cfg.task.name in _TASK_DATA and not reads_files:
        name = cfg.modality.get("name")
        raise ConfigError(
            f"modality={name}: task.name={cfg.task.name} reads no files (it generates its "
            f"sequences), so it takes no modality; drop modality=, or train a language model on "
            f"files with modality={name} data.path=<files>"
        )
    if reads_files and not cfg.modality:
        raise ConfigError(
            f"task.name={cfg.task.name} reads its files through a modality; choose one with "
            f"modality=<name> (valid: {', '.join(MODALITIES.names())})"
        )
    if cfg.modality:
        try:
            modality_config(cfg.modality)
        except ValueError as exc:
            raise ConfigError(" ".join(str(exc).split())) from exc
    # The vocabulary comes from the task at build time; 0 means "not set yet", not invalid.
    model = dataclasses.replace(cfg.model, vocab_size=cfg.model.vocab_size or 1)
    for part in (cfg.data, cfg.optim, cfg.trainer, cfg.checkpoint, model):
        check = getattr(part, "validate", None)
        if check is None:
            continue
        try:
            check()
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc


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
    task_data = TASKS.get(config.task.name)(config)
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
    trainer = _build_trainer(config, run_dir, resumed=ckpt_path is not None, extra=callbacks)
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
        _run_stage(
            trainer, trainer.fit, module, datamodule=task_data.datamodule,
            ckpt_path=None if ckpt_path is None else str(ckpt_path), weights_only=True,
        )
        results = _run_stage(trainer, trainer.test, module, datamodule=task_data.datamodule)

    metrics = {str(k): float(v) for k, v in (results[0] if results else {}).items()}
    metrics["wall_clock_s"] = time.perf_counter() - start
    full = _full_state_dict(model)  # a collective under FSDP2: every process takes part
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
        _write_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


def resume_checkpoint(config: TrainConfig, run_dir: Path) -> Path | None:
    """The checkpoint ``config.resume`` asks to continue from, or None to start fresh.

    ``resume=auto`` takes ``run_dir/checkpoints/last.ckpt`` when it exists and is intact; when
    it is damaged (truncated, overwritten, its tensors differ from the digest saved in it), the
    newest intact checkpoint of ``run_dir/checkpoints`` instead, with a
    :class:`~longseq.integrity.DamagedFileWarning` naming both; None when there is no
    checkpoint. Any other value is the path of a ``.ckpt`` file, which must be intact. When
    ``run_dir`` already holds a run, its ``config.yaml`` must match ``config`` except for
    ``resume``, ``trainer.*`` and ``checkpoint.*`` (e.g. more epochs), so a resumed run cannot
    silently change the model or data.

    Raises:
        ConfigError: the named checkpoint does not exist or is damaged, every checkpoint of
            ``resume=auto`` is damaged, or the configs differ (naming the key).
    """
    from longseq.integrity import checkpoint_problem

    if config.resume is None:
        return None
    if config.resume == "auto":
        path = _newest_intact_checkpoint(run_dir / "checkpoints")
    else:
        path = Path(config.resume)
        if not path.is_file():
            raise ConfigError(f"resume={config.resume}: no such checkpoint file")
        problem = checkpoint_problem(path)
        if problem is not None:
            raise ConfigError(
                f"resume={config.resume}: the checkpoint is damaged ({problem}); give another "
                "checkpoint, or resume=auto to take the newest intact one of the run"
            )
    saved = run_dir / "config.yaml"
    if path is not None and saved.is_file():
        _check_same_run(config, saved)
    return path


def _newest_intact_checkpoint(directory: Path) -> Path | None:
    """``last.ckpt``, else the most recently written other ``*.ckpt``, the first of them that is
    intact (a warning names the damaged ones skipped); None without checkpoints.

    Raises:
        ConfigError: there are checkpoints but none is intact.
    """
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    from longseq.integrity import DamagedFileWarning, checkpoint_problem

    last = directory / "last.ckpt"
    others = sorted(
        (p for p in directory.glob("*.ckpt") if p.is_file() and p.name != last.name),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    candidates = ([last] if last.is_file() else []) + others
    damaged: list[str] = []
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            if damaged and getattr(rank_zero_only, "rank", 0) == 0:
                warnings.warn(
                    f"{'; '.join(damaged)}: resuming from {path}, the newest intact checkpoint",
                    DamagedFileWarning,
                    stacklevel=2,
                )
            return path
        damaged.append(f"{path} is damaged ({problem})")
    if damaged:
        raise ConfigError(
            f"resume=auto: no intact checkpoint in {directory} ({'; '.join(damaged)}); move them "
            "away to start the run over, or train into a new --run-dir"
        )
    return None


_MAY_CHANGE_ON_RESUME = ("resume", "trainer", "checkpoint", "loggers")


def _check_same_run(config: TrainConfig, saved_path: Path) -> None:
    """Raise ConfigError naming the first key where ``config`` and the saved config differ."""
    try:
        saved = OmegaConf.to_container(OmegaConf.load(saved_path), resolve=True)
    except (OmegaConfBaseException, OSError, ValueError) as exc:
        raise ConfigError(
            f"{saved_path}: damaged, not a readable run config ({' '.join(str(exc).split())}); "
            "restore it from a copy of the run, or train into a new --run-dir"
        ) from None
    now = OmegaConf.to_container(OmegaConf.structured(config), resolve=True)
    assert isinstance(now, dict)
    lost = [key for key in now if not isinstance(saved, dict) or key not in saved]
    if lost:
        # Every section of the schema is written: a file without some was cut short.
        raise ConfigError(
            f"{saved_path}: damaged, not a whole run config (no {lost[0]!r} section); restore it "
            "from a copy of the run, or train into a new --run-dir"
        )
    assert isinstance(saved, dict)
    # how long sequences are computed (state passing, checkpointing) changes no result: a run
    # may resume with other settings, or from before the settings existed
    for cfg in (saved, now):
        if isinstance(cfg.get("model"), dict):
            cfg["model"].pop("long_context", None)
    for key in sorted(set(saved) | set(now)):
        if key in _MAY_CHANGE_ON_RESUME:
            continue
        diff = _first_difference(saved.get(key), now.get(key), key)
        # The model's vocabulary is filled in from the task when training starts.
        if diff is not None and diff[0] != "model.vocab_size":
            name, old, new = diff
            raise ConfigError(
                f"resume: {name}={new!r} differs from the run's {name}={old!r} in {saved_path}; "
                "resume with the run's settings or train into a new --run-dir"
            )


def _first_difference(old: Any, new: Any, name: str) -> tuple[str, Any, Any] | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            diff = _first_difference(old.get(key), new.get(key), f"{name}.{key}")
            if diff is not None:
                return diff
        return None
    return None if old == new else (name, old, new)


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


def _build_trainer(
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
    version = _log_version(run_dir) if resumed else ""
    if "csv" in config.loggers:
        loggers.append(CSVLogger(save_dir=run_dir, name="logs", version=version))
    if "tensorboard" in config.loggers:
        loggers.append(
            TensorBoardLogger(save_dir=run_dir, name="logs", version=version, default_hp_metric=False)
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
        text = " ".join(str(exc).split())
        raise ConfigError(f"trainer: {text}") from None
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


def _full_state_dict(model: Any) -> dict[str, Any] | None:
    """The whole state dict of a model sharded by FSDP2 (on CPU, on rank 0; empty elsewhere),
    gathered by every process together; None for a model that is not sharded."""
    from torch.distributed.fsdp import FSDPModule

    if not isinstance(model, FSDPModule):
        return None
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(model, options=options)


def _log_version(run_dir: Path) -> str:
    """``resume-N`` for the N-th resumption: each attempt logs into its own directory, so the
    logs written before an interruption are kept (Lightning's CSV logger would delete them)."""
    n = 1
    while (run_dir / "logs" / f"resume-{n}").exists():
        n += 1
    return f"resume-{n}"


def _run_stage(trainer: lightning.Trainer, stage: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run ``trainer.fit``/``trainer.test``; turn Lightning's Ctrl-C exit back into the interrupt."""
    try:
        return stage(*args, **kwargs)
    except SystemExit:
        # Lightning catches KeyboardInterrupt, shuts down and calls sys.exit(1).
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
