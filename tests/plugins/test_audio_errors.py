"""Audio bad input: a one-line DataError naming the file, or a counted skip with a warning
under ``on_error=skip`` — never a traceback or an empty dataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from longseq.plugins.audio import DIGITS_DIR, AudioConfig, AudioModality, DataWarning, write_wav
from longseq.plugins.modality import DataError

BAD_FILES: dict[str, tuple[Callable[[Path], object], str]] = {
    "text.wav": (
        lambda p: p.write_text("RIFF? no, just some text in a .wav file\n"),
        "not a readable WAV/FLAC/OGG file",
    ),
    "empty.wav": (lambda p: p.write_bytes(b""), "empty file"),
    "truncated.flac": (
        lambda p: p.write_bytes(b"fLaC\x00\x00\x00\x22" + b"\x00" * 10),
        "not a readable WAV/FLAC/OGG file",
    ),
    "no_samples.wav": (
        lambda p: write_wav(np.zeros(0, dtype=np.float32), p, 8000),
        "holds no samples",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_a_one_line_data_error_naming_it(tmp_path: Path, name: str) -> None:
    write, pattern = BAD_FILES[name]
    path = tmp_path / name
    write(path)
    with pytest.raises(DataError, match=pattern) as info:
        list(AudioModality().read(str(path)))
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_skip_counts_and_warns_and_keeps_the_good_files(tmp_path: Path, name: str) -> None:
    write, _ = BAD_FILES[name]
    write(tmp_path / name)
    (tmp_path / "good.wav").write_bytes((DIGITS_DIR / "1.wav").read_bytes())
    modality = AudioModality(AudioConfig(on_error="skip"))
    with pytest.warns(DataWarning, match="skipped: .*" + name.replace(".", r"\.")):
        documents = list(modality.read(str(tmp_path)))
    assert [Path(d.name).name for d in documents] == ["good.wav"]
    assert len(modality.skipped) == 1 and name in modality.skipped[0]


def test_unreadable_file_is_a_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.wav"
    path.write_bytes((DIGITS_DIR / "1.wav").read_bytes())

    # chmod 000 does not stop root (CI runs as root): make the read itself fail as it would.
    def denied(file: str, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", file)

    monkeypatch.setattr(soundfile, "read", denied)
    with pytest.raises(DataError, match="locked.wav: not a readable .*Permission denied") as info:
        list(AudioModality().read(str(path)))
    assert "\n" not in str(info.value)


def test_everything_skipped_is_still_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_text("not audio")
    (tmp_path / "b.ogg").write_bytes(b"")
    modality = AudioModality(AudioConfig(on_error="skip"))
    with pytest.warns(DataWarning), pytest.raises(DataError, match=r"no usable audio \(2 file"):
        list(modality.read(str(tmp_path)))


def test_missing_path_and_directory_without_audio(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.wav: no such file or directory$"):
        list(AudioModality().read(str(tmp_path / "nope.wav")))
    (tmp_path / "notes.txt").write_text("no audio here\n")
    with pytest.raises(DataError, match="holds no .wav/.flac/.ogg file"):
        list(AudioModality().read(str(tmp_path)))
