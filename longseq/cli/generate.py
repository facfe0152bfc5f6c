"""``longseq generate RUN_DIR --prompt TEXT | --prompt-file PATH``: continue a prompt with a
trained run (prefill, then cached decoding), read and written through the run's modality."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from longseq.cli.common import (
    device_option,
    fail,
    one_line_errors,
    pick_device,
    set_threads,
    threads_option,
)

if TYPE_CHECKING:
    from longseq.runs import Loaded

__all__ = ["generate"]


def _read_prompt(loaded: Loaded, prompt: str | None, prompt_file: Path | None) -> Any:
    """The prompt's content, as the run's modality reads it (``parse_prompt`` / ``read_prompt``,
    see :mod:`longseq.plugins.contract`); a synthetic run's is the text given or the file's."""
    from longseq.plugins.contract import ModalityDefaults, prompt_from_file, prompt_from_text

    modality = loaded.modality if loaded.modality is not None else ModalityDefaults()
    if prompt_file is None:
        return prompt_from_text(modality, prompt or "")
    return prompt_from_file(modality, prompt_file)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--prompt", default=None, help="Prompt text (synthetic runs: whitespace-separated ids)."
)
@click.option(
    "--prompt-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read the prompt from this file instead, as the run's modality reads prompts "
    "(audio: a WAV file; genomics: FASTA headers and line breaks dropped).",
)
@click.option(
    "--max-new-tokens",
    default=64,
    show_default=True,
    type=click.IntRange(min=0),
    help="Tokens to generate after the prompt.",
)
@click.option("--temperature", default=1.0, show_default=True, help="Softmax temperature (> 0).")
@click.option(
    "--top-k", default=0, show_default=True, help="Keep the k most likely tokens (0: all)."
)
@click.option("--top-p", default=1.0, show_default=True, help="Nucleus sampling mass (1: off).")
@click.option("--greedy", is_flag=True, help="Always take the most likely token.")
@click.option("--seed", default=None, type=int, help="Seed the sampler (same seed, same output).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the result here with the modality's writer (default: "
    "RUN_DIR/generated<suffix> for a modality with an output suffix, e.g. .fa for "
    "genomics and .wav for audio; the others print to stdout).",
)
@device_option
@click.option(
    "--cuda-graph",
    is_flag=True,
    help="Replay each decode step from a captured CUDA graph (needs CUDA; same tokens).",
)
@threads_option
def generate(
    run_dir: Path,
    prompt: str | None,
    prompt_file: Path | None,
    max_new_tokens: int,
    temperature: float,
    top_k: int,
    top_p: float,
    greedy: bool,
    seed: int | None,
    output: Path | None,
    device: str,
    cuda_graph: bool,
    threads: int | None,
) -> None:
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

    with one_line_errors():
        loaded = load(run_dir, device=device)
        ids = encode_prompt(loaded, _read_prompt(loaded, prompt, prompt_file))
        sampling = SamplingConfig(greedy=greedy, temperature=temperature, top_k=top_k, top_p=top_p)
        eos = loaded.tokenizer.eos_id if loaded.tokenizer is not None else None
        out = generate_ids(
            loaded.model,
            torch.tensor([ids], dtype=torch.long),
            max_new_tokens,
            sampling=sampling,
            seed=seed,
            eos_token_id=eos,
            cuda_graph=cuda_graph,
        )
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
    click.echo(f"wrote {written}")
