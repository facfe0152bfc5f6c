"""The tasks and modalities that ship with longseq, registered by name in
:data:`longseq.plugins.TASKS` and :data:`longseq.plugins.MODALITIES`.

Imported explicitly by :mod:`longseq.plugins`. Task packages are imported only when a task is
built; each modality package ``longseq.plugins.<name>`` is imported on the first lookup of its
name and registers its class there with ``@MODALITIES.register("<name>")``. Looking names up
and listing them therefore stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from longseq.plugins.registry import MODALITIES, TASKS, TaskData

if TYPE_CHECKING:
    from longseq.configs.schema import TrainConfig

__all__ = ["BUILTIN_MODALITIES", "build_classification", "build_lm", "build_synthetic"]

BUILTIN_MODALITIES = ("text", "genomics", "audio", "code")
"""Modalities whose package ``longseq.plugins.<name>`` registers them on import."""

for _name in BUILTIN_MODALITIES:
    MODALITIES.register_lazy(_name, f"longseq.plugins.{_name}")


@TASKS.register("synthetic")
def build_synthetic(cfg: TrainConfig) -> TaskData:
    """The synthetic recall languages (associative recall, induction head, MQAR) from ``cfg.data``."""
    from longseq.tasks.synthetic.datamodule import SyntheticDataModule

    datamodule = SyntheticDataModule(cfg.data)
    return TaskData(datamodule, datamodule.vocab_size)


@TASKS.register("lm")
def build_lm(cfg: TrainConfig) -> TaskData:
    """Next-token language modelling on the files ``cfg.data.path`` names, read by
    ``cfg.modality``; fits (or loads from the token cache) the modality's tokenizer."""
    from longseq.tasks.lm.datamodule import build_lm_data

    return build_lm_data(cfg)


@TASKS.register("classification")
def build_classification(cfg: TrainConfig) -> TaskData:
    """(sequence, label) examples from labelled documents (``cfg.data``, ``cfg.modality``); the
    model is the language model's body with a mean-pooled linear head."""
    from longseq.tasks.classification.data import build_classification_data

    return build_classification_data(cfg)
