"""``longseq bench conv|generate|train|memory``. ``memory``: peak memory and time per token of a
training step against L, long-context path against the full-length baseline. ``conv``: causal
sequence mixing against L. ``generate`` and ``train``: tokens per second of H3, hybrid and
Transformer models of the same size, against prompt or sequence length, with ratio columns
against the Transformer. Each prints a markdown table and takes ``--json`` and ``--png``.

Torch loads when a command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from longseq.cli.common import (
    device_option,
    fail,
    int_list,
    missing,
    names,
    one_line_errors,
    pick_device,
    set_threads,
    threads_option,
)

__all__ = ["bench"]


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options both commands take."""
    options = [
        click.option(
            "--models",
            default="h3,hybrid,transformer",
            show_default=True,
            help="Comma-separated model kinds: h3, hybrid, transformer.",
        ),
        click.option(
            "--batch",
            default=1,
            show_default=True,
            type=click.IntRange(min=1),
            help="Sequences per step.",
        ),
        device_option,
        click.option(
            "--dtype",
            type=click.Choice(["float32", "float16", "bfloat16"]),
            default=None,
            help="Activation dtype through autocast (default: float32 on CPU, bfloat16 on CUDA).",
        ),
        threads_option,
        click.option(
            "--repeats",
            default=3,
            show_default=True,
            type=click.IntRange(min=1),
            help="Timed runs per point (median).",
        ),
        click.option(
            "--budget",
            default=120.0,
            show_default=True,
            help="Skip a point predicted to take longer than this many seconds.",
        ),
        click.option("--seed", default=0, show_default=True),
        click.option(
            "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None
        ),
        click.option(
            "--png",
            "png_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Log-log plot of tokens/s (needs matplotlib: the 'bench' extra).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _runtime(
    device: str, dtype: str | None, threads: int | None, png_path: Path | None
) -> tuple[str, Any]:
    """The device (auto resolved), the torch dtype (default float32 on CPU, bfloat16 on CUDA),
    threads set; one-line errors for a missing CUDA device or matplotlib."""
    import torch

    device = pick_device(device)
    if png_path is not None and (message := missing("--png", "matplotlib", "bench")):
        fail(message)
    set_threads(threads)
    return device, getattr(torch, dtype or ("bfloat16" if device == "cuda" else "float32"))


def _setup(
    models: str, device: str, dtype: str | None, threads: int | None, png_path: Path | None
) -> tuple[list[str], str, Any]:
    from longseq.bench.lm_models import parse_kinds

    with one_line_errors(ValueError):
        kinds = parse_kinds(models)
    return (kinds, *_runtime(device, dtype, threads, png_path))


def _report(
    rows: list[dict[str, Any]],
    columns: Any,
    device: str,
    json_path: Path | None,
    png_path: Path | None,
    x: str,
    y: str,
    xlabel: str,
    title: str,
) -> None:
    from longseq.bench.throughput import write_png
    from longseq.reporting import markdown_rows

    _write_outputs(
        markdown_rows(rows, columns),
        rows,
        device,
        json_path,
        png_path,
        lambda path: write_png(
            rows, path, x=x, y=y, xlabel=xlabel, ylabel="tokens per second", title=title
        ),
    )


def _write_outputs(
    table: str,
    rows: list[dict[str, Any]],
    device: str,
    json_path: Path | None,
    png_path: Path | None,
    png: Callable[[Path], None],
) -> None:
    """Print the table; write the JSON (rows + machine) and the PNG (``png(path)``)."""
    from longseq.bench.timing import environment, write_json

    click.echo(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        write_json(rows, json_path, environment(device))
        click.echo(f"wrote {json_path}")
    if png_path is not None:
        png_path.parent.mkdir(parents=True, exist_ok=True)
        png(png_path)
        click.echo(f"wrote {png_path}")


@click.command("conv")
@click.option(
    "--lengths",
    default="256,1024,4096,16384,65536",
    show_default=True,
    help="Comma-separated sequence lengths L.",
)
@click.option("--batch", default=1, show_default=True, help="Batch size B.")
@click.option(
    "--channels", default=256, show_default=True, help="Width D (attention: D/64 heads of 64)."
)
@device_option
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16", "bfloat16"]),
    default=None,
    help="Activation dtype (default: float32 on CPU, bfloat16 on CUDA).",
)
@click.option("--repeats", default=3, show_default=True, help="Timed calls per point (median).")
@click.option(
    "--budget",
    default=30.0,
    show_default=True,
    help="Skip a method at an L predicted to exceed this many seconds.",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def bench_conv(
    lengths: str,
    batch: int,
    channels: int,
    device: str,
    dtype: str | None,
    repeats: int,
    budget: float,
    json_path: Path | None,
    png_path: Path | None,
) -> None:
    """Causal sequence mixing vs L: FFT conv, state passing, direct conv, SDPA (+ fused Triton on
    CUDA)."""
    from longseq.bench.conv import format_table, run_conv_bench, write_png

    seq_lens = int_list("--lengths", lengths)
    device, torch_dtype = _runtime(device, dtype, None, png_path)
    with one_line_errors(ValueError):
        rows = run_conv_bench(
            seq_lens,
            batch=batch,
            channels=channels,
            device=device,
            dtype=torch_dtype,
            repeats=repeats,
            time_budget_s=budget,
        )
    _write_outputs(
        format_table(rows), rows, device, json_path, png_path, lambda path: write_png(rows, path)
    )


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.command("generate")
@click.option(
    "--prompt-lengths",
    default="1024,2048,4096,8192,16384",
    show_default=True,
    help="Comma-separated prompt lengths.",
)
@click.option(
    "--new-tokens",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    help="Tokens decoded after each prompt.",
)
@click.option(
    "--d-model",
    default=512,
    show_default=True,
    type=click.IntRange(min=1),
    help="Model width (attention: heads of 64).",
)
@click.option("--n-layer", default=8, show_default=True, type=click.IntRange(min=1), help="Layers.")
@click.option(
    "--cuda-graph/--no-cuda-graph",
    default=None,
    help="Replay the decode step from a CUDA graph (default: on with --device cuda).",
)
@_common
def bench_generate(
    prompt_lengths: str,
    new_tokens: int,
    d_model: int,
    n_layer: int,
    cuda_graph: bool | None,
    models: str,
    batch: int,
    device: str,
    dtype: str | None,
    threads: int | None,
    repeats: int,
    budget: float,
    seed: int,
    json_path: Path | None,
    png_path: Path | None,
) -> None:
    """Prefill time and decode tokens/s through the inference cache, against prompt length."""
    from longseq.bench.generation import COLUMNS, run_generate_bench

    lengths = int_list("--prompt-lengths", prompt_lengths)
    kinds, device, torch_dtype = _setup(models, device, dtype, threads, png_path)
    if cuda_graph and device != "cuda":
        fail("--cuda-graph needs --device cuda")
    with one_line_errors(ValueError):
        rows = run_generate_bench(
            lengths,
            kinds,
            d_model=d_model,
            n_layer=n_layer,
            batch=batch,
            new_tokens=new_tokens,
            device=device,
            dtype=torch_dtype,
            repeats=repeats,
            cuda_graph=cuda_graph,
            time_budget_s=budget,
            seed=seed,
            progress=_progress,
        )
    from longseq.bench.timing import environment

    env = environment(device)
    # the ratios and the floor depend on the machine: name it beside the table
    click.echo(
        f"machine: {env.get('gpu', env['cpu'])}, {env['torch_threads']} torch threads, "
        f"1-min load {env.get('loadavg_1min', float('nan')):.2f}"
    )
    _report(
        rows,
        COLUMNS,
        device,
        json_path,
        png_path,
        "prompt_len",
        "decode_tokens_per_s",
        "prompt length (tokens)",
        f"decoding after the prompt (d_model {d_model}, {n_layer} layers)",
    )


@click.command("train")
@click.option(
    "--lengths",
    default="1024,2048,4096,8192,16384",
    show_default=True,
    help="Comma-separated training sequence lengths.",
)
@click.option(
    "--d-model",
    default=256,
    show_default=True,
    type=click.IntRange(min=1),
    help="Model width (attention: heads of 64).",
)
@click.option("--n-layer", default=4, show_default=True, type=click.IntRange(min=1), help="Layers.")
@_common
def bench_train(
    lengths: str,
    d_model: int,
    n_layer: int,
    models: str,
    batch: int,
    device: str,
    dtype: str | None,
    threads: int | None,
    repeats: int,
    budget: float,
    seed: int,
    json_path: Path | None,
    png_path: Path | None,
) -> None:
    """Training tokens/s (forward, backward, AdamW step) against sequence length."""
    from longseq.bench.training import COLUMNS, run_train_bench

    seq_lens = int_list("--lengths", lengths)
    kinds, device, torch_dtype = _setup(models, device, dtype, threads, png_path)
    with one_line_errors(ValueError):
        rows = run_train_bench(
            seq_lens,
            kinds,
            d_model=d_model,
            n_layer=n_layer,
            batch=batch,
            device=device,
            dtype=torch_dtype,
            repeats=repeats,
            time_budget_s=budget,
            seed=seed,
            progress=_progress,
        )
    _report(
        rows,
        COLUMNS,
        device,
        json_path,
        png_path,
        "seq_len",
        "train_tokens_per_s",
        "sequence length (tokens)",
        f"training (d_model {d_model}, {n_layer} layers)",
    )


@click.command("memory")
@click.option(
    "--lengths",
    default="16384,65536,262144,1048576",
    show_default=True,
    help="Comma-separated training sequence lengths.",
)
@click.option(
    "--model",
    "kind",
    type=click.Choice(["h3", "hybrid", "transformer"]),
    default="h3",
    show_default=True,
    help="Model kind (see bench train).",
)
@click.option(
    "--modes",
    default="long,full",
    show_default=True,
    help="long: state passing + activation checkpointing (the model defaults); "
    "full: both off (the baseline).",
)
@click.option(
    "--full-max-len",
    default=None,
    type=click.IntRange(min=2),
    help="Skip the full baseline above this length (it needs ~20 KB/token).",
)
@click.option(
    "--d-model", default=64, show_default=True, type=click.IntRange(min=1), help="Model width."
)
@click.option("--n-layer", default=2, show_default=True, type=click.IntRange(min=1), help="Layers.")
@click.option(
    "--batch", default=1, show_default=True, type=click.IntRange(min=1), help="Sequences per step."
)
@click.option(
    "--vocab",
    default=16,
    show_default=True,
    type=click.IntRange(min=2),
    help="Vocabulary size (16: DNA-sized).",
)
@device_option
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="torch CPU threads in each measuring process (default: torch's own choice).",
)
@click.option(
    "--repeats",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Timed steps per point after one warm-up step (median).",
)
@click.option(
    "--budget",
    default=None,
    type=float,
    help="Stop a point after this many seconds (its row says so).",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Peak memory and time per token against L (needs matplotlib: the 'bench' extra).",
)
def bench_memory(
    lengths: str,
    kind: str,
    modes: str,
    full_max_len: int | None,
    d_model: int,
    n_layer: int,
    batch: int,
    vocab: int,
    device: str,
    threads: int | None,
    repeats: int,
    budget: float | None,
    seed: int,
    json_path: Path | None,
    png_path: Path | None,
) -> None:
    """Peak memory (RSS on CPU, allocated on CUDA) and time per token of one training step against
    L."""
    import os

    from longseq.bench.memory import COLUMNS, run_memory_bench, write_memory_png
    from longseq.reporting import markdown_rows

    seq_lens = int_list("--lengths", lengths)
    device, _ = _runtime(device, None, None, png_path)
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # read by each measuring process
    mode_list = names(modes)
    try:
        rows = run_memory_bench(
            seq_lens,
            kind,
            mode_list,
            d_model=d_model,
            n_layer=n_layer,
            batch=batch,
            vocab=vocab,
            device=device,
            repeats=repeats,
            full_max_len=full_max_len,
            time_budget_s=budget,
            seed=seed,
            progress=_progress,
        )
    except ValueError as exc:
        fail(f"--modes / --lengths: {exc}")
    title = f"training step, {kind} d_model {d_model} x {n_layer} layers, batch {batch}"
    _write_outputs(
        markdown_rows(rows, COLUMNS),
        rows,
        device,
        json_path,
        png_path,
        lambda path: write_memory_png(rows, path, title),
    )


@click.group()
def bench() -> None:
    """Timing runs (tables, JSON, PNG); timings never live in the tests."""


bench.add_command(bench_conv, name="conv")
bench.add_command(bench_generate, name="generate")
bench.add_command(bench_memory, name="memory")
bench.add_command(bench_train, name="train")
