"""`longseq eval` on tiny trained runs (text, genomics, synthetic): the loss equals the same
model's loss computed here on the same windows and the training run's own test loss, bits and
perplexity follow from it, the context curve adds up to it, and bad input is one error line."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

import longseq
from longseq.cli import main
from longseq.tasks.lm_module import sequence_loss
from tests.cli_run import error_line, train_in_process

SEQ_LEN = 64  # the text run's data.seq_len (tests/cli/conftest.py)


@pytest.fixture(scope="module")
def dna_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The phage-lambda preset, two steps of a one-layer d_model-16 model on 64-base windows."""
    root = tmp_path_factory.mktemp("dna_run")
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


@pytest.fixture(scope="module")
def recall_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Associative recall (the default synthetic language), 64 train / 32 test examples."""
    root = tmp_path_factory.mktemp("recall_run")
    return train_in_process(
        root / "run",
        [
            "trainer.max_steps=2",
            "data.num_train=64",
            "data.num_test=32",
            "model.d_model=16",
        ],
    )


def _eval(*args: str) -> Result:
    return CliRunner().invoke(main, ["eval", "--device", "cpu", *args])


def _eval_json(tmp_path: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    out = tmp_path / "metrics.json"
    result = _eval(*args, "--json", str(out))
    assert result.exit_code == 0, result.output
    return result, json.loads(out.read_text())


def _trained(run_dir: Path) -> dict[str, float]:
    return json.loads((run_dir / "metrics.json").read_text())


def test_loss_is_the_models_loss_on_the_test_windows(text_run: Path, tmp_path: Path) -> None:
    result, metrics = _eval_json(tmp_path, str(text_run), "--max-batches", "3", "--batch-size", "4")
    # The byte tokenizer is the run's, so eval reused the training token cache: one cache.
    caches = [p for p in (text_run.parent / "cache").iterdir() if p.is_dir()]
    assert len(caches) == 1
    stream = np.load(caches[0] / "test.npy").astype(np.int64)
    windows = np.stack([stream[i * SEQ_LEN : (i + 1) * SEQ_LEN + 1] for i in range(12)])
    model = longseq.load(text_run).model
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in torch.from_numpy(windows).split(4):
            loss, n = sequence_loss(model(batch[:, :-1]), batch[:, 1:])
            total, count = total + float(loss) * int(n), count + int(n)
    assert (metrics["windows"], metrics["batches"], metrics["tokens"]) == (12, 3, count)
    assert metrics["loss"] == pytest.approx(total / count, rel=1e-5)
    assert metrics["bits_per_token"] == pytest.approx(metrics["loss"] / math.log(2), rel=1e-12)
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["loss"]), rel=1e-12)
    # Bits per byte: the same bits over the targets that are bytes (<eos> = 256 is not one).
    data_bytes = count - int((windows[:, 1:] == 256).sum())
    assert metrics["bytes"] == data_bytes
    assert metrics["bits_per_byte"] == pytest.approx(total / math.log(2) / data_bytes, rel=1e-5)
    assert "bits per byte" in result.stdout and "perplexity" in result.stdout


def test_split_val_evaluates_the_validation_windows(text_run: Path, tmp_path: Path) -> None:
    """``--split val`` reads the validation split: the loss is the model's loss on the first
    windows of the cached val stream, not on the test stream's. Catches: the option ignored (the
    test split evaluated whatever it says) or the wrong stream read for it."""
    _, metrics = _eval_json(
        tmp_path, str(text_run), "--split", "val", "--max-batches", "2", "--batch-size", "4"
    )
    (cache,) = [p for p in (text_run.parent / "cache").iterdir() if p.is_dir()]
    model = longseq.load(text_run).model

    def loss_on(split: str) -> float:
        stream = np.load(cache / f"{split}.npy").astype(np.int64)
        windows = np.stack([stream[i * SEQ_LEN : (i + 1) * SEQ_LEN + 1] for i in range(8)])
        batch = torch.from_numpy(windows)
        with torch.no_grad():
            return float(sequence_loss(model(batch[:, :-1]), batch[:, 1:])[0])

    assert metrics["split"] == "val" and metrics["windows"] == 8
    assert metrics["loss"] == pytest.approx(loss_on("val"), rel=1e-5)
    assert abs(metrics["loss"] - loss_on("test")) > 1e-4  # 3e-3 apart for this two-step model


def test_curve_buckets_group_the_plotted_curve(
    text_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--curve-buckets N`` plots the context curve in at most N log-spaced bins, each the
    count-weighted mean of its positions, while the CSV keeps every position. Catches: the option
    not reaching the plot (one point per position plotted) or bins that drop or double count
    positions."""
    plotted = []

    def capture(points, path, title=""):  # the PNG writer's signature
        plotted.append(list(points))
        Path(path).write_bytes(b"png")
        return Path(path)

    monkeypatch.setattr("longseq.evaluation.write_curve_png", capture)
    curve = tmp_path / "curve.csv"
    _, metrics = _eval_json(
        tmp_path,
        str(text_run),
        "--max-batches",
        "2",
        "--context-curve",
        str(curve),
        "--curve-buckets",
        "5",
    )
    assert len(curve.read_text().splitlines()) == 1 + SEQ_LEN  # the CSV: every position
    (points,) = plotted
    assert 1 < len(points) <= 5
    assert points[0].start == 0 and points[-1].end == SEQ_LEN
    assert all(a.end == b.start for a, b in itertools.pairwise(points))  # a partition
    counts = sum(p.count for p in points)
    assert counts == metrics["tokens"]
    assert sum(p.loss * p.count for p in points) / counts == pytest.approx(
        metrics["loss"], rel=1e-6
    )


def test_context_curve_adds_up_to_the_loss(text_run: Path, tmp_path: Path) -> None:
    curve = tmp_path / "curves" / "kjv.csv"
    result, metrics = _eval_json(
        tmp_path, str(text_run), "--max-batches", "2", "--context-curve", str(curve)
    )
    with curve.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["position"]) for r in rows] == list(range(SEQ_LEN))
    counts = np.array([int(r["count"]) for r in rows])
    losses = np.array([float(r["loss"]) for r in rows])
    assert counts.sum() == metrics["tokens"] == 2 * 16 * SEQ_LEN
    assert (counts * losses).sum() / counts.sum() == pytest.approx(metrics["loss"], rel=1e-6)
    bits = np.array([float(r["bits"]) for r in rows])
    np.testing.assert_allclose(bits, losses / math.log(2), rtol=1e-6)
    png = curve.with_suffix(".png")
    if importlib.util.find_spec("matplotlib") is None:
        assert not png.exists()
        assert len(result.stderr.splitlines()) == 1 and "matplotlib" in result.stderr
    else:
        assert png.stat().st_size > 0


def test_genomics_reports_bits_per_base_and_matches_training(dna_run: Path, tmp_path: Path) -> None:
    result, metrics = _eval_json(tmp_path, str(dna_run))
    # The whole test split, as Lightning's test loop measured it at the end of training.
    assert metrics["loss"] == pytest.approx(_trained(dna_run)["test/loss"], rel=1e-5)
    assert "bits per base" in result.stdout
    assert 0 < metrics["bases"] <= metrics["tokens"]
    expected = metrics["loss"] * metrics["tokens"] / math.log(2) / metrics["bases"]
    assert metrics["bits_per_base"] == pytest.approx(expected, rel=1e-12)


def test_longer_context_than_trained(dna_run: Path, tmp_path: Path) -> None:
    curve = tmp_path / "dna.csv"
    _, metrics = _eval_json(
        tmp_path,
        str(dna_run),
        "data.seq_len=128",
        "--max-batches",
        "1",
        "--context-curve",
        str(curve),
    )
    assert metrics["seq_len"] == 128 and metrics["overrides"] == ["data.seq_len=128"]
    assert len(curve.read_text().splitlines()) == 1 + 128


def test_random_windows_of_the_genome(dna_run: Path, tmp_path: Path) -> None:
    _, metrics = _eval_json(
        tmp_path, str(dna_run), "data.sampling=random_windows", "data.eval_windows=8"
    )
    # Windows inside the contig hold bases only: every target is a base.
    assert metrics["windows"] == 8 and metrics["tokens"] == metrics["bases"] == 8 * 64


def test_synthetic_run_gives_bits_per_token(recall_run: Path, tmp_path: Path) -> None:
    result, metrics = _eval_json(tmp_path, str(recall_run))
    assert metrics["loss"] == pytest.approx(_trained(recall_run)["test/loss"], rel=1e-5)
    # Associative recall labels every next token (the answer's accuracy is the task metric).
    assert metrics["windows"] == 32 and metrics["tokens"] == 32 * metrics["seq_len"]
    assert [
        line.split("  ")[0] for line in result.stdout.splitlines() if line.startswith("bits")
    ] == ["bits per token"]


def test_document_curve_reads_each_document_from_its_start(text_run: Path, tmp_path: Path) -> None:
    path = tmp_path / "documents.csv"
    result = _eval(
        str(text_run), "--document-curve", str(path), "--max-documents", "5", "--curve-buckets", "4"
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {path} (5 documents)" in result.stdout
    rows = list(csv.DictReader(path.open()))
    assert int(rows[0]["offset"]) == 0 and int(rows[0]["documents"]) == 5
    assert len(rows) <= SEQ_LEN and all(int(r["documents"]) >= 1 for r in rows)
    for row in rows:
        assert float(row["bits_low"]) <= float(row["bits"]) <= float(row["bits_high"])
    if importlib.util.find_spec("matplotlib") is not None:
        assert path.with_suffix(".png").stat().st_size > 0


def test_document_curve_needs_documents(recall_run: Path, tmp_path: Path) -> None:
    line = error_line(_eval(str(recall_run), "--document-curve", str(tmp_path / "d.csv")))
    assert "--document-curve needs a corpus of documents" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["data.seq_lenn=128"], "unknown key 'data.seq_lenn'; did you mean 'data.seq_len'?"),
        (["data.seq_len=0"], "data.seq_len=0 must be at least 1"),
        (["model.d_model=32"], "eval takes data.* and modality.* overrides"),
        (["--png", "x.png"], "give --context-curve PATH.csv as well"),
        (
            ["data.sampling=random_windows", "modality.soft_mask=keep"],
            "random_windows encodes with the modality's own tokenizer",
        ),
    ],
)
def test_bad_input_is_one_line(dna_run: Path, args: list[str], expected: str) -> None:
    assert expected in error_line(_eval(str(dna_run), *args))


def test_unreadable_data_is_one_line(dna_run: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.fa"
    line = error_line(_eval(str(dna_run), f"data.path={missing}"))
    assert line == f"error: {missing}: no such file or directory (data.path)"


def test_not_a_run(dna_run: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert error_line(_eval(str(missing))) == f"error: {missing}: no such run directory"
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(dna_run / "config.yaml", partial / "config.yaml")
    assert error_line(_eval(str(partial))).startswith(f"error: {partial}: no model.safetensors")
    bare = tmp_path / "bare"
    shutil.copytree(dna_run, bare, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    (bare / "config.yaml").unlink()
    assert "config.yaml: missing" in error_line(_eval(str(bare)))


def test_audio_reports_bits_per_sample(tmp_path: Path) -> None:
    run_dir = train_in_process(
        tmp_path / "run",
        [
            "experiment=audio/digits",
            "trainer.max_steps=1",
            "model.d_model=16",
            "model.n_layer=1",
            "data.seq_len=64",
            "data.batch_size=16",
            f"data.cache_dir={tmp_path / 'cache'}",
        ],
    )
    result, metrics = _eval_json(tmp_path, str(run_dir), "--max-batches", "2")
    assert "bits per sample" in result.stdout
    # Samples are the targets that are not <eos> (256) between clips.
    (cache,) = [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]
    targets = np.load(cache / "test.npy").astype(np.int64)[1 : 2 * 16 * 64 + 1]
    assert metrics["tokens"] == 2 * 16 * 64
    assert metrics["samples"] == int((targets != 256).sum())
