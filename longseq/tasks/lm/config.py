"""Settings of the language-modelling task's data (``data=lm``): where the files are, how the
corpus is split and cut into windows.

A plain dataclass (no hydra, no lightning); the hydra schema reuses it under the ``data`` group,
which is why error messages say ``data.<key>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SAMPLING", "LMDataConfig", "SeqLenStage"]

SAMPLING: tuple[str, ...] = ("sequential", "random_windows")
"""How training examples are drawn: ``sequential`` windows over the concatenated token stream,
or ``random_windows`` read by random access (a modality with the ``windows`` capability)."""


@dataclass
class SeqLenStage:
    """One stage of the sequence-length warm-up: train ``epochs`` epochs on ``seq_len`` tokens."""

    seq_len: int = 256
    epochs: int = 1


@dataclass
class LMDataConfig:
    """A corpus of user files for next-token training.

    ``path`` is a file, a directory or a glob (``pkg://<package>/<file>`` names a file shipped
    inside an installed package). Documents are split into train/val/test by document with a
    shuffle seeded by ``seed``: ``val_fraction`` and ``test_fraction`` of the documents (at least
    one each), unless ``val_path`` / ``test_path`` name held-out files, in which case those files
    are the split and no fraction of ``path`` is taken for it. Too few documents to hold out
    (one genome, one book) are first cut into contiguous parts, about ``1 / min(fraction)`` in
    all, and whole parts are held out (:func:`longseq.tasks.lm.parts.cut_into_parts`).

    The token streams (documents joined by the tokenizer's eos id) are cached as ``.npy`` memmaps
    under ``cache_dir`` (``null``: ``$LONGSEQ_CACHE`` or ``~/.cache/longseq``), keyed by the
    files, their sizes and mtimes, the modality and these options. ``max_tokens`` caps the
    training stream (0: no cap). Examples are contiguous windows of ``seq_len + 1`` tokens.

    ``sampling=random_windows`` reads nothing whole, for data too large to concatenate (a
    multi-gigabase genome): the modality must offer random access
    (:class:`~longseq.plugins.modality.RandomAccessModality`), and ``path`` names one file of
    contigs. The last ``test_fraction`` of every contig is the test region, the
    ``val_fraction`` before it the validation region, the rest trains (a ``val_path`` /
    ``test_path`` file is held out whole instead, and no fraction of ``path`` is taken for it).
    Each training epoch draws ``windows_per_epoch`` fresh windows of ``seq_len + 1`` tokens
    across the training regions (in proportion to their length), seeded by ``seed`` and the
    epoch; validation and test are ``eval_windows`` fixed windows each from their regions, so
    no held-out token is trained on. ``cache_dir`` and ``max_tokens`` apply to ``sequential``.

    ``seq_len_warmup`` trains short first, then longer (as HyenaDNA does): a list of stages
    ``{seq_len, epochs}`` with lengths below ``seq_len``, run in order before training goes on
    at ``seq_len``. Tokens per batch stay constant: a stage of length l uses batches of
    ``batch_size * seq_len // l`` windows (and draws that many times more random windows per
    epoch), so steps per epoch, and the learning-rate schedule, do not change. Validation and
    test always use ``seq_len``. E.g. ``data.seq_len_warmup='[{seq_len:256,epochs:1},
    {seq_len:1024,epochs:1}]'``.
    """

    path: str = ""
    val_path: str | None = None
    test_path: str | None = None
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    seq_len: int = 256
    batch_size: int = 16
    max_tokens: int = 0
    seed: int = 0
    cache_dir: str | None = None
    num_workers: int = 0
    sampling: str = "sequential"
    windows_per_epoch: int = 1024
    eval_windows: int = 128
    seq_len_warmup: list[SeqLenStage] = field(default_factory=list)

    def seq_len_at(self, epoch: int) -> int:
        """The training sequence length of epoch ``epoch`` (0-based)."""
        end = 0
        for stage in self.seq_len_warmup:
            end += stage.epochs
            if epoch < end:
                return stage.seq_len
        return self.seq_len

    def validate(self) -> None:
        """Raise ValueError naming the ``data.<key>`` at fault."""
        if not self.path:
            raise ValueError("data.path is not set: give a file, a directory or a glob")
        for key in ("val_fraction", "test_fraction"):
            value = getattr(self, key)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"data.{key}={value} must be in [0, 1)")
        if self.val_path is None and self.val_fraction == 0.0:
            raise ValueError("data.val_fraction=0.0 needs data.val_path (held-out files)")
        if self.test_path is None and self.test_fraction == 0.0:
            raise ValueError("data.test_fraction=0.0 needs data.test_path (held-out files)")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"data.val_fraction + data.test_fraction = "
                f"{self.val_fraction + self.test_fraction} leaves no training documents"
            )
        for key in ("seq_len", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"data.{key}={getattr(self, key)} must be at least 1")
        if self.max_tokens < 0:
            raise ValueError(f"data.max_tokens={self.max_tokens} must be >= 0 (0: no cap)")
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers={self.num_workers} must be >= 0")
        if self.sampling not in SAMPLING:
            raise ValueError(
                f"data.sampling={self.sampling!r} must be one of {', '.join(SAMPLING)}"
            )
        for key in ("windows_per_epoch", "eval_windows"):
            if getattr(self, key) < 1:
                raise ValueError(f"data.{key}={getattr(self, key)} must be at least 1")
        previous = 0
        for i, stage in enumerate(self.seq_len_warmup):
            key = f"data.seq_len_warmup[{i}]"
            if not previous < stage.seq_len < self.seq_len:
                raise ValueError(
                    f"{key}.seq_len={stage.seq_len} must grow stage by stage and stay below "
                    f"data.seq_len={self.seq_len}"
                )
            if stage.epochs < 1:
                raise ValueError(f"{key}.epochs={stage.epochs} must be at least 1")
            previous = stage.seq_len
        if self.sampling == "random_windows" and self.max_tokens:
            raise ValueError(
                f"data.max_tokens={self.max_tokens} caps the sequential token stream; with "
                "data.sampling=random_windows set data.windows_per_epoch instead"
            )
