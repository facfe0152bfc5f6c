"""The ``genomics`` modality: DNA files in, one token per nucleotide, generated DNA out as FASTA."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from longseq.messages import one_line
from longseq.plugins.genomics.genome import GenomeWindows, IndexedGenome
from longseq.plugins.genomics.labels import labelled_intervals
from longseq.plugins.genomics.readers import (
    FORMATS,
    SUFFIXES,
    ErrorPolicy,
    read_sequences,
)
from longseq.plugins.genomics.sequence import FASTA_WIDTHS, reverse_complement, write_fasta
from longseq.plugins.genomics.tokenizer import DNATokenizer
from longseq.plugins.modality import DataError, Document, label_from_path
from longseq.plugins.modality_helpers import ON_ERROR_MODES, check_choices, find_files
from longseq.plugins.registry import MODALITIES

__all__ = ["LABEL_BY", "GenomicsConfig", "GenomicsModality"]

LABEL_BY: tuple[str, ...] = ("none", "directory", "stem")
"""Per-file class labels: none, the file's parent directory name, or the file name stem."""

_SEQUENCE_SUFFIXES = sorted(set().union(*SUFFIXES.values()))


@dataclass
class GenomicsConfig:
    """Options of the ``genomics`` modality (``modality=genomics``).

    Attributes:
        soft_mask: ``upper`` folds soft-masked (lowercase) bases into uppercase; ``keep``
            gives them their own tokens.
        format: ``auto`` (detect from content) or ``fasta``, ``fastq``, ``genbank``.
        on_error: ``raise`` on the first bad file or record, or ``skip`` it with a warning.
        split_length: cut each sequence into documents of this many bases (the last one
            shorter), so that one genome can be split into train/val/test by region; ``null``
            keeps whole records.
        reverse_complement: strand augmentation: each document of :meth:`GenomicsModality.read`
            (a fixed coin per document name, so both strands of a region never land in
            different splits) and each window of :meth:`GenomicsModality.windows` (a coin per
            draw) is read off the reverse strand with probability 1/2.
        labels_bed: a BED file (chrom, start, end, label): ``read(genome.fa)`` then yields one
            labelled document per interval, read by random access.
        label_by: per-file labels for classification: ``none``, ``directory`` (the parent
            folder's name, e.g. ``data/phage/x.fa`` -> ``phage``) or ``stem`` (file name).
        fasta_width: line width of written FASTA (60, 70 or 80).
        cache_dir: where indexes and decompressed genomes go when they cannot sit beside the
            input; ``null``: ``$LONGSEQ_CACHE/genomics`` or ``~/.cache/longseq/genomics``.
    """

    soft_mask: str = "upper"
    format: str = "auto"
    on_error: str = "raise"
    split_length: int | None = None
    reverse_complement: bool = False
    labels_bed: str | None = None
    label_by: str = "none"
    fasta_width: int = 60
    cache_dir: str | None = None

    def validate(self) -> None:
        """Raise ValueError naming the ``modality.<key>`` at fault."""
        choices = {
            "soft_mask": ("upper", "keep"),
            "format": ("auto", *FORMATS),
            "on_error": ON_ERROR_MODES,
            "label_by": LABEL_BY,
        }
        check_choices(self, choices)
        if self.fasta_width not in FASTA_WIDTHS:
            raise ValueError(
                f"modality.fasta_width={self.fasta_width} must be one of "
                f"{', '.join(map(str, FASTA_WIDTHS))}"
            )
        if self.split_length is not None and self.split_length < 1:
            raise ValueError(f"modality.split_length={self.split_length} must be >= 1 or null")
        if self.labels_bed is not None and self.label_by != "none":
            raise ValueError("modality.labels_bed and modality.label_by cannot both set labels")


@MODALITIES.register("genomics")
class GenomicsModality:
    """DNA: FASTA/FASTQ/GenBank (gzip or not) -> single-nucleotide ids -> FASTA.

    Attributes:
        skipped: messages of the files and records skipped so far (``on_error=skip``).
    """

    name: ClassVar[str] = "genomics"
    config_class: ClassVar[type] = GenomicsConfig
    unit: ClassVar[str] = "base"
    output_suffix: ClassVar[str] = ".fa"

    def __init__(self, config: GenomicsConfig | None = None) -> None:
        self.config = config if config is not None else GenomicsConfig()
        self.config.validate()
        self._policy = ErrorPolicy(self.config.on_error)

    @property
    def skipped(self) -> list[str]:
        """Messages of the files and records skipped so far."""
        return self._policy.skipped

    def read(self, path: str) -> Iterator[Document]:
        """Sequence documents from a file, directory or glob (or BED intervals of a genome).

        Raises:
            DataError: a missing path, a bad file or record (unless ``on_error=skip``), or no
                usable sequence at all.
        """
        before = len(self.skipped)
        count = 0
        for document in self._documents(path):
            count += 1
            yield document
        if count == 0:
            skipped = len(self.skipped) - before
            raise DataError(f"{path}: no usable sequence ({skipped} file(s)/record(s) skipped)")

    def _documents(self, path: str) -> Iterator[Document]:
        if self.config.labels_bed is not None:
            genome = IndexedGenome(path, cache_dir=self.config.cache_dir)
            for document in labelled_intervals(genome, self.config.labels_bed, self._policy):
                yield self._strand(document, genome.path)
            return
        for file in find_files(path, _SEQUENCE_SUFFIXES, what="FASTA/FASTQ/GenBank"):
            label = label_from_path(file, self.config.label_by)
            for document in read_sequences(file, self.config.format, self._policy):
                document.label = label
                for piece in self._split(document):
                    yield self._strand(piece, file)

    def _strand(self, document: Document, file: Path) -> Document:
        """``document``, or its reverse complement on a coin fixed by the file's name and the
        record/region (not the directory, so the choice is the same wherever the data lives)."""
        if not self.config.reverse_complement:
            return document
        key = file.name + document.name.removeprefix(str(file))
        if not zlib.crc32(key.encode()) & 1:
            return document
        return Document(
            name=f"{document.name}:rc",
            content=reverse_complement(document.content),
            label=document.label,
        )

    def _split(self, document: Document) -> Iterator[Document]:
        size = self.config.split_length
        sequence = document.content
        if size is None or len(sequence) <= size:
            yield document
            return
        for start in range(0, len(sequence), size):
            end = min(start + size, len(sequence))
            name = f"{document.name}:{start}-{end}"
            yield Document(name=name, content=sequence[start:end], label=document.label)

    def contig_lengths(self, path: str) -> dict[str, int]:
        """Bases in each contig of the FASTA genome at ``path``, from its index (no sequence
        is read); the random-access capability of :class:`~longseq.plugins.modality.
        RandomAccessModality`."""
        return dict(IndexedGenome(path, cache_dir=self.config.cache_dir).contigs)

    def windows(
        self,
        path: str,
        length: int,
        num_samples: int,
        seed: int = 0,
        regions: Sequence[tuple[str, int, int]] | None = None,
    ) -> GenomeWindows:
        """Training windows sampled across the contigs of the FASTA genome at ``path`` (or
        within ``regions``, ``(contig, start, end)`` ranges), read by random access (for genomes
        too large to concatenate in memory); the tokenizer is :meth:`fit_tokenizer`'s, the
        strand flips with ``reverse_complement``."""
        genome = IndexedGenome(path, cache_dir=self.config.cache_dir)
        return GenomeWindows(
            genome,
            length=length,
            tokenizer=DNATokenizer(self.config.soft_mask),
            num_samples=num_samples,
            seed=seed,
            reverse_complement_prob=0.5 if self.config.reverse_complement else 0.0,
            regions=regions,
        )

    def fit_tokenizer(self, documents: Iterable[Document]) -> DNATokenizer:
        """The fixed nucleotide tokenizer (nothing to learn; ``documents`` are not read)."""
        return DNATokenizer(self.config.soft_mask)

    def load_tokenizer(self, directory: Path) -> DNATokenizer:
        """The tokenizer saved in ``directory``."""
        return DNATokenizer.load(directory)

    def read_prompt(self, path: Path) -> str:
        """The bases of a prompt file: FASTA header lines (``>``) and whitespace dropped.

        Raises:
            DataError: the file cannot be read as UTF-8 text.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read the prompt ({one_line(exc)})") from None
        lines = [line for line in text.splitlines() if not line.startswith(">")]
        return "".join("".join(lines).split())

    def write(self, content: str | Sequence[str], path: Path) -> Path:
        """Write one generated sequence, or several, as FASTA (``<stem>_<i>`` headers)."""
        path = Path(path)
        sequences = [content] if isinstance(content, str) else list(content)
        stem = path.name.split(".")[0] or "generated"
        headers = [stem] if len(sequences) == 1 else [f"{stem}_{i}" for i in range(len(sequences))]
        return write_fasta(
            zip(headers, sequences, strict=False), path, width=self.config.fasta_width
        )
