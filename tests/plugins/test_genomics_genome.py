"""Genomics random access: pyfaidx slices equal the full-sequence slice, windows across contigs,
BED-labelled intervals."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from Bio import bgzf

from longseq.plugins.genomics import (
    LAMBDA_FASTA,
    DNATokenizer,
    GenomeWindows,
    GenomicsConfig,
    GenomicsModality,
    IndexedGenome,
    read_bed,
    read_sequences,
    reverse_complement,
    write_fasta,
)
from longseq.plugins.genomics import genome as genome_module
from longseq.plugins.modality import DataError


@pytest.fixture(scope="module")
def lambda_sequence() -> str:
    (document,) = list(read_sequences(LAMBDA_FASTA))
    return str(document.content)


@pytest.fixture()
def two_contigs(tmp_path: Path, lambda_sequence: str) -> tuple[Path, dict[str, str]]:
    contigs = {"chrA": lambda_sequence[:30_000], "chrB": lambda_sequence[30_000:].lower()}
    path = write_fasta(contigs.items(), tmp_path / "genome.fa", width=60)
    return path, contigs


def test_random_access_equals_the_full_sequence_slice(
    two_contigs: tuple[Path, dict[str, str]],
) -> None:
    path, contigs = two_contigs
    genome = IndexedGenome(path)
    assert genome.contigs == {name: len(seq) for name, seq in contigs.items()}
    assert (path.parent / "genome.fa.fai").is_file()
    rng = np.random.default_rng(0)
    for _ in range(20):
        name = str(rng.choice(list(contigs)))
        start = int(rng.integers(len(contigs[name]) - 1))
        end = int(rng.integers(start + 1, len(contigs[name]) + 1))
        assert genome.fetch(name, start, end) == contigs[name][start:end]


def test_random_access_into_bgzf_and_plain_gzip(tmp_path: Path, lambda_sequence: str) -> None:
    packed = tmp_path / "lambda.fa.bgz"
    with bgzf.BgzfWriter(str(packed), "wb") as out:
        out.write(f">lambda\n{lambda_sequence}\n".encode())
    genome = IndexedGenome(packed, cache_dir=tmp_path / "cache")
    assert genome.fetch("lambda", 40_000, 40_100) == lambda_sequence[40_000:40_100]
    # The shipped file is plain gzip: decompressed once into the cache, then indexed there.
    shipped = IndexedGenome(LAMBDA_FASTA, cache_dir=tmp_path / "cache")
    (name,) = shipped.contigs
    assert shipped.fetch(name, 123, 4567) == lambda_sequence[123:4567]
    assert any((tmp_path / "cache").glob("*.fai"))


def test_read_only_directory_puts_the_index_in_the_cache(
    tmp_path: Path, two_contigs: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, contigs = two_contigs
    shipped = tmp_path / "site-packages"
    shipped.mkdir()
    shutil.copy(path, shipped / "genome.fa")
    # chmod does not stop root (CI runs as root), so the check itself answers "read-only".
    monkeypatch.setattr(genome_module.os, "access", lambda *_: False)
    genome = IndexedGenome(shipped / "genome.fa", cache_dir=tmp_path / "cache")
    assert genome.fetch("chrB", 5, 15) == contigs["chrB"][5:15]
    assert not (shipped / "genome.fa.fai").exists()
    assert len(list((tmp_path / "cache").glob("genome.fa.*.fai"))) == 1


def test_windows_sample_contigs_in_proportion_to_length(
    two_contigs: tuple[Path, dict[str, str]],
) -> None:
    path, contigs = two_contigs
    tokenizer = DNATokenizer("keep")
    windows = GenomeWindows(path, length=100, tokenizer=tokenizer, num_samples=2000, seed=1)
    assert len(windows) == 2000
    picks = [windows.locate(i) for i in range(len(windows))]
    share_a = sum(contig == "chrA" for contig, _, _ in picks) / len(picks)
    expected = (30_000 - 99) / (48_502 - 2 * 99)
    assert abs(share_a - expected) < 0.04
    for i in (0, 7, 1999):
        contig, start, flipped = windows.locate(i)
        assert not flipped
        assert tokenizer.decode(windows[i]) == contigs[contig][start : start + 100]
    assert np.array_equal(windows[5], windows[5])


def test_windows_reverse_complement_half_the_time(
    two_contigs: tuple[Path, dict[str, str]],
) -> None:
    path, contigs = two_contigs
    tokenizer = DNATokenizer("keep")
    windows = GenomeWindows(path, 64, tokenizer, num_samples=400, reverse_complement_prob=0.5)
    flips = 0
    for i in range(0, 400, 4):
        contig, start, flipped = windows.locate(i)
        forward = contigs[contig][start : start + 64]
        expected = reverse_complement(forward) if flipped else forward
        assert tokenizer.decode(windows[i]) == expected
        flips += flipped
    assert 25 < flips < 75


def test_modality_windows_use_its_tokenizer_and_strand_option(tmp_path: Path) -> None:
    config = GenomicsConfig(soft_mask="upper", reverse_complement=True, cache_dir=str(tmp_path))
    windows = GenomicsModality(config).windows(str(LAMBDA_FASTA), 1025, num_samples=8)
    assert windows.reverse_complement_prob == 0.5
    assert windows[3].shape == (1025,) and windows[3].max() < 10


def test_window_longer_than_every_contig_is_a_data_error(
    two_contigs: tuple[Path, dict[str, str]],
) -> None:
    path, _ = two_contigs
    with pytest.raises(DataError, match="no contig holds a window of 40000 bases"):
        GenomeWindows(path, 40_000, DNATokenizer(), num_samples=1)


def test_bed_intervals_become_labelled_documents(
    tmp_path: Path, two_contigs: tuple[Path, dict[str, str]]
) -> None:
    path, contigs = two_contigs
    bed = tmp_path / "regions.bed"
    bed.write_text(
        "track name=test\n# a comment\nchrA\t0\t100\tcoding\nchrB\t50\t80\tnoncoding\tx\t+\n"
    )
    assert [i.label for i in read_bed(bed)] == ["coding", "noncoding"]
    modality = GenomicsModality(GenomicsConfig(labels_bed=str(bed)))
    documents = list(modality.read(str(path)))
    assert [(d.content, d.label) for d in documents] == [
        (contigs["chrA"][:100], "coding"),
        (contigs["chrB"][50:80], "noncoding"),
    ]
    assert documents[1].name == f"{path}:chrB:50-80"


def test_bed_gzip_is_read(tmp_path: Path) -> None:
    bed = tmp_path / "regions.bed.gz"
    bed.write_bytes(gzip.compress(b"chr1\t10\t20\tpromoter\n"))
    (interval,) = read_bed(bed)
    assert (interval.chrom, interval.start, interval.end, interval.label) == (
        "chr1",
        10,
        20,
        "promoter",
    )
