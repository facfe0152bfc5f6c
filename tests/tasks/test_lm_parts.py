"""A corpus of too few documents to hold out (one genome) is cut into contiguous parts."""

from __future__ import annotations

import numpy as np

from longseq.plugins.modality import Document
from longseq.tasks.lm.config import LMDataConfig
from longseq.tasks.lm.parts import cut_into_parts


def test_one_document_is_cut_into_about_one_over_the_fraction_parts() -> None:
    genome = "ACGT" * 250
    parts = cut_into_parts([Document("g.fa:chr", genome)], LMDataConfig(path="g.fa"))
    assert len(parts) == 20  # val_fraction = test_fraction = 0.05
    assert "".join(p.content for p in parts) == genome
    assert parts[0].name == "g.fa:chr (part 1/20)" and parts[-1].name == "g.fa:chr (part 20/20)"
    assert {len(p.content) for p in parts} == {50}


def test_enough_documents_or_held_out_files_leave_the_corpus_alone() -> None:
    docs = [Document(f"d{i}", "x" * 10) for i in range(3)]
    assert cut_into_parts(docs, LMDataConfig(path="d")) == docs
    one = [Document("d", "x" * 10)]
    held = LMDataConfig(path="d", val_path="v", test_path="t")
    assert cut_into_parts(one, held) == one


def test_arrays_are_cut_and_a_too_short_document_is_not() -> None:
    audio = [Document("a.wav", np.arange(100, dtype=np.float32), label="yes")]
    cfg = LMDataConfig(path="a", val_fraction=0.1, test_fraction=0.2)
    parts = cut_into_parts(audio, cfg)
    assert len(parts) == 10 and all(p.label == "yes" for p in parts)
    assert np.array_equal(np.concatenate([p.content for p in parts]), audio[0].content)
    short = [Document("s", "ab")]
    assert cut_into_parts(short, LMDataConfig(path="s")) == short
