"""Decoding with the one-token step captured in a CUDA graph and replayed per token.

A decode step of a small model is a few hundred tiny kernels: on a GPU the launch overhead, not
the arithmetic, sets the speed. :class:`GraphedStep` records :meth:`LanguageModel.step_at` once
(static shapes: the position lives in a device tensor, every state is updated in place) and then
replays the whole step with one launch. Every layer kind can be captured; attention and Hyena
layers then run over the whole preallocated cache with the positions after the current one
masked out.
"""

from __future__ import annotations

import contextlib
from dataclasses import fields
from typing import Any

import torch

from longseq.models.cache import InferenceCache
from longseq.models.lm import LanguageModel

__all__ = ["GraphedStep"]


def _state_tensors(cache: InferenceCache) -> list[torch.Tensor]:
    return [
        value
        for state in cache.states
        for value in (getattr(state, f.name) for f in fields(state))
        if isinstance(value, torch.Tensor)
    ]


class GraphedStep:
    """``step(token [B], cache) -> logits [B, V]``, replaying a CUDA graph of ``model.step_at``.

    The graph is bound to ``cache`` (its tensors are the graph's inputs and outputs) and to its
    batch size. Capturing runs a few warm-up steps; the cache's contents are restored afterwards,
    so it can be built before or after the prefill. The returned logits tensor is reused by the
    next replay: copy it if it must outlive the step.

    Args:
        model: the language model, on a CUDA device, in eval mode.
        cache: its inference cache (``model.allocate_cache``).
        autocast_dtype: run the step under ``torch.autocast`` with this dtype (e.g. bfloat16);
            None for the weights' own precision.
    """

    def __init__(
        self,
        model: LanguageModel,
        cache: InferenceCache,
        autocast_dtype: torch.dtype | None = None,
        warmup: int = 3,
    ) -> None:
        device = model.embedding.weight.device
        if device.type != "cuda":
            raise ValueError(f"CUDA graphs need the model on a CUDA device; it is on {device}")
        self.model, self.cache, self.autocast_dtype = model, cache, autocast_dtype
        self.token = torch.zeros(cache.batch_size, dtype=torch.long, device=device)
        self.position = torch.zeros((), dtype=torch.long, device=device)
        saved = [t.clone() for t in _state_tensors(cache)]
        stream = torch.cuda.Stream(device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(warmup):
                self._run()
        torch.cuda.current_stream(device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.no_grad(), torch.cuda.graph(self.graph):
            self.logits = self._run()
        with torch.no_grad():
            for t, s in zip(_state_tensors(cache), saved, strict=False):
                t.copy_(s)

    def _run(self) -> torch.Tensor:
        ctx: Any = contextlib.nullcontext()
        if self.autocast_dtype is not None:
            # the autocast weight cache must be off while a graph is captured
            ctx = torch.autocast("cuda", dtype=self.autocast_dtype, cache_enabled=False)
        with ctx:
            return self.model.step_at(self.token, self.cache, self.position)

    def step(self, token: torch.Tensor, cache: InferenceCache) -> torch.Tensor:
        """Advance ``cache`` by one token per sequence and return the logits (see the class)."""
        if cache is not self.cache:
            raise ValueError("this CUDA graph was captured for another inference cache")
        cache.check_room(1)
        self.token.copy_(token)
        self.position.fill_(cache.seqlen_offset)
        self.graph.replay()
        cache.seqlen_offset += 1
        return self.logits
