"""The memory floor of a decode step: what a step must read, and how fast this machine copies.

At batch 1 a decode step multiplies one vector by every weight matrix, so it has to read every
weight once, plus whatever inference state it attends to (a Transformer's KV cache; an SSM's
small fixed state). :func:`step_bytes` counts those bytes; :func:`copy_bandwidth` measures the
bytes per second a plain ``dst.copy_(src)`` of the same size moves on the same device and
threads. ``bytes / bandwidth`` is the step's floor, and the benchmark reports the floor over the
measured step time ("% of floor"): 100 % is a step that costs no more than reading its data.
"""

from __future__ import annotations

import statistics
import time

import torch

from longseq.bench.timing import sync
from longseq.models.cache import InferenceCache
from longseq.models.hyena import ImplicitFilter
from longseq.models.lm import LanguageModel
from longseq.models.ssm import DiagonalSSM, ShiftSSM

__all__ = ["copy_bandwidth", "step_bytes"]

# Parameters a decode step does not read: the SSMs' raw parameters and the Hyena filter's MLP are
# turned once per generation into the step parameters held (and counted) in the inference cache.
_PRECOMPUTED = (DiagonalSSM, ShiftSSM, ImplicitFilter)


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def step_bytes(model: LanguageModel, cache: InferenceCache, position: int) -> int:
    """Bytes one decode step at ``position`` reads: every parameter it uses (the token embedding
    in full, as it is also the output layer; one row of the position table; the SSMs' raw
    parameters not, see ``_PRECOMPUTED``) plus each layer state's ``bytes_read(position)``
    (SSM states and step parameters; keys and values of positions 0..position; Hyena's history)."""
    skip: set[int] = set()
    for module in model.modules():
        if isinstance(module, _PRECOMPUTED):
            skip.update(id(p) for p in module.parameters())
    params = 0
    for p in model.parameters():
        if id(p) in skip:
            continue
        if model.pos_embedding is not None and p is model.pos_embedding.weight:
            params += _nbytes(p[0])
        else:
            params += _nbytes(p)
    return params + sum(state.bytes_read(position) for state in cache.states)


def copy_bandwidth(nbytes: int, device: torch.device, repeats: int = 7) -> float:
    """Bytes per second of ``dst.copy_(src)`` for an fp32 buffer of ``nbytes`` (median of
    ``repeats`` after one warm-up copy), on ``device`` with torch's current threads."""
    n = max(1, nbytes // 4)
    src = torch.ones(n, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        dst.copy_(src)
        sync(device)
        times.append(time.perf_counter() - start)
    return 4 * n / statistics.median(times)
