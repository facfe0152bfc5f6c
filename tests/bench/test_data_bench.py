"""The data benchmark's pieces on tiny inputs: the random BGZF genome is a FASTA that gzip,
the ``.fai``/``.gzi`` index and random access all read back; the code phases count the tree
(timings themselves live in BENCHMARKS.md)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from longseq.bench.data import BGZF_EOF, bgzf_block, code_phases, write_random_fasta
from longseq.plugins.genomics.genome import IndexedGenome


def _blocks(data: bytes) -> list[int]:
    """Sizes of the BGZF blocks of ``data`` (from each block's BC subfield)."""
    sizes, at = [], 0
    while at < len(data):
        assert data[at : at + 4] == b"\x1f\x8b\x08\x04" and data[at + 12 : at + 14] == b"BC"
        size = struct.unpack("<H", data[at + 16 : at + 18])[0] + 1
        sizes.append(size)
        at += size
    assert at == len(data)
    return sizes


def test_random_fasta_is_bgzf_and_reads_back_by_random_access(tmp_path: Path) -> None:
    contigs = {"chr1": 150_001, "chr2": 7, "chrM": 70_000}
    path = tmp_path / "g.fa.gz"
    size = write_random_fasta(path, contigs, seed=3, width=70)
    data = path.read_bytes()
    assert size == len(data) and data.endswith(BGZF_EOF) and len(_blocks(data)) > 3
    text = gzip.decompress(data).decode()
    records = {chunk.split("\n", 1)[0]: chunk.split("\n", 1)[1] for chunk in text.split(">")[1:]}
    assert list(records) == list(contigs)
    for name, body in records.items():
        lines = body.rstrip("\n").split("\n")
        assert all(len(line) == 70 for line in lines[:-1]) and 0 < len(lines[-1]) <= 70
        assert set("".join(lines)) <= set("ACGT") and len("".join(lines)) == contigs[name]
    genome = IndexedGenome(path, cache_dir=tmp_path / "cache")
    assert genome.contigs == contigs
    seq = "".join(records["chr1"].split("\n"))
    for start in (0, 65_000, 149_990):
        assert genome.fetch("chr1", start, start + 11) == seq[start : start + 11]
    assert write_random_fasta(tmp_path / "again.fa.gz", contigs, seed=3, width=70) == size
    assert (tmp_path / "again.fa.gz").read_bytes() == data


def test_bgzf_block_limits() -> None:
    assert gzip.decompress(bgzf_block(b"ACGT\n" * 100)) == b"ACGT\n" * 100
    with pytest.raises(ValueError, match="at most 65280 bytes"):
        bgzf_block(b"A" * 65_281)
    with pytest.raises(ValueError, match="width=0"):
        write_random_fasta("unused.fa.gz", {"a": 10}, width=0)


def test_code_phases_count_the_tree(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg import b\n\nX = b.Y\n")
    (tmp_path / "pkg" / "b.py").write_text("Y = 1\n")
    (tmp_path / "notes.txt").write_text("not code")
    phases = code_phases(tmp_path, ["python"])
    assert {k for k in phases} == {"walk", "parse", "order", "tokenise", "files", "bytes", "tokens"}
    assert phases["files"] == 3 and phases["bytes"] == len("from pkg import b\n\nX = b.Y\n") + 6
    # byte tokens: a header line per file, its text and an end-of-document id
    headers = sum(len(f"# file: pkg/{name}\n") for name in ("__init__.py", "a.py", "b.py"))
    assert phases["tokens"] == headers + phases["bytes"] + 3
    assert all(phases[k] >= 0 for k in ("walk", "parse", "order", "tokenise"))
