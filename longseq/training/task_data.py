"""Build a run's modality once, from ``modality`` in its config, and hand it to the run's task."""

from __future__ import annotations

from longseq.configs.diagnose import ConfigError
from longseq.configs.schema import TrainConfig
from longseq.messages import one_line
from longseq.plugins.modality import Modality, Tokenizer
from longseq.plugins.registry import UnknownNameError, build_modality
from longseq.tasks.contract import TaskData
from longseq.tasks.registry import task_named

__all__ = ["build_task_data"]


def build_task_data(config: TrainConfig, tokenizer: Tokenizer | None = None) -> TaskData:
    """The data of ``config``'s task, read through ``config``'s modality (none when the config
    chooses none); ``tokenizer``: encode with this one (a trained run's) instead of fitting one.

    Raises:
        ConfigError: the task is unknown or the modality options are invalid (one line).
        DataError: the task cannot read its files.
    """
    try:
        task = task_named(config.task.name)
    except UnknownNameError as exc:
        raise ConfigError(f"task.name: {exc}") from exc
    modality: Modality | None = None
    if config.modality:
        try:
            modality = build_modality(config.modality)
        except ValueError as exc:
            raise ConfigError(one_line(exc)) from exc
    return task.build_data(
        modality, config.data, modality_options=config.modality, tokenizer=tokenizer
    )
