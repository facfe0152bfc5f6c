"""Sequence file readers: FASTA, FASTQ and GenBank through biopython, plain or gzip-compressed.

The format is detected from the content (gzip by its magic bytes, then ``>``, ``@`` or
``LOCUS`` at the start of the text), with the file suffix as a tie-breaker, so a misnamed file
still reads and a file that is not a sequence file is reported as such. Every problem becomes a
one-line :class:`DataError` naming the file (and record); :class:`ErrorPolicy` decides whether
it is raised or counted and skipped with a warning.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from longseq.messages import one_line
from longseq.plugins.modality import DataError, Document

# The one error policy of every modality, re-exported where it used to live.
from longseq.plugins.modality_helpers import ON_ERROR_MODES, DataWarning, ErrorPolicy

__all__ = [
    "FORMATS",
    "ON_ERROR_MODES",
    "SUFFIXES",
    "DataWarning",
    "ErrorPolicy",
    "is_gzip",
    "open_text",
    "read_sequences",
    "sniff_format",
]

FORMATS: tuple[str, ...] = ("fasta", "fastq", "genbank")
"""Sequence formats read by :func:`read_sequences`."""

SUFFIXES: dict[str, set[str]] = {
    "fasta": {".fa", ".fasta", ".fna", ".ffn", ".fas", ".seq", ".mfa"},
    "fastq": {".fq", ".fastq"},
    "genbank": {".gb", ".gbk", ".genbank", ".gbff"},
}
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 4096
_NOT_IUPAC = re.compile(r"[^ACGTURYSWKMBDHVNacgturyswkmbdhvn]")


def is_gzip(path: Path) -> bool:
    """Whether ``path`` starts with the gzip magic bytes (BGZF included)."""
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def open_text(path: Path) -> IO[str]:
    """``path`` opened for reading as text, decompressed when it is gzip."""
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def _head(path: Path) -> bytes:
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                return fh.read(_SNIFF_BYTES)
        with open(path, "rb") as fh:
            return fh.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read: {one_line(exc)}") from None


def sniff_format(path: Path) -> str:
    """The format of ``path``: one of :data:`FORMATS`.

    Raises:
        DataError: the file is missing, empty, binary, or none of the formats.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    head = _head(path)
    text = head.lstrip()
    if not text:
        raise DataError(f"{path}: empty file, no sequence records")
    if b"\x00" in head:
        raise DataError(f"{path}: binary file, not FASTA/FASTQ/GenBank")
    if text.startswith(b">"):
        return "fasta"
    if text.startswith(b"@"):
        return "fastq"
    if text.startswith(b"LOCUS"):
        return "genbank"
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    guess = next((f for f in FORMATS if suffixes and suffixes[-1] in SUFFIXES[f]), None)
    hint = f" (named like {guess}, but " if guess else " ("
    raise DataError(
        f"{path}: not a FASTA/FASTQ/GenBank file{hint}starts with "
        f"{one_line(text[:20].decode('utf-8', 'replace'))!r})"
    )


def _check_letters(sequence: str, where: str) -> None:
    match = _NOT_IUPAC.search(sequence)
    if match is not None:
        raise DataError(
            f"{where}: not a nucleotide character {match.group()!r} at position {match.start()}"
        )


def _sequence_text(record: Any, where: str) -> str:
    try:
        return str(record.seq)
    # A GenBank record without ORIGIN lines has a sequence of known length but no letters.
    except ValueError as exc:
        raise DataError(f"{where}: {one_line(exc)}") from None


def read_sequences(
    path: str | Path, format: str = "auto", policy: ErrorPolicy | None = None
) -> Iterator[Document]:
    """One :class:`Document` per record of a FASTA, FASTQ or GenBank file (gzip or not).

    Document names are ``"<file>:<record id>"``; content is the sequence as written (case kept).

    Args:
        path: the file.
        format: ``"auto"`` (detect) or one of :data:`FORMATS`.
        policy: what to do with a bad file or record; raising by default. With ``"skip"`` a
            record with non-nucleotide letters is skipped alone, while a parse error skips the
            rest of its file (the parser cannot resynchronise).

    Raises:
        DataError: one line naming the file and, where known, the record.
    """
    from Bio import SeqIO

    path = Path(path)
    policy = policy or ErrorPolicy()
    try:
        fmt = sniff_format(path) if format == "auto" else format
        if fmt not in FORMATS:
            raise ValueError(f"format={format!r} must be 'auto' or one of {', '.join(FORMATS)}")
    except DataError as exc:
        policy.handle(exc)
        return
    count = 0
    record_id = "<before first record>"
    try:
        with open_text(path) as handle:
            for record in SeqIO.parse(handle, fmt):
                count += 1
                record_id = record.id or f"#{count}"
                where = f"{path}: record {record_id}"
                try:
                    sequence = _sequence_text(record, where)
                    if not sequence:
                        raise DataError(f"{where}: empty sequence")
                    _check_letters(sequence, where)
                except DataError as exc:
                    policy.handle(exc)
                    continue
                yield Document(name=f"{path}:{record_id}", content=sequence)
    except DataError:
        raise
    # Biopython reports malformed input with ValueError, and undefined content with others.
    except (ValueError, UnicodeDecodeError, EOFError, OSError, AttributeError) as exc:
        after = f"after record {record_id}" if count else "in the first record"
        policy.handle(DataError(f"{path}: malformed {fmt} {after}: {one_line(exc)}"))
        return
    if count == 0:
        policy.handle(DataError(f"{path}: no {fmt} records found"))
