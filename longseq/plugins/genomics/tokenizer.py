"""Single-nucleotide tokenizer: one id per base, IUPAC ambiguity codes folded into ``N``.

Vocabulary (ids in this order)::

    <pad> <bos> <eos> <mask> <unk>  A C G T N  [a c g t n   with soft_mask="keep"]

Soft-masked (lowercase) bases are either uppercased (``soft_mask="upper"``, the default) or
kept as their own five tokens (``soft_mask="keep"``), which makes the round trip lossless for
``ACGTNacgtn``. Any other IUPAC letter (R Y S W K M B D H V, either case) encodes as ``N``
(``n`` when kept lowercase). Anything else is not DNA and raises :class:`DataError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from longseq.plugins.modality import DataError
from longseq.plugins.modality_helpers import load_vocabulary, save_vocabulary

__all__ = ["SOFT_MASK_MODES", "SPECIAL_TOKENS", "DNATokenizer"]

SPECIAL_TOKENS: tuple[str, ...] = ("<pad>", "<bos>", "<eos>", "<mask>", "<unk>")
"""Special tokens, ids 0..4 in this order."""

SOFT_MASK_MODES: tuple[str, ...] = ("upper", "keep")
"""Values of ``soft_mask``: fold lowercase into uppercase, or keep it as distinct tokens."""

_BASES = "ACGTN"
_AMBIGUOUS = "RYSWKMBDHVU"
_TYPE = "longseq.genomics.dna"


class DNATokenizer:
    """Maps DNA strings to int64 ids and back, one id per nucleotide.

    Args:
        soft_mask: ``"upper"`` folds lowercase into uppercase; ``"keep"`` gives lowercase
            bases their own ids so soft-masking survives the round trip.
    """

    def __init__(self, soft_mask: str = "upper") -> None:
        if soft_mask not in SOFT_MASK_MODES:
            raise ValueError(f"soft_mask={soft_mask!r} must be one of {', '.join(SOFT_MASK_MODES)}")
        self.soft_mask = soft_mask
        letters = _BASES + (_BASES.lower() if soft_mask == "keep" else "")
        self.tokens: tuple[str, ...] = SPECIAL_TOKENS + tuple(letters)
        self._lookup = self._build_lookup()
        self._id_to_char = np.array([t if len(t) == 1 else "" for t in self.tokens], dtype=object)

    def _build_lookup(self) -> np.ndarray:
        # A 256-entry byte -> id table; -1 marks bytes that are not DNA.
        table = np.full(256, -1, dtype=np.int64)
        first_base = len(SPECIAL_TOKENS)
        keep = self.soft_mask == "keep"
        for i, base in enumerate(_BASES):
            table[ord(base)] = first_base + i
            table[ord(base.lower())] = first_base + i + (len(_BASES) if keep else 0)
        n_upper = first_base + _BASES.index("N")
        n_lower = n_upper + (len(_BASES) if keep else 0)
        for code in _AMBIGUOUS:
            table[ord(code)] = n_upper
            table[ord(code.lower())] = n_lower
        return table

    @property
    def vocab_size(self) -> int:
        """Number of ids: 5 specials + 5 bases (+ 5 lowercase bases with ``soft_mask="keep"``)."""
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        """Id of ``<pad>``."""
        return SPECIAL_TOKENS.index("<pad>")

    @property
    def bos_id(self) -> int:
        """Id of ``<bos>``."""
        return SPECIAL_TOKENS.index("<bos>")

    @property
    def eos_id(self) -> int:
        """Id of ``<eos>``, placed between concatenated sequences."""
        return SPECIAL_TOKENS.index("<eos>")

    @property
    def mask_id(self) -> int:
        """Id of ``<mask>``."""
        return SPECIAL_TOKENS.index("<mask>")

    @property
    def unk_id(self) -> int:
        """Id of ``<unk>`` (never produced by :meth:`encode`, which rejects non-DNA instead)."""
        return SPECIAL_TOKENS.index("<unk>")

    def encode(self, content: str) -> np.ndarray:
        """DNA string [n] -> int64 ids [n].

        Raises:
            DataError: ``content`` holds a character that is not an IUPAC nucleotide code; the
                message names the character and its position.
        """
        try:
            raw = content.encode("ascii")
        except UnicodeEncodeError as exc:
            raise DataError(
                f"not a DNA character {content[exc.start]!r} at position {exc.start}"
            ) from None
        ids = self._lookup[np.frombuffer(raw, dtype=np.uint8)]
        bad = np.flatnonzero(ids < 0)
        if bad.size:
            pos = int(bad[0])
            raise DataError(
                f"not a DNA character {content[pos]!r} at position {pos} "
                f"({bad.size} such characters)"
            )
        return ids

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Ids -> DNA string; special tokens are dropped.

        Raises:
            ValueError: an id outside ``[0, vocab_size)``.
        """
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"token id out of range [0, {self.vocab_size}) in {arr.tolist()[:8]}")
        return "".join(self._id_to_char[arr].tolist())

    def save(self, directory: Path) -> None:
        """Write ``tokenizer.json`` (type, soft_mask, token list) into ``directory``."""
        save_vocabulary(directory, _TYPE, self.tokens, soft_mask=self.soft_mask)

    @classmethod
    def load(cls, directory: Path) -> DNATokenizer:
        """The tokenizer saved by :meth:`save` in ``directory``.

        Raises:
            DataError: the file is missing, is not a DNA tokenizer, or its tokens differ from
                what this version would build.
        """
        spec = load_vocabulary(directory, _TYPE)
        tokenizer = cls(soft_mask=str(spec.get("soft_mask", "upper")))
        load_vocabulary(directory, _TYPE, expected_tokens=tokenizer.tokens)
        return tokenizer
