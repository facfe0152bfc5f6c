"""``longseq train [--run-dir DIR] OVERRIDES``: compose the config, train and test, save the run.

The run dir is chosen here (``--run-dir``, else ``runs/<name>-<timestamp>``, or the launching
process's in DDP workers); a failed run is one line that says what was kept and how to continue.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click

from longseq.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    OVERRIDES_HELP,
    fail,
    set_threads,
    threads_option,
)
from longseq.cli.config import load_config
from longseq.messages import one_line

__all__ = ["train"]


# Set while `longseq train` runs, so DDP worker processes use the launching process's run dir.
_RUN_DIR_ENV = "LONGSEQ_RUN_DIR"
# Set by torchrun, SLURM and Lightning's launchers; the first that is set gives the process rank.
_RANK_ENVS = ("RANK", "SLURM_PROCID", "LOCAL_RANK")


def _launcher_rank() -> int:
    for name in _RANK_ENVS:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


def _default_run_dir(name: str) -> Path:
    """The run dir when none was given: the launching process's (DDP workers), else
    runs/<name>-<timestamp>. Several processes started by torchrun or srun would each pick
    their own timestamp, so they must be given --run-dir."""
    inherited = os.environ.get(_RUN_DIR_ENV)
    if inherited:
        return Path(inherited)
    launched = any(int(os.environ.get(v, "1") or 1) > 1 for v in ("WORLD_SIZE", "SLURM_NTASKS"))
    if launched:
        fail("several processes were launched (torchrun/srun): give them one --run-dir")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{name.replace('/', '-')}-{stamp}"


@click.command("train", context_settings={"ignore_unknown_options": True}, epilog=OVERRIDES_HELP)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the run is written; default runs/<experiment name>-<YYYYmmdd-HHMMSS>.",
)
@threads_option
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def train(run_dir: Path | None, threads: int | None, overrides: tuple[str, ...]) -> None:
    """Train and test a model, then save it with its config and metrics."""
    set_threads(threads)
    from longseq.plugins.modality import DataError
    from longseq.train import ConfigError
    from longseq.train import train as run_training

    rank = _launcher_rank()
    try:
        _, config = load_config(overrides)
        if run_dir is None:
            run_dir = _default_run_dir(config.name)
        if rank == 0 and config.resume is None and (run_dir / "config.yaml").exists():
            fail(
                f"run dir {str(run_dir)!r} already holds a run; choose another --run-dir, or add "
                "resume=auto to continue it"
            )
        if rank == 0:
            click.echo(f"run dir: {run_dir}")
        created = not run_dir.exists()
        # Processes Lightning's DDP launcher starts re-run this command: they must find the
        # same run dir even when it was not given.
        previous = os.environ.get(_RUN_DIR_ENV)
        os.environ[_RUN_DIR_ENV] = str(run_dir)
        try:
            metrics = run_training(config, run_dir)
        except (ConfigError, DataError, KeyboardInterrupt, OSError):
            raise
        except Exception as exc:
            fail(_training_failed(exc, run_dir, created and rank == 0), EXIT_FAILED)
        finally:
            if previous is None:
                os.environ.pop(_RUN_DIR_ENV, None)
            else:
                os.environ[_RUN_DIR_ENV] = previous
    except (ConfigError, DataError) as exc:
        fail(exc)
    except KeyboardInterrupt:
        left = run_dir is not None and (run_dir / "checkpoints" / "last.ckpt").exists()
        where = f"; continue with: longseq train --run-dir {run_dir} <same overrides> resume=auto"
        fail(f"interrupted{where if left else ''}", EXIT_INTERRUPTED)
    except OSError as exc:
        fail(
            f"{exc} (the checkpoints already in {run_dir}/checkpoints are "
            "intact; resume=auto continues from the last one)"
        )
    if rank != 0:
        return
    click.echo(f"run dir: {run_dir}")
    accuracy = metrics.get("test/accuracy")
    shown = "n/a" if accuracy is None else f"{accuracy:.4f}"
    click.echo(f"test accuracy: {shown} ({metrics['wall_clock_s']:.1f} s)")


def _training_failed(exc: Exception, run_dir: Path, remove: bool) -> str:
    """The one line for a training run that failed unexpectedly (e.g. a trainer setting
    Lightning rejects once it sees the data). A run dir this command created that holds no
    checkpoint yet is removed, so the same command can be run again; otherwise the line says how
    to continue."""
    import shutil

    reason = one_line(f"{type(exc).__name__}: {exc}")
    checkpoints = run_dir / "checkpoints"
    if remove and not any(checkpoints.glob("*.ckpt")):
        shutil.rmtree(run_dir, ignore_errors=True)
        return f"training failed: {reason} (nothing was kept in {run_dir})"
    return (
        f"training failed: {reason}; run dir {run_dir} kept: continue with longseq train "
        f"--run-dir {run_dir} <same overrides> resume=auto (or choose another --run-dir)"
    )
