"""Next-token language modelling on user files (task ``lm``): data options (``config``), the
token cache (``corpus``) and the Lightning data module (``datamodule``, imports lightning)."""

from __future__ import annotations

from longseq.tasks.lm.config import LMDataConfig

__all__ = ["LMDataConfig"]
