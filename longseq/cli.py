"""The ``longseq`` command: parse, compose the config, hand off, report errors as one line.

Exit codes: 0 success; 2 a usage or config error (one ``error: ...`` line on stderr, no
traceback); 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from omegaconf import OmegaConf

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from longseq.configs.schema import TrainConfig

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_OVERRIDES_HELP = (
    "OVERRIDES are hydra overrides: group=option (model=hyena, "
    "experiment=synthetic/mqar) or key=value (trainer.max_epochs=5)."
)


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _load(overrides: Sequence[str]) -> tuple[DictConfig, TrainConfig]:
    """Compose and validate; on a config error print one line and exit 2."""
    from longseq.train import ConfigError, compose, to_train_config

    try:
        cfg = compose(overrides)
        return cfg, to_train_config(cfg)
    except ConfigError as exc:
        _fail(" ".join(str(exc).split()))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="longseq")
def main() -> None:
    """longseq: long-sequence models (H3, Hyena, hybrids), from config to trained run."""


@main.command(context_settings={"ignore_unknown_options": True}, epilog=_OVERRIDES_HELP)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the run is written; default runs/<experiment name>-<YYYYmmdd-HHMMSS>.",
)
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def train(run_dir: Path | None, overrides: tuple[str, ...]) -> None:
    """Train and test a model, then save it with its config and metrics."""
    from longseq.plugins.modality import DataError
    from longseq.train import ConfigError
    from longseq.train import train as run_training

    try:
        _, config = _load(overrides)
        if run_dir is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            run_dir = Path("runs") / f"{config.name.replace('/', '-')}-{stamp}"
        if (run_dir / "config.yaml").exists():
            _fail(f"run dir {str(run_dir)!r} already holds a run; choose another --run-dir")
        click.echo(f"run dir: {run_dir}")
        metrics = run_training(config, run_dir)
    except (ConfigError, DataError) as exc:
        _fail(" ".join(str(exc).split()))
    except KeyboardInterrupt:
        left = run_dir is not None and run_dir.exists()
        where = f"; partial run left in {run_dir}" if left else ""
        _fail(f"interrupted{where}", EXIT_INTERRUPTED)
    click.echo(f"run dir: {run_dir}")
    accuracy = metrics.get("test/accuracy")
    shown = "n/a" if accuracy is None else f"{accuracy:.4f}"
    click.echo(f"test accuracy: {shown} ({metrics['wall_clock_s']:.1f} s)")


@main.group()
def config() -> None:
    """Inspect the composed configuration."""


@config.command("show", context_settings={"ignore_unknown_options": True}, epilog=_OVERRIDES_HELP)
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def show(overrides: tuple[str, ...]) -> None:
    """Print the config `longseq train OVERRIDES` would run, as YAML."""
    cfg, _ = _load(overrides)
    click.echo(OmegaConf.to_yaml(cfg), nl=False)


@main.group()
def plugins() -> None:
    """Inspect the registered tasks and modalities."""


@plugins.command("list")
def list_plugins() -> None:
    """Every task and modality, built in or from an entry point: kind, name, origin, status.

    Each plugin is imported to report its status; one that fails to import shows
    ``failed: <error>`` and the others are still listed.
    """
    import logging

    from longseq.plugins import MODALITIES, TASKS

    # Failures are rows of the table; the registry's log lines would only repeat them.
    logging.getLogger("longseq.plugins.registry").setLevel(logging.ERROR)
    rows = [("KIND", "NAME", "ORIGIN", "STATUS")]
    for registry in (TASKS, MODALITIES):
        failures = {f.name: f for f in registry.load_all()}
        for name in sorted({*registry.names(), *failures}):
            if name in failures:
                failure = failures[name]
                origin = failure.distribution or "?"
                status = "failed: " + " ".join(failure.error.split())
            else:
                entry = registry.entry(name)
                origin = f"{entry.origin} ({entry.distribution or '?'})"
                status = "ok"
            rows.append((registry.kind, name, origin, status))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])


if __name__ == "__main__":
    main()
