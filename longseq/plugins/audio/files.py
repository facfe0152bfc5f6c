"""Audio files: read WAV/FLAC/OGG (soundfile) to mono at a target rate (soxr); write WAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from longseq.messages import one_line
from longseq.plugins.modality import DataError

# The one error policy of every modality, re-exported where it used to live.
from longseq.plugins.modality_helpers import ON_ERROR_MODES, DataWarning, ErrorPolicy

__all__ = [
    "AUDIO_SUFFIXES",
    "ON_ERROR_MODES",
    "DataWarning",
    "ErrorPolicy",
    "read_audio",
    "resample",
    "write_wav",
]

AUDIO_SUFFIXES: frozenset[str] = frozenset({".wav", ".flac", ".ogg"})
"""File suffixes read from directories."""


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Mono float32 samples [n] at ``rate`` -> float32 samples at ``target_rate`` (soxr, HQ)."""
    if rate == target_rate:
        return samples.astype(np.float32, copy=False)
    import soxr

    out = soxr.resample(samples.astype(np.float32, copy=False), rate, target_rate, quality="HQ")
    return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """A WAV/FLAC/OGG file as mono float32 samples [n] in [-1, 1] at ``sample_rate``.

    Channels are averaged (mono mixdown), then the signal is resampled with soxr.

    Raises:
        DataError: a missing, empty, unreadable or non-audio file, or one with no samples;
            the message is one line and names the file.
    """
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file, not audio")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    # soundfile raises LibsndfileError (a RuntimeError) for formats it cannot parse.
    except (RuntimeError, OSError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: not a readable WAV/FLAC/OGG file: {one_line(exc)}") from None
    if data.shape[0] == 0:
        raise DataError(f"{path}: audio file holds no samples")
    mono = data.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        raise DataError(f"{path}: audio holds NaN or infinite samples")
    return resample(mono, int(rate), sample_rate)


def write_wav(samples: np.ndarray, path: str | Path, sample_rate: int) -> Path:
    """Write mono float samples [n] (clipped to [-1, 1]) as 16-bit PCM WAV; returns ``path``.

    Raises:
        ValueError: samples that are not one-dimensional, or a non-positive sample rate.
    """
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim != 1:
        raise ValueError(f"WAV writer takes mono samples [n], got shape {data.shape}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate={sample_rate} must be positive")
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(
        str(path), np.clip(data, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV"
    )
    return path
