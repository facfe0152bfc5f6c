"""The models the generation and training benchmarks compare: H3, hybrid H3 + attention and a
Transformer of the same width, depth and MLP, built from one :class:`ModelConfig`.

- ``h3``: H3 in every layer, no positional embedding (time-invariant layers need none).
- ``hybrid``: H3 with attention in the second and the middle layer (0-based 1 and n_layer // 2),
  the H3 paper's hybrid layout; no positional embedding.
- ``transformer``: attention in every layer, learned positions up to the benchmark's length.

Attention uses heads of size 64 (d_model // 64 heads; one head when 64 does not divide d_model).
The mixers have the same
projection parameters (q, k, v, out: 4 d^2), so the three differ only by the SSM parameters,
and the Transformer by its position table (counted apart as embedding parameters).
"""

from __future__ import annotations

from typing import Any

import torch

from longseq.models.config import AttentionConfig, ModelConfig, SSMConfig
from longseq.models.lm import LanguageModel

__all__ = [
    "BENCH_KINDS",
    "bench_model",
    "bench_model_config",
    "model_record",
    "parameter_counts",
    "parse_kinds",
]

BENCH_KINDS = ("h3", "hybrid", "transformer")


def parse_kinds(value: str) -> list[str]:
    """``"h3,transformer"`` -> ["h3", "transformer"]; ValueError naming an unknown kind."""
    kinds = [k.strip() for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in BENCH_KINDS]
    if unknown or not kinds:
        raise ValueError(
            f"--models {value!r}: unknown {unknown or 'empty'}; valid: {', '.join(BENCH_KINDS)}"
        )
    return list(dict.fromkeys(kinds))


def bench_model_config(
    kind: str, d_model: int, n_layer: int, max_len: int, vocab_size: int = 256, d_state: int = 64
) -> ModelConfig:
    """The config of benchmark model ``kind`` (see the module docstring)."""
    if kind not in BENCH_KINDS:
        raise ValueError(f"model kind {kind!r} is not one of {', '.join(BENCH_KINDS)}")
    attn_idx: list[int] = []
    if kind == "hybrid":
        attn_idx = sorted({min(1, n_layer - 1), n_layer // 2})
    return ModelConfig(
        d_model=d_model,
        n_layer=n_layer,
        vocab_size=vocab_size,
        mixer="attention" if kind == "transformer" else "h3",
        attn_layer_idx=attn_idx,
        embed_dropout=0.0,
        max_position_embeddings=max_len if kind == "transformer" else 0,
        ssm=SSMConfig(d_state=d_state),
        attention=AttentionConfig(n_heads=d_model // 64 if d_model % 64 == 0 else 1),
    )


def bench_model(
    kind: str,
    d_model: int,
    n_layer: int,
    max_len: int,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> LanguageModel:
    """A freshly initialised benchmark model on ``device`` (fp32 weights; autocast for bf16)."""
    torch.manual_seed(seed)
    return LanguageModel(bench_model_config(kind, d_model, n_layer, max_len)).to(device)


def parameter_counts(model: LanguageModel) -> tuple[int, int]:
    """(all parameters, parameters outside the token and position embeddings)."""
    total = sum(p.numel() for p in model.parameters())
    embedding = model.embedding.weight.numel()
    if model.pos_embedding is not None:
        embedding += model.pos_embedding.weight.numel()
    return total, total - embedding


def model_record(
    kind: str, model: LanguageModel, batch: int, device: torch.device, dtype: torch.dtype
) -> dict[str, Any]:
    """The fields every benchmark row carries about the model it timed and how."""
    total, non_embedding = parameter_counts(model)
    return {
        "kind": kind,
        "batch": batch,
        "d_model": model.config.d_model,
        "n_layer": model.config.n_layer,
        "device": str(device),
        "dtype": str(dtype).replace("torch.", ""),
        "threads": torch.get_num_threads(),
        "params": total,
        "params_M": total / 1e6,
        "params_non_embedding": non_embedding,
        "params_non_embedding_M": non_embedding / 1e6,
    }
