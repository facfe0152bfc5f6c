"""Generators for the synthetic languages of docs/h3.md §5, vectorised over examples.

Token layout for associative recall and induction head (§5.1): ids ``0 .. V-3`` are ordinary
tokens, ``V-2`` is the copy prefix ``"=>"`` and ``V-1`` the noop ``"."``. Associative recall
splits the ordinary tokens into ``(V-2)//2`` keys (the low ids) and the rest as values. Each
example is one sequence ``s``; the model reads ``s[:-1]`` and is trained on next-token labels
``s[1:]`` everywhere, while accuracy is measured on the final label only.

MQAR (§5.2, Zoology) uses V with keys in ``[1, V//2)``, values in ``[V//2, V)`` and 0 as filler;
labels are -100 except at the k query positions, where the label is the queried key's value.

Torch only (no lightning) so the generators import anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from longseq.tasks import IGNORE_INDEX
from longseq.tasks.synthetic.config import SyntheticDataConfig

# Generation rounds before make_splits gives up on finding enough distinct sequences.
_MAX_ROUNDS = 64
# Cap on elements of one per-chunk work buffer ([rows, gaps] weights, [rows, keys] bitmap).
_CHUNK_ELEMENTS = 1 << 24


@dataclass
class SyntheticData:
    """A batch of examples of one language.

    ``inputs``: [n, L] int64 model inputs. ``targets``: [n, L] int64 next-token labels,
    ``IGNORE_INDEX`` (-100) where no loss is taken. ``metric_mask``: [n, L] bool, the
    positions accuracy is measured on (always a subset of the labelled positions).
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    metric_mask: torch.Tensor

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def select(self, index: torch.Tensor | slice) -> SyntheticData:
        """The examples at ``index`` (an index tensor or a slice over the first dimension)."""
        return SyntheticData(self.inputs[index], self.targets[index], self.metric_mask[index])

    @staticmethod
    def cat(parts: list[SyntheticData]) -> SyntheticData:
        """Concatenate along the example dimension."""
        return SyntheticData(
            torch.cat([p.inputs for p in parts]),
            torch.cat([p.targets for p in parts]),
            torch.cat([p.metric_mask for p in parts]),
        )


def copy_prefix_id(vocab_size: int) -> int:
    """Id of the copy prefix ``"=>"`` in associative recall / induction head."""
    return vocab_size - 2


def noop_id(vocab_size: int) -> int:
    """Id of the noop ``"."`` in associative recall / induction head (reserved, never emitted)."""
    return vocab_size - 1


def vocab_size_for(cfg: SyntheticDataConfig) -> int:
    """The vocabulary size a model needs for ``cfg``: every id the language emits is below it.

    ``cfg.vocab_size`` already counts the specials (``"=>"``, ``"."`` or MQAR's filler 0).
    """
    cfg.validate()
    return cfg.vocab_size


def _sequences_to_data(seq: torch.Tensor) -> SyntheticData:
    """Whole-sequence next-token data from full sequences ``seq: [n, L+1]``; metric on the last."""
    inputs, targets = seq[:, :-1].contiguous(), seq[:, 1:].contiguous()
    metric_mask = torch.zeros_like(targets, dtype=torch.bool)
    metric_mask[:, -1] = True
    return SyntheticData(inputs, targets, metric_mask)


def associative_recall(
    n: int, vocab_size: int, seq_len: int, generator: torch.Generator
) -> SyntheticData:
    """``n`` associative-recall examples; inputs and targets are [n, seq_len + 2].

    Per example every key gets a random value (values may repeat); ``seq_len // 2`` keys are
    drawn with replacement, each followed by its value; then ``"=>"``, a query key and its
    value. The query follows the reference generator (safari ``generate_assoc_recall`` with
    ``allow_dot=False``): a key drawn uniformly from all keys, redrawn uniformly from the keys
    present in the context when it is absent — so every present key is about equally likely,
    however often it occurs (a key seen once is the query in ~19% of examples at the paper's
    setting, not the ~7.5% that picking a pair position would give).
    """
    num_keys = (vocab_size - 2) // 2
    num_pairs = seq_len // 2
    kv_map = torch.randint(num_keys, vocab_size - 2, (n, num_keys), generator=generator)
    keys = torch.randint(0, num_keys, (n, num_pairs), generator=generator)
    first = torch.randint(0, num_keys, (n, 1), generator=generator)
    present = torch.zeros(n, num_keys, dtype=torch.bool).scatter_(1, keys, True)
    # uniform over the present keys: the argmax of i.i.d. uniform scores restricted to them
    redraw = (
        torch.rand(n, num_keys, generator=generator)
        .masked_fill(~present, -1.0)
        .argmax(1, keepdim=True)
    )
    query = torch.where(present.gather(1, first), first, redraw)
    seq = torch.empty(n, 2 * num_pairs + 3, dtype=torch.long)
    seq[:, 0 : 2 * num_pairs : 2] = keys
    seq[:, 1 : 2 * num_pairs : 2] = kv_map.gather(1, keys)
    seq[:, -3] = copy_prefix_id(vocab_size)
    seq[:, -2:-1] = query
    seq[:, -1:] = kv_map.gather(1, query)
    return _sequences_to_data(seq)


def induction_head(
    n: int, vocab_size: int, seq_len: int, generator: torch.Generator
) -> SyntheticData:
    """``n`` induction-head examples; inputs and targets are [n, seq_len + 1].

    ``seq_len`` uniform ordinary tokens; the token at p ∈ [0, seq_len - 2) becomes ``"=>"`` and
    the one after it is X; then ``"=>"`` and X are appended (seq_len + 2 tokens in all).
    """
    copy = copy_prefix_id(vocab_size)
    seq = torch.randint(0, vocab_size - 2, (n, seq_len + 2), generator=generator)
    p = torch.randint(0, seq_len - 2, (n, 1), generator=generator)
    seq.scatter_(1, p, copy)
    seq[:, seq_len] = copy
    seq[:, seq_len + 1 :] = seq.gather(1, p + 1)
    return _sequences_to_data(seq)


def _sample_without_replacement(
    n: int, population: int, k: int, generator: torch.Generator
) -> torch.Tensor:
    """[n, k] int64: per row an ordered uniform sample of k distinct ints from [0, population).

    Robert Floyd's algorithm vectorised over rows, with a per-row bitmap of taken ints (built
    in row chunks to bound memory), followed by a random permutation of each row's k picks
    because Floyd's order is not uniform.
    """
    rows = max(1, _CHUNK_ELEMENTS // population)
    taken = torch.zeros(min(rows, n) * population, dtype=torch.bool)
    parts = []
    for start in range(0, n, rows):
        m = min(rows, n - start)
        row_base = torch.arange(m) * population
        chosen = torch.empty(m, k, dtype=torch.long)
        for i, top in enumerate(range(population - k, population)):
            pick = torch.randint(0, top + 1, (m,), generator=generator)
            seen = taken.index_select(0, row_base + pick)
            pick = torch.where(seen, torch.full_like(pick, top), pick)
            taken.index_fill_(0, row_base + pick, True)
            chosen[:, i] = pick
        # Clear only the bits this chunk set, so the bitmap is reused without a full memset.
        taken.index_fill_(0, (row_base[:, None] + chosen).flatten(), False)
        parts.append(chosen)
    chosen = torch.cat(parts) if parts else torch.empty(0, k, dtype=torch.long)
    order = torch.rand(n, k, generator=generator).argsort(dim=1)
    return chosen.gather(1, order)


def _power_law_gaps(
    n: int, num_gaps: int, k: int, power_a: float, generator: torch.Generator
) -> torch.Tensor:
    """[n, k] int64 distinct gaps in [0, num_gaps), drawn in turn with p(g) ∝ (g+1)^(a-1)."""
    weights = (torch.arange(num_gaps, dtype=torch.float64) + 1.0) ** (power_a - 1.0)
    rows = max(1, _CHUNK_ELEMENTS // num_gaps)
    parts = [
        torch.multinomial(
            weights.expand(min(rows, n - start), num_gaps),
            k,
            replacement=False,
            generator=generator,
        )
        for start in range(0, n, rows)
    ]
    return torch.cat(parts) if parts else torch.empty(0, k, dtype=torch.long)


def mqar(
    n: int,
    vocab_size: int,
    seq_len: int,
    num_kv_pairs: int,
    power_a: float,
    random_non_queries: bool,
    generator: torch.Generator,
) -> SyntheticData:
    """``n`` Zoology multi-query associative-recall examples; all tensors are [n, seq_len].

    Context ``k1 v1 … kk vk`` with distinct keys from [1, V//2) and distinct values from
    [V//2, V); key i is queried again at position ``2k + 2·g_i`` with distinct gaps g drawn
    from the power law; the label there is ``v_i``, -100 elsewhere. Other positions hold 0, or
    uniform random tokens in [0, V) if ``random_non_queries``.
    """
    k = num_kv_pairs
    half = vocab_size // 2
    keys = _sample_without_replacement(n, half - 1, k, generator) + 1
    values = _sample_without_replacement(n, vocab_size - half, k, generator) + half
    gaps = _power_law_gaps(n, (seq_len - 2 * k) // 2, k, power_a, generator)
    query_pos = 2 * k + 2 * gaps
    inputs = torch.zeros(n, seq_len, dtype=torch.long)
    inputs[:, 0 : 2 * k : 2] = keys
    inputs[:, 1 : 2 * k : 2] = values
    inputs.scatter_(1, query_pos, keys)
    targets = torch.full((n, seq_len), IGNORE_INDEX, dtype=torch.long)
    targets.scatter_(1, query_pos, values)
    if random_non_queries:
        filler = torch.randint(0, vocab_size, (n, seq_len), generator=generator)
        inputs = torch.where(inputs == 0, filler, inputs)
    return SyntheticData(inputs, targets, targets != IGNORE_INDEX)


def generate(cfg: SyntheticDataConfig, n: int, generator: torch.Generator) -> SyntheticData:
    """``n`` fresh examples of ``cfg.language`` (duplicates possible; see ``make_splits``)."""
    if cfg.language == "associative_recall":
        return associative_recall(n, cfg.vocab_size, cfg.seq_len, generator)
    if cfg.language == "induction_head":
        return induction_head(n, cfg.vocab_size, cfg.seq_len, generator)
    return mqar(
        n,
        cfg.vocab_size,
        cfg.seq_len,
        cfg.num_kv_pairs,
        cfg.power_a,
        cfg.random_non_queries,
        generator,
    )


def _associative_recall_size(vocab_size: int, seq_len: int) -> int:
    """Exact number of distinct associative-recall sequences.

    Sum over j, the number of distinct keys among the seq_len//2 pairs: choose them (C(K, j)),
    lay them out surjectively over the pairs, give each a value (M^j), pick the query (j).
    """
    num_keys = (vocab_size - 2) // 2
    num_values = vocab_size - 2 - num_keys
    num_pairs = seq_len // 2
    total = 0
    for j in range(1, min(num_keys, num_pairs) + 1):
        surjections = sum((-1) ** i * math.comb(j, i) * (j - i) ** num_pairs for i in range(j + 1))
        total += math.comb(num_keys, j) * surjections * num_values**j * j
    return total


def language_size(cfg: SyntheticDataConfig) -> int:
    """How many distinct input sequences ``cfg`` can produce (an upper bound for MQAR with
    ``random_non_queries``, exact otherwise)."""
    if cfg.language == "associative_recall":
        return _associative_recall_size(cfg.vocab_size, cfg.seq_len)
    if cfg.language == "induction_head":
        return (cfg.seq_len - 2) * (cfg.vocab_size - 2) ** (cfg.seq_len - 1)
    k = cfg.num_kv_pairs
    half = cfg.vocab_size // 2
    size = (
        math.perm(half - 1, k)
        * math.perm(cfg.vocab_size - half, k)
        * math.perm((cfg.seq_len - 2 * k) // 2, k)
    )
    if cfg.random_non_queries:
        size *= cfg.vocab_size ** (cfg.seq_len - 3 * k)
    return size


def _first_occurrences(rows: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Ascending indices of the first occurrence of every distinct row of ``rows: [n, L]``.

    Entries must lie in ``[0, vocab_size)``.
    """
    # Narrowest integer type holding the ids, then one opaque byte string per row: numpy sorts
    # these with memcmp (faster than torch.unique(dim=0)) and equality stays exact.
    dtype = np.int16 if vocab_size <= np.iinfo(np.int16).max else np.int64
    array = np.ascontiguousarray(rows.numpy().astype(dtype, copy=False))
    keys = array.view(np.dtype((np.void, array.dtype.itemsize * array.shape[1]))).ravel()
    _, first = np.unique(keys, return_index=True)
    return torch.from_numpy(np.sort(first))


def make_splits(cfg: SyntheticDataConfig) -> tuple[SyntheticData, SyntheticData]:
    """Train and test splits of ``cfg.num_train`` and ``cfg.num_test`` examples.

    Deterministic in ``cfg.seed``. Examples are generated in rounds and deduplicated on their
    inputs, keeping generation order, so no input sequence repeats within or across splits.
    Raises ValueError if the language has fewer distinct sequences than requested, or if
    ``_MAX_ROUNDS`` rounds do not find enough (possible for MQAR, whose long gaps are rare).
    """
    cfg.validate()
    needed = cfg.num_train + cfg.num_test
    size = language_size(cfg)
    if size < needed:
        raise ValueError(
            f"data.language={cfg.language!r} with data.vocab_size={cfg.vocab_size} and "
            f"data.seq_len={cfg.seq_len} has only {size} distinct sequences, fewer than "
            f"data.num_train + data.num_test = {needed}; enlarge the language or ask for fewer"
        )
    generator = torch.Generator().manual_seed(cfg.seed)
    pool: SyntheticData | None = None
    for _ in range(_MAX_ROUNDS):
        missing = needed - (0 if pool is None else len(pool))
        if missing <= 0:
            break
        fresh = generate(cfg, max(missing + missing // 32, 256), generator)
        pool = fresh if pool is None else SyntheticData.cat([pool, fresh])
        keep = _first_occurrences(pool.inputs, cfg.vocab_size)
        if len(keep) < len(pool):
            pool = pool.select(keep)
    found = 0 if pool is None else len(pool)
    if pool is None or found < needed:
        raise ValueError(
            f"found only {found} distinct {cfg.language} sequences in {_MAX_ROUNDS} rounds, "
            f"fewer than data.num_train + data.num_test = {needed}: the language is too small "
            "in practice; raise data.vocab_size / data.seq_len or lower the counts"
        )
    return pool.select(slice(0, cfg.num_train)), pool.select(slice(cfg.num_train, needed))
