"""Random-access training data for the ``lm`` task (``data.sampling=random_windows``): windows
sampled across the contigs of data too large to concatenate, with held-out regions.

Nothing is read whole: the modality's :class:`~longseq.plugins.modality.RandomAccessModality`
capability gives the contig lengths (from an index) and windows fetched one at a time. Every
contig is cut into ``[train | val | test]`` by position (the last ``data.test_fraction`` of it is
test, the ``data.val_fraction`` before that validation), unless ``data.val_path`` /
``data.test_path`` name a held-out file, which is then that split's data whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from longseq.plugins.modality import (
    DataError,
    Modality,
    RandomAccessModality,
    Tokenizer,
    TokenWindows,
)
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.lm.corpus import SPLITS, resolve_path

__all__ = [
    "EPOCH_SPAN",
    "Region",
    "WindowSplits",
    "prepare_windows",
    "random_access",
    "split_regions",
]

Region = tuple[str, int, int]
"""``(contig, start, end)``: positions ``[start, end)`` of a contig, 0-based."""

EPOCH_SPAN = 1 << 32
"""Epochs of fresh training windows before the draws repeat (the training windows' index space
is ``windows_per_epoch * EPOCH_SPAN``; epoch ``e`` reads indices ``[e * W, (e + 1) * W)``)."""


@dataclass
class WindowSplits:
    """The random-access windows of each split and the regions they are drawn from.

    Attributes:
        windows: ``"train"``, ``"val"``, ``"test"`` -> windows of ``seq_len + 1`` ids. The
            training windows span ``windows_per_epoch * EPOCH_SPAN`` indices (fresh draws each
            epoch); validation and test hold ``eval_windows`` each.
        regions: the same keys -> ``(path, regions)``: the file and its ranges each split reads.
    """

    windows: dict[str, TokenWindows]
    regions: dict[str, tuple[str, list[Region]]]

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer of the windows (the training windows')."""
        return self.windows["train"].tokenizer


def random_access(modality: Modality) -> RandomAccessModality:
    """``modality`` as a random-access one.

    Raises:
        ValueError: it has no ``windows``/``contig_lengths`` capability (one line naming
            ``data.sampling`` and the modality).
    """
    if isinstance(modality, RandomAccessModality):
        return modality
    # A ValueError (reported as a config error), as the fix is a data.sampling setting.
    name = getattr(modality, "name", type(modality).__name__)
    raise ValueError(
        f"data.sampling=random_windows needs random access, which modality {name!r} does "
        "not offer (no windows()/contig_lengths()); use data.sampling=sequential"
    )


def split_regions(
    contigs: Mapping[str, int], val_fraction: float, test_fraction: float
) -> dict[str, list[Region]]:
    """Each contig cut by position into train, val and test regions: the last
    ``round(test_fraction * n)`` positions are test, the ``round(val_fraction * n)`` before them
    validation, the rest training. A split whose fraction is 0 gets no region; empty ranges are
    left out."""
    regions: dict[str, list[Region]] = {name: [] for name in SPLITS}
    for contig, n in contigs.items():
        test_start = n - round(test_fraction * n)
        val_start = test_start - round(val_fraction * n)
        for split, begin, end in (
            ("train", 0, val_start),
            ("val", val_start, test_start),
            ("test", test_start, n),
        ):
            if end > begin:
                regions[split].append((contig, begin, end))
    return regions


def _longest(regions: list[Region]) -> int:
    return max((end - begin for _, begin, end in regions), default=0)


def prepare_windows(modality: Modality, cfg: LMDataConfig) -> WindowSplits:
    """Train/val/test windows of ``cfg.seq_len + 1`` ids for ``cfg.sampling=random_windows``.

    Raises:
        ValueError: the modality has no random access (see :func:`random_access`).
        DataError: a file cannot be opened for random access, or a split's regions are all
            shorter than a window (one line naming the path and the option to change).
    """
    source = random_access(modality)
    length = cfg.seq_len + 1
    path = resolve_path(cfg.path)
    held_out = {"val": cfg.val_path, "test": cfg.test_path}
    fractions = {
        "val": 0.0 if cfg.val_path else cfg.val_fraction,
        "test": 0.0 if cfg.test_path else cfg.test_fraction,
    }
    cut = split_regions(source.contig_lengths(path), fractions["val"], fractions["test"])
    plan: dict[str, tuple[str, list[Region]]] = {"train": (path, cut["train"])}
    for split, other in held_out.items():
        if other:
            other_path = resolve_path(other)
            whole = [(c, 0, n) for c, n in source.contig_lengths(other_path).items()]
            plan[split] = (other_path, whole)
        else:
            plan[split] = (path, cut[split])
    for split, (where, regions) in plan.items():
        if _longest(regions) < length:
            if split == "train":
                fix = "lower data.val_fraction / data.test_fraction or data.seq_len"
            elif held_out[split]:
                fix = f"lower data.seq_len or give a longer data.{split}_path"
            else:
                fix = f"raise data.{split}_fraction, lower data.seq_len or give data.{split}_path"
            raise DataError(
                f"{where}: no {split} region holds a window of {length} tokens "
                f"(data.seq_len={cfg.seq_len} + 1; longest is {_longest(regions)}); {fix}"
            )
    counts = {
        "train": cfg.windows_per_epoch * EPOCH_SPAN,
        "val": cfg.eval_windows,
        "test": cfg.eval_windows,
    }
    windows = {
        split: source.windows(where, length, counts[split], seed=cfg.seed, regions=regions)
        for split, (where, regions) in plan.items()
    }
    return WindowSplits(windows, plan)
