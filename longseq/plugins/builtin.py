"""The tasks that ship with longseq, registered by name in :data:`longseq.plugins.TASKS`.

Imported explicitly by :mod:`longseq.plugins`; the task packages themselves are imported only
when a task is built, so looking names up stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from longseq.plugins.registry import TASKS, TaskData

if TYPE_CHECKING:
    from longseq.configs.schema import TrainConfig

__all__ = ["build_synthetic"]


@TASKS.register("synthetic")
def build_synthetic(cfg: TrainConfig) -> TaskData:
    """The synthetic recall languages (associative recall, induction head, MQAR) from ``cfg.data``."""
    from longseq.tasks.synthetic.datamodule import SyntheticDataModule

    datamodule = SyntheticDataModule(cfg.data)
    return TaskData(datamodule, datamodule.vocab_size)
