"""The audio study at tiny size (shipped digits): H3 and a Transformer at equal parameters and
samples, bits per sample beside the n-gram, and the H3 model's continuation of a held-out clip
as a WAV and a spectrogram; the full size holds out whole folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile
from click.testing import CliRunner

from longseq.cli import main
from tests.cli_run import error_line


def test_audio_tiny_writes_rows_wav_and_spectrogram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LONGSEQ_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    args = ["study", "run", "audio", "--size", "tiny", "--threads", "1"]
    args += ["--out", str(out), "--runs-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "audio.jsonl").read_text().splitlines()]
    assert [r["model"] for r in rows] == ["transformer", "h3"]
    assert rows[0]["train_tokens"] == rows[1]["train_tokens"] == 3 * 4 * 128
    for row in rows:
        assert 0 < row["ngram_bits_per_sample"] < row["unigram_bits_per_sample"] <= 8
        assert 0 < row["bits_per_sample"]
    h3 = rows[1]
    # the prompt (0.05 s, 400 samples) then up to 200 generated ones (fewer when the model
    # samples the end of the clip), 8 kHz, from a held-out clip
    info = soundfile.info(h3["generated_wav"])
    assert info.samplerate == 8000 and 400 < info.frames <= 600
    assert h3["generated_s"] == round(info.frames / 8000, 3)
    assert Path(h3["generated_wav"]).parent == out
    test_clips = json.loads(Path(h3["run_dir"], "documents.json").read_text())["test"]
    assert h3["prompt_clip"] in [d["name"] for d in test_clips]
    assert h3["commands"][-1].startswith("longseq generate --threads 1")
    assert Path(h3["spectrogram_png"]).stat().st_size > 10_000
    assert "generated_wav" not in rows[0]
    assert "| h3 |" in (out / "audio.md").read_text()


def test_sounds_without_the_held_out_folders_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"")
    line = error_line(
        CliRunner().invoke(main, ["study", "run", "audio", "--data", f"sounds={tmp_path}"])
    )
    assert "phonetic" in line and "not a directory" in line
