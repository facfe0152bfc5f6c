"""The text modality: tokenizers (byte, BPE), the reader (files, directories, globs, JSONL,
separators, bad inputs), the writer, and option checking through the registry."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from longseq.plugins import MODALITIES
from longseq.plugins.modality import DataError, Modality, Tokenizer
from longseq.plugins.modality_helpers import DataWarning
from longseq.plugins.registry import build_modality, modality_config
from longseq.plugins.text import BPETokenizer, ByteTokenizer, TextConfig, TextModality
from longseq.plugins.text.tokenizers import load_text_tokenizer

SAMPLE = Path(__file__).parents[2] / "longseq" / "plugins" / "text" / "data" / "kjv_genesis.txt"


def _read(path: Path | str, **options: object) -> list:
    return list(TextModality(TextConfig(**options)).read(str(path)))  # type: ignore[arg-type]


def test_text_is_registered_and_follows_the_protocol() -> None:
    assert MODALITIES.get("text") is TextModality
    entry = MODALITIES.entry("text")
    assert entry.origin == "longseq.plugins.text.modality" and entry.distribution == "longseq"
    modality = build_modality({"name": "text", "tokenizer": "bpe", "vocab_size": 300})
    assert isinstance(modality, Modality) and isinstance(modality, TextModality)
    assert modality.config.vocab_size == 300
    assert isinstance(ByteTokenizer(), Tokenizer)


@pytest.mark.parametrize(
    "text", ["", "hello\n", "tabs\tand  spaces\r\n", "Grüße, 日本語, emoji 🙂 and \x00 nul"]
)
def test_byte_tokenizer_round_trip_is_lossless(text: str) -> None:
    tokenizer = ByteTokenizer()
    ids = tokenizer.encode(text)
    assert ids.dtype == np.int64 and len(ids) == len(text.encode("utf-8"))
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode([*ids.tolist(), tokenizer.eos_id, 257]) == text
    assert tokenizer.vocab_size == 258 and tokenizer.eos_id == 256


def test_byte_tokenizer_saves_and_loads(tmp_path: Path) -> None:
    ByteTokenizer().save(tmp_path / "tok")
    assert isinstance(load_text_tokenizer(tmp_path / "tok"), ByteTokenizer)


def test_bpe_fits_round_trips_ascii_and_reloads(tmp_path: Path) -> None:
    texts = [d.content for d in _read(SAMPLE, separator="")][:10]
    tokenizer = BPETokenizer.fit(texts, vocab_size=400, min_frequency=2)
    assert 258 < tokenizer.vocab_size <= 400
    sample = "In the beginning God created the heaven and the earth.\n  Odd   spacing!\t~"
    ids = tokenizer.encode(sample)
    assert len(ids) < len(sample)  # merges were learned
    assert tokenizer.decode(ids) == sample
    assert tokenizer.decode([*ids.tolist(), tokenizer.eos_id]) == sample
    tokenizer.save(tmp_path / "tok")
    assert (tmp_path / "tok" / "tokenizer.json").is_file()
    loaded = TextModality(TextConfig(tokenizer="bpe")).load_tokenizer(tmp_path / "tok")
    assert loaded.vocab_size == tokenizer.vocab_size
    assert loaded.encode(sample).tolist() == ids.tolist()


def test_reader_on_the_shipped_sample() -> None:
    whole = _read(SAMPLE)
    assert len(whole) == 1 and whole[0].name == str(SAMPLE)
    chapters = _read(SAMPLE, separator="")
    assert len(chapters) == 46
    assert chapters[0].content.startswith("Ge1:1 In the beginning God created")
    assert chapters[-1].content.splitlines()[0].startswith("Ge46:1 ")
    assert chapters[1].name == f"{SAMPLE}#1"
    assert (SAMPLE.parent / "NOTICE").is_file()


def test_directories_are_read_recursively_by_extension_and_globs_work(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "sub" / "b.md").write_text("beta")
    (tmp_path / "sub" / "c.rst").write_text("gamma")
    (tmp_path / "d.py").write_text("delta")
    (tmp_path / ".hidden" / "e.txt").write_text("hidden")
    assert [d.content for d in _read(tmp_path)] == ["alpha", "beta", "gamma"]
    assert [d.content for d in _read(tmp_path, all_files=True)] == [
        "alpha",
        "delta",
        "beta",
        "gamma",
    ]
    assert [d.content for d in _read(tmp_path / "**" / "*.md")] == ["beta"]
    assert [d.content for d in _read(tmp_path / "s*")] == ["beta", "gamma"]


def test_jsonl_records_use_text_field(tmp_path: Path) -> None:
    file = tmp_path / "c.jsonl"
    rows = [{"body": "first"}, {"body": "second", "id": 2}, {"body": ""}]
    file.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    documents = _read(file, text_field="body")
    assert [d.content for d in documents] == ["first", "second"]
    assert documents[1].name == f"{file}:2"
    with pytest.raises(DataError, match=r"c\.jsonl:1: no string field 'text'"):
        _read(file)


def test_bad_jsonl_record_raises_or_is_skipped(tmp_path: Path) -> None:
    file = tmp_path / "c.jsonl"
    file.write_text('{"text": "ok"}\n{not json\n')
    with pytest.raises(DataError, match=r"c\.jsonl:2: invalid JSON"):
        _read(file)
    with pytest.warns(DataWarning, match=r"skipped: .*c\.jsonl:2: invalid JSON"):
        assert [d.content for d in _read(file, on_error="skip")] == ["ok"]


def test_undecodable_file_raises_one_line_or_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("fine")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok \xff\xfe bytes")
    with pytest.raises(DataError) as info:
        _read(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{bad}: not valid utf-8 text (byte 3: 0xff)")
    assert "modality.on_error=skip" in message and "\n" not in message
    with pytest.warns(DataWarning, match="skipped: .*bad.txt: not valid utf-8"):
        assert [d.content for d in _read(tmp_path, on_error="skip")] == ["fine"]
    assert [d.content for d in _read(bad, encoding="latin-1")] == ["ok ÿþ bytes"]


def test_empty_files_are_skipped_and_an_empty_dataset_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text(" \n\n")
    with (
        pytest.warns(UserWarning, match="empty file, skipped"),
        pytest.raises(DataError, match=r"no documents to read \(2 empty\)"),
    ):
        _read(tmp_path)
    (tmp_path / "full.txt").write_text("words")
    with pytest.warns(UserWarning, match="empty file"):
        assert [d.content for d in _read(tmp_path)] == ["words"]


def test_missing_paths_and_empty_globs_are_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.txt: no such file or directory"):
        _read(tmp_path / "nope.txt")
    with pytest.raises(DataError, match=r"no file matches this glob"):
        _read(tmp_path / "*.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match=r"holds no \.txt/\.md/\.rst/\.jsonl file$"):
            _read(tmp_path)


def test_writer_writes_text(tmp_path: Path) -> None:
    modality = TextModality()
    assert modality.write("héllo\n", tmp_path / "out") == tmp_path / "out.txt"
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "héllo\n"
    assert modality.write("x", tmp_path / "o.md") == tmp_path / "o.md"
    with pytest.raises(DataError, match="writes str"):
        modality.write(b"bytes", tmp_path / "b")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"name": "text", "tokenzer": "bpe"},
            (
                "unknown option 'modality.tokenzer' for modality 'text'; did you mean "
                "'modality.tokenizer'? valid keys: tokenizer, vocab_size"
            ),
        ),
        ({"name": "text", "tokenizer": "wordpiece"}, "modality.tokenizer='wordpiece'"),
        ({"name": "text", "vocab_size": "big"}, "invalid value for 'modality.vocab_size'"),
        ({"name": "text", "on_error": "ignore"}, "modality.on_error='ignore'"),
        ({"name": "text", "tokenizer": "bpe", "vocab_size": 100}, "modality.vocab_size=100"),
        ({"name": "txt"}, "modality.name: unknown modality 'txt'; did you mean 'text'?"),
        ({}, "modality.name is not set"),
    ],
)
def test_modality_options_are_checked_in_one_line(options: dict, expected: str) -> None:
    with pytest.raises(ValueError) as info:
        modality_config(options)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
