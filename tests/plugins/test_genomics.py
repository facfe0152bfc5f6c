"""Genomics modality: tokenizer round trips, readers on the shipped real files, FASTQ, writer,
reverse complement, registry and config options."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from longseq.plugins.genomics import (
    GENBANK_SAMPLE,
    LAMBDA_FASTA,
    DNATokenizer,
    GenomicsConfig,
    GenomicsModality,
    read_sequences,
    reverse_complement,
    write_fasta,
)
from longseq.plugins.modality import DataError, Modality, Tokenizer
from longseq.plugins.registry import MODALITIES, build_modality

LAMBDA_LENGTH = 48_502


@pytest.fixture(scope="module")
def lambda_sequence() -> str:
    (document,) = list(read_sequences(LAMBDA_FASTA))
    return str(document.content)


def test_tokenizer_follows_the_protocol_and_round_trips_acgtn() -> None:
    tokenizer = DNATokenizer()
    assert isinstance(tokenizer, Tokenizer)
    assert tokenizer.vocab_size == 10
    ids = tokenizer.encode("ACGTNNACGT")
    assert ids.dtype == np.int64 and ids.shape == (10,)
    assert tokenizer.decode(ids) == "ACGTNNACGT"
    assert ids.min() >= 5 and tokenizer.eos_id < 5


def test_soft_mask_upper_folds_and_keep_is_lossless() -> None:
    upper, keep = DNATokenizer("upper"), DNATokenizer("keep")
    assert upper.decode(upper.encode("ACgtn")) == "ACGTN"
    assert keep.vocab_size == 15
    assert keep.decode(keep.encode("ACGTNacgtn")) == "ACGTNacgtn"


def test_iupac_codes_map_to_n_and_specials_are_dropped() -> None:
    tokenizer = DNATokenizer("keep")
    assert tokenizer.decode(tokenizer.encode("ARYKMBDHVSWrybdhv")) == "ANNNNNNNNNNnnnnnn"
    ids = [tokenizer.bos_id, *tokenizer.encode("AC"), tokenizer.eos_id, tokenizer.pad_id]
    assert tokenizer.decode(ids) == "AC"


@pytest.mark.parametrize("bad", ["ACGT-A", "ACXT", "AC GT", "ACGTé"])
def test_tokenizer_rejects_non_dna_with_a_one_line_error(bad: str) -> None:
    with pytest.raises(DataError, match="not a DNA character") as info:
        DNATokenizer().encode(bad)
    assert "\n" not in str(info.value)


def test_tokenizer_saves_and_loads(tmp_path: Path) -> None:
    DNATokenizer("keep").save(tmp_path)
    loaded = GenomicsModality().load_tokenizer(tmp_path)
    assert loaded.soft_mask == "keep" and loaded.tokens == DNATokenizer("keep").tokens


def test_shipped_lambda_fasta_gz_reads_as_one_record(lambda_sequence: str) -> None:
    assert len(lambda_sequence) == LAMBDA_LENGTH
    assert lambda_sequence.startswith("GGGCGGCGACCTCGCGGGTTTTCGCTATTTATGAAAATTTTCCGG")
    assert set(lambda_sequence) <= set("ACGT")


def test_shipped_genbank_record_reads() -> None:
    (document,) = list(read_sequences(GENBANK_SAMPLE))
    assert document.name.endswith(":NC_005816.1")
    assert len(document.content) == 9_609
    assert document.content.startswith("TGTAACGAACGGTGCAATAG")


def test_fastq_written_by_the_test_reads_gzip_and_plain(tmp_path: Path) -> None:
    text = "@read1 first\nACGTNacgt\n+\nIIIIIIIII\n@read2\nGGCCA\n+read2\n#####\n"
    plain = tmp_path / "reads.fq"
    plain.write_text(text)
    packed = tmp_path / "reads.fastq.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        documents = list(read_sequences(path))
        assert [d.content for d in documents] == ["ACGTNacgt", "GGCCA"]
        assert documents[0].name == f"{path}:read1"


def test_format_is_detected_from_content_not_suffix(tmp_path: Path) -> None:
    misnamed = tmp_path / "genome.txt"
    misnamed.write_text(">chr1\nACGT\nAC\n>chr2\nTT\n")
    assert [d.content for d in read_sequences(misnamed)] == ["ACGTAC", "TT"]


def test_reverse_complement_is_an_involution_and_keeps_case(lambda_sequence: str) -> None:
    assert reverse_complement("AACGTn") == "nACGTT"
    assert reverse_complement("ACgRYN") == "NRYcGT"
    assert reverse_complement(reverse_complement(lambda_sequence)) == lambda_sequence
    iupac = "ACGTRYSWKMBDHVNacgtryswkmbdhvn"
    assert reverse_complement(reverse_complement(iupac)) == iupac


@pytest.mark.parametrize("width", [60, 80])
def test_fasta_writer_round_trips_through_the_reader(
    tmp_path: Path, lambda_sequence: str, width: int
) -> None:
    path = write_fasta([("lambda", lambda_sequence), ("short", "ACGTn")], tmp_path / "o.fa", width)
    lines = path.read_text().splitlines()
    assert lines[0] == ">lambda" and max(len(line) for line in lines) == width
    documents = list(read_sequences(path))
    assert [d.content for d in documents] == [lambda_sequence, "ACGTn"]


def test_fasta_writer_rejects_other_widths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="width=50"):
        write_fasta([("x", "ACGT")], tmp_path / "x.fa", width=50)


def test_modality_is_registered_and_follows_the_protocol(tmp_path: Path) -> None:
    assert MODALITIES.get("genomics") is GenomicsModality
    modality = build_modality({"name": "genomics", "soft_mask": "keep", "fasta_width": 80})
    assert isinstance(modality, Modality)
    tokenizer = modality.fit_tokenizer([])
    ids = tokenizer.encode("ACGTacgt" * 20)
    written = modality.write(tokenizer.decode(ids), tmp_path / "gen.fa")
    assert [d.content for d in read_sequences(written)] == ["ACGTacgt" * 20]
    assert written.read_text().splitlines()[0] == ">gen"


def test_bad_config_values_name_the_key() -> None:
    with pytest.raises(ValueError, match=r"modality\.soft_mask='lower'"):
        build_modality({"name": "genomics", "soft_mask": "lower"})
    with pytest.raises(ValueError, match=r"modality\.split_length"):
        GenomicsModality(GenomicsConfig(split_length=0))


def test_directory_read_with_labels_from_folders(tmp_path: Path) -> None:
    for label, sequence in (("phage", "ACGT"), ("plasmid", "GGCC")):
        (tmp_path / label).mkdir()
        (tmp_path / label / "a.fa").write_text(f">{label}\n{sequence}\n")
    (tmp_path / "phage" / "README.md").write_text("not a sequence\n")
    modality = GenomicsModality(GenomicsConfig(label_by="directory"))
    documents = list(modality.read(str(tmp_path)))
    assert [(d.content, d.label) for d in documents] == [("ACGT", "phage"), ("GGCC", "plasmid")]


def test_split_length_and_strand_augmentation_cover_the_genome(lambda_sequence: str) -> None:
    config = GenomicsConfig(split_length=4096, reverse_complement=True)
    documents = list(GenomicsModality(config).read(str(LAMBDA_FASTA)))
    assert len(documents) == -(-LAMBDA_LENGTH // 4096)
    flipped = [d for d in documents if d.name.endswith(":rc")]
    assert 0 < len(flipped) < len(documents)
    restored = "".join(
        reverse_complement(d.content) if d.name.endswith(":rc") else d.content for d in documents
    )
    assert restored == lambda_sequence
    again = list(GenomicsModality(config).read(str(LAMBDA_FASTA)))
    assert [d.name for d in again] == [d.name for d in documents]
