"""The ``.fai`` (and, for BGZF, ``.gzi``) index of a FASTA file, built in one vectorised pass.

pyfaidx builds the same index with a Python loop over every line (and a second pass that
decompresses every BGZF block again for the ``.gzi``): minutes for a multi-gigabase genome.
Here each block is decompressed once and its lines are found with numpy, so the build runs at
about the speed of decompression. Only regular files take this path: every record's lines of
one length but the last, no blank line, no ``\\r``, names unique, a final newline. For anything
else :func:`build_fasta_index` writes nothing and returns False, and pyfaidx's own builder
indexes the file or names what is wrong with it.

``.fai``: one line per record, ``name  length  offset  bases-per-line  bytes-per-line``
(samtools' format; offsets count uncompressed bytes). ``.gzi`` (htslib): the number of blocks
after the first, then ``(compressed, uncompressed)`` start offsets of each, little-endian
uint64; the empty end-of-file block is left out.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["build_fasta_index"]

_CHUNK = 1 << 23  # bytes handed to numpy at once: memory stays at a few times this
_NEWLINE, _HEADER = ord("\n"), ord(">")


class _Irregular(Exception):
    """The file is not one the vectorised pass indexes (pyfaidx's builder decides)."""


def _bgzf_chunks(path: Path, blocks: list[tuple[int, int]]) -> Iterator[bytes]:
    """The decompressed bytes of a BGZF file, some blocks at a time; every block's
    ``(compressed, uncompressed)`` start is appended to ``blocks`` (the empty end-of-file block
    that must close the file is not)."""
    coffset = uoffset = 0
    pending: list[bytes] = []
    size = 0
    last_empty = False
    with open(path, "rb") as fh:
        while True:
            head = fh.read(12)
            if not head:
                break
            if len(head) < 12 or head[:4] != b"\x1f\x8b\x08\x04":
                raise _Irregular
            (xlen,) = struct.unpack("<H", head[10:12])
            extra = fh.read(xlen)
            bsize = None
            at = 0
            while at + 4 <= len(extra):
                sub, slen = extra[at : at + 2], struct.unpack("<H", extra[at + 2 : at + 4])[0]
                if sub == b"BC" and slen == 2:
                    bsize = struct.unpack("<H", extra[at + 4 : at + 6])[0] + 1
                at += 4 + slen
            if bsize is None:
                raise _Irregular
            rest = fh.read(bsize - 12 - xlen)
            if len(rest) != bsize - 12 - xlen:
                raise _Irregular
            crc, isize = struct.unpack("<II", rest[-8:])
            try:
                data = zlib.decompress(rest[:-8], -15)
            except zlib.error:
                raise _Irregular from None
            if len(data) != isize or zlib.crc32(data) != crc:
                raise _Irregular
            last_empty = not data
            blocks.append((coffset, uoffset))
            pending.append(data)
            size += len(data)
            coffset += bsize
            uoffset += len(data)
            if size >= _CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
    if not last_empty:
        raise _Irregular  # no end-of-file block: pyfaidx's builder reports it
    blocks.pop()
    if pending:
        yield b"".join(pending)


def _plain_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


@dataclass
class _Record:
    name: str
    offset: int
    lenb: int = 0
    length: int = 0
    short: int = 0  # 1 once a line shorter than lenb was seen: it must have been the last


@dataclass
class _Indexer:
    records: list[_Record] = field(default_factory=list)

    def lines(self, data: np.ndarray, start: int) -> None:
        """Account for complete lines ``data`` (ends with a newline) at uncompressed ``start``."""
        ends = np.flatnonzero(data == _NEWLINE)
        begins = np.concatenate(([0], ends[:-1] + 1))
        headers = np.flatnonzero(data[begins] == _HEADER)
        cuts = [0, *headers.tolist(), len(begins)]
        for k in range(len(cuts) - 1):
            lo, hi = cuts[k], cuts[k + 1]
            if k > 0:  # a header line starts every segment but the first
                words = bytes(data[begins[lo] + 1 : ends[lo]]).split()
                try:
                    name = words[0].decode()
                except (IndexError, UnicodeDecodeError):
                    raise _Irregular from None
                self.records.append(_Record(name, start + int(ends[lo]) + 1))
                lo += 1
            if lo == hi:
                continue
            if not self.records:
                raise _Irregular  # text before the first header
            self._sequence(ends[lo:hi] - begins[lo:hi] + 1)

    def _sequence(self, lengths: np.ndarray) -> None:
        record = self.records[-1]
        if record.short:
            raise _Irregular  # a short line before more sequence
        if not record.lenb:
            record.lenb = int(lengths[0])
        if int(lengths.min()) < 2 or int(lengths.max()) > record.lenb:
            raise _Irregular
        short = np.flatnonzero(lengths != record.lenb)
        if len(short) > 1 or (len(short) == 1 and short[0] != len(lengths) - 1):
            raise _Irregular
        record.short = len(short)
        record.length += int(lengths.sum()) - len(lengths)


def _index(chunks: Iterator[bytes]) -> list[_Record]:
    indexer = _Indexer()
    carry = b""
    start = 0
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            array = np.frombuffer(data, dtype=np.uint8, count=cut)
            if np.any(array == ord("\r")):
                raise _Irregular
            indexer.lines(array, start)
        start += cut
        carry = data[cut:]
    if carry or not indexer.records:
        raise _Irregular  # no final newline, or no record
    names = [r.name for r in indexer.records]
    if any(not r.length for r in indexer.records) or len(set(names)) != len(names):
        raise _Irregular
    return indexer.records


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(f"{path.name}.part{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(path)


def build_fasta_index(fasta: Path, fai: Path, gzi: Path | None = None) -> bool:
    """Index the FASTA file ``fasta`` (uncompressed, or BGZF when ``gzi`` is given): write
    ``fai`` (and ``gzi``), each whole or not at all.

    Returns:
        True when written; False, writing nothing, when the file is irregular in any way
        (see the module docstring) or not BGZF although ``gzi`` is given.

    Raises:
        OSError: the file cannot be read or the index cannot be written.
    """
    blocks: list[tuple[int, int]] = []
    chunks = _bgzf_chunks(fasta, blocks) if gzi is not None else _plain_chunks(fasta)
    try:
        records = _index(chunks)
    except _Irregular:
        return False
    _write(
        fai,
        "".join(
            f"{r.name}\t{r.length}\t{r.offset}\t{r.lenb - 1}\t{r.lenb}\n" for r in records
        ).encode(),
    )
    if gzi is not None:
        after_first = blocks[1:]
        _write(
            gzi,
            struct.pack("<Q", len(after_first))
            + b"".join(struct.pack("<QQ", c, u) for c, u in after_first),
        )
    return True
