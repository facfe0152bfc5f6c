"""Load a finished training run back from its directory (no pickle), and encode prompts for it.

:func:`load` reads what :func:`longseq.train.train` wrote: ``model.safetensors`` + ``config.json``
(through :meth:`LanguageModel.from_pretrained`), ``config.yaml`` (the resolved config, whose
``modality`` section rebuilds the modality through the registry) and ``tokenizer/`` (through the
modality's ``load_tokenizer``). Synthetic runs have no modality and no tokenizer: their tokens are
integer ids, written as whitespace-separated numbers (:func:`encode_prompt`, :func:`decode_ids`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from longseq.models.lm import LanguageModel
    from longseq.plugins.modality import Modality, Tokenizer

__all__ = ["Loaded", "RunError", "decode_ids", "encode_prompt", "load"]

RUN_CONFIG = "config.yaml"
TOKENIZER_DIR = "tokenizer"


class RunError(ValueError):
    """A run directory that cannot be loaded or a prompt it cannot encode; the message is one line."""


@dataclass
class Loaded:
    """A trained run, ready to generate from.

    Attributes:
        model: the language model, in eval mode.
        tokenizer: the run's tokenizer, or None for synthetic runs (integer tokens).
        modality: the modality rebuilt from ``config.yaml``, or None for synthetic runs.
        config: the run's resolved config (``config.yaml``) as a plain dict.
        run_dir: the directory it was loaded from.
    """

    model: LanguageModel
    tokenizer: Tokenizer | None
    modality: Modality | None
    config: dict[str, Any]
    run_dir: Path

    @property
    def vocab_size(self) -> int:
        """The model's vocabulary size (ids ``0 .. vocab_size - 1``)."""
        return int(self.model.config.vocab_size)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _read_config(run_dir: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    path = run_dir / RUN_CONFIG
    if not path.is_file():
        return {}
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except (OmegaConfBaseException, OSError, ValueError) as exc:
        raise RunError(f"{path}: not a readable run config ({_one_line(exc)})") from None
    if not isinstance(raw, dict):
        raise RunError(f"{path}: not a run config (a mapping was expected)")
    return {str(k): v for k, v in raw.items()}


def load(path: str | Path, device: str | torch.device = "cpu") -> Loaded:
    """Load the run in ``path``: model (eval mode), tokenizer, modality and config.

    Raises:
        FileNotFoundError: ``path`` does not exist, or holds no ``model.safetensors`` /
            ``config.json`` (one line naming the directory).
        ValueError: weights that do not match ``config.json``; a modality run without its
            ``tokenizer/`` directory; a ``modality`` section the registry rejects (one line).
    """
    from longseq.models.lm import CONFIG_NAME, WEIGHTS_NAME, LanguageModel
    from longseq.plugins.registry import build_modality

    run_dir = Path(path)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    missing = [name for name in (WEIGHTS_NAME, CONFIG_NAME) if not (run_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{run_dir}: no {' or '.join(missing)} (not a finished run; train one with `longseq train`)"
        )
    config = _read_config(run_dir)
    modality: Modality | None = None
    tokenizer: Tokenizer | None = None
    options = config.get("modality") or {}
    if options:
        if not isinstance(options, dict):
            raise RunError(f"{run_dir / RUN_CONFIG}: 'modality' is not a mapping")
        try:
            modality = build_modality(options)
        except ValueError as exc:
            raise RunError(f"{run_dir / RUN_CONFIG}: {_one_line(exc)}") from None
        tokenizer_dir = run_dir / TOKENIZER_DIR
        if not tokenizer_dir.is_dir():
            raise RunError(f"{tokenizer_dir}: no tokenizer directory for this {options.get('name')} run")
        try:
            tokenizer = modality.load_tokenizer(tokenizer_dir)
        except (ValueError, OSError) as exc:
            raise RunError(f"{tokenizer_dir}: cannot load the tokenizer ({_one_line(exc)})") from None
    try:
        model = LanguageModel.from_pretrained(run_dir, device=device)
    except ValueError as exc:
        raise RunError(_one_line(exc)) from None
    if tokenizer is not None and tokenizer.vocab_size > model.config.vocab_size:
        raise RunError(
            f"{run_dir}: the tokenizer has {tokenizer.vocab_size} ids but the model only "
            f"{model.config.vocab_size}"
        )
    model.eval()
    return Loaded(model=model, tokenizer=tokenizer, modality=modality, config=config, run_dir=run_dir)


def encode_prompt(loaded: Loaded, content: Any) -> list[int]:
    """Token ids for ``content``: the run's tokenizer, or whitespace-separated integer ids for a
    synthetic run.

    Raises:
        RunError: a symbol the tokenizer cannot encode, an id outside the vocabulary, or an
            empty prompt (one line naming the offending symbol).
    """
    if loaded.tokenizer is None:
        if not isinstance(content, str):
            raise RunError(f"a synthetic run takes integer ids as text, got {type(content).__name__}")
        ids: list[int] = []
        for token in content.split():
            try:
                value = int(token)
            except ValueError:
                raise RunError(f"prompt token {token!r} is not an integer id (synthetic run)") from None
            if not 0 <= value < loaded.vocab_size:
                raise RunError(f"prompt id {value} is outside the vocabulary [0, {loaded.vocab_size})")
            ids.append(value)
    else:
        try:
            ids = [int(i) for i in loaded.tokenizer.encode(content)]
        except ValueError as exc:  # DataError included
            raise RunError(f"cannot encode the prompt: {_one_line(exc)}") from None
    if not ids:
        raise RunError("the prompt encodes to no tokens; give at least one symbol")
    return ids


def decode_ids(loaded: Loaded, ids: list[int]) -> Any:
    """Content for generated ``ids``: the tokenizer's decoding (ids beyond the tokenizer's
    vocabulary dropped), or the ids as space-separated numbers for a synthetic run."""
    if loaded.tokenizer is None:
        return " ".join(str(i) for i in ids)
    limit = loaded.tokenizer.vocab_size
    return loaded.tokenizer.decode([i for i in ids if 0 <= i < limit])
