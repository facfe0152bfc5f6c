"""What a task is: the :class:`Task` contract, and the :class:`TaskData` its ``build_data`` returns.

A task owns its objective: the options of its data (``data_config``, the dataclass the
``data/<data_group>.yaml`` group option is checked against), how it turns the run's modality and
those options into a Lightning data module (``build_data``), and the Lightning module that trains
the language model on it (``TaskData.make_module``; ``None`` is next-token training). Training
builds the modality once, from ``modality`` in the config, and hands it to the task: a task never
sees the whole run config.

Tasks are registered by name in :data:`longseq.tasks.registry.TASKS`; other distributions add
theirs under the ``longseq.tasks`` entry-point group, pointing at a :class:`Task`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from lightning import LightningDataModule, LightningModule
    from torch import nn

    from longseq.plugins.modality import Modality, Tokenizer
    from longseq.tasks.optim import OptimConfig

__all__ = ["DataBuilder", "Task", "TaskData"]


class TaskData(NamedTuple):
    """What a task's ``build_data`` returns: the Lightning data module, the vocabulary it needs
    and, for tasks on user files, the tokenizer (saved with the run as ``run_dir/tokenizer/``).

    ``make_module(model, optim)`` builds the Lightning module that trains the language model
    ``model``; ``None`` means next-token training (:class:`longseq.tasks.lm_module.
    SequenceLMTask`). A module with a ``save_head(run_dir)`` method saves its extra weights.

    ``documents`` names each split's documents (``{"train": [{"name", "sha256"}, ...], "val":
    ..., "test": ...}``) when the task splits user files by document; the run saves it as
    ``run_dir/documents.json`` so later evaluations know which files it trained on.
    """

    datamodule: LightningDataModule
    vocab_size: int
    tokenizer: Tokenizer | None = None
    make_module: Callable[[nn.Module, OptimConfig], LightningModule] | None = None
    documents: Mapping[str, Sequence[Mapping[str, str]]] | None = None


class DataBuilder(Protocol):
    """``build_data(modality, data, modality_options=..., tokenizer=...) -> TaskData``.

    ``modality``: the run's modality, built once by training (``None`` for a task that reads no
    files). ``data``: the task's ``data_config`` instance. ``modality_options``: what the
    modality was built from (``{"name": ..., **options}``), e.g. to key a token cache.
    ``tokenizer``: encode with this one (a trained run's, for evaluation) instead of fitting one.
    """

    def __call__(
        self,
        modality: Modality | None,
        data: Any,
        *,
        modality_options: Mapping[str, Any],
        tokenizer: Tokenizer | None = None,
    ) -> TaskData: ...


@dataclass(frozen=True)
class Task:
    """One objective, chosen with ``task.name=<name>``.

    Args:
        name: the registered name.
        data_group: the ``data=`` group option this task reads (``configs/data/<group>.yaml``).
        data_config: the dataclass that option's values are checked against.
        build_data: see :class:`DataBuilder`.
        reads_files: the task reads the user's files through a modality (``modality=`` is then
            required); ``False`` for a task that makes its own sequences (and takes none).
            ``longseq eval`` encodes a file-reading task's held-out split with the run's saved
            tokenizer, and ``--baseline ngram`` counts its token stream.
        scores_next_token: ``longseq eval`` measures the model's next-token loss on the task's
            held-out split; ``False`` for a task whose test metrics in ``metrics.json`` are its
            evaluation (classification), which eval then refuses in one line.
    """

    name: str
    data_group: str
    data_config: type
    build_data: DataBuilder
    reads_files: bool = True
    scores_next_token: bool = True
