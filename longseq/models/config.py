"""Model configuration: one dataclass family describes pure H3, hybrids, S4D, Hyena and
Transformers.

Plain dataclasses (no hydra import) so ``longseq.models`` stays usable in any training loop; the
hydra schema in ``longseq.configs`` reuses them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from longseq.models.host_memory import MAX_HOST_MMAP_MIB

MIXERS = ("h3", "s4d", "hyena", "attention")


@dataclass
class SSMConfig:
    """Diagonal + shift SSM settings shared by H3 and the S4D layer (docs/h3.md §1.3-1.4)."""

    d_state: int = 64
    head_dim: int = 1
    measure: str = "diag-lin"  # diag-lin | diag-inv | diag (half inv, half lin)
    disc: str = "bilinear"  # bilinear | zoh
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    lr: float = 1e-3  # SSM parameters get min(lr, optimiser lr) and no weight decay


@dataclass
class HyenaConfig:
    """Hyena operator (order 2) with an implicit long filter."""

    order: int = 2
    filter_order: int = 64  # width of the filter MLP
    emb_dim: int = 33  # positional features fed to the filter MLP (odd: t + sin/cos pairs)
    short_filter_order: int = 3
    l_max: int = 2048  # scale of the positional features; any length still works
    modulate: bool = True
    w: float = 1.0  # sine frequency of the filter MLP activation


@dataclass
class AttentionConfig:
    """Causal multi-head attention on scaled_dot_product_attention."""

    n_heads: int = 1
    dropout: float = 0.0


STATE_PASSING_INTRA = ("fft", "matmul")


@dataclass
class LongContextConfig:
    """How long sequences run: exact rearrangements of the same computation, chosen by length.

    - ``state_passing_from``: at L >= this, H3 and S4D layers convolve chunk by chunk carrying
      the diagonal SSM's state (docs/h3.md §3.4), not one FFT over the whole sequence: the same
      outputs and gradients, memory linear in L. 0 turns it off.
    - ``chunk`` / ``intra``: chunk length and the within-chunk convolution (FFT or Toeplitz GEMM).
    - ``segment``: under state passing, H3 and S4D layers run segments of this many positions
      one after another, carrying the SSM state, each recomputed in the backward pass: a layer's
      intermediates exist for one segment at a time (rounded down to a multiple of ``chunk``).
    - ``checkpoint_from``: at L >= this, training recomputes each block in the backward pass
      (activation checkpointing) instead of keeping its activations; 0 turns it off.
    - ``mlp_chunk``: under checkpointing, the position-wise MLP runs on slices of this many
      positions, so its 4x-wide hidden activations never exist for the whole sequence at once.
    - ``host_mmap_mib``: on CPU under state passing or checkpointing (Linux, glibc), host
      allocations of at least this many MiB get their own mmap, returned to the operating
      system when freed; smaller ones come from malloc's heap and are reused. Larger is faster
      (reused pages need no zeroing by the kernel) and holds more memory; at most 32 (glibc's
      ceiling); 0 leaves the threshold as it is (glibc's moving default unless set before).
    - ``host_heap_mib``: on CPU under state passing or checkpointing, while one
      [batch, L, d_model] activation of the sequence is at most this many MiB, every host
      allocation comes from malloc's heap (no mmap at all: the fastest, ~45 such activations
      resident at the peak; 128 = 524,288 tokens at width 64 in fp32, ~6 GB); above it,
      ``host_mmap_mib`` applies. 0: never.
    """

    state_passing_from: int = 32768
    chunk: int = 256
    intra: str = "fft"
    segment: int = 65536
    checkpoint_from: int = 32768
    mlp_chunk: int = 16384
    host_mmap_mib: int = 32
    host_heap_mib: int = 128

    def uses_state_passing(self, length: int) -> bool:
        """Whether H3 / S4D layers run a sequence of ``length`` by state passing."""
        return 0 < self.state_passing_from <= length

    def segment_length(self) -> int:
        """``segment`` rounded down to a multiple of ``chunk`` (at least one chunk)."""
        return max(self.chunk, self.segment // self.chunk * self.chunk)

    def uses_segments(self, length: int) -> bool:
        """Whether H3 / S4D layers run a sequence of ``length`` in several segments."""
        return self.uses_state_passing(length) and length > self.segment_length()

    def uses_checkpointing(self, length: int) -> bool:
        """Whether training recomputes the blocks of a sequence of ``length`` in the backward."""
        return 0 < self.checkpoint_from <= length


@dataclass
class ModelConfig:
    """A language model: ``n_layer`` pre-norm blocks, each with a sequence mixer and an MLP.

    ``mixer`` is the default mixer; layers listed in ``attn_layer_idx`` (0-based) use attention.
    ``mixer='attention'`` gives a pure Transformer (set ``max_position_embeddings`` > 0 for
    learned positions, as the H3 paper's baseline does).
    """

    d_model: int = 64
    n_layer: int = 2
    vocab_size: int = 0  # 0: set from the tokenizer / task at build time
    mixer: str = "h3"
    attn_layer_idx: list[int] = field(default_factory=list)
    mlp_ratio: float = 4.0  # 0 disables the MLP (Zoology's Identity state mixer)
    embed_dropout: float = 0.1
    resid_dropout: float = 0.0
    max_position_embeddings: int = 0  # 0: none (H3); >0: learned positions
    pad_vocab_to_multiple: int = 8
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    ssm: SSMConfig = field(default_factory=SSMConfig)
    hyena: HyenaConfig = field(default_factory=HyenaConfig)
    attention: AttentionConfig = field(default_factory=AttentionConfig)
    long_context: LongContextConfig = field(default_factory=LongContextConfig)

    def validate(self) -> None:
        """Raise ValueError naming the key at fault."""
        if self.mixer not in MIXERS:
            raise ValueError(f"model.mixer={self.mixer!r} is not one of {', '.join(MIXERS)}")
        if self.d_model <= 0 or self.n_layer <= 0:
            raise ValueError("model.d_model and model.n_layer must be positive")
        if self.vocab_size <= 0:
            raise ValueError(f"model.vocab_size={self.vocab_size} must be positive")
        bad = [i for i in self.attn_layer_idx if not 0 <= i < self.n_layer]
        if bad:
            raise ValueError(
                f"model.attn_layer_idx has {bad}, outside 0..{self.n_layer - 1} "
                f"(n_layer={self.n_layer})"
            )
        if self.d_model % self.ssm.head_dim:
            raise ValueError(
                f"model.ssm.head_dim={self.ssm.head_dim} does not divide d_model={self.d_model}"
            )
        if self.ssm.d_state % 2:
            raise ValueError(f"model.ssm.d_state={self.ssm.d_state} must be even")
        if self.d_model % self.attention.n_heads:
            raise ValueError(
                f"model.attention.n_heads={self.attention.n_heads} does not divide "
                f"d_model={self.d_model}"
            )
        if self.ssm.disc not in ("bilinear", "zoh"):
            raise ValueError(f"model.ssm.disc={self.ssm.disc!r} is not one of bilinear, zoh")
        if self.ssm.measure not in ("diag-lin", "diag-inv", "diag"):
            raise ValueError(
                f"model.ssm.measure={self.ssm.measure!r} is not one of diag-lin, diag-inv, diag"
            )

        lc = self.long_context
        for key in ("state_passing_from", "checkpoint_from"):
            if getattr(lc, key) < 0:
                raise ValueError(
                    f"model.long_context.{key}={getattr(lc, key)} must be >= 0 (0: off)"
                )
        if lc.host_heap_mib < 0:
            raise ValueError(
                f"model.long_context.host_heap_mib={lc.host_heap_mib} must be >= 0 (0: never)"
            )
        for key in ("chunk", "segment", "mlp_chunk"):
            if getattr(lc, key) < 1:
                raise ValueError(f"model.long_context.{key}={getattr(lc, key)} must be >= 1")
        if not 0 <= lc.host_mmap_mib <= MAX_HOST_MMAP_MIB:
            raise ValueError(
                f"model.long_context.host_mmap_mib={lc.host_mmap_mib} is not in "
                f"0..{MAX_HOST_MMAP_MIB} (0: glibc's default)"
            )
        if lc.intra not in STATE_PASSING_INTRA:
            raise ValueError(
                f"model.long_context.intra={lc.intra!r} is not one of "
                f"{', '.join(STATE_PASSING_INTRA)}"
            )

    def layer_mixers(self) -> list[str]:
        """The mixer kind of each layer, in order."""
        return [
            "attention" if i in self.attn_layer_idx else self.mixer for i in range(self.n_layer)
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Build from a plain dict (e.g. config.json); unknown keys raise with their names."""
        d = dict(d)
        subs = {
            "ssm": SSMConfig,
            "hyena": HyenaConfig,
            "attention": AttentionConfig,
            "long_context": LongContextConfig,
        }
        kwargs: dict[str, Any] = {}
        for name, sub in subs.items():
            if name in d:
                kwargs[name] = _build(sub, d.pop(name), f"model.{name}")
        kwargs.update(d)
        return _build(cls, kwargs, "model")


def _build(cls: type, d: dict[str, Any], where: str) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {where}; valid: {sorted(names)}")
    return cls(**d)
