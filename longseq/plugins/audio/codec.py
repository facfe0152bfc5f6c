"""8-bit audio quantisation (mu-law or linear, 256 classes) and the tokenizer built on it.

Mu-law (ITU-T G.711 companding, as in WaveNet), for x in [-1, 1] and mu = 255::

    F(x) = sign(x) * ln(1 + mu |x|) / ln(1 + mu)              compress to [-1, 1]
    q    = floor((F(x) + 1) / 2 * mu + 0.5)                     class in 0..255
    y    = 2 q / mu - 1,   x' = sign(y) * ((1 + mu)^|y| - 1) / mu   decode

so the step is fine near silence and coarse for loud samples; the decode error is at most
about ``ln(1 + mu) / mu**2 * (1 + mu |x|)``. Linear quantisation maps x to
``round((x + 1) / 2 * 255)``, a uniform grid of step 2/255, and is exact on that grid.
These are the formulas of ``torchaudio.functional.mu_law_encoding``/``mu_law_decoding``,
written here in numpy so torchaudio is not needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from longseq.plugins.modality import DataError

__all__ = [
    "NUM_CLASSES",
    "QUANTIZATIONS",
    "AudioTokenizer",
    "linear_decode",
    "linear_encode",
    "mu_law_decode",
    "mu_law_encode",
]

NUM_CLASSES = 256
"""Sample classes (8 bits)."""

QUANTIZATIONS: tuple[str, ...] = ("mulaw", "linear")
"""Quantisation schemes of :class:`AudioTokenizer`."""

_MU = NUM_CLASSES - 1
_TOKENIZER_FILE = "tokenizer.json"
_TYPE = "longseq.audio.quantized"


def _as_samples(x: np.ndarray | Sequence[float]) -> np.ndarray:
    samples = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(samples)):
        raise DataError("audio samples hold NaN or infinity")
    return np.clip(samples, -1.0, 1.0)


def mu_law_encode(x: np.ndarray | Sequence[float]) -> np.ndarray:
    """Float samples [n] in [-1, 1] (clipped) -> int64 mu-law classes [n] in 0..255."""
    samples = _as_samples(x)
    compressed = np.sign(samples) * np.log1p(_MU * np.abs(samples)) / np.log1p(_MU)
    return np.floor((compressed + 1.0) / 2.0 * _MU + 0.5).astype(np.int64)


def mu_law_decode(ids: np.ndarray | Sequence[int]) -> np.ndarray:
    """Mu-law classes [n] in 0..255 -> float32 samples [n] in [-1, 1]."""
    y = np.asarray(ids, dtype=np.float64) / _MU * 2.0 - 1.0
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(_MU)) / _MU).astype(np.float32)


def linear_encode(x: np.ndarray | Sequence[float]) -> np.ndarray:
    """Float samples [n] in [-1, 1] (clipped) -> int64 classes [n] on a uniform 256-step grid."""
    samples = _as_samples(x)
    return np.rint((samples + 1.0) / 2.0 * _MU).astype(np.int64)


def linear_decode(ids: np.ndarray | Sequence[int]) -> np.ndarray:
    """Linear classes [n] in 0..255 -> float32 samples [n]: ``2 q / 255 - 1``."""
    return (np.asarray(ids, dtype=np.float64) / _MU * 2.0 - 1.0).astype(np.float32)


class AudioTokenizer:
    """Float samples in [-1, 1] <-> ids: 256 sample classes, then ``<eos>`` and ``<pad>``.

    Args:
        quantization: ``"mulaw"`` (default) or ``"linear"``.
    """

    def __init__(self, quantization: str = "mulaw") -> None:
        if quantization not in QUANTIZATIONS:
            raise ValueError(
                f"quantization={quantization!r} must be one of {', '.join(QUANTIZATIONS)}"
            )
        self.quantization = quantization

    @property
    def vocab_size(self) -> int:
        """258: the 256 sample classes, ``<eos>`` and ``<pad>``."""
        return NUM_CLASSES + 2

    @property
    def eos_id(self) -> int:
        """Id of ``<eos>`` (256), placed between concatenated clips."""
        return NUM_CLASSES

    @property
    def pad_id(self) -> int:
        """Id of ``<pad>`` (257)."""
        return NUM_CLASSES + 1

    def encode(self, content: np.ndarray | Sequence[float]) -> np.ndarray:
        """Float samples [n] -> int64 ids [n] in 0..255 (out-of-range samples are clipped).

        Raises:
            DataError: the samples are not one-dimensional or hold NaN/infinity.
        """
        samples = np.asarray(content)
        if samples.ndim != 1:
            raise DataError(f"audio must be mono samples [n], got shape {samples.shape}")
        if self.quantization == "mulaw":
            return mu_law_encode(samples)
        return linear_encode(samples)

    def decode(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Ids -> float32 samples; ``<eos>``/``<pad>`` are dropped.

        Raises:
            ValueError: an id outside ``[0, vocab_size)``.
        """
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"token id out of range [0, {self.vocab_size}) in {arr.tolist()[:8]}")
        arr = arr[arr < NUM_CLASSES]
        if self.quantization == "mulaw":
            return mu_law_decode(arr)
        return linear_decode(arr)

    def save(self, directory: Path) -> None:
        """Write ``tokenizer.json`` (type, quantization, classes) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        spec = {"type": _TYPE, "quantization": self.quantization, "classes": NUM_CLASSES}
        (directory / _TOKENIZER_FILE).write_text(json.dumps(spec, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> AudioTokenizer:
        """The tokenizer saved by :meth:`save` in ``directory``.

        Raises:
            DataError: the file is missing or is not an audio tokenizer.
        """
        path = Path(directory) / _TOKENIZER_FILE
        try:
            spec = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: cannot read tokenizer: {exc}") from None
        if not isinstance(spec, dict) or spec.get("type") != _TYPE:
            raise DataError(f"{path}: not an audio tokenizer (type {_TYPE!r} expected)")
        if spec.get("classes") != NUM_CLASSES:
            raise DataError(f"{path}: {spec.get('classes')} classes, {NUM_CLASSES} supported")
        return cls(quantization=str(spec.get("quantization")))
