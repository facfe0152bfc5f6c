"""Operations on DNA strings: reverse complement (the strand-flip augmentation) and FASTA output."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["FASTA_WIDTHS", "reverse_complement", "write_fasta"]

FASTA_WIDTHS: tuple[int, ...] = (60, 70, 80)
"""Accepted FASTA line widths (NCBI writes 70 or 80, Ensembl and biopython 60)."""

# IUPAC complements, both cases: ambiguity codes map to the code of the complementary set.
_COMPLEMENT = str.maketrans(
    "ACGTURYSWKMBDHVNacgturyswkmbdhvn",
    "TGCAAYRSWMKVHDBNtgcaayrswmkvhdbn",
)


def reverse_complement(sequence: str) -> str:
    """The reverse complement of an IUPAC DNA string, case kept (``"ACgN"`` -> ``"NcGT"``).

    For DNA letters (``U`` is read as ``T``) it is an involution: applying it twice gives the
    input back.
    """
    return sequence.translate(_COMPLEMENT)[::-1]


def write_fasta(records: Iterable[tuple[str, str]], path: Path, width: int = 60) -> Path:
    """Write ``(header, sequence)`` pairs as FASTA wrapped at ``width`` columns; returns ``path``.

    Raises:
        ValueError: ``width`` not in :data:`FASTA_WIDTHS`, or an empty or multi-line header.
    """
    if width not in FASTA_WIDTHS:
        raise ValueError(f"width={width} must be one of {', '.join(map(str, FASTA_WIDTHS))}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="ascii") as fh:
        for header, sequence in records:
            if not header or "\n" in header:
                raise ValueError(f"FASTA header {header!r} must be one non-empty line")
            fh.write(f">{header}\n")
            fh.writelines(
                sequence[start : start + width] + "\n" for start in range(0, len(sequence), width)
            )
    return path
