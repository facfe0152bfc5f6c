"""Audio modality: mu-law and linear quantisation, reading the shipped clips, resampling, mono
mixdown, clips and labels, the WAV writer round trip, registry and config options."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

from longseq.plugins.audio import (
    DIGITS_DIR,
    AudioConfig,
    AudioModality,
    AudioTokenizer,
    linear_decode,
    linear_encode,
    mu_law_decode,
    mu_law_encode,
    read_audio,
    split_clips,
    write_wav,
)
from longseq.plugins.modality import DataError, Modality, Tokenizer
from longseq.plugins.registry import MODALITIES, build_modality

MU = 255


def _mu_law_bound(x: np.ndarray) -> np.ndarray:
    # Half a class in the companded domain (1/mu) times the steepest slope of the expander.
    return np.log1p(MU) / MU**2 * (1 + MU) ** (1 / MU) * (1 + MU * np.abs(x)) + 1e-6


def test_mu_law_round_trip_error_is_bounded() -> None:
    x = np.linspace(-1.0, 1.0, 200_001)
    ids = mu_law_encode(x)
    assert ids.dtype == np.int64 and ids.min() == 0 and ids.max() == 255
    error = np.abs(mu_law_decode(ids) - x)
    assert np.all(error <= _mu_law_bound(x))
    assert error[np.abs(x) < 0.01].max() < 5e-4
    assert error.max() < 0.025


def test_mu_law_is_symmetric_monotone_and_exact_on_its_centres() -> None:
    centres = mu_law_decode(np.arange(256))
    assert np.all(np.diff(centres) > 0)
    assert np.array_equal(mu_law_encode(centres), np.arange(256))
    assert mu_law_decode([0])[0] == -1.0 and mu_law_decode([255])[0] == 1.0
    assert np.allclose(centres, -centres[::-1], atol=1e-7)


def test_linear_quantisation_is_exact_on_the_grid_and_clips() -> None:
    grid = linear_decode(np.arange(256))
    assert np.array_equal(linear_encode(grid), np.arange(256))
    assert np.array_equal(linear_decode(linear_encode(grid)), grid)
    assert np.allclose(np.diff(grid), 2 / 255)
    assert linear_encode([-3.0, 3.0]).tolist() == [0, 255]
    x = np.linspace(-1, 1, 10_001)
    assert np.abs(linear_decode(linear_encode(x)) - x).max() <= 1 / 255 + 1e-6


def _mu_law_encode_one(x: float) -> int:
    """G.711 mu-law companding, mu = 255, quantised to 256 classes as torchaudio's
    ``mu_law_encoding`` does (its formula, one sample at a time, in plain Python):
    F(x) = sgn(x) ln(1 + mu |x|) / ln(1 + mu), class = floor((F(x) + 1) / 2 * mu + 0.5)."""
    f = math.copysign(math.log(1 + MU * abs(x)) / math.log(1 + MU), x)
    return math.floor((f + 1) / 2 * MU + 0.5)


def _mu_law_decode_one(q: int) -> float:
    """torchaudio's ``mu_law_decoding``: y = 2 q / mu - 1, x = sgn(y) ((1 + mu)^|y| - 1) / mu."""
    y = 2 * q / MU - 1
    return math.copysign(((1 + MU) ** abs(y) - 1) / MU, y)


def test_mu_law_equals_the_formula_written_out() -> None:
    """Encoding and decoding equal the mu-law formula (as torchaudio implements it, which is not
    installable beside the pinned torch) sample by sample, and hand-worked values: x = 0 is class
    128 ((0 + 1)/2 * 255 + 0.5 = 128), F(x) = 1/2 at x = (256^(1/2) - 1)/255 = 15/255, class
    floor(191.75) = 191. Catches: another companding constant (mu = 200 in both directions is
    self-consistent, symmetric and monotone), another decoding grid (class centres at
    (q + 1/2)/128 - 1) or rounding (floor without the half)."""
    x = np.linspace(-1.0, 1.0, 4001)
    assert mu_law_encode(x).tolist() == [_mu_law_encode_one(v) for v in x]
    expected = np.array([_mu_law_decode_one(q) for q in range(256)])
    np.testing.assert_allclose(mu_law_decode(np.arange(256)), expected, rtol=1e-6, atol=1e-7)
    assert mu_law_encode([0.0, 15 / 255, -15 / 255, 1.0, -1.0]).tolist() == [128, 191, 64, 255, 0]


@pytest.mark.parametrize("quantization", ["mulaw", "linear"])
def test_tokenizer_follows_the_protocol_and_drops_specials(
    tmp_path: Path, quantization: str
) -> None:
    tokenizer = AudioTokenizer(quantization)
    assert isinstance(tokenizer, Tokenizer)
    assert tokenizer.vocab_size == 258 and tokenizer.eos_id == 256 and tokenizer.pad_id == 257
    x = np.array([-1.0, -0.5, 0.0, 0.25, 1.0], dtype=np.float32)
    ids = tokenizer.encode(x)
    decoded = tokenizer.decode([*ids, tokenizer.eos_id, tokenizer.pad_id])
    assert decoded.dtype == np.float32 and decoded.shape == x.shape
    assert np.abs(decoded - x).max() < 0.025
    tokenizer.save(tmp_path)
    assert AudioModality().load_tokenizer(tmp_path).quantization == quantization


def test_tokenizer_rejects_nan_and_stereo() -> None:
    with pytest.raises(DataError, match="NaN"):
        AudioTokenizer().encode(np.array([0.0, np.nan]))
    with pytest.raises(DataError, match="mono"):
        AudioTokenizer().encode(np.zeros((4, 2)))


def test_shipped_digits_read_at_8khz() -> None:
    files = sorted(DIGITS_DIR.glob("*.wav"))
    assert [f.stem for f in files] == [str(i) for i in range(10)]
    assert sum(f.stat().st_size for f in files) <= 500_000
    samples = read_audio(files[3], 8000)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert 4000 < samples.size < 8000 and 0.05 < np.abs(samples).max() <= 1.0


def test_resampling_changes_length_by_the_rate_ratio() -> None:
    at_8k = read_audio(DIGITS_DIR / "7.wav", 8000)
    at_16k = read_audio(DIGITS_DIR / "7.wav", 16000)
    assert abs(at_16k.size - 2 * at_8k.size) <= 2


def test_stereo_flac_and_ogg_mix_down_to_mono(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * np.ones_like(t)
    stereo = np.stack([left, right], axis=1)
    for name in ("tone.flac", "tone.ogg"):
        soundfile.write(str(tmp_path / name), stereo, 16000)
        mono = read_audio(tmp_path / name, 8000)
        assert mono.ndim == 1 and abs(mono.size - 8000) <= 2
    flac = read_audio(tmp_path / "tone.flac", 16000)
    assert np.allclose(flac, (left + right) / 2, atol=1e-3)


def test_wav_writer_round_trips_through_the_reader(tmp_path: Path) -> None:
    x = np.sin(np.linspace(0, 200, 8000)).astype(np.float32) * 0.8
    path = write_wav(x, tmp_path / "out" / "gen.wav", 8000)
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    assert np.abs(read_audio(path, 8000) - x).max() < 1e-4


def test_generated_ids_written_as_wav_read_back_to_the_same_ids(tmp_path: Path) -> None:
    modality = AudioModality()
    tokenizer = modality.fit_tokenizer([])
    ids = tokenizer.encode(read_audio(DIGITS_DIR / "5.wav", 8000))
    path = modality.write(tokenizer.decode(ids), tmp_path / "five.wav")
    again = tokenizer.encode(read_audio(path, 8000))
    assert np.mean(again == ids) > 0.95 and np.abs(again - ids).max() <= 1


def test_clips_and_labels_from_file_names_and_folders(tmp_path: Path) -> None:
    modality = AudioModality(AudioConfig(clip_seconds=0.5, label_by="stem"))
    documents = list(modality.read(str(DIGITS_DIR)))
    assert all(d.content.shape == (4000,) for d in documents)
    assert {d.label for d in documents} == {str(i) for i in range(10)}
    assert documents[0].name.endswith("0.wav#0") and documents[1].name.endswith("0.wav#1")
    for label in ("yes", "no"):
        (tmp_path / label).mkdir()
        write_wav(np.zeros(100, dtype=np.float32), tmp_path / label / "a.wav", 8000)
    by_folder = AudioModality(AudioConfig(label_by="directory"))
    assert [d.label for d in by_folder.read(str(tmp_path))] == ["no", "yes"]


def test_split_clips_pads_the_last_clip_with_silence() -> None:
    clips = split_clips(np.ones(10, dtype=np.float32), 4)
    assert [c.tolist() for c in clips] == [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]]
    assert len(split_clips(np.ones(3, dtype=np.float32), 8)) == 1


def test_modality_is_registered_and_options_are_checked() -> None:
    assert MODALITIES.get("audio") is AudioModality
    modality = build_modality({"name": "audio", "sample_rate": 16000, "quantization": "linear"})
    assert isinstance(modality, Modality)
    with pytest.raises(ValueError, match=r"modality\.quantization='alaw'"):
        build_modality({"name": "audio", "quantization": "alaw"})
    with pytest.raises(ValueError, match=r"modality\.sample_rate=0"):
        AudioModality(AudioConfig(sample_rate=0))
