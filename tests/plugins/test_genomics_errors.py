"""Genomics bad input: every case is a one-line DataError naming the file (and record), or a
counted skip with a warning under ``on_error=skip`` — never a traceback or an empty dataset."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from longseq.plugins.genomics import (
    LAMBDA_FASTA,
    DataWarning,
    GenomicsConfig,
    GenomicsModality,
    IndexedGenome,
    write_fasta,
)
from longseq.plugins.modality import DataError

# Biopython warns about the malformed records these tests write on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::Bio.BiopythonParserWarning")

# A RIFF/WAVE header then 16-bit samples: binary, NUL bytes included.
BINARY = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8

BAD_FILES: dict[str, tuple[Callable[[Path], object], str]] = {
    "bad_letters.fa": (
        lambda p: p.write_text(">ok\nACGT\n>chr2 second\nACGT\nAC?T\n"),
        r"record chr2: not a nucleotide character '\?' at position 6",
    ),
    "empty.fa": (lambda p: p.write_text(""), "empty file"),
    "blank.fa.gz": (lambda p: p.write_bytes(gzip.compress(b"\n\n")), "empty file"),
    "notes.fa": (
        lambda p: p.write_text("These are my notes,\nnot a genome.\n"),
        "not a FASTA/FASTQ/GenBank file",
    ),
    "sound.fa": (lambda p: p.write_bytes(BINARY), "binary file"),
    "bad_letters.gb": (
        lambda p: p.write_text("LOCUS       X   8 bp    DNA\nORIGIN\n        1 acgt acgt zz\n//\n"),
        "record X: not a nucleotide character 'Z'",
    ),
    "truncated.gb": (
        lambda p: p.write_text("LOCUS       X   8 bp    DNA\nDEFINITION  x.\n"),
        "malformed genbank in the first record: Premature end of line",
    ),
    "bad_feature.gb": (
        lambda p: p.write_text(
            "LOCUS       X   8 bp    DNA\nFEATURES             Location/Qualifiers\n"
            "     CDS             join(1..\n//\n"
        ),
        "malformed genbank in the first record: Problem with 'CDS' feature",
    ),
    "no_origin.gb": (
        lambda p: p.write_text("LOCUS       X   8 bp    DNA\nORIGIN\nacgtacgt\n//\n"),
        "record X: Sequence content is undefined",
    ),
    "broken.fq": (
        lambda p: p.write_text("@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nII\n"),
        "malformed fastq after record r1",
    ),
    "truncated.fa.gz": (
        lambda p: p.write_bytes(LAMBDA_FASTA.read_bytes()[:5000]),
        "malformed fasta .*Compressed file ended",
    ),
    "empty_record.fa": (lambda p: p.write_text(">nothing\n\n"), "record nothing: empty sequence"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_a_one_line_data_error_naming_it(tmp_path: Path, name: str) -> None:
    write, pattern = BAD_FILES[name]
    path = tmp_path / name
    write(path)
    with pytest.raises(DataError, match=pattern) as info:
        list(GenomicsModality().read(str(path)))
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_skip_counts_and_warns_and_keeps_the_good_files(tmp_path: Path, name: str) -> None:
    write, _ = BAD_FILES[name]
    write(tmp_path / name)
    write_fasta([("good", "ACGTACGT")], tmp_path / "good.fa")
    modality = GenomicsModality(GenomicsConfig(on_error="skip"))
    with pytest.warns(DataWarning, match="skipped: .*" + name.replace(".", r"\.")):
        documents = list(modality.read(str(tmp_path)))
    assert "ACGTACGT" in [d.content for d in documents]
    assert len(modality.skipped) >= 1
    assert all(name in message for message in modality.skipped)


def test_everything_skipped_is_still_an_error_not_an_empty_dataset(tmp_path: Path) -> None:
    (tmp_path / "a.fa").write_text("")
    (tmp_path / "b.fa").write_text("hello\n")
    modality = GenomicsModality(GenomicsConfig(on_error="skip"))
    with pytest.warns(DataWarning), pytest.raises(DataError, match=r"no usable sequence \(2 "):
        list(modality.read(str(tmp_path)))


def test_missing_path_and_directory_without_sequences(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.fa: no such file or directory$"):
        list(GenomicsModality().read(str(tmp_path / "nope.fa")))
    (tmp_path / "README.md").write_text("# nothing here\n")
    with pytest.raises(DataError, match="holds no FASTA/FASTQ/GenBank file"):
        list(GenomicsModality().read(str(tmp_path)))


def test_forced_format_mismatch_is_a_data_error(tmp_path: Path) -> None:
    modality = GenomicsModality(GenomicsConfig(format="genbank"))
    with pytest.raises(DataError, match=f"{LAMBDA_FASTA.name}.*genbank") as info:
        list(modality.read(str(LAMBDA_FASTA)))
    assert "\n" not in str(info.value)


def test_unindexable_fasta_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "ragged.fa"
    path.write_text(">chr1\nACGTACGT\nACG\nACGTACGT\n")
    with pytest.raises(DataError, match="cannot index FASTA") as info:
        IndexedGenome(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    genbank = tmp_path / "x.gb"
    genbank.write_text("LOCUS       X   4 bp    DNA\nORIGIN\n        1 acgt\n//\n")
    with pytest.raises(DataError, match="random access needs a FASTA file"):
        IndexedGenome(genbank)


def test_fetch_outside_the_genome_is_a_data_error(tmp_path: Path) -> None:
    path = write_fasta([("chr1", "ACGT" * 10)], tmp_path / "g.fa")
    genome = IndexedGenome(path)
    with pytest.raises(DataError, match="no contig 'chr9'"):
        genome.fetch("chr9", 0, 4)
    with pytest.raises(DataError, match=r"range chr1:30-50 outside \[0, 40\)"):
        genome.fetch("chr1", 30, 50)


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("chr1\t10\t20\n", r"regions\.bed:1: expected chrom, start, end, label; got 3"),
        ("chr1\tten\t20\tx\n", r"regions\.bed:1: start/end 'ten', '20' are not integers"),
        ("chr1\t30\t20\tx\n", r"regions\.bed:1: need 0 <= start < end"),
        ("chr9\t0\t4\tx\n", r"regions\.bed: chr9:0-4: .*no contig 'chr9'"),
        ("chr1\t0\t400\tx\n", r"regions\.bed: chr1:0-400: .*outside"),
        ("# only a comment\n", r"regions\.bed: no labelled intervals"),
    ],
)
def test_bad_bed_lines_are_data_errors(tmp_path: Path, line: str, pattern: str) -> None:
    genome = write_fasta([("chr1", "ACGT" * 10)], tmp_path / "g.fa")
    bed = tmp_path / "regions.bed"
    bed.write_text(line)
    modality = GenomicsModality(GenomicsConfig(labels_bed=str(bed)))
    with pytest.raises(DataError, match=pattern) as info:
        list(modality.read(str(genome)))
    assert "\n" not in str(info.value)
