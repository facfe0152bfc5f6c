"""Continue a run: which checkpoint ``resume`` names (:func:`resume_checkpoint`), whether the
run directory's saved config allows it, and where a resumed run logs (:func:`log_version`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from longseq.configs.diagnose import ConfigError
from longseq.configs.schema import TrainConfig

__all__ = ["log_version", "resume_checkpoint"]


def resume_checkpoint(config: TrainConfig, run_dir: Path) -> Path | None:
    """The checkpoint ``config.resume`` asks to continue from, or None to start fresh.

    ``resume=auto`` takes ``run_dir/checkpoints/last.ckpt`` when it exists and is intact; when
    it is damaged (truncated, overwritten, its tensors differ from the digest saved in it), the
    newest intact checkpoint of ``run_dir/checkpoints`` instead, with a
    :class:`~longseq.integrity.DamagedFileWarning` naming both; None when there is no
    checkpoint. Any other value is the path of a ``.ckpt`` file, which must be intact. When
    ``run_dir`` already holds a run, its ``config.yaml`` must match ``config`` except for
    ``resume``, ``trainer.*`` and ``checkpoint.*`` (e.g. more epochs), so a resumed run cannot
    silently change the model or data.

    Raises:
        ConfigError: the named checkpoint does not exist or is damaged, every checkpoint of
            ``resume=auto`` is damaged, or the configs differ (naming the key).
    """
    from longseq.integrity import checkpoint_problem

    if config.resume is None:
        return None
    if config.resume == "auto":
        path = _newest_intact_checkpoint(run_dir / "checkpoints")
    else:
        path = Path(config.resume)
        if not path.is_file():
            raise ConfigError(f"resume={config.resume}: no such checkpoint file")
        problem = checkpoint_problem(path)
        if problem is not None:
            raise ConfigError(
                f"resume={config.resume}: the checkpoint is damaged ({problem}); give another "
                "checkpoint, or resume=auto to take the newest intact one of the run"
            )
    saved = run_dir / "config.yaml"
    if path is not None and saved.is_file():
        _check_same_run(config, saved)
    return path


def _newest_intact_checkpoint(directory: Path) -> Path | None:
    """``last.ckpt``, else the most recently written other ``*.ckpt``, the first of them that is
    intact (a warning names the damaged ones skipped); None without checkpoints.

    Raises:
        ConfigError: there are checkpoints but none is intact.
    """
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    from longseq.integrity import DamagedFileWarning, checkpoint_problem

    last = directory / "last.ckpt"
    others = sorted(
        (p for p in directory.glob("*.ckpt") if p.is_file() and p.name != last.name),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    candidates = ([last] if last.is_file() else []) + others
    damaged: list[str] = []
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            if damaged and getattr(rank_zero_only, "rank", 0) == 0:
                warnings.warn(
                    f"{'; '.join(damaged)}: resuming from {path}, the newest intact checkpoint",
                    DamagedFileWarning,
                    stacklevel=2,
                )
            return path
        damaged.append(f"{path} is damaged ({problem})")
    if damaged:
        raise ConfigError(
            f"resume=auto: no intact checkpoint in {directory} ({'; '.join(damaged)}); move them "
            "away to start the run over, or train into a new --run-dir"
        )
    return None


_MAY_CHANGE_ON_RESUME = ("resume", "trainer", "checkpoint", "loggers")


def _check_same_run(config: TrainConfig, saved_path: Path) -> None:
    """Raise ConfigError naming the first key where ``config`` and the saved config differ."""
    try:
        saved = OmegaConf.to_container(OmegaConf.load(saved_path), resolve=True)
    except (OmegaConfBaseException, OSError, ValueError) as exc:
        raise ConfigError(
            f"{saved_path}: damaged, not a readable run config ({' '.join(str(exc).split())}); "
            "restore it from a copy of the run, or train into a new --run-dir"
        ) from None
    now = OmegaConf.to_container(OmegaConf.structured(config), resolve=True)
    assert isinstance(now, dict)
    lost = [key for key in now if not isinstance(saved, dict) or key not in saved]
    if lost:
        # Every section of the schema is written: a file without some was cut short.
        raise ConfigError(
            f"{saved_path}: damaged, not a whole run config (no {lost[0]!r} section); restore it "
            "from a copy of the run, or train into a new --run-dir"
        )
    assert isinstance(saved, dict)
    # how long sequences are computed (state passing, checkpointing) changes no result: a run
    # may resume with other settings, or from before the settings existed
    for cfg in (saved, now):
        if isinstance(cfg.get("model"), dict):
            cfg["model"].pop("long_context", None)
    for key in sorted(set(saved) | set(now)):
        if key in _MAY_CHANGE_ON_RESUME:
            continue
        diff = _first_difference(saved.get(key), now.get(key), key)
        # The model's vocabulary is filled in from the task when training starts.
        if diff is not None and diff[0] != "model.vocab_size":
            name, old, new = diff
            raise ConfigError(
                f"resume: {name}={new!r} differs from the run's {name}={old!r} in {saved_path}; "
                "resume with the run's settings or train into a new --run-dir"
            )


def _first_difference(old: Any, new: Any, name: str) -> tuple[str, Any, Any] | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            diff = _first_difference(old.get(key), new.get(key), f"{name}.{key}")
            if diff is not None:
                return diff
        return None
    return None if old == new else (name, old, new)


def log_version(run_dir: Path) -> str:
    """``resume-N`` for the N-th resumption: each attempt logs into its own directory, so the
    logs written before an interruption are kept (Lightning's CSV logger would delete them)."""
    n = 1
    while (run_dir / "logs" / f"resume-{n}").exists():
        n += 1
    return f"resume-{n}"
