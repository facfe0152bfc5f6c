"""Sequence classification on labelled user files (task ``classification``): data options
(``config``), examples and data module (``data``), the head and Lightning module (``module``)."""

from __future__ import annotations

from longseq.tasks.classification.config import ClassificationDataConfig

__all__ = ["ClassificationDataConfig"]
