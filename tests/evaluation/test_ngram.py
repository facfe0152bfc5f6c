"""The n-gram baseline of `longseq eval --baseline ngram`: interpolated Kneser-Ney bits worked out
by hand on a tiny sequence and against a direct (slow) implementation, the CLI rows on a real tiny
run, and its bad input as one error line."""

from __future__ import annotations

import collections
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import longseq
from longseq.cli import main
from longseq.evaluation import ngram
from longseq.models.ngram import discount, ngram_bits
from tests.cli_run import error_line, train_in_process


def test_hand_computed_unigram_and_bigram() -> None:
    # train 0 1 0 1 2 (V = 3); held-out 1 0 2: targets 0 (after 1) and 2 (after 0).
    train = np.array([0, 1, 0, 1, 2])
    held = np.array([1, 0, 2])
    # Unigram raw counts 2, 2, 1: n1 = 1, n2 = 2, D = 1 / (1 + 4) = 0.2, 3 types, N = 5;
    # p(w) = (c(w) - 0.2 + 0.2 * 3 / 3) / 5 = c(w) / 5.
    assert discount(np.array([2, 2, 1])) == pytest.approx(0.2)
    unigram = -math.log2(2 / 5) - math.log2(1 / 5)
    # Bigrams (0 1) x2, (1 0), (1 2): n1 = 2, n2 = 1, D = 2 / (2 + 2) = 0.5. Context 1: N = 2,
    # T = 2; context 0: N = 2, T = 1. The lower order is the continuation unigram: each token
    # follows one distinct token (counts 1, 1, 1: no count 2, so D = 0.5), N = 3, T = 3:
    # p(w) = (1 - 0.5 + 0.5 * 3 / 3) / 3 = 1/3.
    p_0_after_1 = ((1 - 0.5) + 0.5 * 2 * (1 / 3)) / 2  # 5/12
    p_2_after_0 = (0 + 0.5 * 1 * (1 / 3)) / 2  # 1/12
    bigram = -math.log2(p_0_after_1) - math.log2(p_2_after_0)
    bits = ngram_bits(train, {"held": held}, vocab_size=3, max_order=2)["held"]
    assert bits == pytest.approx([unigram, bigram], rel=1e-12)
    # A window of one target: every context is one token long, so order 3 is order 2.
    windowed = ngram_bits(train, {"held": held}, vocab_size=3, max_order=3, window=1)["held"]
    assert windowed == pytest.approx([unigram, bigram, bigram], rel=1e-12)


def _direct_kn(
    train: np.ndarray, held: np.ndarray, vocab: int, k: int, window: int | None
) -> float:
    """Bits of held[1:] under the order-k interpolated Kneser-Ney model, straight from the
    definition with Python dicts."""
    n_train = len(train)
    raw = {
        n: collections.Counter(tuple(train[i - n + 1 : i + 1]) for i in range(n - 1, n_train))
        for n in range(1, k + 1)
    }
    cont = {}
    for n in range(1, k):
        distinct = {tuple(train[i - n : i + 1]) for i in range(n, n_train)}
        cont[n] = collections.Counter(g[1:] for g in distinct)

    def prob(ctx: tuple[int, ...], w: int, n: int, top: bool) -> float:
        if n == 0:
            return 1 / vocab
        counts = raw[n] if top else cont[n]
        d = discount(np.array(list(counts.values())))
        c = ctx[len(ctx) - (n - 1) :] if n > 1 else ()
        total = sum(v for g, v in counts.items() if g[:-1] == c)
        types = sum(1 for g in counts if g[:-1] == c)
        lower = prob(ctx, w, n - 1, False)
        if total == 0:
            return lower
        return (max(counts.get((*c, w), 0) - d, 0) + d * types * lower) / total

    bits = 0.0
    for t in range(1, len(held)):
        j = (t - 1) % window if window else t - 1
        m = min(k, j + 2)
        ctx = tuple(int(v) for v in held[t - (m - 1) : t]) if m > 1 else ()
        bits -= math.log2(prob(ctx, int(held[t]), m, True))
    return bits


@pytest.mark.parametrize(("vocab", "window"), [(4, None), (4, 5), (1 << 20, 7)])
def test_matches_the_definition(vocab: int, window: int | None) -> None:
    # vocab 2**20 at order 4 does not pack into 63 bits: the hashed keys.
    rng = np.random.default_rng(vocab)
    letters = rng.integers(0, vocab, 5)
    train = letters[rng.integers(0, 5, 240)]
    train[::6] = letters[2]
    held = letters[rng.integers(0, 5, 50)]
    held[3] = (letters.max() + 1) % vocab  # a token never seen in training
    got = ngram_bits(train, {"h": held}, vocab, 4, window=window)["h"]
    want = [_direct_kn(train, held, vocab, k, window) for k in range(1, 5)]
    assert got == pytest.approx(want, rel=1e-10)


def test_bad_arguments_are_one_line() -> None:
    with pytest.raises(ValueError, match="between 1 and 32"):
        ngram_bits(np.array([0, 1, 0]), {}, 2, 33)
    with pytest.raises(ValueError, match="outside 0 .. 1"):
        ngram_bits(np.array([0, 1, 2]), {}, 2, 2)


@pytest.fixture(scope="module")
def dna_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The phage-lambda preset, two steps of a one-layer d_model-16 model on 64-base windows."""
    root = tmp_path_factory.mktemp("ngram_dna_run")
    return train_in_process(
        root / "run",
        [
            "experiment=genomics/lambda",
            "trainer.max_steps=2",
            "model.d_model=16",
            "model.n_layer=1",
            "data.seq_len=64",
            "data.batch_size=16",
            f"data.cache_dir={root / 'cache'}",
            f"modality.cache_dir={root / 'genomics'}",
        ],
    )


def test_cli_baseline_rows_on_a_dna_run(dna_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(
        main,
        [
            "eval",
            str(dna_run),
            "--device",
            "cpu",
            "--max-batches",
            "2",
            "--baseline",
            "ngram",
            "--ngram-max-order",
            "6",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    base = metrics["baseline"]
    # The same targets and the same unit as the model.
    assert (base["tokens"], base["units"], base["unit"]) == (
        metrics["tokens"],
        metrics["bases"],
        "base",
    )
    assert len(base["bits_per_base_by_order"]) == 6
    val = base["val_bits_per_base_by_order"]
    assert base["best_order"] == int(np.argmin(val)) + 1
    assert base["best_bits_per_base"] == base["bits_per_base_by_order"][base["best_order"] - 1]
    assert base["model_minus_best"] == pytest.approx(
        metrics["bits_per_base"] - base["best_bits_per_base"], rel=1e-12
    )
    # The unigram from the cached training stream, counted here: the run's own tokens.
    caches = [p for p in (dna_run.parent / "cache").iterdir() if p.is_dir()]
    assert len(caches) == 1
    train = np.load(caches[0] / "train.npy").astype(np.int64)
    test = np.load(caches[0] / "test.npy").astype(np.int64)[1 : metrics["tokens"] + 1]
    assert base["train_tokens"] == len(train)
    tokenizer = longseq.load(dna_run).tokenizer
    assert tokenizer is not None
    vocab = tokenizer.vocab_size
    counts = np.bincount(train, minlength=vocab)
    seen = counts[counts > 0]
    d = discount(seen)
    p = (np.maximum(counts - d, 0) + d * len(seen) / vocab) / len(train)
    unigram = float(-np.log2(p[test]).sum()) / metrics["bases"]
    assert base["unigram_bits_per_base"] == pytest.approx(unigram, rel=1e-9)
    lines = result.output.splitlines()
    best = f"n-gram best (k={base['best_order']})"
    assert any(
        line.startswith(best) and f"{base['best_bits_per_base']:.4f}" in line for line in lines
    ), result.output
    assert any(
        line.startswith("model - n-gram best") and f"{base['model_minus_best']:+.4f}" in line
        for line in lines
    ), result.output


def test_cli_synthetic_run_is_one_line(tmp_path: Path) -> None:
    run = train_in_process(
        tmp_path / "run",
        [
            "trainer.max_steps=1",
            "data.num_train=16",
            "data.num_test=8",
            "model.d_model=16",
        ],
    )
    result = CliRunner().invoke(main, ["eval", str(run), "--device", "cpu", "--baseline", "ngram"])
    line = error_line(result)
    assert "--baseline ngram" in line and "token stream" in line


def test_cli_too_large_for_memory_is_one_line(
    dna_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ngram, "_available_memory", lambda: 1 << 20)
    result = CliRunner().invoke(
        main, ["eval", str(dna_run), "--device", "cpu", "--max-batches", "1", "--baseline", "ngram"]
    )
    line = error_line(result)
    assert "--ngram-max-order" in line and "GiB" in line


def test_cli_random_windows_run_is_one_line(dna_run: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "eval",
            str(dna_run),
            "--device",
            "cpu",
            "--max-batches",
            "1",
            "--baseline",
            "ngram",
            "data.sampling=random_windows",
            "data.eval_windows=4",
        ],
    )
    line = error_line(result)
    assert "data.sampling=random_windows" in line and "sequential" in line
