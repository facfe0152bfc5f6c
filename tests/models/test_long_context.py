"""Long sequences in the model's path: state passing inside H3 / S4D and per-block activation
checkpointing give the outputs and gradients of the plain full-length computation, and a
state-passing prefill leaves the decode state the recurrence would."""

from __future__ import annotations

import copy

import pytest
import torch

from longseq.models import LanguageModel, ModelConfig
from longseq.models.config import LongContextConfig, SSMConfig
from longseq.models.h3 import H3
from longseq.models.s4d import S4D

OFF = LongContextConfig(state_passing_from=0, checkpoint_from=0)


def _grads(module: torch.nn.Module, out: torch.Tensor, dy: torch.Tensor, *inputs: torch.Tensor):
    params = [p for p in module.parameters() if p.requires_grad]
    return torch.autograd.grad((out * dy).sum(), [*inputs, *params])


def _mixer(kind: str, head_dim: int, long_context: LongContextConfig) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = SSMConfig(d_state=8, head_dim=head_dim, dt_min=0.05, dt_max=0.5)
    layer = H3(8, cfg, long_context) if kind == "h3" else S4D(8, cfg, long_context)
    return layer.double()


def _assert_layer_equals_full_path(
    kind: str, head_dim: int, lc: LongContextConfig, seed: int
) -> None:
    """The layer under ``lc`` == the same layer's FFT path on L = 75: forward and the gradients
    of the input and every parameter (float64, 1e-10)."""
    full, other = _mixer(kind, head_dim, OFF), _mixer(kind, head_dim, lc)
    other.load_state_dict(full.state_dict())
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(2, 75, 8, generator=g, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(2, 75, 8, generator=g, dtype=torch.float64)
    y_full, y_other = full(u), other(u)
    torch.testing.assert_close(y_other, y_full, rtol=1e-10, atol=1e-10)
    for a, b in zip(_grads(other, y_other, dy, u), _grads(full, y_full, dy, u), strict=False):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("intra", ["fft", "matmul"])
@pytest.mark.parametrize("kind,head_dim", [("h3", 1), ("h3", 2), ("s4d", 1)])
def test_state_passing_layer_equals_full_path(kind: str, head_dim: int, intra: str) -> None:
    """A layer above its state-passing threshold (L = 75, chunk 16: not a multiple, and shorter
    than the shift kernel's 8 taps times 2) == the same layer's FFT path, forward and the
    gradients of the input and of every parameter (float64, 1e-10)."""
    sp = LongContextConfig(state_passing_from=2, chunk=16, intra=intra, checkpoint_from=0)
    _assert_layer_equals_full_path(kind, head_dim, sp, seed=1)


def test_state_passing_fp32_relative_error() -> None:
    """fp32 at a realistic length (L = 4096, chunk 256): relative error <= 1e-5 of the output
    and of the parameter gradients against the fp32 FFT path."""
    sp = LongContextConfig(state_passing_from=1024, chunk=256, checkpoint_from=0)
    torch.manual_seed(0)
    full = H3(32, SSMConfig(d_state=16, dt_min=0.01, dt_max=0.2), OFF)
    chunked = copy.deepcopy(full)
    chunked.long_context = sp
    u = torch.randn(1, 4096, 32, requires_grad=True)
    dy = torch.randn(1, 4096, 32)
    y_full, y_sp = full(u), chunked(u)
    assert ((y_sp - y_full).norm() / y_full.norm()).item() <= 1e-5
    for a, b in zip(_grads(chunked, y_sp, dy, u), _grads(full, y_full, dy, u), strict=False):
        assert ((a - b).norm() / b.norm().clamp_min(1e-30)).item() <= 1e-5


def _lm(long_context: LongContextConfig, mixer: str = "h3", dropout: float = 0.0) -> LanguageModel:
    torch.manual_seed(0)
    cfg = ModelConfig(
        d_model=16,
        n_layer=2,
        vocab_size=11,
        mixer=mixer,
        embed_dropout=dropout,
        resid_dropout=dropout,
        ssm=SSMConfig(d_state=8, dt_min=0.05, dt_max=0.5),
        long_context=long_context,
    )
    return LanguageModel(cfg).double()


def _assert_same_training_pass(
    plain: LanguageModel, other: LanguageModel, ids: torch.Tensor, seed: int
) -> None:
    """Same logits and parameter gradients (1e-10) from the same RNG state (dropout masks)."""
    dy = torch.randn(
        *ids.shape, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    results = []
    for model in (plain, other):
        torch.manual_seed(seed)
        out = model(ids)
        results.append((out, _grads(model, out, dy)))
    (out_plain, g_plain), (out_other, g_other) = results
    torch.testing.assert_close(out_other, out_plain, rtol=1e-10, atol=1e-10)
    for a, b in zip(g_other, g_plain, strict=False):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("state_passing", [False, True])
def test_checkpointed_blocks_equal_plain_blocks(state_passing: bool) -> None:
    """Activation checkpointing (with the MLP in slices of 7 positions, dropout on) gives the
    logits and every gradient of the plain forward: the dropout masks are replayed."""
    ckpt = LongContextConfig(
        state_passing_from=2 if state_passing else 0, chunk=8, checkpoint_from=2, mlp_chunk=7
    )
    plain, checkpointed = _lm(OFF, dropout=0.1), _lm(ckpt, dropout=0.1)
    checkpointed.load_state_dict(plain.state_dict())
    ids = torch.randint(0, 11, (2, 45), generator=torch.Generator().manual_seed(2))
    _assert_same_training_pass(plain, checkpointed, ids, seed=5)


def test_checkpointing_is_used_only_when_training() -> None:
    """Under no_grad (eval, prefill) nothing is checkpointed; with gradients it is."""
    calls = []
    lm = _lm(LongContextConfig(checkpoint_from=4, state_passing_from=0))
    original = lm.blocks[0].forward_checkpointed

    def spy(h: torch.Tensor, mlp_chunk: int) -> torch.Tensor:
        calls.append(h.shape[1])
        return original(h, mlp_chunk)

    lm.blocks[0].forward_checkpointed = spy  # type: ignore[method-assign]
    ids = torch.randint(0, 11, (1, 9))
    with torch.no_grad():
        lm(ids)
    lm(ids[:, :3])  # below the threshold
    assert calls == []
    lm(ids)
    assert calls == [9]


@pytest.mark.parametrize("mixer", ["h3", "s4d"])
def test_state_passing_prefill_then_decode_equals_full_forward(mixer: str) -> None:
    """Prefill by state passing (31 tokens, chunk 8) then 9 recurrent steps == the logits of one
    full-length forward of all 40 tokens, the state taken straight from the chunked convolution."""
    lm = _lm(
        LongContextConfig(state_passing_from=16, chunk=8, checkpoint_from=0), mixer=mixer
    ).eval()
    ids = torch.randint(0, 11, (2, 40), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = lm(ids)
        cache = lm.allocate_cache(2, 40)
        prefill = lm(ids[:, :31], cache)
        steps = [lm.step(ids[:, t], cache) for t in range(31, 40)]
    torch.testing.assert_close(prefill, full[:, :31], rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(torch.stack(steps, 1), full[:, 31:], rtol=1e-9, atol=1e-9)


def test_long_context_config_errors_name_the_key() -> None:
    for bad, key in [
        (LongContextConfig(chunk=0), "model.long_context.chunk"),
        (LongContextConfig(intra="fast"), "model.long_context.intra"),
        (LongContextConfig(state_passing_from=-1), "model.long_context.state_passing_from"),
    ]:
        with pytest.raises(ValueError, match=key):
            ModelConfig(vocab_size=4, long_context=bad).validate()


@pytest.mark.parametrize("kind,head_dim", [("h3", 1), ("h3", 2), ("s4d", 1)])
def test_segments_carry_the_state_exactly(kind: str, head_dim: int) -> None:
    """Segments of 24 positions (chunk 8, L = 75: the last segment ragged), each checkpointed,
    the state carried across == the FFT path: forward, input and parameter gradients (float64)."""
    sp = LongContextConfig(state_passing_from=2, chunk=8, segment=24, checkpoint_from=0)
    assert sp.uses_segments(75)
    _assert_layer_equals_full_path(kind, head_dim, sp, seed=4)


@pytest.mark.parametrize("mixer", ["h3", "s4d"])
def test_segmented_lm_with_checkpointing_prefill_and_decode(mixer: str) -> None:
    """A whole model with segments (16), state passing (chunk 8) and block checkpointing:
    the plain model's logits and gradients; a segmented prefill then decode == the full forward."""
    lc = LongContextConfig(
        state_passing_from=4, chunk=8, segment=16, checkpoint_from=4, mlp_chunk=10
    )
    plain, long = _lm(OFF, mixer=mixer, dropout=0.1), _lm(lc, mixer=mixer, dropout=0.1)
    long.load_state_dict(plain.state_dict())
    ids = torch.randint(0, 11, (2, 50), generator=torch.Generator().manual_seed(6))
    _assert_same_training_pass(plain, long, ids, seed=7)
    long.eval()
    with torch.no_grad():
        full = long(ids)
        cache = long.allocate_cache(2, 50)
        long(ids[:, :41], cache)
        steps = torch.stack([long.step(ids[:, t], cache) for t in range(41, 50)], 1)
    torch.testing.assert_close(steps, full[:, 41:], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype,tol", [(torch.bfloat16, 3e-2), (torch.float16, 4e-3)])
def test_state_passing_under_16bit_autocast_within_kernel_tolerance(
    dtype: torch.dtype, tol: float
) -> None:
    """Under bf16 / fp16 autocast the state-passing H3 stays within the fused kernels' tolerance
    (max error <= tol x max |output|) of the same layer's FFT path: its SSM math runs in fp32."""
    sp = LongContextConfig(state_passing_from=64, chunk=64, segment=256, checkpoint_from=0)
    torch.manual_seed(0)
    full = H3(32, SSMConfig(d_state=16, dt_min=0.01, dt_max=0.2), OFF)
    chunked = copy.deepcopy(full)
    chunked.long_context = sp
    u = torch.randn(2, 600, 32)
    with torch.autocast("cpu", dtype=dtype):
        y_full, y_sp = full(u).float(), chunked(u).float()
    assert ((y_sp - y_full).abs().max() / y_full.abs().max()).item() <= tol
