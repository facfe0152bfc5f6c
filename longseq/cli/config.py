"""``longseq config show OVERRIDES``: the composed configuration ``longseq train OVERRIDES``
would run, as YAML; :func:`load_config` composes and validates it for ``train`` as well."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from longseq.cli.common import OVERRIDES_HELP, fail

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from longseq.configs.schema import TrainConfig

__all__ = ["config", "load_config"]


def load_config(overrides: Sequence[str]) -> tuple[DictConfig, TrainConfig]:
    """Compose and validate ``overrides``; a config error is one line (exit 2)."""
    from longseq.train import ConfigError, compose, to_train_config

    try:
        cfg = compose(overrides)
        return cfg, to_train_config(cfg)
    except ConfigError as exc:
        fail(exc)


@click.group()
def config() -> None:
    """Inspect the composed configuration."""


@config.command("show", context_settings={"ignore_unknown_options": True}, epilog=OVERRIDES_HELP)
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def show(overrides: tuple[str, ...]) -> None:
    """Print the config `longseq train OVERRIDES` would run, as YAML."""
    cfg, _ = load_config(overrides)
    from omegaconf import OmegaConf

    click.echo(OmegaConf.to_yaml(cfg), nl=False)
