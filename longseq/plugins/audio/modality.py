"""The ``audio`` modality: sound files in, 8-bit sample classes as tokens, generated WAV out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from longseq.plugins.audio.codec import QUANTIZATIONS, AudioTokenizer
from longseq.plugins.audio.files import AUDIO_SUFFIXES, ErrorPolicy, read_audio, write_wav
from longseq.plugins.modality import DataError, Document, label_from_path
from longseq.plugins.modality_helpers import ON_ERROR_MODES, check_choices, find_files
from longseq.plugins.registry import MODALITIES

__all__ = ["LABEL_BY", "AudioConfig", "AudioModality", "split_clips"]

LABEL_BY: tuple[str, ...] = ("none", "directory", "stem")
"""Class labels: none, the parent folder's name, or the file name stem (``digits/7.wav`` -> 7)."""


@dataclass
class AudioConfig:
    """Options of the ``audio`` modality (``modality=audio``).

    Attributes:
        sample_rate: every file is resampled to this rate (Hz).
        quantization: ``mulaw`` (8-bit mu-law) or ``linear`` (uniform 8-bit).
        clip_seconds: cut each file into clips of this length; the last (or only) clip is
            padded with silence. ``null`` keeps whole files.
        label_by: class labels for classification: ``none``, ``directory`` (the parent
            folder's name, e.g. ``speech/yes/01.wav`` -> ``yes``) or ``stem``.
        on_error: ``raise`` on the first bad file, or ``skip`` it with a warning.
    """

    sample_rate: int = 8000
    quantization: str = "mulaw"
    clip_seconds: float | None = None
    label_by: str = "none"
    on_error: str = "raise"

    def validate(self) -> None:
        """Raise ValueError naming the ``modality.<key>`` at fault."""
        if self.sample_rate <= 0:
            raise ValueError(f"modality.sample_rate={self.sample_rate} must be positive")
        if self.clip_seconds is not None and self.clip_seconds * self.sample_rate < 1:
            raise ValueError(
                f"modality.clip_seconds={self.clip_seconds} must hold at least one sample"
            )
        check_choices(
            self, {"quantization": QUANTIZATIONS, "label_by": LABEL_BY, "on_error": ON_ERROR_MODES}
        )


def split_clips(samples: np.ndarray, clip_length: int) -> list[np.ndarray]:
    """Consecutive clips of ``clip_length`` samples; the last one is zero-padded (silence)."""
    if clip_length < 1:
        raise ValueError(f"clip_length={clip_length} must be >= 1")
    count = max(1, -(-samples.shape[0] // clip_length))
    padded = np.zeros(count * clip_length, dtype=np.float32)
    padded[: samples.shape[0]] = samples
    return list(padded.reshape(count, clip_length))


@MODALITIES.register("audio")
class AudioModality:
    """Audio: WAV/FLAC/OGG -> mono at ``sample_rate`` -> 8-bit classes -> WAV.

    Document content is float32 samples [n] in [-1, 1]; names are the file path, with
    ``#<clip index>`` appended when ``clip_seconds`` cuts it.
    """

    name: ClassVar[str] = "audio"
    config_class: ClassVar[type] = AudioConfig
    unit: ClassVar[str] = "sample"
    output_suffix: ClassVar[str] = ".wav"

    def __init__(self, config: AudioConfig | None = None) -> None:
        self.config = config if config is not None else AudioConfig()
        self.config.validate()
        self._policy = ErrorPolicy(self.config.on_error)

    @property
    def skipped(self) -> list[str]:
        """Messages of the files skipped so far (``on_error=skip``)."""
        return self._policy.skipped

    def read(self, path: str) -> Iterator[Document]:
        """Audio documents from a file, a directory (recursive) or a glob.

        Raises:
            DataError: a missing path, a bad file (unless ``on_error=skip``), or no usable
                file at all.
        """
        before = len(self.skipped)
        count = 0
        rate = self.config.sample_rate
        clip = None if self.config.clip_seconds is None else round(self.config.clip_seconds * rate)
        for file in find_files(path, AUDIO_SUFFIXES, what=".wav/.flac/.ogg", gzip=False):
            try:
                samples = read_audio(file, rate)
            except DataError as exc:
                self._policy.handle(exc)
                continue
            label = label_from_path(file, self.config.label_by)
            if clip is None:
                count += 1
                yield Document(name=str(file), content=samples, label=label)
                continue
            for i, piece in enumerate(split_clips(samples, clip)):
                count += 1
                yield Document(name=f"{file}#{i}", content=piece, label=label)
        if count == 0:
            skipped = len(self.skipped) - before
            raise DataError(f"{path}: no usable audio ({skipped} file(s) skipped)")

    def fit_tokenizer(self, documents: Iterable[Document]) -> AudioTokenizer:
        """The fixed 8-bit quantiser (nothing to learn; ``documents`` are not read)."""
        return AudioTokenizer(self.config.quantization)

    def load_tokenizer(self, directory: Path) -> AudioTokenizer:
        """The tokenizer saved in ``directory``."""
        return AudioTokenizer.load(directory)

    def parse_prompt(self, text: str) -> np.ndarray:
        """Audio prompts are sound files: a ``--prompt`` string is refused.

        Raises:
            DataError: always, saying to give a WAV file.
        """
        raise DataError("an audio run takes its prompt as a WAV file: use --prompt-file PATH")

    def read_prompt(self, path: Path) -> np.ndarray:
        """The samples of the sound file ``path`` (its first clip with ``clip_seconds``)."""
        return next(iter(self.read(str(path)))).content

    def write(self, content: np.ndarray, path: Path) -> Path:
        """Write generated float samples [n] as 16-bit WAV at ``sample_rate``."""
        return write_wav(content, path, self.config.sample_rate)
