"""Generation throughput (``longseq bench generate``): H3, hybrid and Transformer models of the
same size (:mod:`longseq.bench.lm_models`), prompts of increasing length.

For each model and prompt length P, each repeat: allocate the inference cache, prefill the P
prompt tokens in one forward pass (timed: ``prefill_ms``), then decode ``new_tokens`` tokens
greedily through the cache, one step per token, exactly as :func:`longseq.models.generate` does
(timed: ``decode_ms_per_step``; ``decode_tokens_per_s`` = batch x new tokens / decode time).
Medians over the repeats, after one short warm-up generation per model; torch.cuda.synchronize
around every timed region on CUDA. On CUDA the decode step is replayed from a CUDA graph
(:class:`~longseq.models.cuda_graph.GraphedStep`, captured after the prefill, capture not timed)
unless ``cuda_graph=False``; activations in ``dtype`` through autocast (weights stay fp32).

``x_vs_transformer`` is the decode tokens/s over the Transformer's at the same P in the same run.

A point is skipped (``note`` says why) when its predicted time exceeds ``time_budget_s``
(Transformer prefill grows as P^2, decode as P; H3 prefill as P).

The memory floor (:mod:`longseq.bench.floor`): ``step_MB`` is what one decode step reads (the
weights, plus the KV cache up to the step's position for attention layers: averaged over the
decoded positions), ``copy_GBps`` the bandwidth of a plain copy of that many bytes measured right
after the point's timed runs, ``floor_ms`` = step_MB / copy_GBps and ``pct_of_floor`` =
floor_ms / decode ms per step (100 %: the step costs no more than reading its data once). The
inference cache is allocated in the compute dtype (a Transformer's KV cache in bf16 under bf16).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from longseq.bench.floor import copy_bandwidth, step_bytes
from longseq.bench.lm_models import BENCH_KINDS, bench_model, model_record
from longseq.bench.throughput import add_ratios, predicted_s
from longseq.bench.timing import autocast, sync
from longseq.models.cache import InferenceCache
from longseq.models.lm import LanguageModel
from longseq.reporting import Column

__all__ = ["COLUMNS", "DEFAULT_PROMPT_LENGTHS", "run_generate_bench"]

DEFAULT_PROMPT_LENGTHS = (1024, 2048, 4096, 8192, 16384)
_PREFILL_GROWTH = {"h3": 1.0, "hybrid": 2.0, "transformer": 2.0}
_DECODE_GROWTH = {"h3": 0.0, "hybrid": 1.0, "transformer": 1.0}

COLUMNS: list[Column] = [
    ("model", "kind", ""),
    ("prompt", "prompt_len", "d"),
    ("prefill ms", "prefill_ms", ".1f"),
    ("decode ms/step", "decode_ms_per_step", ".3g"),
    ("decode tok/s", "decode_tokens_per_s", ".1f"),
    ("x vs Transformer", "x_vs_transformer", ".2f"),
    ("MB/step", "step_MB", ".1f"),
    ("copy GB/s", "copy_GBps", ".1f"),
    ("floor ms", "floor_ms", ".3g"),
    ("% of floor", "pct_of_floor", ".0f"),
    ("params (M)", "params_M", ".2f"),
    ("non-embedding (M)", "params_non_embedding_M", ".2f"),
    ("note", "note", ""),
]


def _one_generation(
    model: LanguageModel,
    prompt: torch.Tensor,
    new_tokens: int,
    dtype: torch.dtype,
    cuda_graph: bool,
) -> tuple[float, float, float]:
    """(prefill seconds, decode seconds, bytes read per decode step, averaged over the steps) of
    one greedy generation of ``new_tokens`` tokens."""
    device = prompt.device
    B, P = prompt.shape
    cache = model.allocate_cache(B, P + new_tokens, dtype=dtype)
    # the steps run at positions P .. P + new_tokens - 1 and their bytes grow linearly with it
    nbytes = (step_bytes(model, cache, P) + step_bytes(model, cache, P + new_tokens - 1)) / 2
    sync(device)
    start = time.perf_counter()
    with autocast(device, dtype, cache_enabled=False):
        logits = model(prompt, cache=cache)[:, -1]
    sync(device)
    prefill = time.perf_counter() - start
    step: Callable[[torch.Tensor, InferenceCache], torch.Tensor] = model.step
    if cuda_graph:
        from longseq.models.cuda_graph import GraphedStep

        graphed = GraphedStep(
            model, cache, autocast_dtype=None if dtype == torch.float32 else dtype
        )
        step = graphed.step
    sync(device)
    start = time.perf_counter()
    with autocast(device, dtype, cache_enabled=False):
        token = logits.argmax(-1)
        for _ in range(new_tokens):
            token = step(token, cache).argmax(-1)
    sync(device)
    return prefill, time.perf_counter() - start, nbytes


def run_generate_bench(
    prompt_lengths: Sequence[int] = DEFAULT_PROMPT_LENGTHS,
    kinds: Sequence[str] = BENCH_KINDS,
    d_model: int = 512,
    n_layer: int = 8,
    batch: int = 1,
    new_tokens: int = 64,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    repeats: int = 3,
    cuda_graph: bool | None = None,
    time_budget_s: float = 120.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per (model kind, prompt length); see the module docstring for what is timed."""
    device = torch.device(device)
    if new_tokens < 1 or repeats < 1 or batch < 1:
        raise ValueError(
            f"new_tokens={new_tokens}, repeats={repeats}, batch={batch}: each must be >= 1"
        )
    if min(prompt_lengths, default=0) < 1:
        raise ValueError(f"prompt lengths must be >= 1; got {list(prompt_lengths)}")
    graphs = device.type == "cuda" if cuda_graph is None else cuda_graph
    if graphs and device.type != "cuda":
        raise ValueError(f"cuda_graph=True needs a CUDA device; the benchmark runs on {device}")
    max_len = max(prompt_lengths) + new_tokens
    gen = torch.Generator().manual_seed(seed)
    prompts = {
        P: torch.randint(0, 256, (batch, P), generator=gen).to(device) for P in prompt_lengths
    }
    rows: list[dict[str, Any]] = []
    with torch.no_grad():
        for kind in kinds:
            model = bench_model(kind, d_model, n_layer, max_len, device, seed).eval()
            _one_generation(
                model, prompts[min(prompt_lengths)][:, :64], 4, dtype, graphs
            )  # warm-up
            last_prefill: tuple[int, float] | None = None
            last_decode: tuple[int, float] | None = None
            for P in prompt_lengths:
                row: dict[str, Any] = {
                    **model_record(kind, model, batch, device, dtype),
                    "prompt_len": P,
                    "new_tokens": new_tokens,
                    "cuda_graph": graphs,
                    "prefill_ms": None,
                    "decode_ms_per_step": None,
                    "decode_tokens_per_s": None,
                    "step_MB": None,
                    "copy_GBps": None,
                    "floor_ms": None,
                    "pct_of_floor": None,
                    "note": "",
                }
                p_pred = predicted_s(last_prefill, P, _PREFILL_GROWTH[kind])
                d_pred = predicted_s(last_decode, P, _DECODE_GROWTH[kind])
                if (
                    p_pred is not None
                    and d_pred is not None
                    and (p_pred + d_pred) * repeats > time_budget_s
                ):
                    row["note"] = (
                        f"skipped: predicted {p_pred + d_pred:.0f} s x {repeats} repeats > "
                        f"{time_budget_s:g} s budget"
                    )
                    rows.append(row)
                    continue
                runs = [
                    _one_generation(model, prompts[P], new_tokens, dtype, graphs)
                    for _ in range(repeats)
                ]
                prefill = statistics.median(r[0] for r in runs)
                decode = statistics.median(r[1] for r in runs)
                last_prefill, last_decode = (P, prefill), (P, decode)
                row.update(
                    prefill_ms=1e3 * prefill,
                    decode_ms_per_step=1e3 * decode / new_tokens,
                    decode_tokens_per_s=batch * new_tokens / decode,
                )
                nbytes = runs[0][2]
                bandwidth = copy_bandwidth(int(nbytes), device)
                floor = nbytes / bandwidth
                row.update(
                    step_MB=nbytes / 1e6,
                    copy_GBps=bandwidth / 1e9,
                    floor_ms=1e3 * floor,
                    pct_of_floor=100 * floor * new_tokens / decode,
                )
                rows.append(row)
                if progress is not None:
                    progress(
                        f"{kind} P={P}: prefill {1e3 * prefill:.0f} ms, "
                        f"{row['decode_tokens_per_s']:.1f} tok/s, "
                        f"{row['pct_of_floor']:.0f}% of floor"
                    )
            del model
    add_ratios(rows, "decode_tokens_per_s", "prompt_len", "transformer")
    return rows
