"""Options of the ``code`` modality (hydra group ``modality=code``)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ORDERS", "TOKENIZERS", "CodeConfig"]

TOKENIZERS = ("byte", "bpe")
ORDERS = ("dependency", "path")


@dataclass
class CodeConfig:
    """How a repository becomes documents and token ids.

    ``tokenizer``: the text modality's ``byte`` tokenizer (lossless, nothing to fit) or ``bpe``
    (fitted on the training files; ``vocab_size`` ids with specials, merges seen at least
    ``min_frequency`` times); either way three fill-in-the-middle sentinel ids are appended.

    ``languages``: language names to keep (``python``, ``go``…; empty: every registered one).
    ``max_file_bytes``: larger files are skipped and counted. ``exclude_dirs``: directory names
    skipped as vendored, besides the built-in list (``node_modules``, ``vendor``…).
    ``order``: ``dependency`` (a file after the files it imports, cycles broken by path) or
    ``path``. ``header``: start each document with a ``file: <path>`` comment line.

    ``fim_rate``: the fraction of files turned into syntax-aware fill-in-the-middle examples
    (PSM order, the middle one whole function/block/statement no longer than
    ``fim_max_middle_fraction`` of the file), chosen with ``seed``.
    """

    tokenizer: str = "byte"
    vocab_size: int = 4096
    min_frequency: int = 2
    languages: list[str] = field(default_factory=list)
    max_file_bytes: int = 1_000_000
    exclude_dirs: list[str] = field(default_factory=list)
    order: str = "dependency"
    header: bool = True
    fim_rate: float = 0.0
    fim_max_middle_fraction: float = 0.5
    seed: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the ``modality.<key>`` at fault."""
        from longseq.plugins.code.languages import languages

        if self.tokenizer not in TOKENIZERS:
            raise ValueError(
                f"modality.tokenizer={self.tokenizer!r} is not one of {', '.join(TOKENIZERS)}"
            )
        if self.tokenizer == "bpe" and self.vocab_size < 260:
            raise ValueError(
                f"modality.vocab_size={self.vocab_size} is too small for bpe: it needs at least "
                "260 (256 byte symbols + specials)"
            )
        if self.min_frequency < 1:
            raise ValueError(f"modality.min_frequency={self.min_frequency} must be >= 1")
        known = languages()
        for name in self.languages:
            if name not in known:
                raise ValueError(
                    f"modality.languages: unknown language {name!r}; known: "
                    f"{', '.join(sorted(known))}"
                )
        if self.max_file_bytes < 1:
            raise ValueError(f"modality.max_file_bytes={self.max_file_bytes} must be >= 1")
        if self.order not in ORDERS:
            raise ValueError(f"modality.order={self.order!r} is not one of {', '.join(ORDERS)}")
        if not 0.0 <= self.fim_rate <= 1.0:
            raise ValueError(f"modality.fim_rate={self.fim_rate} must be in [0, 1]")
        if not 0.0 < self.fim_max_middle_fraction <= 1.0:
            raise ValueError(
                f"modality.fim_max_middle_fraction={self.fim_max_middle_fraction} must be in (0, 1]"
            )
