"""How much of a held-out genome an order-k Markov model can look up in the training genomes:
for each k, the fraction of the held-out k-mers (as written) that occur in the training genomes
(on either strand). A held-out strain of a training species shares long k-mers with its
relatives; a genus absent from training does not.

    python scripts/dna_shared_kmers.py --train 'ragout/H.Pylori/references/[EG]*.fasta.gz' \\
        runs/studies/dna/full/held_out/test.fa runs/studies/dna/full/held_out/genus_test.fa

Bases other than A, C, G, T break k-mers (a k-mer holding one is not counted).
"""

from __future__ import annotations

import argparse
import glob

import numpy as np

from longseq.plugins.genomics.readers import read_sequences

_CODE = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[ord(chr(_b).lower())] = _i


def kmers(sequence: str, k: int, both: bool = True) -> np.ndarray:
    """The 2-bit codes (uint64) of the k-mers of ``sequence`` (and of its reverse complement
    with ``both``), skipping k-mers with a base other than A, C, G, T (k <= 32)."""
    codes = _CODE[np.frombuffer(sequence.encode(), dtype=np.uint8)]
    out = []
    strands = [codes, np.where(codes == 255, 255, 3 - codes)[::-1]]
    for strand in strands if both else strands[:1]:
        n = len(strand) - k + 1
        if n <= 0:
            continue
        bad = np.convolve((strand == 255).astype(np.int32), np.ones(k, dtype=np.int32), "valid")
        value = np.zeros(n, dtype=np.uint64)
        for j in range(k):
            value = (value << np.uint64(2)) | (strand[j : j + n] & 3).astype(np.uint64)
        out.append(value[bad == 0])
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, help="training genomes (a glob)")
    parser.add_argument("held_out", nargs="+", help="held-out FASTA files")
    parser.add_argument("--k", default="8,10,12,16,20,24,32", help="comma-separated k")
    args = parser.parse_args()
    train = [d.content for f in sorted(glob.glob(args.train)) for d in read_sequences(f)]
    held = {p: [d.content for d in read_sequences(p)] for p in args.held_out}
    print(f"training genomes: {len(train)} records, {sum(map(len, train)):,} bases")
    print("k    " + "  ".join(f"{p}" for p in held))
    for k in (int(x) for x in args.k.split(",")):
        known = np.unique(np.concatenate([kmers(s, k) for s in train]))
        shares = []
        for records in held.values():
            query = np.concatenate([kmers(s, k, both=False) for s in records])
            found = np.isin(query, known, assume_unique=False)
            shares.append(f"{found.mean():.3f}")
        print(f"{k:<4} " + "  ".join(shares))


if __name__ == "__main__":
    main()
