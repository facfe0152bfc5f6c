"""Lightning data module serving one synthetic language (docs/h3.md §5) from memory."""

from __future__ import annotations

import lightning
import torch
from torch.utils.data import DataLoader, Dataset

from longseq.tasks.sampling import EpochShuffleSampler
from longseq.tasks.synthetic.config import SyntheticDataConfig
from longseq.tasks.synthetic.languages import SyntheticData, make_splits, vocab_size_for


class SyntheticDataset(Dataset[dict[str, torch.Tensor]]):
    """Examples of a ``SyntheticData`` as dicts of ``input_ids``, ``targets``, ``metric_mask``.

    Each item holds [L] tensors (int64, int64, bool); the default collate stacks them to [B, L].
    """

    def __init__(self, data: SyntheticData) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "input_ids": self.data.inputs[index],
            "targets": self.data.targets[index],
            "metric_mask": self.data.metric_mask[index],
        }


class SyntheticDataModule(lightning.LightningDataModule):
    """Train and test splits of a synthetic language, generated in ``setup``.

    Batches are dicts ``{"input_ids": [B, L] int64, "targets": [B, L] int64 (-100: no loss),
    "metric_mask": [B, L] bool}``. The languages have no separate validation split: the
    validation loader serves the test split (as the H3 paper and Zoology report test accuracy
    during training). The training loader reshuffles every epoch with the permutation of
    (``cfg.seed``, epoch) (:class:`~longseq.tasks.sampling.EpochShuffleSampler`).
    """

    def __init__(self, cfg: SyntheticDataConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.train_data: SyntheticData | None = None
        self.test_data: SyntheticData | None = None

    @property
    def vocab_size(self) -> int:
        """Vocabulary size a model needs for this language (known before ``setup``)."""
        return vocab_size_for(self.cfg)

    def setup(self, stage: str | None = None) -> None:
        """Generate both splits once; later calls (any stage) reuse them."""
        if self.train_data is None or self.test_data is None:
            self.train_data, self.test_data = make_splits(self.cfg)

    def _loader(self, data: SyntheticData | None, shuffle: bool) -> DataLoader:
        if data is None:
            raise RuntimeError("SyntheticDataModule.setup() must run before asking for loaders")
        dataset = SyntheticDataset(data)
        return DataLoader(
            dataset,
            batch_size=self.cfg.batch_size,
            sampler=EpochShuffleSampler(len(dataset), self.cfg.seed) if shuffle else None,
            num_workers=self.cfg.num_workers,
            persistent_workers=self.cfg.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training split."""
        return self._loader(self.train_data, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """The test split, in order (there is no separate validation split)."""
        return self._loader(self.test_data, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """The test split, in order."""
        return self._loader(self.test_data, shuffle=False)
