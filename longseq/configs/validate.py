"""A composed config as a checked :class:`~longseq.configs.schema.TrainConfig`
(:func:`to_train_config`, :func:`validate`), and a saved run's config with overrides on top
(:func:`compose_run`). The data options a task takes are its
:class:`~longseq.tasks.contract.Task`'s ``data_config``.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from longseq.configs.diagnose import ConfigError
from longseq.configs.schema import LOGGERS, TrainConfig
from longseq.messages import one_line
from longseq.plugins import MODALITIES, UnknownNameError
from longseq.plugins.registry import modality_config
from longseq.tasks.contract import Task
from longseq.tasks.registry import task_named

__all__ = ["compose_run", "to_train_config", "validate"]


def _task(name: str) -> Task | None:
    """The registered task ``name``, or None when there is none (or it does not load)."""
    try:
        return task_named(name)
    except UnknownNameError:
        return None


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
    known = _task(str(task.get("name"))) if isinstance(task, Mapping) else None
    if known is not None:
        base.data = OmegaConf.structured(known.data_config)
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
        task = task_named(cfg.task.name)
    except UnknownNameError as exc:
        raise ConfigError(f"task.name: {exc}") from exc
    if not isinstance(cfg.data, task.data_config):
        raise ConfigError(
            f"task.name={cfg.task.name} reads data={task.data_group}, but the data options are "
            f"{type(cfg.data).__name__}'s; make task.name and data= match (task.name=lm with "
            "data=lm) or pick an experiment preset"
        )
    unknown = [name for name in cfg.loggers if name not in LOGGERS]
    if unknown:
        raise ConfigError(
            f"loggers: unknown logger {unknown[0]!r}; valid: {', '.join(LOGGERS)} (or [] for none)"
        )
    reads_files = task.reads_files
    if cfg.modality and not reads_files:
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
            raise ConfigError(one_line(exc)) from exc
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
