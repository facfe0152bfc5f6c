"""Samplers whose order is a function of (seed, epoch) alone, so a resumed run sees the batches
an uninterrupted one would have seen.

A ``DataLoader(shuffle=True, generator=g)`` advances ``g`` from epoch to epoch inside one
process; after a restart the generator starts over and epoch k replays epoch 0's order.
Lightning calls ``set_epoch`` on a loader's sampler before every training epoch (as it does for
``DistributedSampler``), which is all :class:`EpochShuffleSampler` needs.

Under DDP or FSDP each process takes every ``world_size``-th index of the same permutation, so
the processes' batches of one step together are the batch one process would draw with a batch
``world_size`` times larger: the same training as one process with the same global batch.
Being a ``DistributedSampler``, the sampler is kept as it is by Lightning (which would otherwise
wrap it in a sampler of its own that shuffles again).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import torch
from torch.utils.data import DistributedSampler

__all__ = ["EpochShuffleSampler"]


def _process_group() -> tuple[int, int]:
    """(world size, rank) of the initialized default process group; (1, 0) without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class EpochShuffleSampler(DistributedSampler):
    """A permutation of ``range(size)`` drawn from ``torch.Generator().manual_seed(seed + epoch)``;
    with several processes, this process's share of it: positions ``rank, rank + world_size,
    ...`` (the permutation padded by its first indices to a multiple of ``world_size``, as
    ``DistributedSampler`` pads).

    Args:
        size: number of examples (the dataset's length).
        seed: base seed; epoch ``e`` uses ``seed + e``.
        num_replicas, rank: the processes sharing the data and this one's rank; by default the
            initialized process group's (1 and 0 without one).
    """

    def __init__(
        self, size: int, seed: int, num_replicas: int | None = None, rank: int | None = None
    ) -> None:
        if size < 0:
            raise ValueError(f"size={size} must be >= 0")
        world, me = _process_group()
        super().__init__(
            # DistributedSampler only takes len() of its dataset; a range stands in for it
            cast(Any, range(size)),
            num_replicas=world if num_replicas is None else num_replicas,
            rank=me if rank is None else rank,
            shuffle=False,
            seed=seed,
            drop_last=False,
        )
        self.size = size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Shuffle for ``epoch`` next (Lightning calls this before every training epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.size, generator=generator).tolist()
        if self.num_replicas == 1:
            return iter(order)
        padding = self.total_size - len(order)
        if padding and order:
            order += (order * (padding // len(order) + 1))[:padding]
        return iter(order[self.rank : self.total_size : self.num_replicas])
