"""Synthetic languages (docs/h3.md §5): structure of every example, determinism, deduplication."""

from __future__ import annotations

import collections
from dataclasses import replace

import pytest
import torch

from longseq.tasks import IGNORE_INDEX
from longseq.tasks.synthetic import languages
from longseq.tasks.synthetic.config import SyntheticDataConfig
from longseq.tasks.synthetic.languages import (
    SyntheticData,
    copy_prefix_id,
    language_size,
    make_splits,
    vocab_size_for,
)

AR = SyntheticDataConfig(language="associative_recall", num_train=2000, num_test=200)
IH = SyntheticDataConfig(
    language="induction_head", vocab_size=20, seq_len=30, num_train=2000, num_test=200
)
MQAR = SyntheticDataConfig(
    language="mqar", vocab_size=64, seq_len=32, num_kv_pairs=4, num_train=2000, num_test=200
)


def _rows(x: torch.Tensor) -> list[tuple[int, ...]]:
    return [tuple(r) for r in x.tolist()]


def _full_sequences(data: SyntheticData) -> torch.Tensor:
    """[n, L+1]: the sequence the inputs/targets pair was cut from."""
    return torch.cat([data.inputs, data.targets[:, -1:]], dim=1)


@pytest.mark.parametrize("cfg", [AR, IH, MQAR], ids=lambda c: c.language)
def test_splits_shapes_determinism_and_dedup(cfg: SyntheticDataConfig) -> None:
    train, test = make_splits(cfg)
    extra = {"associative_recall": 2, "induction_head": 1, "mqar": 0}[cfg.language]
    length = cfg.seq_len + extra
    assert len(train) == cfg.num_train and len(test) == cfg.num_test
    for split in (train, test):
        assert split.inputs.shape == split.targets.shape == split.metric_mask.shape
        assert split.inputs.shape[1] == length
        assert split.inputs.dtype == split.targets.dtype == torch.int64
        assert split.metric_mask.dtype == torch.bool
        assert 0 <= int(split.inputs.min()) and int(split.inputs.max()) < vocab_size_for(cfg)
        labelled = split.targets[split.targets != IGNORE_INDEX]
        assert 0 <= int(labelled.min()) and int(labelled.max()) < vocab_size_for(cfg)
        # accuracy is only ever measured where there is a label
        assert (split.targets[split.metric_mask] != IGNORE_INDEX).all()

    again_train, again_test = make_splits(cfg)
    assert torch.equal(train.inputs, again_train.inputs)
    assert torch.equal(test.targets, again_test.targets)
    other_train, _ = make_splits(replace(cfg, seed=cfg.seed + 1))
    assert not torch.equal(train.inputs, other_train.inputs)

    train_rows, test_rows = _rows(train.inputs), _rows(test.inputs)
    assert len(set(train_rows)) == len(train_rows)
    assert len(set(test_rows)) == len(test_rows)
    assert not set(train_rows) & set(test_rows)


def test_associative_recall_structure() -> None:
    train, _ = make_splits(AR)
    v, n_pairs = AR.vocab_size, AR.seq_len // 2
    num_keys = (v - 2) // 2
    seq = _full_sequences(train)
    assert seq.shape[1] == AR.seq_len + 3
    # whole-sequence next-token labels, metric on the final token only
    assert torch.equal(train.targets[:, :-1], train.inputs[:, 1:])
    assert (train.targets != IGNORE_INDEX).all()
    assert train.metric_mask[:, -1].all() and not train.metric_mask[:, :-1].any()
    keys, values = seq[:, 0 : 2 * n_pairs : 2], seq[:, 1 : 2 * n_pairs : 2]
    assert (keys < num_keys).all()
    assert ((values >= num_keys) & (values < v - 2)).all()
    assert (seq[:, -3] == copy_prefix_id(v)).all()
    for row_keys, row_values, query, answer in zip(
        keys.tolist(), values.tolist(), seq[:, -2].tolist(), seq[:, -1].tolist(), strict=True
    ):
        pairs = set(zip(row_keys, row_values, strict=True))
        # one value per key within an example
        assert len({k for k, _ in pairs}) == len(pairs)
        assert query in row_keys
        assert (query, answer) in pairs


def test_associative_recall_query_is_uniform_over_present_keys() -> None:
    # The reference rule (safari generate_assoc_recall, allow_dot=False): a uniform key, redrawn
    # uniformly among the present keys when absent, i.e. each of the d present keys has
    # probability 1/d whatever its count. Picking a pair position instead would weight keys by
    # count.
    sample = languages.associative_recall(40_000, 10, 20, torch.Generator().manual_seed(0))
    seq = _full_sequences(sample)
    keys, query = seq[:, 0:20:2], seq[:, -2]
    counts = torch.stack([(keys == k).sum(1) for k in range(4)], 1)
    distinct = (counts > 0).sum(1).double()
    singletons = (counts == 1).sum(1).double()
    once = ((keys == query[:, None]).sum(1) == 1).double().mean().item()
    expected = (singletons / distinct).mean().item()  # ≈ 0.19 at this setting
    by_count = (singletons / 10).mean().item()  # ≈ 0.075 under the pair-position rule
    assert abs(once - expected) < 0.01
    assert abs(once - by_count) > 0.05


def test_induction_head_structure() -> None:
    train, _ = make_splits(IH)
    copy = copy_prefix_id(IH.vocab_size)
    seq = _full_sequences(train)
    assert seq.shape[1] == IH.seq_len + 2
    assert torch.equal(train.targets[:, :-1], train.inputs[:, 1:])
    assert train.metric_mask[:, -1].all() and not train.metric_mask[:, :-1].any()
    is_copy = seq == copy
    assert (is_copy.sum(dim=1) == 2).all()
    assert is_copy[:, IH.seq_len].all()
    assert (seq[~is_copy] < IH.vocab_size - 2).all()
    first = is_copy.int().argmax(dim=1)
    assert (first < IH.seq_len - 2).all()
    assert torch.equal(seq[:, -1], seq.gather(1, (first + 1)[:, None]).squeeze(1))
    # the copy prefix lands everywhere in [0, seq_len - 2)
    assert set(first.tolist()) == set(range(IH.seq_len - 2))


def _check_mqar(data: SyntheticData, cfg: SyntheticDataConfig) -> None:
    k, v, half = cfg.num_kv_pairs, cfg.vocab_size, cfg.vocab_size // 2
    keys, values = data.inputs[:, 0 : 2 * k : 2], data.inputs[:, 1 : 2 * k : 2]
    assert ((keys >= 1) & (keys < half)).all() and ((values >= half) & (values < v)).all()
    for block in (keys, values):
        ordered = block.sort(dim=1).values
        assert (ordered[:, 1:] != ordered[:, :-1]).all()
    assert torch.equal(data.metric_mask, data.targets != IGNORE_INDEX)
    assert (data.metric_mask.sum(dim=1) == k).all()
    assert not data.metric_mask[:, : 2 * k].any()
    for row in range(len(data)):
        positions = data.metric_mask[row].nonzero().squeeze(1)
        assert ((positions - 2 * k) % 2 == 0).all()
        lookup = dict(zip(keys[row].tolist(), values[row].tolist(), strict=True))
        queried = data.inputs[row, positions].tolist()
        assert sorted(queried) == sorted(lookup)
        assert data.targets[row, positions].tolist() == [lookup[q] for q in queried]


def test_mqar_structure_and_power_law() -> None:
    train, _ = make_splits(MQAR)
    _check_mqar(train, MQAR)
    k = MQAR.num_kv_pairs
    rest = train.inputs[:, 2 * k :]
    assert (rest[~train.metric_mask[:, 2 * k :]] == 0).all()
    gaps = (train.metric_mask[:, 2 * k :].nonzero()[:, 1] // 2).tolist()
    counts = collections.Counter(gaps)
    num_gaps = (MQAR.seq_len - 2 * k) // 2
    assert set(counts) == set(range(num_gaps))
    # p(g) ∝ (g+1)^(a-1): short gaps are far more common than long ones
    assert counts[0] > 2 * counts[num_gaps - 1]
    assert sum(counts[g] for g in range(num_gaps // 2)) > sum(
        counts[g] for g in range(num_gaps // 2, num_gaps)
    )


def test_mqar_random_non_queries() -> None:
    cfg = replace(MQAR, random_non_queries=True, num_train=500, num_test=50)
    train, _ = make_splits(cfg)
    _check_mqar(train, cfg)
    fill = train.inputs[:, 2 * cfg.num_kv_pairs :][~train.metric_mask[:, 2 * cfg.num_kv_pairs :]]
    assert len(set(fill.tolist())) > cfg.vocab_size // 2


@pytest.mark.parametrize(
    ("cfg", "size"),
    [
        # 2 keys, 2 values, 2 pairs: one key used (2·1·2·1) + both keys (2 layouts·4 values·2)
        (SyntheticDataConfig(language="associative_recall", vocab_size=6, seq_len=4), 20),
        # p ∈ {0, 1}, 3 free binary tokens
        (SyntheticDataConfig(language="induction_head", vocab_size=4, seq_len=4), 16),
        # keys {1, 2}, values {3, 4, 5}, gaps {0, 1}
        (
            SyntheticDataConfig(language="mqar", vocab_size=6, seq_len=6, num_kv_pairs=1),
            12,
        ),
    ],
    ids=["associative_recall", "induction_head", "mqar"],
)
def test_language_size_matches_enumeration(cfg: SyntheticDataConfig, size: int) -> None:
    assert language_size(cfg) == size
    sample = languages.generate(cfg, 4000, torch.Generator().manual_seed(0))
    assert len(set(_rows(sample.inputs))) == size


def test_too_small_language_raises() -> None:
    cfg = SyntheticDataConfig(
        language="induction_head", vocab_size=4, seq_len=4, num_train=10, num_test=7
    )
    with pytest.raises(ValueError, match="only 16 distinct"):
        make_splits(cfg)
    make_splits(replace(cfg, num_test=6))


def test_gives_up_when_distinct_examples_are_too_rare(monkeypatch: pytest.MonkeyPatch) -> None:
    # 768 sequences exist, but one round of ~790 draws cannot find them all
    cfg = SyntheticDataConfig(
        language="induction_head", vocab_size=4, seq_len=8, num_train=700, num_test=68
    )
    monkeypatch.setattr(languages, "_MAX_ROUNDS", 1)
    with pytest.raises(ValueError, match="found only"):
        make_splits(cfg)


def test_sample_without_replacement_is_uniform_over_ordered_samples() -> None:
    picks = languages._sample_without_replacement(60_000, 5, 3, torch.Generator().manual_seed(1))
    counts = collections.Counter(_rows(picks))
    # 5·4·3 = 60 ordered triples of distinct ints, 1000 expected each (sd ≈ 31)
    assert len(counts) == 60
    assert all(850 < c < 1150 for c in counts.values())
