"""Compose the training config: ``train.yaml`` with hydra-style overrides, completed with what
they leave unsaid (:func:`compose`), and offering the modalities and presets of installed plugins
as group options. :mod:`longseq.configs.validate` turns the result into a checked
:class:`~longseq.configs.schema.TrainConfig`.

The task/data pairing (``task.name=lm`` reads ``data=lm``) is each built-in
:class:`~longseq.tasks.contract.Task`'s ``data_group``.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose as hydra_compose
from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from longseq.configs.diagnose import CONFIG_NAME, ConfigError, explain_compose_error
from longseq.configs.schema import register_configs, register_modality_config
from longseq.messages import one_line
from longseq.plugins import MODALITIES, UnknownNameError
from longseq.tasks.builtin import BUILTIN_TASKS
from longseq.tasks.contract import Task
from longseq.tasks.registry import task_named

__all__ = ["CONFIG_MODULE", "compose"]

CONFIG_MODULE = "longseq.configs"
"""The package holding ``train.yaml`` and the config groups."""


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``train.yaml`` with hydra-style ``overrides`` (``model=hyena``, ``data.seq_len=64``).

    Returns the composed config, typed by :class:`~longseq.configs.schema.TrainConfig`.

    Raises:
        ConfigError: an unknown group option, key or type-mismatched value; the message is one
            line naming the override and the valid choices.
    """
    register_configs()
    overrides = _implied_overrides(list(overrides))
    _offer_plugin_task_data(overrides)
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
    - a task without ``data=`` reads its own data group (``task.name=lm``: ``data=lm``; a
      registered task's ``data_group``);
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
    groups = {builtin.name: builtin.data_group for builtin in BUILTIN_TASKS}
    by_group = {group: name for name, group in groups.items()}
    plugin = _plugin_task(task)
    if plugin is not None:
        groups[plugin.name] = plugin.data_group
    implied: list[str] = []
    if task is None:
        if data is not None:
            task = by_group.get(data)
        elif modality not in ("", "null"):
            task = "lm"
        if task is not None:
            implied.append(f"task.name={task}")
    if data is None and task in groups and (task != "synthetic" or modality):
        implied.append(f"data={groups[task]}")
    if implied or data is not None or "modality" in chosen:
        implied.append("~experiment")
    return [*overrides, *implied]


def _plugin_task(name: str | None) -> Task | None:
    """The registered task ``name`` when it is not a built-in one (None otherwise, or when it is
    not registered: validation says so in one line)."""
    if name is None or name in {builtin.name for builtin in BUILTIN_TASKS}:
        return None
    try:
        return task_named(name)
    except UnknownNameError:
        return None


def _offer_plugin_task_data(overrides: Sequence[str]) -> None:
    """Let ``task.name=<name>`` of a registered (e.g. entry-point) task read a data group that
    ships no YAML in ``configs/data/``: the group option is the task's ``data_config``."""
    from importlib import resources

    from hydra.core.config_store import ConfigStore

    for text in overrides:
        key, sep, value = text.partition("=")
        task = _plugin_task(value.strip()) if key.lstrip("+") == "task.name" and sep else None
        if task is None:
            continue
        shipped = resources.files(CONFIG_MODULE) / "data" / f"{task.data_group}.yaml"
        if not shipped.is_file():
            ConfigStore.instance().store(
                group="data",
                name=task.data_group,
                node=task.data_config,
                provider=f"task {task.name}",
            )


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
                raise ConfigError(
                    f"preset {file} of modality {modality!r}: {one_line(exc)}"
                ) from None
            ConfigStore.instance().store(
                group=f"experiment/{modality}",
                name=name,
                node=node,
                package="_global_",
                provider=f"modality {modality}",
            )
