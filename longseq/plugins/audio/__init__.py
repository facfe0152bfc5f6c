"""Audio as a modality: WAV/FLAC/OGG read to mono (soundfile), resampled (soxr), quantised to
256 mu-law or linear classes, cut into fixed-length clips, labelled by folder, written as WAV.

Importing this package registers the ``audio`` modality in :data:`longseq.plugins.MODALITIES`.
The shipped spoken digits (8 kHz) are in :data:`DIGITS_DIR`. No feature needs torchaudio.
"""

from __future__ import annotations

from pathlib import Path

from longseq.plugins.audio.codec import (
    NUM_CLASSES,
    AudioTokenizer,
    linear_decode,
    linear_encode,
    mu_law_decode,
    mu_law_encode,
)
from longseq.plugins.audio.files import DataWarning, ErrorPolicy, read_audio, resample, write_wav
from longseq.plugins.audio.modality import AudioConfig, AudioModality, split_clips

__all__ = [
    "DATA_DIR",
    "DIGITS_DIR",
    "NUM_CLASSES",
    "AudioConfig",
    "AudioModality",
    "AudioTokenizer",
    "DataWarning",
    "ErrorPolicy",
    "linear_decode",
    "linear_encode",
    "mu_law_decode",
    "mu_law_encode",
    "read_audio",
    "resample",
    "split_clips",
    "write_wav",
]

DATA_DIR = Path(__file__).parent / "data"
"""Shipped sample data; sources and licence in ``data/NOTICE``."""

DIGITS_DIR = DATA_DIR / "digits"
"""Spoken digits ``0.wav`` .. ``9.wav``: 8 kHz mono 16-bit speech, one clip per digit."""
