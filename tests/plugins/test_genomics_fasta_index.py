"""The vectorised ``.fai``/``.gzi`` builder writes byte for byte what pyfaidx's builder writes,
and leaves every irregular file to pyfaidx (writing nothing)."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pyfaidx
import pytest
from Bio import bgzf

from longseq.bench.data import write_random_fasta
from longseq.plugins.genomics import IndexedGenome
from longseq.plugins.genomics import fasta_index as fasta_index_module
from longseq.plugins.genomics.fasta_index import build_fasta_index
from longseq.plugins.modality import DataError

REGULAR = (
    ">chr1 first contig\n" + "ACGTA\n" * 3 + "AC\n"
    ">chr2\n" + "acgtn\n" * 2 + "GG\n"
    ">chrM\tmito\n" + "TTTTT\n"
)


def _pyfaidx_index(path: Path, into: Path) -> tuple[str, bytes | None]:
    copy = into / path.name
    into.mkdir()
    shutil.copy(path, copy)
    pyfaidx.Fasta(str(copy)).close()
    gzi = Path(f"{copy}.gzi")
    return Path(f"{copy}.fai").read_text(), gzi.read_bytes() if gzi.exists() else None


def test_plain_fasta_index_equals_pyfaidx(tmp_path: Path) -> None:
    path = tmp_path / "g.fa"
    path.write_text(REGULAR)
    assert build_fasta_index(path, tmp_path / "g.fai")
    expected, _ = _pyfaidx_index(path, tmp_path / "ref")
    assert (tmp_path / "g.fai").read_text() == expected
    assert expected.splitlines()[0] == "chr1\t17\t19\t5\t6"


def test_bgzf_index_equals_pyfaidx_across_many_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small chunks: records and lines cross the chunks handed to numpy
    monkeypatch.setattr(fasta_index_module, "_CHUNK", 100_000)
    path = tmp_path / "g.fa.gz"
    write_random_fasta(path, {"a": 300_007, "b": 61, "c": 250_000}, seed=1, width=80)
    assert build_fasta_index(path, tmp_path / "g.fai", tmp_path / "g.gzi")
    fai, gzi = _pyfaidx_index(path, tmp_path / "ref")
    assert (tmp_path / "g.fai").read_text() == fai
    assert (tmp_path / "g.gzi").read_bytes() == gzi


def test_biopython_bgzf_is_indexed_too(tmp_path: Path) -> None:
    path = tmp_path / "g.fa.gz"
    with bgzf.BgzfWriter(str(path), "wb") as out:
        out.write(REGULAR.encode())
    assert build_fasta_index(path, tmp_path / "g.fai", tmp_path / "g.gzi")
    fai, gzi = _pyfaidx_index(path, tmp_path / "ref")
    assert (tmp_path / "g.fai").read_text() == fai and (tmp_path / "g.gzi").read_bytes() == gzi


@pytest.mark.parametrize(
    "text",
    [
        ">a\nACGT\nAC\nACGT\n",  # a short line inside a record
        ">a\nACGT\nACGTA\n",  # a longer line
        ">a\nACGT\n\n>b\nAC\n",  # a blank line
        ">a\r\nACGT\r\n",  # CRLF
        ";comment\n>a\nACGT\n",  # text before the first header
        ">a\nACGT\n>a\nAC\n",  # a duplicate name
        ">a\n>b\nAC\n",  # an empty record
        ">a\nACGT",  # no final newline
        "> \nACGT\n",  # no name
    ],
)
def test_irregular_files_are_left_to_pyfaidx(tmp_path: Path, text: str) -> None:
    path = tmp_path / "g.fa"
    path.write_bytes(text.encode())
    assert not build_fasta_index(path, tmp_path / "g.fai")
    assert not (tmp_path / "g.fai").exists()
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(text.encode()))  # plain gzip is not BGZF either
    assert not build_fasta_index(gz, tmp_path / "h.fai", tmp_path / "h.gzi")
    assert not (tmp_path / "h.fai").exists() and not (tmp_path / "h.gzi").exists()


def test_indexed_genome_builds_a_missing_or_stale_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.fa.gz"
    write_random_fasta(path, {"x": 5_000, "y": 300}, seed=2)
    calls: list[Path] = []
    real = fasta_index_module.build_fasta_index

    def counted(fasta: Path, fai: Path, gzi: Path | None = None) -> bool:
        calls.append(fai)
        return real(fasta, fai, gzi)

    monkeypatch.setattr("longseq.plugins.genomics.genome.build_fasta_index", counted)
    genome = IndexedGenome(path)
    assert calls == [Path(f"{path}.fai")] and Path(f"{path}.gzi").is_file()
    assert genome.contigs == {"x": 5_000, "y": 300}
    IndexedGenome(path)
    assert len(calls) == 1  # present and current: not built again
    fai = Path(f"{path}.fai")
    old = path.stat().st_mtime - 10
    os.utime(fai, (old, old))
    IndexedGenome(path)
    assert len(calls) == 2


def test_irregular_file_still_gets_pyfaidx_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.fa"
    path.write_text(">a\nACGT\nAC\nACGT\n")
    with pytest.raises(DataError, match=r"bad\.fa: cannot index FASTA"):
        IndexedGenome(path)
