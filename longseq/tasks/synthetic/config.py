"""Settings for the synthetic languages (docs/h3.md §5): associative recall, induction head, MQAR.

A plain dataclass (no hydra, no lightning) so the generators import anywhere; the hydra schema in
``longseq.configs`` reuses it under the ``data`` group, which is why error messages say
``data.<key>``.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("associative_recall", "induction_head", "mqar")


@dataclass
class SyntheticDataConfig:
    """One synthetic language and how much of it to generate.

    ``vocab_size`` is the whole vocabulary including the special tokens. For associative recall
    and induction head it holds ``vocab_size - 2`` ordinary tokens plus ``"=>"`` (copy prefix)
    and ``"."`` (noop); for MQAR it is Zoology's V (keys in ``[1, V//2)``, values in
    ``[V//2, V)``, 0 fills the gaps).

    ``seq_len`` is the paper's sequence length: for associative recall the number of key/value
    tokens (``seq_len // 2`` pairs), for induction head the number of random tokens, and for
    MQAR the model's input length T. Associative recall appends ``"=>"``, the query key and
    its value, induction head ``"=>"`` and the answer; the model reads all but the last token,
    so inputs are ``seq_len + 2`` (associative recall), ``seq_len + 1`` (induction head) or
    ``seq_len`` (MQAR) tokens long.
    """

    language: str = "associative_recall"
    vocab_size: int = 10
    seq_len: int = 20
    num_kv_pairs: int = 4
    power_a: float = 0.01
    random_non_queries: bool = False
    num_train: int = 5000
    num_test: int = 500
    batch_size: int = 32
    seed: int = 0
    num_workers: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the ``data.<key>`` at fault for an impossible setting."""
        if self.language not in LANGUAGES:
            raise ValueError(
                f"data.language={self.language!r} is not one of {', '.join(LANGUAGES)}"
            )
        for key in ("num_train", "num_test", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"data.{key}={getattr(self, key)} must be at least 1")
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers={self.num_workers} must be >= 0")
        if self.language == "associative_recall":
            self._validate_associative_recall()
        elif self.language == "induction_head":
            self._validate_induction_head()
        else:
            self._validate_mqar()

    def _validate_associative_recall(self) -> None:
        if self.vocab_size < 4:
            raise ValueError(
                f"data.vocab_size={self.vocab_size} is too small for associative_recall: it needs "
                "at least 4 (one key, one value, '=>' and '.')"
            )
        if self.seq_len < 2 or self.seq_len % 2:
            raise ValueError(
                f"data.seq_len={self.seq_len} must be even and >= 2 for associative_recall "
                "(seq_len // 2 key/value pairs)"
            )

    def _validate_induction_head(self) -> None:
        if self.vocab_size < 3:
            raise ValueError(
                f"data.vocab_size={self.vocab_size} is too small for induction_head: it needs "
                "at least 3 (one ordinary token, '=>' and '.')"
            )
        if self.seq_len < 3:
            raise ValueError(
                f"data.seq_len={self.seq_len} must be >= 3 for induction_head (the copy prefix "
                "goes at a position p in [0, seq_len - 2))"
            )

    def _validate_mqar(self) -> None:
        k = self.num_kv_pairs
        if k < 1:
            raise ValueError(f"data.num_kv_pairs={k} must be at least 1")
        num_keys = self.vocab_size // 2 - 1
        num_values = self.vocab_size - self.vocab_size // 2
        if num_keys < k or num_values < k:
            raise ValueError(
                f"data.vocab_size={self.vocab_size} gives {num_keys} keys in [1, V//2) and "
                f"{num_values} values in [V//2, V), too few for data.num_kv_pairs={k} distinct "
                f"pairs: need vocab_size >= {2 * k + 2}"
            )
        if self.seq_len < 4 * k:
            raise ValueError(
                f"data.seq_len={self.seq_len} is too short for data.num_kv_pairs={k}: the "
                f"context takes 2k tokens and the k queries need k distinct even offsets in the "
                f"rest, so seq_len >= 4 * num_kv_pairs = {4 * k}"
            )
        if self.power_a <= 0:
            raise ValueError(f"data.power_a={self.power_a} must be > 0")
