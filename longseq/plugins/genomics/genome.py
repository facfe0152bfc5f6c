"""Random access into large genomes through pyfaidx, and training windows sampled across them.

A multi-gigabase genome is never loaded whole: :class:`IndexedGenome` keeps a ``.fai`` index
(offsets of each contig; built in one vectorised pass, :mod:`~longseq.plugins.genomics.
fasta_index`) and reads only the bases asked for. Uncompressed and BGZF-compressed
FASTA are indexed in place (or in ``cache_dir`` when the file's directory is read-only); a
plain-gzip FASTA cannot be seeked into, so it is decompressed once into ``cache_dir``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from longseq.integrity import DamagedFileWarning
from longseq.messages import one_line
from longseq.plugins.genomics.fasta_index import build_fasta_index
from longseq.plugins.genomics.readers import is_gzip, sniff_format
from longseq.plugins.genomics.sequence import reverse_complement
from longseq.plugins.genomics.tokenizer import DNATokenizer
from longseq.plugins.modality import DataError

__all__ = ["GenomeWindows", "IndexedGenome", "default_cache_dir"]


def default_cache_dir() -> Path:
    """Where indexes and decompressed copies go when they cannot sit beside the FASTA file:
    ``$LONGSEQ_CACHE/genomics``, else ``$XDG_CACHE_HOME/longseq/genomics``, else
    ``~/.cache/longseq/genomics`` (the token cache's root, as in the ``lm`` task)."""
    if os.environ.get("LONGSEQ_CACHE"):
        return Path(os.environ["LONGSEQ_CACHE"]) / "genomics"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "longseq" / "genomics"


def _is_bgzf(path: Path) -> bool:
    # BGZF is gzip with an extra field (FLG.FEXTRA) whose first subfield is "BC".
    with open(path, "rb") as fh:
        header = fh.read(14)
    return (
        len(header) == 14
        and header[:2] == b"\x1f\x8b"
        and bool(header[3] & 4)
        and (header[12:14] == b"BC")
    )


def _cache_key(path: Path) -> str:
    stat = path.stat()
    text = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _index_problem(handle: Any, fasta: Path) -> str | None:
    """What is wrong with the ``.fai`` index pyfaidx read for an uncompressed FASTA: it must
    reach the file's end (an index cut short at a line end loads, without the last contigs);
    None when it does, or for a compressed file (its offsets are not the file's)."""
    if is_gzip(fasta):
        return None
    records = list(handle.faidx.index.values())
    if not records:
        return "no records"
    last = max(records, key=lambda r: int(r.offset))
    lenc, lenb = int(last.lenc), int(last.lenb)
    end = int(last.offset) + (int(last.rlen) // lenc) * lenb + int(last.rlen) % lenc if lenc else 0
    size = fasta.stat().st_size
    if end > size or size - end > lenb + 2:  # at most the last line's end after the sequence
        return f"its records end at byte {end:,} of {size:,}"
    return None


def _decompressed_copy(path: Path, cache_dir: Path) -> Path:
    target = cache_dir / f"{path.name.removesuffix('.gz')}.{_cache_key(path)}.fa"
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".part{os.getpid()}")
        with gzip.open(path, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 22)
        partial.replace(target)
    return target


class IndexedGenome:
    """A FASTA genome read by random access (pyfaidx), contig by contig, base range by range.

    Args:
        path: FASTA file, uncompressed, BGZF (``bgzip``) or plain gzip.
        cache_dir: where to put the index or a decompressed copy when they cannot go beside
            ``path``; :func:`default_cache_dir` by default.

    Raises:
        DataError: the file is not FASTA, or pyfaidx cannot index it (e.g. uneven line lengths
            inside a record); the message names the file.
    """

    def __init__(self, path: str | Path, cache_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        if sniff_format(self.path) != "fasta":
            raise DataError(f"{self.path}: random access needs a FASTA file")
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._fasta_path = self.path
        if is_gzip(self.path) and not _is_bgzf(self.path):
            self._fasta_path = _decompressed_copy(self.path, cache)
        self._index_kwargs: dict[str, Any] = {}
        if not os.access(self._fasta_path.parent, os.W_OK):
            stem = f"{self._fasta_path.name}.{_cache_key(self._fasta_path)}"
            cache.mkdir(parents=True, exist_ok=True)
            self._index_kwargs = {
                "indexname": str(cache / f"{stem}.fai"),
                "gzi_indexname": str(cache / f"{stem}.gzi"),
            }
        self._handle: Any = None
        self._pid = -1
        index = self._open().faidx.index
        self.contigs: dict[str, int] = {name: int(rec.rlen) for name, rec in index.items()}
        if not self.contigs:
            raise DataError(f"{self.path}: no FASTA records to index")

    def _open(self) -> Any:
        # A forked DataLoader worker must not share the parent's file offset: reopen per process.
        if self._handle is None or self._pid != os.getpid():
            import pyfaidx

            index = Path(self._index_kwargs.get("indexname", f"{self._fasta_path}.fai"))
            problem: str | None
            for attempt in (1, 2):
                had_index = index.is_file()
                self._build_index(index)
                try:
                    handle = pyfaidx.Fasta(str(self._fasta_path), as_raw=True, **self._index_kwargs)
                except (
                    pyfaidx.FastaIndexingError,
                    pyfaidx.UnsupportedCompressionFormat,
                    ValueError,
                    OSError,
                ) as exc:
                    if not (had_index and attempt == 1):
                        message = f"{self.path}: cannot index FASTA: {one_line(exc)}"
                        raise DataError(message) from None
                    problem = f"it does not load: {one_line(exc)}"
                else:
                    problem = None if attempt == 2 else _index_problem(handle, self._fasta_path)
                    if problem is None:
                        self._handle = handle
                        break
                    handle.close()
                # A damaged index (cut short, overwritten) is not trusted: build it again.
                warnings.warn(
                    f"{index} is damaged ({problem}); rebuilding the index of {self.path}",
                    DamagedFileWarning,
                    stacklevel=2,
                )
                index.unlink(missing_ok=True)
            self._pid = os.getpid()
        return self._handle

    def _build_index(self, index: Path) -> None:
        """Write a missing or stale index with the vectorised builder; pyfaidx's builder is
        left the files that builder does not take (and their error messages)."""
        gzi = None
        if _is_bgzf(self._fasta_path):
            gzi = Path(self._index_kwargs.get("gzi_indexname", f"{self._fasta_path}.gzi"))
        modified = self._fasta_path.stat().st_mtime
        if all(p.is_file() and p.stat().st_mtime >= modified for p in (index, gzi) if p):
            return
        try:
            build_fasta_index(self._fasta_path, index, gzi)
        except OSError:
            pass  # pyfaidx's builder tries again and reports what fails in one line

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handle"], state["_pid"] = None, -1
        return state

    @property
    def total_length(self) -> int:
        """Bases in all contigs together."""
        return sum(self.contigs.values())

    def fetch(self, contig: str, start: int, end: int) -> str:
        """Bases ``[start, end)`` (0-based, half-open) of ``contig``, case as in the file.

        Raises:
            DataError: unknown contig or a range outside it.
        """
        length = self.contigs.get(contig)
        if length is None:
            raise DataError(f"{self.path}: no contig {contig!r}")
        if not 0 <= start < end <= length:
            raise DataError(f"{self.path}: range {contig}:{start}-{end} outside [0, {length})")
        return str(self._open()[contig][start:end])

    def close(self) -> None:
        """Close the file handle (reopened on the next :meth:`fetch`)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class GenomeWindows:
    """Map-style dataset of token windows sampled across a genome's contigs.

    Item ``i`` is a window of ``length`` ids whose start is drawn uniformly from all valid
    start positions in the genome, so contigs are picked in proportion to their length
    (``length - window + 1`` starts each; contigs shorter than a window are never picked).
    ``regions`` restricts the draw to ``(contig, start, end)`` ranges (e.g. the training part of
    every contig): a window then lies wholly inside one region, regions picked in proportion to
    their length in the same way. The
    draw is seeded by ``(seed, i)``: an item is the same in every epoch and every worker. With
    ``reverse_complement_prob`` > 0 a window is read off the other strand with that probability.
    Items are int64 ``np.ndarray`` [length], ready for a torch ``DataLoader``.

    Args:
        genome: an :class:`IndexedGenome`, or a FASTA path to open as one.
        length: tokens per window (an LM's ``seq_len + 1`` for inputs and shifted targets).
        tokenizer: the :class:`DNATokenizer` that encodes the bases.
        num_samples: the dataset's length.
        seed: base seed of the draws.
        reverse_complement_prob: probability of returning the reverse-complement strand.
        regions: ``(contig, start, end)`` ranges (0-based, half-open) to draw windows from;
            ``None``: every contig whole.

    Raises:
        DataError: a region outside its contig, or no region (contig) holds a window.
    """

    def __init__(
        self,
        genome: IndexedGenome | str | Path,
        length: int,
        tokenizer: DNATokenizer,
        num_samples: int,
        seed: int = 0,
        reverse_complement_prob: float = 0.0,
        regions: Sequence[tuple[str, int, int]] | None = None,
    ) -> None:
        self.genome = genome if isinstance(genome, IndexedGenome) else IndexedGenome(genome)
        if length < 1 or num_samples < 1:
            raise ValueError(f"length={length} and num_samples={num_samples} must be >= 1")
        if not 0.0 <= reverse_complement_prob <= 1.0:
            raise ValueError(f"reverse_complement_prob={reverse_complement_prob} not in [0, 1]")
        self.length = length
        self.tokenizer = tokenizer
        self.num_samples = num_samples
        self.seed = seed
        self.reverse_complement_prob = reverse_complement_prob
        self.names = list(self.genome.contigs)
        if regions is None:
            self.regions = [(name, 0, n) for name, n in self.genome.contigs.items()]
        else:
            self.regions = [(str(c), int(a), int(b)) for c, a, b in regions]
        for contig, begin, end in self.regions:
            size = self.genome.contigs.get(contig)
            if size is None or not 0 <= begin <= end <= size:
                raise DataError(
                    f"{self.genome.path}: region {contig}:{begin}-{end} is outside the genome"
                )
        starts = np.array([max(end - begin - length + 1, 0) for _, begin, end in self.regions])
        if starts.sum() == 0:
            kind = "contig" if regions is None else "region"
            longest = max((end - begin for _, begin, end in self.regions), default=0)
            raise DataError(
                f"{self.genome.path}: no {kind} holds a window of {length} bases "
                f"(longest is {longest})"
            )
        self._cum_starts = np.cumsum(starts)

    def __len__(self) -> int:
        return self.num_samples

    def locate(self, index: int) -> tuple[str, int, bool]:
        """Where item ``index`` comes from: ``(contig, start, reverse_complemented)``."""
        if not 0 <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for {self.num_samples} windows")
        rng = np.random.default_rng((self.seed, index))
        flat = int(rng.integers(int(self._cum_starts[-1])))
        region = int(np.searchsorted(self._cum_starts, flat, side="right"))
        offset = flat - (int(self._cum_starts[region - 1]) if region else 0)
        flip = bool(rng.random() < self.reverse_complement_prob)
        contig, begin, _ = self.regions[region]
        return contig, begin + offset, flip

    def __getitem__(self, index: int) -> np.ndarray:
        contig, start, flip = self.locate(index)
        bases = self.genome.fetch(contig, start, start + self.length)
        if flip:
            bases = reverse_complement(bases)
        try:
            return self.tokenizer.encode(bases)
        except DataError as exc:
            where = f"{self.genome.path}: {contig}:{start}-{start + self.length}"
            raise DataError(f"{where}: {exc}") from None
