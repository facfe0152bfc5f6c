"""Settings of the classification task's data (``data=classification``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClassificationDataConfig"]


@dataclass
class ClassificationDataConfig:
    """Labelled documents cut into (sequence, label) examples.

    Documents come from ``path`` (a file, a directory, a glob or ``pkg://<package>/<file>``)
    with labels the modality sets (e.g. ``modality.label_by=directory``). They are split into
    train/val/test by document, as for ``lm`` (``val_fraction``/``test_fraction`` or held-out
    ``val_path``/``test_path``, shuffled by ``seed``), so no window of a test document is
    trained on. Each document gives consecutive windows of ``seq_len`` tokens (the last one may
    be shorter), at most ``max_windows_per_document`` of them (0: all), each labelled with its
    document's label.
    """

    path: str = ""
    val_path: str | None = None
    test_path: str | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    seq_len: int = 256
    batch_size: int = 16
    max_windows_per_document: int = 0
    seed: int = 0
    num_workers: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the ``data.<key>`` at fault."""
        if not self.path:
            raise ValueError("data.path is not set: give a file, a directory or a glob")
        for key in ("val_fraction", "test_fraction"):
            value = getattr(self, key)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"data.{key}={value} must be in [0, 1)")
        if self.val_path is None and self.val_fraction == 0.0:
            raise ValueError("data.val_fraction=0.0 needs data.val_path (held-out files)")
        if self.test_path is None and self.test_fraction == 0.0:
            raise ValueError("data.test_fraction=0.0 needs data.test_path (held-out files)")
        for key in ("seq_len", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"data.{key}={getattr(self, key)} must be at least 1")
        if self.max_windows_per_document < 0:
            raise ValueError(
                f"data.max_windows_per_document={self.max_windows_per_document} must be >= 0"
            )
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers={self.num_workers} must be >= 0")
