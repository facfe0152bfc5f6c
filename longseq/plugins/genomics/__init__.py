"""DNA as a modality: single-nucleotide tokens, FASTA/FASTQ/GenBank readers, random access into
large genomes (pyfaidx), BED labels, reverse-complement augmentation and FASTA output.

Importing this package registers the ``genomics`` modality in
:data:`longseq.plugins.MODALITIES`. The shipped phage lambda genome is at :data:`LAMBDA_FASTA`.
"""

from __future__ import annotations

from pathlib import Path

from longseq.plugins.genomics.genome import GenomeWindows, IndexedGenome
from longseq.plugins.genomics.labels import Interval, labelled_intervals, read_bed
from longseq.plugins.genomics.modality import GenomicsConfig, GenomicsModality
from longseq.plugins.genomics.readers import DataWarning, ErrorPolicy, read_sequences, sniff_format
from longseq.plugins.genomics.sequence import reverse_complement, write_fasta
from longseq.plugins.genomics.tokenizer import DNATokenizer

__all__ = [
    "DATA_DIR",
    "GENBANK_SAMPLE",
    "LAMBDA_FASTA",
    "DNATokenizer",
    "DataWarning",
    "ErrorPolicy",
    "GenomeWindows",
    "GenomicsConfig",
    "GenomicsModality",
    "IndexedGenome",
    "Interval",
    "labelled_intervals",
    "read_bed",
    "read_sequences",
    "reverse_complement",
    "sniff_format",
    "write_fasta",
]

DATA_DIR = Path(__file__).parent / "data"
"""Shipped sample data; sources and licences in ``data/NOTICE``."""

LAMBDA_FASTA = DATA_DIR / "lambda_virus.fa.gz"
"""Enterobacteria phage lambda, complete genome (NC_001416.1), 48,502 bp, gzip FASTA."""

GENBANK_SAMPLE = DATA_DIR / "NC_005816.gb.gz"
"""Yersinia pestis plasmid pPCP1 (NC_005816.1), 9,609 bp, gzip GenBank."""
