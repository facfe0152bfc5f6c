import pytest
import torch

from longseq.tasks.sampling import EpochShuffleSampler


def test_order_depends_on_seed_and_epoch_only() -> None:
    sampler = EpochShuffleSampler(50, seed=3)
    epoch0 = list(sampler)
    assert sorted(epoch0) == list(range(50)) and epoch0 != list(range(50))
    assert list(sampler) == epoch0  # iterating again does not advance anything
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch1 != epoch0 and sorted(epoch1) == list(range(50))
    # a fresh sampler (a resumed process) set to epoch 1 replays epoch 1, not epoch 0
    fresh = EpochShuffleSampler(50, seed=3)
    fresh.set_epoch(1)
    assert list(fresh) == epoch1
    assert list(EpochShuffleSampler(50, seed=4)) != epoch0
    assert epoch0 == torch.randperm(50, generator=torch.Generator().manual_seed(3)).tolist()
    assert len(sampler) == 50 and list(EpochShuffleSampler(0, seed=0)) == []


def test_negative_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="size=-1"):
        EpochShuffleSampler(-1, seed=0)


@pytest.mark.parametrize("size", [48, 50])
def test_processes_share_one_permutation_batch_by_batch(size: int) -> None:
    """Under DDP/FSDP each of N processes takes every N-th index of the epoch's permutation, so
    their batches of one step together are one process's batch N times as large."""
    from torch.utils.data import DistributedSampler

    world, batch = 3, 4
    single = EpochShuffleSampler(size, seed=7)
    single.set_epoch(2)
    order = list(single)
    shares = []
    for rank in range(world):
        sampler = EpochShuffleSampler(size, seed=7, num_replicas=world, rank=rank)
        sampler.set_epoch(2)
        shares.append(list(sampler))
        # a DistributedSampler already: Lightning keeps it instead of wrapping it in its own
        assert isinstance(sampler, DistributedSampler) and len(sampler) == -(-size // world)
    padded = order + order[: -size % world]  # as DistributedSampler pads
    for step in range(len(shares[0]) // batch):
        together = sorted(i for share in shares for i in share[step * batch : (step + 1) * batch])
        assert together == sorted(padded[step * batch * world : (step + 1) * batch * world])
    assert sorted(i for share in shares for i in share) == sorted(padded)
