"""Synthetic languages of docs/h3.md §5: associative recall, induction head, Zoology MQAR.

The generators and config import without lightning; the data module lives in
``longseq.tasks.synthetic.datamodule`` (imports lightning).
"""

from __future__ import annotations

from longseq.tasks.synthetic.config import LANGUAGES, SyntheticDataConfig
from longseq.tasks.synthetic.languages import SyntheticData, make_splits, vocab_size_for

__all__ = ["LANGUAGES", "SyntheticData", "SyntheticDataConfig", "make_splits", "vocab_size_for"]
