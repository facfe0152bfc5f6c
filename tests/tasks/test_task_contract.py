"""The Task contract: the registry holds Tasks, the config's data pairing is read from them, and a
task is handed the run's modality and its own data options, not the whole run config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from longseq.configs.compose import compose
from longseq.configs.schema import DATA_SCHEMAS
from longseq.configs.validate import to_train_config
from longseq.plugins.registry import Registry, UnknownNameError
from longseq.tasks import registry as task_registry
from longseq.tasks.builtin import BUILTIN_TASKS
from longseq.tasks.contract import Task, TaskData
from longseq.tasks.lm.config import LMDataConfig
from longseq.train import ConfigError
from longseq.training.task_data import build_task_data


def test_builtin_tasks_are_registered_and_give_the_data_schemas() -> None:
    for task in BUILTIN_TASKS:
        assert task_registry.task_named(task.name) is task
        assert DATA_SCHEMAS[task.data_group] is task.data_config
    assert set(DATA_SCHEMAS) == {"synthetic", "lm", "classification"}


def test_an_entry_that_is_not_a_task_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tasks: Registry[Any] = Registry("task")

    def build(cfg: object) -> None:  # the shape of a builder that takes the whole config
        raise AssertionError("never called")

    tasks.register("old_style")(build)
    monkeypatch.setattr(task_registry, "TASKS", tasks)
    with pytest.raises(UnknownNameError) as info:
        task_registry.task_named("old_style")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("task 'old_style' (") and "is a function, not a" in message


def test_training_hands_the_task_its_modality_and_data_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def build_data(
        modality: Any, data: Any, *, modality_options: Mapping[str, Any], tokenizer: Any = None
    ) -> TaskData:
        seen.update(modality=modality, data=data, options=dict(modality_options))
        return TaskData(datamodule=None, vocab_size=3)  # type: ignore[arg-type]

    tasks: Registry[Task] = Registry("task")
    tasks.register("lm")(Task("lm", "lm", LMDataConfig, build_data))
    config = to_train_config(compose(["modality=text", "data.path=corpus/", "data.seq_len=16"]))
    monkeypatch.setattr(task_registry, "TASKS", tasks)
    assert build_task_data(config).vocab_size == 3
    assert type(seen["modality"]).__name__ == "TextModality"
    assert seen["data"] is config.data
    assert seen["options"]["name"] == "text"


def test_data_options_of_another_task_name_the_task_data_group() -> None:
    with pytest.raises(ConfigError, match=r"^task.name=lm reads data=lm, but the data options"):
        to_train_config(compose(["experiment=synthetic/associative_recall", "task.name=lm"]))


@dataclass
class CountingData:
    """The data options of a task that makes its own sequences."""

    length: int = 8


def test_a_plugin_task_gets_its_data_group_from_its_data_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def build_data(
        modality: Any, data: Any, *, modality_options: Mapping[str, Any], tokenizer: Any = None
    ) -> TaskData:
        raise AssertionError("not built here")

    tasks: Registry[Task] = Registry("task")
    for task in BUILTIN_TASKS:
        tasks.register(task.name)(task)
    tasks.register("counting")(Task("counting", "counting", CountingData, build_data, False))
    monkeypatch.setattr(task_registry, "TASKS", tasks)
    config = to_train_config(compose(["task.name=counting", "data.length=5"]))
    assert config.data == CountingData(length=5)
    with pytest.raises(ConfigError, match=r"^modality=text: task.name=counting reads no files"):
        to_train_config(compose(["task.name=counting", "modality=text"]))
