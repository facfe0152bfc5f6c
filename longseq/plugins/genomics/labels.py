"""Labelled intervals for sequence classification: BED files over an indexed genome."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from longseq.plugins.genomics.genome import IndexedGenome
from longseq.plugins.genomics.readers import ErrorPolicy, open_text
from longseq.plugins.modality import DataError, Document

__all__ = ["Interval", "labelled_intervals", "read_bed"]

_HEADER_PREFIXES = ("#", "track", "browser")


@dataclass(frozen=True)
class Interval:
    """A BED interval: ``[start, end)`` 0-based on ``chrom``, with its class ``label``
    (BED's 4th, "name", column)."""

    chrom: str
    start: int
    end: int
    label: str


def _parse_line(line: str, where: str) -> Interval:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < 4:
        fields = line.split()
    if len(fields) < 4:
        raise DataError(f"{where}: expected chrom, start, end, label; got {len(fields)} field(s)")
    chrom, start_text, end_text, label = fields[:4]
    try:
        start, end = int(start_text), int(end_text)
    except ValueError:
        raise DataError(
            f"{where}: start/end {start_text!r}, {end_text!r} are not integers"
        ) from None
    if not 0 <= start < end:
        raise DataError(f"{where}: need 0 <= start < end, got {start}, {end}")
    if not label:
        raise DataError(f"{where}: empty label")
    return Interval(chrom, start, end, label)


def read_bed(path: str | Path, policy: ErrorPolicy | None = None) -> list[Interval]:
    """The labelled intervals of a BED file (plain or gzip); header lines are ignored.

    Raises:
        DataError: missing or empty file, or a malformed line (named ``<file>:<line number>``)
            unless ``policy`` skips it; no interval at all is always an error.
    """
    path = Path(path)
    policy = policy or ErrorPolicy()
    if not path.is_file():
        raise DataError(f"{path}: no such BED file")
    intervals: list[Interval] = []
    try:
        with open_text(path) as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip() or line.startswith(_HEADER_PREFIXES):
                    continue
                try:
                    intervals.append(_parse_line(line, f"{path}:{number}"))
                except DataError as exc:
                    policy.handle(exc)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a BED text file ({type(exc).__name__})") from None
    if not intervals:
        raise DataError(f"{path}: no labelled intervals (BED: chrom start end label)")
    return intervals


def labelled_intervals(
    genome: IndexedGenome, bed: str | Path, policy: ErrorPolicy | None = None
) -> Iterator[Document]:
    """One labelled :class:`Document` per BED interval, its bases read from ``genome``.

    Document names are ``"<fasta>:<chrom>:<start>-<end>"``.

    Raises:
        DataError: an interval on an unknown contig or past its end (named by BED file and
            interval) unless ``policy`` skips it.
    """
    policy = policy or ErrorPolicy()
    for interval in read_bed(bed, policy):
        where = f"{bed}: {interval.chrom}:{interval.start}-{interval.end}"
        try:
            bases = genome.fetch(interval.chrom, interval.start, interval.end)
        except DataError as exc:
            policy.handle(DataError(f"{where}: {exc}"))
            continue
        name = f"{genome.path}:{interval.chrom}:{interval.start}-{interval.end}"
        yield Document(name=name, content=bases, label=interval.label)
