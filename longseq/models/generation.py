"""Autoregressive generation: prefill the prompt in convolution mode, then decode token by token
through the inference cache (O(1) per H3 layer per token). Sampling: greedy, temperature, top-k,
top-p, seeded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from longseq.models.cache import InferenceCache
from longseq.models.lm import LanguageModel


@dataclass
class SamplingConfig:
    """``greedy`` overrides the rest; ``top_k=0`` and ``top_p=1`` disable those filters."""

    greedy: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def validate(self) -> None:
        if self.temperature <= 0 and not self.greedy:
            raise ValueError(f"temperature={self.temperature} must be > 0 (or use greedy)")
        if self.top_k < 0:
            raise ValueError(f"top_k={self.top_k} must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p={self.top_p} must be in (0, 1]")


def filter_logits(logits: torch.Tensor, cfg: SamplingConfig) -> torch.Tensor:
    """Apply temperature, top-k and top-p (nucleus) to logits [B, V]; filtered entries become
    -inf."""
    logits = logits / cfg.temperature
    if cfg.top_k > 0:
        k = min(cfg.top_k, logits.shape[-1])
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if cfg.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = torch.softmax(sorted_logits, dim=-1)
        # drop a token when the mass before it already reaches top_p (the top token always stays)
        drop_sorted = (probs.cumsum(-1) - probs) >= cfg.top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_next(
    logits: torch.Tensor, cfg: SamplingConfig, generator: torch.Generator | None
) -> torch.Tensor:
    """Next token ids [B] from logits [B, V]."""
    if cfg.greedy:
        return logits.argmax(-1)
    probs = torch.softmax(filter_logits(logits.float(), cfg), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(
    model: LanguageModel,
    input_ids: torch.Tensor,
    max_new_tokens: int,
    sampling: SamplingConfig | None = None,
    seed: int | None = None,
    eos_token_id: int | None = None,
    cuda_graph: bool = False,
) -> torch.Tensor:
    """Continue ``input_ids`` [B, L] (L >= 1) by up to ``max_new_tokens``; returns [B, L + n].

    Sequences that produced ``eos_token_id`` keep emitting it; generation stops early once all have.
    ``cuda_graph=True`` (model on CUDA) replays the decode step as a captured CUDA graph
    (:class:`~longseq.models.cuda_graph.GraphedStep`); the tokens are the same.
    """
    sampling = sampling or SamplingConfig()
    sampling.validate()
    if input_ids.dim() != 2 or input_ids.shape[1] == 0:
        raise ValueError(
            f"input_ids must be [B, L] with L >= 1; got shape {tuple(input_ids.shape)}"
        )
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens={max_new_tokens} must be >= 0")
    was_training = model.training
    model.eval()
    device = model.embedding.weight.device
    input_ids = input_ids.to(device)
    generator = None
    if seed is not None:
        generator = torch.Generator(device=device).manual_seed(seed)
    B, L = input_ids.shape
    cache = model.allocate_cache(B, L + max_new_tokens)
    logits = model(input_ids, cache=cache)[:, -1]
    step: Callable[[torch.Tensor, InferenceCache], torch.Tensor] = model.step
    if cuda_graph:
        from longseq.models.cuda_graph import GraphedStep

        step = GraphedStep(model, cache).step
    out = [input_ids]
    done = torch.zeros(B, dtype=torch.bool, device=device)
    for i in range(max_new_tokens):
        token = sample_next(logits, sampling, generator)
        if eos_token_id is not None:
            token = torch.where(done, torch.full_like(token, eos_token_id), token)
            done |= token == eos_token_id
        out.append(token.unsqueeze(1))
        if i + 1 == max_new_tokens or (eos_token_id is not None and bool(done.all())):
            break
        logits = step(token, cache)
    model.train(was_training)
    return torch.cat(out, dim=1)
