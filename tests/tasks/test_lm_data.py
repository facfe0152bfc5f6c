"""The lm task's data: document split, token cache, windows, data module."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from longseq.plugins.contract import cache_fingerprint
from longseq.plugins.modality import DataError, Document
from longseq.plugins.text import TextConfig, TextModality
from longseq.tasks import IGNORE_INDEX
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.lm.corpus import cache_key, prepare_corpus, resolve_path, split_documents
from longseq.tasks.lm.datamodule import LMDataModule, WindowDataset

TEXT = {"name": "text", "tokenizer": "byte"}


def _corpus_dir(root: Path, n: int = 10) -> Path:
    data = root / "corpus"
    data.mkdir()
    for i in range(n):
        (data / f"doc{i:02d}.txt").write_text(f"document number {i}: " + "abc " * (i + 3))
    return data


def _config(tmp_path: Path, path: Path, **kwargs: object) -> LMDataConfig:
    cfg = LMDataConfig(
        path=str(path),
        cache_dir=str(tmp_path / "cache"),
        val_fraction=0.2,
        test_fraction=0.1,
        seq_len=8,
        batch_size=4,
        **kwargs,  # type: ignore[arg-type]
    )
    cfg.validate()
    return cfg


def test_split_by_document_is_disjoint_and_deterministic() -> None:
    docs = [Document(f"d{i}", f"text {i}") for i in range(20)]
    train, val, test = split_documents(docs, 3, 2, seed=1, path="p")
    assert (len(train), len(val), len(test)) == (15, 3, 2)
    names = [d.name for d in train + val + test]
    assert sorted(names) == sorted(d.name for d in docs)
    again = split_documents(docs, 3, 2, seed=1, path="p")
    assert [d.name for d in again[2]] == [d.name for d in test]
    other = split_documents(docs, 3, 2, seed=2, path="p")
    assert [d.name for d in other[2]] != [d.name for d in test]
    with pytest.raises(DataError, match="p: 4 document"):
        split_documents(docs[:4], 3, 2, seed=0, path="p")


def test_corpus_streams_hold_each_split_with_eos_and_no_test_text_in_train(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path, _corpus_dir(tmp_path))
    corpus = prepare_corpus(TextModality(TextConfig()), TEXT, cfg)
    tokenizer = corpus.tokenizer
    assert {k: v.dtype for k, v in corpus.splits.items()} == dict.fromkeys(
        ("train", "val", "test"), np.dtype(np.uint16)
    )
    texts = {}
    for split, stream in corpus.splits.items():
        assert isinstance(stream, np.memmap) and stream[-1] == tokenizer.eos_id
        ids = np.asarray(stream, dtype=np.int64)
        parts = np.split(ids, np.flatnonzero(ids == tokenizer.eos_id) + 1)[:-1]
        texts[split] = [tokenizer.decode(p) for p in parts]
    assert (len(texts["train"]), len(texts["val"]), len(texts["test"])) == (7, 2, 1)
    assert not set(texts["test"]) & set(texts["train"])
    assert not set(texts["val"]) & set(texts["train"])
    assert all(t.startswith("document number ") for ts in texts.values() for t in ts)


def test_cache_is_reused_and_invalidated_by_file_changes_and_options(tmp_path: Path) -> None:
    data = _corpus_dir(tmp_path)
    cfg = _config(tmp_path, data)
    first = prepare_corpus(TextModality(TextConfig()), TEXT, cfg)
    stamp = (first.directory / "meta.json").stat().st_mtime_ns
    second = prepare_corpus(TextModality(TextConfig()), TEXT, cfg)
    assert second.directory == first.directory
    keyed = cache_fingerprint(TextModality(TextConfig()), TEXT)
    assert first.directory.name == cache_key(cfg, keyed)
    assert (keyed["package"], keyed["options"]) == ("longseq", TEXT)
    assert (second.directory / "meta.json").stat().st_mtime_ns == stamp
    assert cache_key(cfg, {**TEXT, "tokenizer": "bpe"}) != cache_key(cfg, TEXT)
    assert cache_key(_config(tmp_path, data, seed=5), TEXT) != cache_key(cfg, TEXT)
    changed = data / "doc03.txt"
    changed.write_text("rewritten, longer than before")
    os.utime(changed, ns=(stamp + 10**9, stamp + 10**9))
    assert cache_key(cfg, keyed) != first.directory.name


def test_bpe_corpus_is_fitted_on_training_documents_and_cached(tmp_path: Path) -> None:
    options = {"name": "text", "tokenizer": "bpe", "vocab_size": 300}
    cfg = _config(tmp_path, _corpus_dir(tmp_path))
    modality = TextModality(TextConfig(tokenizer="bpe", vocab_size=300))
    corpus = prepare_corpus(modality, options, cfg)
    assert (corpus.directory / "tokenizer" / "tokenizer.json").is_file()
    assert corpus.tokenizer.vocab_size <= 300
    stream = np.asarray(corpus.splits["train"], dtype=np.int64)
    assert stream.max() < corpus.tokenizer.vocab_size


def test_max_tokens_caps_training_and_held_out_paths_replace_fractions(tmp_path: Path) -> None:
    data = _corpus_dir(tmp_path)
    held = tmp_path / "held.txt"
    held.write_text("held out text")
    cfg = LMDataConfig(
        path=str(data),
        val_path=str(held),
        test_path=str(held),
        val_fraction=0.0,
        test_fraction=0.0,
        max_tokens=50,
        cache_dir=str(tmp_path / "cache"),
        seq_len=8,
    )
    cfg.validate()
    corpus = prepare_corpus(TextModality(TextConfig()), TEXT, cfg)
    assert len(corpus.splits["train"]) == 50
    assert corpus.tokenizer.decode(corpus.splits["test"]) == "held out text"


def test_package_paths_resolve_into_the_installed_package() -> None:
    path = resolve_path("pkg://longseq.plugins.text/data/kjv_genesis.txt")
    assert Path(path).is_file()
    assert resolve_path("plain/path") == "plain/path"
    with pytest.raises(DataError, match="no installed package 'no_such_pkg'"):
        resolve_path("pkg://no_such_pkg/x.txt")


def test_missing_or_empty_data_paths_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope: no such file or directory \(data.path\)"):
        prepare_corpus(TextModality(), TEXT, _config(tmp_path, tmp_path / "nope"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=rf"{empty}: holds no \.txt/\.md/\.rst/\.jsonl file$"):
        prepare_corpus(TextModality(), TEXT, _config(tmp_path, empty))


def test_windows_shift_targets_and_pad_the_last_window() -> None:
    tokens = np.arange(20, dtype=np.uint16)
    dataset = WindowDataset(tokens, seq_len=8, pad_id=99)
    assert len(dataset) == 3  # 19 next-token targets in windows of 8
    first, last = dataset[0], dataset[2]
    assert first["input_ids"].tolist() == list(range(8))
    assert first["targets"].tolist() == list(range(1, 9))
    assert bool(first["metric_mask"].all())
    assert last["input_ids"].tolist() == [16, 17, 18, 99, 99, 99, 99, 99]
    assert last["targets"].tolist() == [17, 18, 19] + [IGNORE_INDEX] * 5
    assert last["metric_mask"].tolist() == [True] * 3 + [False] * 5
    with pytest.raises(IndexError):
        dataset[3]


def test_datamodule_batches_and_reproducible_shuffle(tmp_path: Path) -> None:
    cfg = _config(tmp_path, _corpus_dir(tmp_path))
    corpus = prepare_corpus(TextModality(), TEXT, cfg)
    dm = LMDataModule(corpus.splits, cfg, pad_id=257)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"input_ids", "targets", "metric_mask"}
    assert batch["input_ids"].shape == (4, 8) and batch["input_ids"].dtype == torch.int64
    # the stream's last window is padded: compare where both neighbours are real tokens
    labelled = (batch["targets"][:, :-1] != -100) & (batch["targets"][:, 1:] != -100)
    assert labelled.any()
    assert torch.equal(batch["input_ids"][:, 1:][labelled], batch["targets"][:, :-1][labelled])
    again = next(iter(LMDataModule(corpus.splits, cfg, pad_id=257).train_dataloader()))
    assert torch.equal(batch["input_ids"], again["input_ids"])
    assert len(dm.val_dataloader()) >= 1 and len(dm.test_dataloader()) >= 1


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"path": ""}, "data.path is not set"),
        ({"path": "x", "val_fraction": 1.5}, "data.val_fraction=1.5"),
        ({"path": "x", "test_fraction": 0.0}, "data.test_fraction=0.0 needs data.test_path"),
        ({"path": "x", "val_fraction": 0.5, "test_fraction": 0.5}, "leaves no training"),
        ({"path": "x", "seq_len": 0}, "data.seq_len=0"),
        ({"path": "x", "max_tokens": -1}, "data.max_tokens=-1"),
    ],
)
def test_config_validate_names_the_key(kwargs: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        LMDataConfig(**kwargs).validate()


def test_a_given_tokenizer_encodes_the_corpus(tmp_path: Path) -> None:
    from longseq.plugins.text import BPETokenizer
    from longseq.tasks.lm.corpus import tokenizer_digest

    options = {"name": "text", "tokenizer": "bpe", "vocab_size": 300}
    modality = TextModality(TextConfig(tokenizer="bpe", vocab_size=300))
    cfg = _config(tmp_path, _corpus_dir(tmp_path))
    fitted = prepare_corpus(modality, options, cfg)
    # The fitted tokenizer itself (as a run saved it) reuses the fitted cache.
    same = prepare_corpus(modality, options, cfg, tokenizer=fitted.tokenizer)
    assert same.directory == fitted.directory
    # Another one (fitted on other text) gets a cache of its own, encoded with it.
    other = BPETokenizer.fit(["zzz yyy xxx " * 50], vocab_size=280)
    given = prepare_corpus(modality, options, cfg, tokenizer=other)
    assert given.directory != fitted.directory
    assert tokenizer_digest(given.tokenizer) == tokenizer_digest(other)
    test_text = fitted.tokenizer.decode(np.asarray(fitted.splits["test"]))
    expected = [*other.encode(test_text).tolist(), other.eos_id]
    assert np.asarray(given.splits["test"], dtype=np.int64).tolist() == expected
