"""The generation and training benchmarks on tiny models: rows, ratios, skips, JSON and errors
(timings themselves are not checked; they live in BENCHMARKS.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from longseq.bench.generation import run_generate_bench
from longseq.bench.lm_models import BENCH_KINDS, bench_model, parameter_counts, parse_kinds
from longseq.bench.throughput import add_ratios, predicted_s
from longseq.bench.training import run_train_bench
from longseq.cli import main
from longseq.reporting import markdown_rows

TINY = {"d_model": 32, "n_layer": 2, "repeats": 1}


def test_generate_rows_ratios_and_counts() -> None:
    rows = run_generate_bench([8, 24], BENCH_KINDS, new_tokens=3, **TINY)
    assert [(r["kind"], r["prompt_len"]) for r in rows] == [
        (k, P) for k in BENCH_KINDS for P in (8, 24)
    ]
    for r in rows:
        assert r["prefill_ms"] > 0 and r["decode_ms_per_step"] > 0 and r["note"] == ""
        assert r["decode_tokens_per_s"] == pytest.approx(3 / (r["decode_ms_per_step"] * 3e-3))
        assert r["cuda_graph"] is False
    transformer = {
        r["prompt_len"]: r["decode_tokens_per_s"] for r in rows if r["kind"] == "transformer"
    }
    for r in rows:
        assert r["x_vs_transformer"] == pytest.approx(
            r["decode_tokens_per_s"] / transformer[r["prompt_len"]]
        )
        assert r["floor_ms"] == pytest.approx(r["step_MB"] / r["copy_GBps"])
        assert r["pct_of_floor"] == pytest.approx(100 * r["floor_ms"] / r["decode_ms_per_step"])
    # a Transformer step reads its KV cache too, so it grows with the prompt; an H3 step does not
    step_mb = {(r["kind"], r["prompt_len"]): r["step_MB"] for r in rows}
    assert step_mb["h3", 24] == step_mb["h3", 8]
    assert step_mb["transformer", 24] > step_mb["transformer", 8]


def test_step_bytes_counts_weights_once_and_the_kv_cache_read() -> None:
    """Bytes a decode step reads, worked out by hand for a 2-layer d_model 32 Transformer (fp32):
    the parameters without the position table, one row of it, and per layer keys and values of
    positions 0..t. Catches: the position table counted in full, the KV cache counted up to
    max_len instead of the step's position, the embedding counted twice (it is the output layer)."""
    from longseq.bench.floor import step_bytes

    model = bench_model("transformer", 32, 2, max_len=64)
    cache = model.allocate_cache(1, 64)
    assert model.pos_embedding is not None
    n_params = sum(p.numel() for p in model.parameters())
    weights = 4 * (n_params - model.pos_embedding.weight.numel() + 32)
    for t in (0, 9):
        assert step_bytes(model, cache, t) == weights + 2 * 2 * 32 * 4 * (t + 1)
    h3 = bench_model("h3", 32, 2, max_len=64)
    h3_cache = h3.allocate_cache(1, 64)
    assert step_bytes(h3, h3_cache, 0) == step_bytes(h3, h3_cache, 63)


def test_train_rows_and_budget_skip() -> None:
    rows = run_train_bench([8, 4096], ["h3"], time_budget_s=1e-6, **TINY)
    assert rows[0]["step_ms"] > 0 and rows[0]["train_tokens_per_s"] == pytest.approx(
        8 / (rows[0]["step_ms"] * 1e-3)
    )
    assert rows[1]["step_ms"] is None and rows[1]["note"].startswith("skipped: predicted")
    assert rows[0]["x_vs_transformer"] is None  # no Transformer in this run


def test_training_steps_change_the_weights() -> None:
    """The timed step is a real optimiser step, not a forward pass."""
    from longseq.bench.training import _train_step

    model = bench_model("h3", 32, 1, max_len=16).train()
    optimizer = torch.optim.AdamW(model.param_groups(lr=1e-3, weight_decay=0.1), lr=1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    assert _train_step(model, optimizer, torch.randint(0, 256, (1, 17)), torch.float32) > 0
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=False))
    assert all(p.grad is None for p in model.parameters())


def test_same_size_models() -> None:
    counts = {k: parameter_counts(bench_model(k, 512, 2, max_len=512)) for k in BENCH_KINDS}
    non_embedding = [c[1] for c in counts.values()]
    # at the default width the mixers differ only by the SSM parameters (< 10%)
    assert max(non_embedding) / min(non_embedding) < 1.1
    assert (
        counts["transformer"][0] - counts["transformer"][1] == (256 + 512) * 512
    )  # tokens + positions
    hybrid = bench_model("hybrid", 128, 4, 512)
    assert [b.kind for b in hybrid.blocks] == ["h3", "attention", "attention", "h3"]


def test_parse_kinds_and_helpers() -> None:
    assert parse_kinds("transformer, h3,h3") == ["transformer", "h3"]
    with pytest.raises(ValueError, match="valid: h3, hybrid, transformer"):
        parse_kinds("h3,mamba")
    assert predicted_s(None, 10, 2.0) is None and predicted_s((10, 1.0), 20, 2.0) == 4.0
    rows = [
        {"kind": "transformer", "L": 1, "v": 2.0},
        {"kind": "h3", "L": 1, "v": 6.0},
        {"kind": "h3", "L": 2, "v": None},
    ]
    add_ratios(rows, "v", "L", "transformer")
    assert [r["x_vs_transformer"] for r in rows] == [1.0, 3.0, None]
    table = markdown_rows(rows, [("model", "kind", ""), ("v", "v", ".1f")])
    assert table.splitlines()[-1] == "| h3 | - |"


def test_cli_generate_and_train_write_json(tmp_path: Path) -> None:
    runner = CliRunner()
    for cmd, flag in (("generate", "--prompt-lengths"), ("train", "--lengths")):
        out = tmp_path / f"{cmd}.json"
        res = runner.invoke(
            main,
            [
                "bench",
                cmd,
                flag,
                "16",
                "--d-model",
                "32",
                "--n-layer",
                "1",
                "--repeats",
                "1",
                "--device",
                "cpu",
                "--models",
                "h3,transformer",
                "--json",
                str(out),
            ],
        )
        assert res.exit_code == 0, res.output
        assert "x vs Transformer" in res.output
        if cmd == "generate":
            assert "% of floor" in res.output and "machine: " in res.output
        data = json.loads(out.read_text())
        assert {r["kind"] for r in data["rows"]} == {"h3", "transformer"}
        assert data["environment"]["torch"] == torch.__version__


@pytest.mark.parametrize(
    "args,message",
    [
        (["generate", "--models", "h3,rwkv"], "unknown ['rwkv']"),
        (["generate", "--prompt-lengths", "1k"], "comma-separated"),
        (["train", "--lengths", "0"], "positive"),
        (["generate", "--device", "cpu", "--cuda-graph"], "needs --device cuda"),
    ],
)
def test_cli_bad_input_is_one_line(args: list[str], message: str) -> None:
    res = CliRunner().invoke(main, ["bench", *args])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and message in res.output, res.output


def test_png_needs_matplotlib_or_writes(tmp_path: Path) -> None:
    from longseq.bench.throughput import write_png

    rows = [
        {"kind": "h3", "L": 8, "v": 1.0},
        {"kind": "h3", "L": 16, "v": 2.0},
        {"kind": "transformer", "L": 8, "v": None},
    ]
    args = {"x": "L", "y": "v", "xlabel": "L", "ylabel": "tok/s", "title": "t"}
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="needs matplotlib"):
            write_png(rows, tmp_path / "x.png", **args)
    else:
        write_png(rows, tmp_path / "x.png", **args)
        assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_train_step_under_autocast(dtype: torch.dtype) -> None:
    """bf16 / fp16 autocast (fp16 with loss scaling) runs and leaves finite weights."""
    from longseq.bench.training import _train_step

    model = bench_model("hybrid", 64, 2, max_len=32).train()
    optimizer = torch.optim.AdamW(model.param_groups(lr=1e-3, weight_decay=0.1), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu") if dtype == torch.float16 else None
    assert _train_step(model, optimizer, torch.randint(0, 256, (2, 33)), dtype, scaler) > 0
    assert all(torch.isfinite(p).all() for p in model.parameters())
