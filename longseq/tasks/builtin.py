"""The tasks that ship with longseq: ``synthetic``, ``lm`` and ``classification``.

Each one's data builder imports its (Lightning) modules only when it is called, so listing or
looking tasks up stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from longseq.tasks.classification.config import ClassificationDataConfig
from longseq.tasks.contract import Task, TaskData
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.synthetic.config import SyntheticDataConfig

if TYPE_CHECKING:
    from longseq.plugins.modality import Modality, Tokenizer

__all__ = ["BUILTIN_TASKS", "CLASSIFICATION", "LM", "SYNTHETIC"]


def _synthetic_data(
    modality: Modality | None,
    data: SyntheticDataConfig,
    *,
    modality_options: Mapping[str, Any],
    tokenizer: Tokenizer | None = None,
) -> TaskData:
    """The synthetic recall languages (associative recall, induction head, MQAR) from ``data``."""
    from longseq.tasks.synthetic.datamodule import SyntheticDataModule

    datamodule = SyntheticDataModule(data)
    return TaskData(datamodule, datamodule.vocab_size)


def _lm_data(
    modality: Modality | None,
    data: LMDataConfig,
    *,
    modality_options: Mapping[str, Any],
    tokenizer: Tokenizer | None = None,
) -> TaskData:
    """Next-token language modelling on the files ``data.path`` names, read by ``modality``."""
    from longseq.tasks.lm.datamodule import build_lm_data

    return build_lm_data(modality, data, modality_options=modality_options, tokenizer=tokenizer)


def _classification_data(
    modality: Modality | None,
    data: ClassificationDataConfig,
    *,
    modality_options: Mapping[str, Any],
    tokenizer: Tokenizer | None = None,
) -> TaskData:
    """(sequence, label) examples from labelled documents; the model is the language model's
    body with a mean-pooled linear head."""
    from longseq.tasks.classification.data import build_classification_data

    return build_classification_data(
        modality, data, modality_options=modality_options, tokenizer=tokenizer
    )


SYNTHETIC = Task("synthetic", "synthetic", SyntheticDataConfig, _synthetic_data, reads_files=False)
LM = Task("lm", "lm", LMDataConfig, _lm_data)
CLASSIFICATION = Task(
    "classification",
    "classification",
    ClassificationDataConfig,
    _classification_data,
    scores_next_token=False,
)

BUILTIN_TASKS: tuple[Task, ...] = (SYNTHETIC, LM, CLASSIFICATION)
"""The built-in tasks, in the order ``configs/`` offers their data groups."""
