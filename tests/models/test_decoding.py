"""Token-by-token decoding through the inference cache equals one full forward pass."""

from __future__ import annotations

import pytest
import torch

from longseq.models import LanguageModel, ModelConfig, SSMConfig

V = 23
# dt in [0.1, 1] (the default is [1e-3, 0.1]): the SSMs' memory moves the logits by far more than
# the 1e-6 a decode step may differ from the forward pass, so a step that loses state fails.
DT = {"dt_min": 0.1, "dt_max": 1.0}

CASES = {
    "h3": {"mixer": "h3"},
    "h3_head_dim2": {"mixer": "h3", "ssm": SSMConfig(d_state=8, head_dim=2, **DT)},
    "h3_zoh_inv": {"mixer": "h3", "ssm": SSMConfig(d_state=8, measure="diag", disc="zoh", **DT)},
    "s4d": {"mixer": "s4d"},
    "hyena": {"mixer": "hyena"},
    "attention": {"mixer": "attention", "max_position_embeddings": 64},
    "hybrid": {"mixer": "h3", "attn_layer_idx": [1]},
    "hybrid_hyena": {"mixer": "hyena", "attn_layer_idx": [0]},
}


def make_model(name: str, **extra) -> LanguageModel:
    kw = {
        "d_model": 16,
        "n_layer": 2,
        "vocab_size": V,
        "embed_dropout": 0.0,
        "ssm": SSMConfig(d_state=8, **DT),
    }
    kw.update(CASES[name])
    kw.update(extra)
    torch.manual_seed(0)
    return LanguageModel(ModelConfig(**kw)).eval()


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("prompt_len", [0, 1, 7])
def test_stepping_matches_full_forward(name: str, prompt_len: int) -> None:
    """Prefill + token-by-token steps = one forward pass, to 1e-6 (a correct fp32 decode is off
    by up to 2e-7). Catches: an H3 step that wipes the diagonal-SSM state every token (off by 1e-3
    with dt in [0.1, 1]), or any other state lost or mis-advanced between tokens."""
    model = make_model(name)
    L = 19
    ids = torch.randint(0, V, (3, L), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model(ids)
        cache = model.allocate_cache(3, L)
        outs = []
        if prompt_len:
            outs.append(model(ids[:, :prompt_len], cache=cache))
        for t in range(prompt_len, L):
            outs.append(model.step(ids[:, t], cache).unsqueeze(1))
        stepped = torch.cat(outs, dim=1)
    assert stepped.shape == full.shape
    assert (stepped - full).abs().max().item() <= 1e-6


@pytest.mark.parametrize("name", sorted(CASES))
def test_causality(name: str) -> None:
    """Changing token t leaves positions before t unchanged and changes every later position
    (position t itself changes through the residual path alone, so it proves nothing). Catches:
    a memory-less mixer (e.g. convolutions reduced to their D skip, attention to the diagonal),
    and a non-causal one (a future token leaking into the past)."""
    model = make_model(name)
    ids = torch.randint(0, V, (2, 24), generator=torch.Generator().manual_seed(2))
    t = 11
    changed = ids.clone()
    changed[:, t] = (changed[:, t] + 1) % V
    with torch.no_grad():
        a, b = model(ids), model(changed)
    torch.testing.assert_close(a[:, :t], b[:, :t], rtol=0, atol=1e-6)
    later = (a[:, t + 1 :] - b[:, t + 1 :]).abs().amax(dim=-1)  # [B, L - t - 1]
    assert later.min() > 1e-6, later  # every later position of every sequence moved


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_parameter_gets_a_gradient(name: str) -> None:
    model = make_model(name).train()
    ids = torch.randint(0, V, (2, 12), generator=torch.Generator().manual_seed(3))
    loss = torch.nn.functional.cross_entropy(model(ids).flatten(0, 1), ids.roll(-1, 1).flatten())
    loss.backward()
    missing = [
        n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()
    ]
    assert not missing
    zero = [n for n, p in model.named_parameters() if p.grad.abs().sum() == 0]
    assert not zero, zero


def test_cache_overflow_and_reuse_raise() -> None:
    model = make_model("h3")
    cache = model.allocate_cache(1, 4)
    with pytest.raises(ValueError, match="holds 4 tokens"):
        model(torch.zeros(1, 5, dtype=torch.long), cache=cache)
    model(torch.zeros(1, 2, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="fresh"):
        model(torch.zeros(1, 2, dtype=torch.long), cache=cache)


@pytest.mark.parametrize("name", sorted(CASES))
def test_static_step_matches_step(name: str) -> None:
    """step_at (position as a device tensor, the form a CUDA graph captures) = step, from a
    prefilled cache onwards, for every layer kind."""
    model = make_model(name)
    L, P = 15, 5
    ids = torch.randint(0, V, (2, L), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full = model(ids)
        cache = model.allocate_cache(2, L)
        model(ids[:, :P], cache=cache)
        outs = []
        for t in range(P, L):
            outs.append(model.step_at(ids[:, t], cache, torch.tensor(t)))
            cache.seqlen_offset += 1
    stepped = torch.stack(outs, dim=1)
    assert (stepped - full[:, P:]).abs().max().item() <= 1e-6


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
@pytest.mark.parametrize("name", ["h3", "hybrid", "attention", "hyena"])
def test_cuda_graph_decoding_matches_eager(name: str) -> None:
    from longseq.models import generate

    model = make_model(name).cuda()
    ids = torch.randint(0, V, (2, 6), generator=torch.Generator().manual_seed(5)).cuda()
    eager = generate(model, ids, 12, seed=0)
    graphed = generate(model, ids, 12, seed=0, cuda_graph=True)
    assert torch.equal(eager, graphed)


def test_cuda_graph_on_cpu_is_refused() -> None:
    from longseq.models.cuda_graph import GraphedStep

    model = make_model("h3")
    with pytest.raises(ValueError, match="CUDA device"):
        GraphedStep(model, model.allocate_cache(1, 4))


def test_h3_decode_state_does_not_grow_with_the_context() -> None:
    """What a decode step of a pure H3 model reads and writes is the same for any context length
    (O(1) per token); an attention layer's KV cache grows with it."""
    from dataclasses import fields, is_dataclass

    def nbytes(obj: object) -> int:
        """Bytes of every tensor in a state, its decode parameters included."""
        if isinstance(obj, torch.Tensor):
            return obj.numel() * obj.element_size()
        assert is_dataclass(obj), type(obj)
        return sum(nbytes(getattr(obj, f.name)) for f in fields(obj))

    def state_bytes(model: LanguageModel, max_len: int) -> int:
        return sum(nbytes(s) for s in model.allocate_cache(1, max_len).states)

    h3, hybrid = make_model("h3"), make_model("hybrid")
    assert state_bytes(h3, 16) == state_bytes(h3, 4096)
    assert state_bytes(hybrid, 4096) > state_bytes(hybrid, 16)


@pytest.mark.parametrize("name", sorted(CASES))
def test_decode_steps_advance_the_states_in_place(name: str) -> None:
    """Every state tensor (the precomputed step parameters included) is the same storage before
    and after a prefill and steps, and the step parameters are never written: a step makes no
    new state tensor (what a CUDA graph replay relies on). Catches: a state replaced by a fresh
    tensor instead of being updated, a step that writes into its parameters."""
    from dataclasses import fields, is_dataclass

    def tensors(obj: object) -> list[torch.Tensor]:
        if isinstance(obj, torch.Tensor):
            return [obj]
        assert is_dataclass(obj), type(obj)
        return [t for f in fields(obj) for t in tensors(getattr(obj, f.name))]

    model = make_model(name)
    ids = torch.randint(0, V, (2, 9), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        cache = model.allocate_cache(2, 9)
        pointers = [t.data_ptr() for s in cache.states for t in tensors(s)]
        params = [t for s in cache.states if hasattr(s, "decode") for t in tensors(s.decode)]
        saved = [t.clone() for t in params]
        model(ids[:, :4], cache=cache)
        for t in range(4, 9):
            model.step(ids[:, t], cache)
    assert [t.data_ptr() for s in cache.states for t in tensors(s)] == pointers
    assert all(torch.equal(t, old) for t, old in zip(params, saved, strict=False))
