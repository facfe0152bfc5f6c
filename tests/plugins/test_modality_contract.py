"""The modality contract's optional members: a modality without them gets the defaults (prompt
text as is, output printed, bits per token, a cache key from its package, no presets), the
built-ins declare theirs, and the helpers an author uses (files, error policy, option choices,
fixed vocabulary) behave as documented."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from longseq.plugins.contract import (
    cache_fingerprint,
    output_suffix,
    preset_files,
    prompt_from_file,
    prompt_from_text,
    unit_of,
)
from longseq.plugins.modality import DataError, Document
from longseq.plugins.modality_helpers import (
    DataWarning,
    ErrorPolicy,
    check_choices,
    find_files,
    load_vocabulary,
    save_vocabulary,
)
from longseq.plugins.registry import build_modality


@dataclass
class _Options:
    on_error: str = "raise"


class _Minimal:
    """A modality written against the contract before its optional members existed."""

    name: ClassVar[str] = "minimal"
    config_class: ClassVar[type] = _Options

    def read(self, path: str) -> Iterator[Document]:
        yield Document(path, "x")

    def write(self, content: Any, path: Path) -> Path:
        return path


def test_a_modality_without_the_optional_members_gets_the_defaults(tmp_path: Path) -> None:
    modality = _Minimal()
    assert prompt_from_text(modality, "a b") == "a b"
    prompt = tmp_path / "p.txt"
    prompt.write_text("from a file\n")
    assert prompt_from_file(modality, prompt) == "from a file\n"
    with pytest.raises(DataError, match=r"^\S*missing\.txt: cannot read the prompt"):
        prompt_from_file(modality, tmp_path / "missing.txt")
    assert (output_suffix(modality), unit_of(modality), preset_files(_Minimal)) == (None, None, {})
    keyed = cache_fingerprint(modality, {"name": "minimal"})
    assert keyed["options"] == {"name": "minimal"} and keyed["fingerprint"] == ""


@pytest.mark.parametrize(
    ("options", "unit", "suffix"),
    [
        ({"name": "genomics"}, "base", ".fa"),
        ({"name": "audio"}, "sample", ".wav"),
        ({"name": "text", "tokenizer": "byte"}, "byte", None),
        ({"name": "code", "tokenizer": "byte"}, "byte", None),
        ({"name": "code", "tokenizer": "bpe", "vocab_size": 300}, None, None),
    ],
)
def test_builtins_declare_their_unit_and_output_suffix(
    options: dict[str, Any], unit: str | None, suffix: str | None
) -> None:
    modality = build_modality(options)
    assert (unit_of(modality), output_suffix(modality)) == (unit, suffix)
    assert cache_fingerprint(modality, options)["package"] == "longseq"


def test_genomics_reads_a_fasta_prompt_and_audio_refuses_a_text_prompt(tmp_path: Path) -> None:
    prompt = tmp_path / "p.fa"
    prompt.write_text(">seq one\nACGT\nac gt\n")
    assert prompt_from_file(build_modality({"name": "genomics"}), prompt) == "ACGTacgt"
    with pytest.raises(DataError, match="takes its prompt as a WAV file"):
        prompt_from_text(build_modality({"name": "audio"}), "hello")


def test_find_files_takes_a_file_a_directory_a_glob_and_looks_through_gz(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("a.FA", "sub/b.fa.gz", "c.txt", ".hidden/d.fa"):
        (tmp_path / name).write_bytes(gzip.compress(b">x\nA\n") if name.endswith(".gz") else b"")
    assert find_files(tmp_path, [".fa"]) == [tmp_path / "a.FA", tmp_path / "sub" / "b.fa.gz"]
    assert find_files(tmp_path / "c.txt", [".fa"]) == [tmp_path / "c.txt"]
    assert find_files(str(tmp_path / "*.txt")) == [tmp_path / "c.txt"]
    with pytest.raises(DataError, match=r"holds no sequence file$"):
        find_files(tmp_path, [".gb"], what="sequence")
    with pytest.raises(DataError, match=r"holds no \.gb/\.gbk file$"):
        find_files(tmp_path, [".gb", ".gbk"])
    with pytest.raises(DataError, match=r"sub: holds no \.fa file$"):
        find_files(tmp_path / "sub", [".fa"], gzip=False)
    with pytest.raises(DataError, match="no such file or directory"):
        find_files(tmp_path / "nope")
    with pytest.raises(DataError, match="no file matches this glob"):
        find_files(str(tmp_path / "*.wav"))


def test_error_policy_raises_with_a_hint_or_skips_with_a_warning() -> None:
    with pytest.raises(DataError, match=r"^f: bad; set modality\.on_error=skip$"):
        ErrorPolicy("raise", "set modality.on_error=skip").handle(DataError("f: bad"))
    policy = ErrorPolicy("skip")
    with pytest.warns(DataWarning, match="^skipped: f: bad$"):
        policy.handle(DataError("f: bad"), "unreadable")
    assert (policy.skipped, policy.summary()) == (["f: bad"], "1 unreadable")
    with pytest.raises(ValueError, match="on_error='ignore' must be one of raise, skip"):
        ErrorPolicy("ignore")
    with pytest.raises(ValueError, match=r"^modality\.on_error='x' must be one of raise, skip$"):
        check_choices(_Options("x"), {"on_error": ("raise", "skip")})


def test_a_fixed_vocabulary_round_trips_and_a_changed_one_is_refused(tmp_path: Path) -> None:
    save_vocabulary(tmp_path, "ints", ["0", "1", "<eos>"], max_value=1)
    spec = load_vocabulary(tmp_path, "ints", expected_tokens=["0", "1", "<eos>"])
    assert (spec["max_value"], spec["tokens"]) == (1, ["0", "1", "<eos>"])
    with pytest.raises(DataError, match=r"tokenizer\.json: not a 'dna' tokenizer"):
        load_vocabulary(tmp_path, "dna")
    with pytest.raises(DataError, match="its 3 tokens differ from the 2 this version"):
        load_vocabulary(tmp_path, "ints", expected_tokens=["0", "<eos>"])
    with pytest.raises(DataError, match="cannot read the tokenizer"):
        load_vocabulary(tmp_path / "missing", "ints")
