"""Turn a failed hydra composition into one line that names the override, key or value at fault.

Hydra's own messages span several lines and often name the symptom ("Could not override
'model.d_modle'") rather than the fix. :func:`explain_compose_error` re-checks the overrides one
by one against the config repository and the schema, and says which one is wrong and what the
valid choices are.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Sequence

from hydra.core.global_hydra import GlobalHydra
from hydra.core.object_type import ObjectType
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from longseq.errors import ConfigError

__all__ = ["ConfigError", "explain_compose_error", "group_options"]

SCHEMA_SUFFIX = "_schema"
"""Config-store entries named ``<option>_schema`` are schemas (see ``longseq.configs.schema``)."""

CONFIG_NAME = "train"
"""The primary config (``train.yaml``) every composition starts from."""


def group_options(group: str) -> list[str]:
    """Every option of a config group, nested ones as ``sub/name`` (e.g. experiment presets).

    Must be called while hydra is initialized on ``longseq.configs``.
    """
    loader = GlobalHydra.instance().config_loader()
    options = [
        name
        for name in loader.get_group_options(group, results_filter=ObjectType.CONFIG)
        # Schemas (data/lm_schema) are what the options extend, not options themselves.
        if not name.endswith(SCHEMA_SUFFIX)
    ]
    for sub in loader.list_groups(group):
        options += [f"{sub}/{name}" for name in group_options(f"{group}/{sub}")]
    return sorted(options)


def explain_compose_error(error: Exception, overrides: Sequence[str]) -> str:
    """One line explaining why composing ``train`` with ``overrides`` raised ``error``.

    Must be called while hydra is initialized on ``longseq.configs``.
    """
    parsed: list[Override] = []
    parser = OverridesParser.create()
    for text in overrides:
        try:
            parsed += parser.parse_overrides([text])
        except HydraException as exc:
            return f"cannot parse override {text!r}: {_first_line(str(exc))}"
    for override in parsed:
        if override.is_sweep_override():
            return (
                f"override {override.input_line!r} is a sweep; longseq composes one config, so "
                "give one value per key"
            )

    groups = set(GlobalHydra.instance().config_loader().list_groups("")) - {"hydra"}
    group_overrides = [o for o in parsed if o.key_or_group in groups]
    for override in group_overrides:
        message = _check_group_option(override)
        if message:
            return message

    from hydra import compose

    try:
        base = compose(CONFIG_NAME, overrides=[o.input_line or "" for o in group_overrides])
    except (HydraException, OmegaConfBaseException) as exc:
        # The group choices are valid, so one of the config files itself is broken.
        return _describe_exception(exc)

    for override in parsed:
        if override.key_or_group in groups or override.key_or_group.startswith("hydra."):
            continue
        message = _check_key(base, override)
        if message:
            return message
    return _describe_exception(error)


def _check_group_option(override: Override) -> str | None:
    if override.is_delete():
        return None
    group = override.key_or_group
    value = override.value()
    if value is None:
        return f"group {group!r} cannot be set to null; drop it with '~{group}'"
    chosen = value if isinstance(value, list) else [value]
    valid = group_options(group)
    if group == "modality":
        # Installed modalities without a YAML file are options too (made from their config_class).
        from longseq.plugins import MODALITIES

        valid = sorted({*valid, *MODALITIES.names()})
    for option in chosen:
        if option is None or str(option) in valid:
            continue
        message = f"unknown option {str(option)!r} for group {group!r}"
        close = difflib.get_close_matches(str(option), valid, n=1)
        message += f"; did you mean {close[0]!r}?" if close else ";"
        return f"{message} valid: {', '.join(valid)}"
    return None


def _check_key(base: DictConfig, override: Override) -> str | None:
    key = override.key_or_group
    node: object = base
    parts = key.split(".")
    for depth, part in enumerate(parts):
        parent = ".".join(parts[:depth])
        if not isinstance(node, DictConfig):
            return f"{parent!r} is a value, not a section, so {key!r} does not exist"
        if part not in node:
            return _unknown_key_message(key, depth, [str(k) for k in node])
        node = node[part]
    if override.is_add():
        return f"key {key!r} already exists; override it without the leading '+'"
    if override.is_delete():
        return f"key {key!r} is part of the schema and cannot be deleted"
    trial = copy.deepcopy(base)
    try:
        OmegaConf.update(trial, key, override.value(), merge=True)
    except OmegaConfBaseException as exc:
        return f"invalid value {override.get_value_element_as_str()!r} for {key!r}: " + (
            _first_line(getattr(exc, "msg", None) or str(exc))
        )
    return None


def _unknown_key_message(key: str, depth: int, valid: list[str]) -> str:
    """``key``'s segment number ``depth`` is not among ``valid``; suggest the closest key."""
    parts = key.split(".")
    parent = ".".join(parts[:depth])
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(parts[depth], valid, n=1)
    if close:
        suggestion = ".".join([*parts[:depth], close[0], *parts[depth + 1 :]])
        message += f"; did you mean {suggestion!r}?"
    else:
        message += ";"
    where = f"in {parent}" if parent else "at the top level"
    return f"{message} valid keys {where}: {', '.join(sorted(valid))}"


def _describe_exception(exc: BaseException) -> str:
    """The first line of ``exc`` and of its cause, with the full key when OmegaConf names one."""
    message = _first_line(str(exc)) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        detail = _first_line(getattr(cause, "msg", None) or str(cause))
        full_key = getattr(cause, "full_key", None)
        if detail and detail not in message:
            message += f": {detail}"
        if full_key:
            message += f" (key {full_key!r})"
    return message


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""
