"""The ``longseq`` command: parse, compose the config, hand off, report errors as one line
(exit codes in :mod:`longseq.cli_common`)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from omegaconf import OmegaConf

from longseq.cli_common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    fail,
    pick_device,
    set_threads,
    threads_option,
)
from longseq.messages import one_line

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from longseq.configs.schema import TrainConfig
    from longseq.runs import Loaded

__all__ = ["main"]

_OVERRIDES_HELP = (
    "OVERRIDES are hydra overrides: group=option (model=hyena, "
    "experiment=synthetic/mqar) or key=value (trainer.max_epochs=5)."
)


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


_show_warning_default = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """A damaged file longseq worked around (skipped or rebuilt), or a bad data file a modality
    skipped (``on_error: skip``), is one ``warning: ...`` line; other warnings are shown as
    Python shows them."""
    from longseq.integrity import DamagedFileWarning
    from longseq.plugins.modality_helpers import DataWarning

    if issubclass(category, (DamagedFileWarning, DataWarning)):
        click.echo(f"warning: {one_line(message)}", err=True)
        return
    _show_warning_default(message, category, filename, lineno, file, line)


def _load(overrides: Sequence[str]) -> tuple[DictConfig, TrainConfig]:
    """Compose and validate; on a config error print one line and exit 2."""
    from longseq.train import ConfigError, compose, to_train_config

    try:
        cfg = compose(overrides)
        return cfg, to_train_config(cfg)
    except ConfigError as exc:
        fail(exc)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="longseq")
def main() -> None:
    """longseq: long-sequence models (H3, Hyena, hybrids), from config to trained run."""
    warnings.showwarning = _show_warning
    # torch's CPU allocator backs tensors of >= 2 MB with transparent huge pages (read once, when
    # torch is first imported, which the commands do after this): fewer page faults on the fresh
    # memory a long sequence touches (262,144 tokens: system time 9.9 s -> 6.8 s per step)
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


@main.command(context_settings={"ignore_unknown_options": True}, epilog=_OVERRIDES_HELP)
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
        _, config = _load(overrides)
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


def _read_prompt(loaded: Loaded, prompt: str | None, prompt_file: Path | None) -> Any:
    """The prompt's content, as the run's modality reads it (``parse_prompt`` / ``read_prompt``,
    see :mod:`longseq.plugins.contract`); a synthetic run's is the text given or the file's."""
    from longseq.plugins.contract import ModalityDefaults, prompt_from_file, prompt_from_text

    modality = loaded.modality if loaded.modality is not None else ModalityDefaults()
    if prompt_file is None:
        return prompt_from_text(modality, prompt or "")
    return prompt_from_file(modality, prompt_file)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--prompt", default=None, help="Prompt text (synthetic runs: whitespace-separated ids).")
@click.option("--prompt-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Read the prompt from this file instead, as the run's modality reads prompts "
              "(audio: a WAV file; genomics: FASTA headers and line breaks dropped).")
@click.option("--max-new-tokens", default=64, show_default=True, type=click.IntRange(min=0),
              help="Tokens to generate after the prompt.")
@click.option("--temperature", default=1.0, show_default=True, help="Softmax temperature (> 0).")
@click.option("--top-k", default=0, show_default=True, help="Keep the k most likely tokens (0: all).")
@click.option("--top-p", default=1.0, show_default=True, help="Nucleus sampling mass (1: off).")
@click.option("--greedy", is_flag=True, help="Always take the most likely token.")
@click.option("--seed", default=None, type=int, help="Seed the sampler (same seed, same output).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the result here with the modality's writer (default: "
              "RUN_DIR/generated<suffix> for a modality with an output suffix, e.g. .fa for "
              "genomics and .wav for audio; the others print to stdout).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the model runs (auto: CUDA when available).")
@click.option("--cuda-graph", is_flag=True,
              help="Replay each decode step from a captured CUDA graph (needs CUDA; same tokens).")
@threads_option
def generate(run_dir: Path, prompt: str | None, prompt_file: Path | None, max_new_tokens: int,
             temperature: float, top_k: int, top_p: float, greedy: bool, seed: int | None,
             output: Path | None, device: str, cuda_graph: bool, threads: int | None) -> None:
    """Continue a prompt with the model trained in RUN_DIR (prefill, then cached decoding)."""
    if (prompt is None) == (prompt_file is None):
        fail("give exactly one of --prompt TEXT or --prompt-file PATH")
    import torch

    set_threads(threads)
    device = pick_device(device)
    if cuda_graph and device != "cuda":
        fail("--cuda-graph needs a CUDA device (--device cuda)")

    from longseq.models.generation import SamplingConfig
    from longseq.models.generation import generate as generate_ids
    from longseq.plugins.contract import output_suffix
    from longseq.runs import decode_ids, encode_prompt, load

    try:
        loaded = load(run_dir, device=device)
        ids = encode_prompt(loaded, _read_prompt(loaded, prompt, prompt_file))
        sampling = SamplingConfig(greedy=greedy, temperature=temperature, top_k=top_k, top_p=top_p)
        eos = loaded.tokenizer.eos_id if loaded.tokenizer is not None else None
        out = generate_ids(loaded.model, torch.tensor([ids], dtype=torch.long), max_new_tokens,
                           sampling=sampling, seed=seed, eos_token_id=eos, cuda_graph=cuda_graph)
        content = decode_ids(loaded, [int(i) for i in out[0].tolist()])
        suffix = output_suffix(loaded.modality) if loaded.modality is not None else None
        if output is None and suffix is not None:
            output = run_dir / f"generated{suffix}"
        if output is None:
            click.echo(content)
            return
        if loaded.modality is not None:
            written = loaded.modality.write(content, output)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(f"{content}\n")
            written = output
    except (ValueError, OSError) as exc:
        fail(exc)
    click.echo(f"wrote {written}")


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
    ``failed: <error>`` and the others are still listed. An entry point whose name is taken
    already (a built-in's, or another distribution's) has a row of its own, ``ignored: ...``
    naming the entry that keeps the name; that entry is listed as it is (``ok``).
    """
    import logging

    from longseq.plugins import MODALITIES
    from longseq.tasks.registry import TASKS
    from longseq.reporting import aligned_table

    # Failures are rows of the table; the registry's log lines would only repeat them.
    logging.getLogger("longseq.plugins.registry").setLevel(logging.ERROR)
    rows = [("KIND", "NAME", "ORIGIN", "STATUS")]
    for registry in (TASKS, MODALITIES):
        loaded = registry.load_all()
        failures = {f.name: f for f in loaded if not f.clash}
        listed: list[tuple[str, str, str, str]] = []
        for name in sorted({*registry.names(), *failures}):
            if name in failures:
                failure = failures[name]
                origin = failure.distribution or "?"
                status = f"failed: {one_line(failure.error)}"
            else:
                entry = registry.entry(name)
                origin = f"{entry.origin} ({entry.distribution or '?'})"
                status = "ok"
            listed.append((registry.kind, name, origin, status))
        for clash in (f for f in loaded if f.clash):
            origin = f"{clash.origin or '?'} ({clash.distribution or '?'})"
            listed.append((registry.kind, clash.name, origin, f"ignored: {clash.error}"))
        # Each name's rows together, the entry that holds the name first.
        rows += sorted(listed, key=lambda row: row[1])
    click.echo(aligned_table(rows))


@main.group()
def bench() -> None:
    """Timing runs (tables, JSON, PNG); timings never live in the tests."""


# Commands that live in their own modules (each imports its heavy dependencies lazily).
# One line per command; keep this block sorted.
# <commands>
from longseq.cli_bench import bench_conv, bench_generate, bench_memory, bench_train
from longseq.cli_complete import complete
from longseq.cli_eval import eval_command

bench.add_command(bench_conv, name="conv")
bench.add_command(bench_generate, name="generate")
bench.add_command(bench_train, name="train")
bench.add_command(bench_memory, name="memory")
main.add_command(complete, name="complete")
main.add_command(eval_command, name="eval")
# </commands>


if __name__ == "__main__":
    main()
