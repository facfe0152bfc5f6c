"""Syntax-aware fill-in-the-middle and the sentinel ids of the code tokenizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from longseq.plugins.code.config import CodeConfig
from longseq.plugins.code.fim import (
    FIM_MIDDLE,
    FIM_PREFIX,
    FIM_SUFFIX,
    fim_transform,
    span_candidates,
)
from longseq.plugins.code.languages import parse
from longseq.plugins.code.modality import CodeModality
from longseq.plugins.code.tokenizer import CodeTokenizer, load_code_tokenizer
from longseq.plugins.modality import DataError, Document
from longseq.plugins.text.tokenizers import ByteTokenizer

SOURCES = {
    "python": "import os\n\nclass A:\n    def f(self, x):\n        if x:\n            return 1\n"
    "        return 2\n\ndef g():\n    return 'é'\n",
    "go": "package a\n\nfunc F(x int) int {\n\tif x > 0 {\n\t\treturn 1\n\t}\n\treturn 2\n}\n",
    "c": "int f(int x) {\n  if (x) { return 1; }\n  return 2;\n}\n",
    "javascript": "function f(x) {\n  for (const y of x) { g(y); }\n  return x;\n}\n",
}


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_fim_middle_is_a_whole_node_and_parts_rebuild_the_source(language: str) -> None:
    source = SOURCES[language]
    tree = parse(source, language)
    spans = {(n.start_byte, n.end_byte, n.type) for n in span_candidates(tree)}
    assert spans
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(30):
        example = fim_transform(source, tree, rng, max_middle_fraction=1.0)
        assert example is not None
        assert example.prefix + example.middle + example.suffix == source
        start = len(example.prefix.encode())
        end = start + len(example.middle.encode())
        assert (start, end, example.node_type) in spans
        seen.add((start, end))
        assert example.psm() == (
            f"{FIM_PREFIX}{example.prefix}{FIM_SUFFIX}{example.suffix}{FIM_MIDDLE}{example.middle}"
        )
    assert len(seen) > 1


def test_fim_respects_the_middle_size_limit_and_empty_sources() -> None:
    source = SOURCES["python"]
    tree = parse(source, "python")
    rng = np.random.default_rng(1)
    for _ in range(20):
        example = fim_transform(source, tree, rng, max_middle_fraction=0.2)
        assert example is not None and len(example.middle.encode()) <= 0.2 * len(source.encode())
    assert fim_transform("", parse("", "python"), rng) is None


def test_sentinels_get_special_ids_and_decode_drops_them() -> None:
    tok = CodeTokenizer(ByteTokenizer())
    assert tok.vocab_size == 261 and tok.eos_id == 256
    ids = tok.encode(f"{FIM_PREFIX}ab{FIM_SUFFIX}c{FIM_MIDDLE}d")
    assert ids.tolist() == [258, 97, 98, 259, 99, 260, 100]
    assert tok.decode(ids) == "abcd"
    assert tok.encode("").tolist() == []
    with pytest.raises(DataError):
        tok.encode(b"bytes")


def test_tokenizer_round_trips_through_save(tmp_path: Path) -> None:
    tok = CodeTokenizer(ByteTokenizer())
    tok.save(tmp_path / "tok")
    loaded = load_code_tokenizer(tmp_path / "tok")
    assert loaded.vocab_size == tok.vocab_size
    assert loaded.encode(f"{FIM_MIDDLE}x").tolist() == [260, 120]
    with pytest.raises(DataError, match="not a code tokenizer"):
        load_code_tokenizer(tmp_path)


def test_bpe_tokenizer_keeps_sentinels_after_its_vocabulary(tmp_path: Path) -> None:
    modality = CodeModality(CodeConfig(tokenizer="bpe", vocab_size=300, min_frequency=1))
    docs = [Document("a.py", f"{FIM_PREFIX}def f():\n    return 1\n" * 5)]
    tok = modality.fit_tokenizer(docs)
    base = tok.vocab_size - 3
    ids = tok.encode(f"def{FIM_SUFFIX}f")
    assert base + 1 in ids.tolist() and int(ids.max()) == base + 1
    assert tok.decode(ids) == "deff"
    tok.save(tmp_path)
    assert (
        modality.load_tokenizer(tmp_path).encode("def f").tolist() == tok.encode("def f").tolist()
    )


def test_reader_applies_fim_to_a_share_of_files(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"m{i:02d}.py").write_text(f"def f{i}(x):\n    return x + {i}\n\nY = f{i}(1)\n")
    modality = CodeModality(CodeConfig(fim_rate=0.5, seed=3))
    docs = list(modality.read(str(tmp_path)))
    fim = [d for d in docs if d.content.startswith(FIM_PREFIX)]
    assert 3 <= len(fim) <= 17
    assert [d.content for d in modality.read(str(tmp_path))] == [d.content for d in docs]
    for d in fim:
        pre, rest = d.content[len(FIM_PREFIX) :].split(FIM_SUFFIX)
        suf, mid = rest.split(FIM_MIDDLE)
        assert (pre + mid + suf).startswith(f"# file: {d.name}\n")
