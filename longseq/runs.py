"""Load a finished training run back from its directory (no pickle), and encode prompts for it.

:func:`load` reads what :func:`longseq.train.train` wrote: ``model.safetensors`` + ``config.json``
(through :meth:`LanguageModel.from_pretrained`), ``config.yaml`` (the resolved config, whose
``modality`` section rebuilds the modality through the registry) and ``tokenizer/`` (through the
modality's ``load_tokenizer``). Synthetic runs have no modality and no tokenizer: their tokens are
integer ids, written as whitespace-separated numbers (:func:`encode_prompt`, :func:`decode_ids`).

``config.json`` also records how the run was trained (``"training"``: ``seq_len``, the longest
window it was trained on, and ``modality``: the name, distribution and version of the modality
that read the data, so a run whose plugin is not installed names the package to install), and
``documents.json`` names the documents of each split with their sha256, so an evaluation can
tell trained-on files from held-out ones whatever path it reads them from. Runs saved before these
records have neither (:attr:`Loaded.trained_seq_len` and :attr:`Loaded.documents` are then None).

Every file is checked before it is used: ``config.json`` records the sha256 and size of
``model.safetensors``, ``documents.json`` and of the tokenizer files (:func:`record_files`, called
when a run is saved), and a file that differs, a config that is not JSON or a weights file that
does not load raises :class:`RunError` with one line naming the file and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longseq.messages import one_line

if TYPE_CHECKING:
    import torch

    from longseq.models.lm import LanguageModel
    from longseq.plugins.modality import Modality, Tokenizer

__all__ = ["Loaded", "RunError", "decode_ids", "encode_prompt", "load", "record_files"]

RUN_CONFIG = "config.yaml"
TOKENIZER_DIR = "tokenizer"
# Same names as longseq.models.lm's (not imported here: that would load torch).
MODEL_CONFIG = "config.json"
WEIGHTS = "model.safetensors"
DOCUMENTS = "documents.json"
TRAINING_KEY = "training"
"""Key of ``config.json`` recording how the run was trained: ``{"seq_len": int, "steps": int}``
(the longest window trained on, the optimizer steps taken)."""
FILES_KEY = "files"
"""Key of ``config.json`` that maps each file :func:`load` reads (relative path) to its sha256 and
size (:func:`longseq.integrity.file_record`)."""

_RESTORE = "restore it from a copy of the run, or train the run again"


class RunError(ValueError):
    """A run directory that cannot be loaded or a prompt it cannot encode; the message is one
    line."""


@dataclass
class Loaded:
    """A trained run, ready to generate from.

    Attributes:
        model: the language model, in eval mode.
        tokenizer: the run's tokenizer, or None for synthetic runs (integer tokens).
        modality: the modality rebuilt from ``config.yaml``, or None for synthetic runs.
        config: the run's resolved config (``config.yaml``) as a plain dict.
        run_dir: the directory it was loaded from.
        training: ``config.json``'s training record (``seq_len``); empty for older runs.
        documents: ``documents.json`` (each split's ``{"name", "sha256"}`` list), or None when
            the run has none (a run saved before the record, or a task without documents).
    """

    model: LanguageModel
    tokenizer: Tokenizer | None
    modality: Modality | None
    config: dict[str, Any]
    run_dir: Path
    training: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, list[dict[str, str]]] | None = None

    @property
    def trained_seq_len(self) -> int | None:
        """The longest sequence the run was trained on, or None when it does not record one."""
        value = self.training.get("seq_len")
        return value if isinstance(value, int) and value > 0 else None

    def trained_sha256(self) -> set[str] | None:
        """The sha256 of every document the run trained on, or None without a record."""
        if self.documents is None:
            return None
        return {str(d["sha256"]) for d in self.documents.get("train", [])}

    @property
    def vocab_size(self) -> int:
        """The model's vocabulary size (ids ``0 .. vocab_size - 1``)."""
        return int(self.model.config.vocab_size)


def _recorded_names(run_dir: Path) -> list[str]:
    """The files of a saved run that :func:`load` reads and verifies: the weights, the run's
    ``config.yaml`` and every file of ``tokenizer/``."""
    names = [WEIGHTS, *(n for n in (RUN_CONFIG, DOCUMENTS) if (run_dir / n).is_file())]
    tokenizer_dir = run_dir / TOKENIZER_DIR
    if tokenizer_dir.is_dir():
        files = (p for p in tokenizer_dir.rglob("*") if p.is_file())
        names += sorted(p.relative_to(run_dir).as_posix() for p in files)
    return names


def record_files(run_dir: str | Path, training: dict[str, Any] | None = None) -> None:
    """Record the sha256 and size of ``model.safetensors``, ``config.yaml``, ``documents.json``
    and the tokenizer files under ``"files"`` in the run's ``config.json`` (rewritten
    atomically), for :func:`load` to verify, and ``training`` (e.g. ``{"seq_len": 1024}``) under
    ``"training"`` when given. Call it after ``model.save_pretrained(run_dir)`` and once the
    tokenizer is saved."""
    from longseq.integrity import file_record

    run_dir = Path(run_dir)
    path = run_dir / MODEL_CONFIG
    data = json.loads(path.read_text(encoding="utf-8"))
    if training is not None:
        data[TRAINING_KEY] = dict(training)
    data[FILES_KEY] = {name: file_record(run_dir / name) for name in _recorded_names(run_dir)}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _read_model_config(run_dir: Path) -> dict[str, Any]:
    """``config.json`` checked: JSON, a valid ``model`` section, a well-formed ``files`` record."""
    from longseq.integrity import short_reason
    from longseq.models.config import ModelConfig

    path = run_dir / MODEL_CONFIG
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunError(f"{path}: damaged, not JSON ({short_reason(exc)}); {_RESTORE}") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise RunError(
            f"{path}: damaged, not a longseq model config (no 'model' mapping); {_RESTORE}"
        )
    try:
        ModelConfig.from_dict(data["model"]).validate()
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise RunError(f"{path}: damaged model config ({short_reason(exc)}); {_RESTORE}") from None
    files = data.get(FILES_KEY)
    if files is not None and not (
        isinstance(files, dict) and all(isinstance(v, dict) for v in files.values())
    ):
        raise RunError(f"{path}: damaged, '{FILES_KEY}' is not a record of files; {_RESTORE}")
    return data


def _verify_files(run_dir: Path, data: dict[str, Any], under: str) -> None:
    """Each file ``config.json`` records whose path starts with ``under`` must have its recorded
    size and sha256."""
    from longseq.integrity import file_problem

    for name, record in (data.get(FILES_KEY) or {}).items():
        if not name.startswith(under):
            continue
        problem = file_problem(run_dir / name, record)
        if problem is not None:
            raise RunError(f"{run_dir / name}: damaged ({problem}); {_RESTORE}")


def _short(exc: BaseException) -> str:
    from longseq.integrity import short_reason

    return short_reason(exc)


def _read_config(run_dir: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    path = run_dir / RUN_CONFIG
    if not path.is_file():
        return {}
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except (OmegaConfBaseException, OSError, ValueError) as exc:
        raise RunError(
            f"{path}: damaged, not a readable run config ({_short(exc)}); {_RESTORE}"
        ) from None
    if not isinstance(raw, dict):
        raise RunError(f"{path}: damaged, not a run config (a mapping was expected); {_RESTORE}")
    return {str(k): v for k, v in raw.items()}


def load(path: str | Path, device: str | torch.device = "cpu") -> Loaded:
    """Load the run in ``path``: model (eval mode), tokenizer, modality and config.

    Raises:
        FileNotFoundError: ``path`` does not exist, or holds no ``model.safetensors`` /
            ``config.json`` (one line naming the directory).
        RunError: (a ValueError) a damaged file: ``config.json`` that is not JSON or not a model
            config, a file whose sha256 or size differs from the one ``config.json`` records,
            weights that do not load or do not match ``config.json``, a tokenizer that does not
            load, an unreadable ``config.yaml``; a modality run without its ``tokenizer/``
            directory; a ``modality`` section the registry rejects. One line naming the file
            and what to do.
    """
    from safetensors import SafetensorError

    from longseq.models.lm import CONFIG_NAME, WEIGHTS_NAME, LanguageModel
    from longseq.plugins.registry import build_modality, missing_modality

    run_dir = Path(path)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    missing = [name for name in (WEIGHTS_NAME, CONFIG_NAME) if not (run_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{run_dir}: no {' or '.join(missing)} "
            "(not a finished run; train one with `longseq train`)"
        )
    recorded = _read_model_config(run_dir)
    if (run_dir / RUN_CONFIG).is_file():  # a missing one is reported where it is needed (eval)
        _verify_files(run_dir, recorded, RUN_CONFIG)
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
            training = recorded.get(TRAINING_KEY)
            source = training.get("modality") if isinstance(training, dict) else None
            hint = missing_modality(str(options.get("name")), source)
            raise RunError(f"{run_dir / RUN_CONFIG}: {hint or one_line(exc)}") from None
        tokenizer_dir = run_dir / TOKENIZER_DIR
        if not tokenizer_dir.is_dir():
            raise RunError(
                f"{tokenizer_dir}: no tokenizer directory for this {options.get('name')} run"
            )
        _verify_files(run_dir, recorded, f"{TOKENIZER_DIR}/")
        try:
            tokenizer = modality.load_tokenizer(tokenizer_dir)
        except Exception as exc:  # the tokenizers library raises plain Exception
            raise RunError(
                f"{tokenizer_dir}: damaged, the tokenizer does not load ({_short(exc)}); {_RESTORE}"
            ) from None
    weights = run_dir / WEIGHTS_NAME
    _verify_files(run_dir, recorded, WEIGHTS_NAME)
    try:
        model = LanguageModel.from_pretrained(run_dir, device=device)
    except SafetensorError as exc:
        raise RunError(
            f"{weights}: damaged, not a safetensors file ({_short(exc)}); {_RESTORE}"
        ) from None
    except (ValueError, RuntimeError, OSError) as exc:
        raise RunError(f"{one_line(exc)}; {_RESTORE}") from None
    if tokenizer is not None and tokenizer.vocab_size > model.config.vocab_size:
        raise RunError(
            f"{run_dir}: the tokenizer has {tokenizer.vocab_size} ids but the model only "
            f"{model.config.vocab_size}"
        )
    model.eval()
    training = recorded.get(TRAINING_KEY)
    return Loaded(
        model=model,
        tokenizer=tokenizer,
        modality=modality,
        config=config,
        run_dir=run_dir,
        training=dict(training) if isinstance(training, dict) else {},
        documents=_read_documents(run_dir, recorded),
    )


def _read_documents(
    run_dir: Path, recorded: dict[str, Any]
) -> dict[str, list[dict[str, str]]] | None:
    """``documents.json`` checked against ``config.json``'s record; None when there is none."""
    path = run_dir / DOCUMENTS
    if not path.is_file():
        return None
    _verify_files(run_dir, recorded, DOCUMENTS)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunError(f"{path}: damaged, not JSON ({_short(exc)}); {_RESTORE}") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(d, dict) and "sha256" in d for d in v)
        for v in data.values()
    ):
        raise RunError(f"{path}: damaged, not a record of documents per split; {_RESTORE}")
    return data


def encode_prompt(loaded: Loaded, content: Any) -> list[int]:
    """Token ids for ``content``: the run's tokenizer, or whitespace-separated integer ids for a
    synthetic run.

    Raises:
        RunError: a symbol the tokenizer cannot encode, an id outside the vocabulary, or an
            empty prompt (one line naming the offending symbol).
    """
    if loaded.tokenizer is None:
        if not isinstance(content, str):
            raise RunError(
                f"a synthetic run takes integer ids as text, got {type(content).__name__}"
            )
        ids: list[int] = []
        for token in content.split():
            try:
                value = int(token)
            except ValueError:
                raise RunError(
                    f"prompt token {token!r} is not an integer id (synthetic run)"
                ) from None
            if not 0 <= value < loaded.vocab_size:
                raise RunError(
                    f"prompt id {value} is outside the vocabulary [0, {loaded.vocab_size})"
                )
            ids.append(value)
    else:
        try:
            ids = [int(i) for i in loaded.tokenizer.encode(content)]
        except ValueError as exc:  # DataError included
            raise RunError(f"cannot encode the prompt: {one_line(exc)}") from None
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
