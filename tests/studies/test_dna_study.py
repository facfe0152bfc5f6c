"""The DNA study at tiny size: trains on the shipped lambda genome, scores held-out segments of
another genome against the n-gram baseline, writes its rows, table and plot; the held-out
segments and the position bins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from longseq.cli import main
from longseq.plugins.genomics.readers import read_sequences
from longseq.studies.dna import SIZES, STUDY, bits_by_position, mean_bits, write_segments
from longseq.studies.spec import StudyContext, StudyError, model_parameters
from tests.cli_run import error_line


def test_dna_tiny_writes_rows_table_and_plot(tmp_path: Path) -> None:
    out, runs = tmp_path / "out", tmp_path / "runs"
    args = ["study", "run", "dna", "--size", "tiny", "--models", "h3", "--threads", "1"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in (out / "dna.jsonl").read_text().splitlines()]
    size = SIZES["tiny"]
    assert (row["model"], row["rc"]) == ("h3", "on") and 16 <= row["width"] <= size.width
    assert row["train_tokens"] == size.steps * size.batch_size * size.seq_len
    segment = size.segment_windows * size.seq_len - 1
    for held in ("test", "genus"):
        # every base of the segments but the first (no context) is scored
        assert row[f"{held}_bases"] == size.test_segments * segment - 1
        assert 1.0 < row[f"{held}_bits_per_base"] < 5.0  # 3 steps: not far from uniform
        assert 1 <= row[f"{held}_ngram_order"] <= size.max_order
        gap = row[f"{held}_bits_per_base"] - row[f"{held}_ngram_best_bits"]
        assert row[f"{held}_model_minus_ngram"] == pytest.approx(gap)
        curve = row[f"{held}_bits_by_position"]
        assert [b[0] for b in curve][:3] == [0, 1, 2] and curve[-1][1] == size.seq_len
    train, strain, genus, shifted = row["commands"]
    assert "held_out/test.fa" in train and "modality.reverse_complement=true" in train
    assert "modality.reverse_complement=false" in strain and "held_out/genus_test.fa" in genus
    assert f"held_out/test_shift{size.seq_len // 2}.fa" in shifted
    assert row["test_context_gain"] == pytest.approx(row["test_bits_near"] - row["test_bits_far"])
    assert 1.0 < row["test_bits_far"] < 5.0
    table = (out / "dna.md").read_text()
    assert f"| h3 | on | 0 | {row['width']} |" in table and "other genus bits/base" in table
    assert (out / "dna.png").stat().st_size > 1000

    # measured again on the same run: the evaluations are not run again, only recorded
    again = CliRunner().invoke(main, [*args, "--reuse", "--out", str(out), "--runs-dir", str(runs)])
    assert again.exit_code == 0, again.output
    assert again.output.count("measured before") == 3 and "$ longseq eval" not in again.output
    first, second = (json.loads(line) for line in (out / "dna.jsonl").read_text().splitlines())
    assert second["reused_run"] and second["commands"][1:] == first["commands"][1:]
    assert second["test_bits_per_base"] == first["test_bits_per_base"]


def test_cells_train_equal_tokens_at_matched_parameters(tmp_path: Path) -> None:
    ctx = StudyContext("dna", "tiny", 0, tmp_path / "runs", tmp_path / "out")
    cells = STUDY.cells(ctx)
    assert [c.name for c in cells] == [
        "transformer-on",
        "h3-on",
        "hyena-on",
        "hybrid-on",
        "hybrid-off",
    ]
    assert len({c.train_tokens for c in cells}) == 1
    # the augmentation is the only difference between the hybrid's two runs
    on, off = (set(c.overrides) for c in cells[-2:])
    assert on ^ off == {"modality.reverse_complement=true", "modality.reverse_complement=false"}
    reference, *others = [model_parameters(c.overrides) for c in cells]
    # the nearest width in steps of 8: within 20% of the Transformer's count at this tiny size
    assert all(abs(n - reference) / reference < 0.2 for n in others), (reference, others)
    # a test genome of the wrong data option is one line naming the option
    bad = StudyContext("dna", "tiny", 0, tmp_path / "r", tmp_path / "o", data={"test": "/no.fa"})
    with pytest.raises(StudyError, match="--data test=PATH"):
        STUDY.cells(bad)


def test_write_segments_spaces_whole_windows_evenly(tmp_path: Path) -> None:
    genome = tmp_path / "g.fa"
    sequence = "".join("ACGT"[(i * 7 + i // 5) % 4] for i in range(1000))
    genome.write_text(">chr\n" + sequence[:600] + "\n>plasmid\n" + sequence[600:] + "\n")
    path = write_segments(str(genome), tmp_path / "held" / "test.fa", segments=4, length=127)
    records = list(read_sequences(path))
    assert [r.name.split(":", 1)[1] for r in records] == [
        "g.fa:62-188",
        "g.fa:312-438",
        "g.fa:562-688",
        "g.fa:812-938",
    ]
    assert [r.content for r in records] == [sequence[s : s + 127] for s in (61, 311, 561, 811)]
    # written once: the same segments leave the file (and its mtime, the cache key) alone
    before = path.stat().st_mtime_ns
    write_segments(str(genome), path, segments=4, length=127)
    assert path.stat().st_mtime_ns == before
    with pytest.raises(StudyError, match="too short for 4 segments of 300"):
        write_segments(str(genome), path, segments=4, length=300)
    # shifted by half a window of 64: each segment starts 32 bases later
    shifted = write_segments(str(genome), tmp_path / "shift.fa", 4, 127, offset=32)
    assert [r.content for r in read_sequences(shifted)] == [
        sequence[s + 32 : s + 159] for s in (61, 311, 561, 811)
    ]
    with pytest.raises(StudyError, match="no room to shift"):
        write_segments(str(genome), tmp_path / "far.fa", 4, 127, offset=100)


def test_bits_by_position_bins(tmp_path: Path) -> None:
    curve = tmp_path / "curve.csv"
    lines = ["position,loss,bits,count"]
    lines += [f"{p},0,{2.0 - p / 100},{1 + p % 2}" for p in range(16)]
    curve.write_text("\n".join(lines) + "\n")
    bins = bits_by_position(curve, 16)
    assert [(a, b) for a, b, _ in bins] == [(0, 1), (1, 2), (2, 4), (4, 8), (8, 12), (12, 16)]
    # count-weighted: positions 2 (count 1, 1.98 bits) and 3 (count 2, 1.97 bits)
    assert bins[2][2] == pytest.approx((1.98 + 2 * 1.97) / 3)
    assert mean_bits(curve, 2, 4) == pytest.approx(bins[2][2])
    assert mean_bits(curve, 40, 50) != mean_bits(curve, 40, 50)  # no position there: nan


def test_missing_training_data_is_one_line(tmp_path: Path) -> None:
    args = ["study", "run", "dna", "--size", "tiny", "--data", f"train={tmp_path}/none*.fa"]
    line = error_line(CliRunner().invoke(main, [*args, "--runs-dir", str(tmp_path)]))
    assert "no data at" in line and "--data train=PATH" in line
