"""Loss, perplexity and bits of a trained run on its held-out split: :func:`evaluate` and its
:class:`EvalResult`.

The loss is the token-weighted mean cross-entropy (nats) over the labelled positions
(``targets != IGNORE_INDEX``), as the training task's ``test/loss``; perplexity is ``exp(loss)``
and bits per token ``loss / ln 2``. Bits per base (genomics), per sample (audio) or per byte (text
and code with the byte tokenizer) divide the same total bits by the labelled targets that are a
base, sample or byte, i.e. not a special token such as ``<eos>`` between documents. The result
also keeps the loss summed at each position of the window, for :mod:`longseq.evaluation.curve`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from longseq.devices import resolve_device
from longseq.messages import one_line
from longseq.reporting import aligned_table
from longseq.runs import RUN_CONFIG, RunError, load
from longseq.tasks import IGNORE_INDEX
from longseq.train import ConfigError, compose_run

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from longseq.configs.schema import TrainConfig
    from longseq.plugins.modality import Tokenizer
    from longseq.runs import Loaded
    from longseq.tasks.contract import TaskData

__all__ = [
    "SPLITS",
    "EvalResult",
    "evaluate",
    "format_table",
    "token_losses",
    "unit_name",
    "write_json",
]

SPLITS = ("test", "val")
"""Held-out splits :func:`evaluate` reads (the synthetic languages serve their test split for
both)."""

# Overrides may change what is read, never the model (which is the run's weights).
_OVERRIDABLE = ("data.", "modality.")
_LN2 = math.log(2.0)


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    Attributes:
        run_dir: the run evaluated.
        split: ``"test"`` or ``"val"``.
        overrides: the ``data.*`` / ``modality.*`` overrides applied to the run's config.
        windows: examples (windows) evaluated; ``batches`` the batches they came in.
        tokens: labelled positions evaluated.
        loss: mean cross-entropy over them, nats per token.
        unit: what one token is (the modality's ``unit``: ``"base"``, ``"sample"``, ``"byte"``,
            ...), else None.
        unit_tokens: labelled targets that are a unit (special tokens excluded); 0 without unit.
        position_loss: [L] float64, summed loss of the labelled targets at each position.
        position_count: [L] int64, labelled targets at each position (L: the window length).
    """

    run_dir: Path
    split: str
    overrides: tuple[str, ...]
    windows: int
    batches: int
    tokens: int
    loss: float
    unit: str | None
    unit_tokens: int
    position_loss: np.ndarray
    position_count: np.ndarray

    @property
    def seq_len(self) -> int:
        """Window length L (positions of the context curve)."""
        return len(self.position_count)

    @property
    def perplexity(self) -> float:
        """``exp(loss)``."""
        return math.exp(self.loss)

    @property
    def bits_per_token(self) -> float:
        """``loss / ln 2``."""
        return self.loss / _LN2

    @property
    def bits_per_unit(self) -> float | None:
        """Total bits over the unit targets (bits per base / sample / byte); None without a
        unit or when no target is one."""
        if self.unit is None or self.unit_tokens == 0:
            return None
        return self.loss * self.tokens / _LN2 / self.unit_tokens

    def metrics(self) -> dict[str, Any]:
        """The result as JSON-ready values (``bits_per_<unit>`` and ``<unit>s`` with a unit)."""
        out: dict[str, Any] = {
            "run_dir": str(self.run_dir),
            "split": self.split,
            "overrides": list(self.overrides),
            "seq_len": self.seq_len,
            "windows": self.windows,
            "batches": self.batches,
            "tokens": self.tokens,
            "loss": self.loss,
            "perplexity": self.perplexity,
            "bits_per_token": self.bits_per_token,
        }
        if self.unit is not None:
            out[f"bits_per_{self.unit}"] = self.bits_per_unit
            out[f"{self.unit}s"] = self.unit_tokens
        return out


def unit_name(modality: Mapping[str, Any]) -> str | None:
    """What one token is for a run with these modality options, as the modality says (its
    ``unit``: ``"base"`` for genomics, ``"sample"`` for audio, ``"byte"`` for text or code with
    ``tokenizer: byte``, a plugin's own); None without options or unit (bits per token only)."""
    if not modality:
        return None
    from longseq.plugins.contract import unit_of
    from longseq.plugins.registry import build_modality

    return unit_of(build_modality(modality))


def token_losses(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy in fp32 at every position.

    ``logits``: [B, L, V] any float dtype; ``targets``: [B, L] int64, ``IGNORE_INDEX`` for none.
    Returns [B, L] fp32, 0 where the target is ``IGNORE_INDEX``.
    """
    flat = F.cross_entropy(
        logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="none"
    )
    return flat.view_as(targets)


def evaluate(
    run_dir: str | Path,
    overrides: Sequence[str] = (),
    *,
    split: str = "test",
    device: str = "cpu",
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> EvalResult:
    """Evaluate the run in ``run_dir`` on its held-out ``split``, rebuilt from its config.

    Args:
        overrides: ``data.<key>=<value>`` / ``modality.<key>=<value>`` applied to the run's
            config (e.g. ``data.path=other.fa data.seq_len=4096``).
        split: ``"test"`` or ``"val"``.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        batch_size: windows per batch (default: the run's ``data.batch_size``).
        max_batches: evaluate at most this many batches (None: the whole split).

    Raises:
        RunError: ``run_dir`` is not a finished run with a config.
        ConfigError: an override the config rejects, or a run whose task eval cannot measure.
        DataError: the data cannot be read.
        ValueError: a bad ``split``, ``device``, ``batch_size`` or ``max_batches``.
    """
    if split not in SPLITS:
        raise ValueError(f"split {split!r} must be one of {', '.join(SPLITS)}")
    if max_batches is not None and max_batches < 1:
        raise ValueError(f"max_batches={max_batches} must be at least 1")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1")
    device = resolve_device(device)
    loaded = _load(Path(run_dir), device)
    config = _run_config(loaded, overrides, batch_size)
    task_data = _task_data(config, loaded)
    if task_data.vocab_size > loaded.vocab_size:
        raise ConfigError(
            f"the data needs {task_data.vocab_size} token ids but the model has "
            f"{loaded.vocab_size}; leave the vocabulary options as the run had them"
        )
    tokenizer = task_data.tokenizer if task_data.tokenizer is not None else loaded.tokenizer
    unit = unit_name(loaded.config.get("modality") or {})
    is_unit = _unit_mask(tokenizer) if unit is not None and tokenizer is not None else None
    datamodule = task_data.datamodule
    datamodule.setup("test" if split == "test" else "validate")
    loader = datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()
    sums = _accumulate(loaded.model, loader, device, is_unit, max_batches)
    total = int(sums["count"].sum())
    if total == 0:
        raise RunError(f"{run_dir}: the {split} split has no labelled token to evaluate")
    return EvalResult(
        run_dir=Path(run_dir),
        split=split,
        overrides=tuple(overrides),
        windows=int(sums["windows"]),
        batches=int(sums["batches"]),
        tokens=total,
        loss=float(sums["loss"].sum()) / total,
        unit=unit if is_unit is not None else None,
        unit_tokens=int(sums["units"]),
        position_loss=sums["loss"],
        position_count=sums["count"],
    )


def _load(run_dir: Path, device: str) -> Loaded:
    try:
        loaded = load(run_dir, device=device)
    except FileNotFoundError as exc:
        raise RunError(one_line(exc)) from None
    if not loaded.config:
        raise RunError(
            f"{run_dir / RUN_CONFIG}: missing; eval rebuilds the held-out data from the run's "
            "config"
        )
    return loaded


def _run_config(loaded: Loaded, overrides: Sequence[str], batch_size: int | None) -> TrainConfig:
    for text in overrides:
        if not text.startswith(_OVERRIDABLE):
            raise ConfigError(
                f"override {text!r}: eval takes data.* and modality.* overrides (the model is "
                "the run's)"
            )
    extra = [f"data.batch_size={batch_size}"] if batch_size is not None else []
    return compose_run(loaded.config, [*overrides, *extra], source=str(loaded.run_dir / RUN_CONFIG))


def _task_data(config: TrainConfig, loaded: Loaded) -> TaskData:
    """The run's task data, encoded with the run's tokenizer."""
    from longseq.tasks.lm.corpus import tokenizer_digest
    from longseq.tasks.registry import task_named
    from longseq.training.task_data import build_task_data

    name = config.task.name
    task = task_named(name)
    if not task.scores_next_token:
        raise ConfigError(
            f"task.name={name}: eval measures next-token loss; a {name} run's "
            "test metrics are in its metrics.json"
        )
    if task.reads_files:
        return build_task_data(config, tokenizer=loaded.tokenizer)
    data = build_task_data(config)
    if data.tokenizer is not None and (
        loaded.tokenizer is None
        or tokenizer_digest(data.tokenizer) != tokenizer_digest(loaded.tokenizer)
    ):
        raise ConfigError(f"task {name!r} built a tokenizer other than the run's saved one")
    return data


def _unit_mask(tokenizer: Tokenizer) -> torch.Tensor:
    """[V] bool: True for the ids that decode to content (a base, sample or byte), False for
    special tokens, which decode to nothing."""
    return torch.tensor([len(tokenizer.decode([i])) > 0 for i in range(tokenizer.vocab_size)])


@torch.inference_mode()
def _accumulate(
    model: torch.nn.Module,
    loader: DataLoader | Iterable[Mapping[str, torch.Tensor]],
    device: str,
    is_unit: torch.Tensor | None,
    max_batches: int | None,
) -> dict[str, Any]:
    """Per-position loss sums and counts (float64 / int64 numpy [L]) plus windows, batches and
    unit targets, over the first ``max_batches`` batches of ``loader``."""
    model.eval()
    loss = torch.zeros(0, dtype=torch.float64, device=device)
    count = torch.zeros(0, dtype=torch.long, device=device)
    units = torch.zeros((), dtype=torch.long, device=device)
    mask = is_unit.to(device) if is_unit is not None else None
    windows = batches = 0
    for batch in loader:
        if max_batches is not None and batches >= max_batches:
            break
        ids = batch["input_ids"].to(device)
        targets = batch["targets"].to(device)
        labelled = targets != IGNORE_INDEX
        losses = token_losses(model(ids), targets)
        length = targets.shape[1]
        if length > len(loss):
            loss = F.pad(loss, (0, length - len(loss)))
            count = F.pad(count, (0, length - len(count)))
        loss[:length] += losses.double().sum(0)
        count[:length] += labelled.sum(0)
        if mask is not None:
            units += (mask[targets.clamp_min(0)] & labelled).sum()
        windows += targets.shape[0]
        batches += 1
    return {
        "loss": loss.cpu().numpy(),
        "count": count.cpu().numpy(),
        "units": int(units),
        "windows": windows,
        "batches": batches,
    }


def format_table(result: EvalResult) -> str:
    """A small two-column table of the result, for the terminal."""
    windows = _count(result.windows, "window")
    split = f"{result.split}: {windows} of {result.seq_len} tokens"
    rows = [
        ("run", str(result.run_dir)),
        ("split", f"{split} ({_count(result.batches, 'batch')})"),
        ("tokens", f"{result.tokens:,}"),
        ("loss", f"{result.loss:.4f} nats per token"),
        ("perplexity", f"{result.perplexity:.4f}"),
        ("bits per token", f"{result.bits_per_token:.4f}"),
    ]
    if result.unit is not None and result.bits_per_unit is not None:
        rows.append(
            (
                f"bits per {result.unit}",
                f"{result.bits_per_unit:.4f} ({result.unit_tokens:,} {result.unit}s)",
            )
        )
    return aligned_table(rows)


def _count(n: int, noun: str) -> str:
    """``1 window``, ``3 windows``, ``2 batches``."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {noun}{'es' if noun.endswith('ch') else 's'}"


def write_json(
    result: EvalResult, path: str | Path, extra: Mapping[str, Any] | None = None
) -> Path:
    """Write :meth:`EvalResult.metrics` (and the keys of ``extra``, e.g. ``baseline``) as JSON;
    returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**result.metrics(), **(extra or {})}, indent=2) + "\n")
    return path
