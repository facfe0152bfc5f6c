"""SyntheticDataConfig.validate and SyntheticDataModule batches."""

from __future__ import annotations

import pytest
import torch

from longseq.tasks.synthetic.config import SyntheticDataConfig
from longseq.tasks.synthetic.datamodule import SyntheticDataModule


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"language": "copying"}, "data.language='copying'.*associative_recall"),
        ({"language": "associative_recall", "vocab_size": 3}, "data.vocab_size=3"),
        ({"language": "associative_recall", "seq_len": 21}, "data.seq_len=21"),
        ({"language": "induction_head", "seq_len": 2}, "data.seq_len=2"),
        ({"language": "induction_head", "vocab_size": 2}, "data.vocab_size=2"),
        (
            {"language": "mqar", "vocab_size": 64, "seq_len": 64, "num_kv_pairs": 17},
            "data.seq_len=64",
        ),
        ({"language": "mqar", "seq_len": 6, "num_kv_pairs": 4}, "data.seq_len=6"),
        (
            {"language": "mqar", "vocab_size": 9, "num_kv_pairs": 4, "seq_len": 64},
            "data.vocab_size=9",
        ),
        ({"language": "mqar", "num_kv_pairs": 0}, "data.num_kv_pairs=0"),
        ({"language": "mqar", "vocab_size": 64, "seq_len": 64, "power_a": 0.0}, "data.power_a=0.0"),
        ({"num_train": 0}, "data.num_train=0"),
        ({"batch_size": 0}, "data.batch_size=0"),
    ],
)
def test_validate_names_the_key(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        SyntheticDataConfig(**kwargs).validate()  # type: ignore[arg-type]


def test_paper_settings_validate() -> None:
    SyntheticDataConfig().validate()
    SyntheticDataConfig(language="induction_head", vocab_size=20, seq_len=30).validate()
    for t, k in [(64, 4), (128, 8), (256, 16), (512, 64)]:
        SyntheticDataConfig(language="mqar", vocab_size=8192, seq_len=t, num_kv_pairs=k).validate()
    # smallest MQAR: 2k + 2 tokens give k keys in [1, V//2) and k+1 values
    SyntheticDataConfig(language="mqar", vocab_size=10, seq_len=16, num_kv_pairs=4).validate()


def test_datamodule_batches() -> None:
    cfg = SyntheticDataConfig(num_train=100, num_test=40, batch_size=16, seed=3)
    dm = SyntheticDataModule(cfg)
    assert dm.vocab_size == 10
    dm.setup("fit")
    assert dm.train_data is not None and dm.test_data is not None
    batches = list(dm.train_dataloader())
    assert len(batches) == 7
    batch = batches[0]
    assert set(batch) == {"input_ids", "targets", "metric_mask"}
    assert batch["input_ids"].shape == batch["targets"].shape == (16, 22)
    assert batch["input_ids"].dtype == torch.int64 and batch["metric_mask"].dtype == torch.bool
    seen = torch.cat([b["input_ids"] for b in batches])
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, dm.train_data.inputs.tolist()))
    # shuffled, and reproducibly so
    assert not torch.equal(seen, dm.train_data.inputs)
    other = SyntheticDataModule(cfg)
    other.setup("fit")
    again = torch.cat([b["input_ids"] for b in other.train_dataloader()])
    assert torch.equal(seen, again)
    val = torch.cat([b["input_ids"] for b in dm.val_dataloader()])
    test = torch.cat([b["input_ids"] for b in dm.test_dataloader()])
    assert torch.equal(val, dm.test_data.inputs) and torch.equal(test, val)
