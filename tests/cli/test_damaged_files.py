"""Damaged files of a run or a token cache: one line naming the file and what to do, never a
traceback; a damaged token cache is rebuilt (one warning line) and gives the same result.

The run is the session's tiny text run (tests/cli/conftest.py), copied before it is damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import longseq
from longseq.cli import main
from longseq.runs import RunError
from tests.cli_run import error_line

RESTORE = "restore it from a copy of the run, or train the run again"


def _copy(run: Path, tmp_path: Path) -> Path:
    other = tmp_path / "copy"
    shutil.copytree(run, other, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    return other


def _generate(run: Path) -> Result:
    return CliRunner().invoke(
        main, ["generate", str(run), "--prompt", "In", "--max-new-tokens", "2", "--device", "cpu"]
    )


def _flip_byte(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _unrecord(run: Path) -> None:
    """Drop the checksums from config.json, as in a run saved before they were recorded."""
    spec = json.loads((run / "config.json").read_text())
    spec.pop("files")
    (run / "config.json").write_text(json.dumps(spec))


def test_config_json_records_the_checksums_load_verifies(text_run: Path) -> None:
    files = json.loads((text_run / "config.json").read_text())["files"]
    assert sorted(files) == [
        "config.yaml",
        "documents.json",
        "model.safetensors",
        "tokenizer/text_tokenizer.json",
    ]
    for name, record in files.items():
        data = (text_run / name).read_bytes()
        assert record == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    loaded = longseq.load(text_run)  # the intact run loads
    assert loaded.tokenizer is not None and loaded.trained_seq_len == 64
    assert loaded.training["steps"] == 2
    assert loaded.documents is not None and loaded.documents["train"]


def test_damaged_document_record_gives_one_line(text_run: Path, tmp_path: Path) -> None:
    run = _copy(text_run, tmp_path)
    _truncate(run / "documents.json")
    with pytest.raises(RunError, match=r"documents.json: damaged \(truncated"):
        longseq.load(run)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_truncate, r"damaged \(truncated: [\d,]+ of [\d,]+ bytes\)"),
        (_flip_byte, r"damaged \(its sha256 differs from the one recorded when it was written"),
    ],
    ids=["truncated", "one-byte-changed"],
)
def test_damaged_weights_give_one_line(text_run: Path, tmp_path: Path, damage, expected) -> None:
    run = _copy(text_run, tmp_path)
    damage(run / "model.safetensors")
    line = error_line(_generate(run))
    assert line.startswith(f"error: {run / 'model.safetensors'}: ") and line.endswith(RESTORE)
    assert re.search(expected, line), line
    with pytest.raises(RunError, match="model.safetensors: damaged"):
        longseq.load(run)
    eval_line = error_line(CliRunner().invoke(main, ["eval", str(run), "--device", "cpu"]))
    assert eval_line == line


def test_damaged_weights_without_a_recorded_checksum_give_one_line(
    text_run: Path, tmp_path: Path
) -> None:
    run = _copy(text_run, tmp_path)
    _unrecord(run)
    _truncate(run / "model.safetensors")
    line = error_line(_generate(run))
    assert line.startswith(f"error: {run / 'model.safetensors'}: damaged, not a safetensors file (")
    assert line.endswith(RESTORE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"model": {"d_model": 16,', "damaged, not JSON (Expecting property name"),
        ("\x00\xff garbage", "damaged, not JSON ("),
        ('["model"]', "damaged, not a longseq model config (no 'model' mapping)"),
        ('{"model": {"d_model": "sixteen"}}', "damaged model config ("),
        ('{"model": {"d_modle": 16}}', "damaged model config (unknown key(s) ['d_modle']"),
    ],
    ids=["truncated", "garbage", "wrong-json", "wrong-type", "unknown-key"],
)
def test_damaged_config_json_gives_one_line(
    text_run: Path, tmp_path: Path, text: str, expected: str
) -> None:
    run = _copy(text_run, tmp_path)
    (run / "config.json").write_bytes(text.encode("latin-1"))
    line = error_line(_generate(run))
    assert line.startswith(f"error: {run / 'config.json'}: {expected}"), line
    assert line.endswith(RESTORE)


def test_damaged_tokenizer_gives_one_line(text_run: Path, tmp_path: Path) -> None:
    run = _copy(text_run, tmp_path)
    tokenizer_file = run / "tokenizer" / "text_tokenizer.json"
    tokenizer_file.write_text('{"kind": "bp')
    line = error_line(_generate(run))
    assert line == (
        f"error: {tokenizer_file}: damaged (truncated: 12 of "
        f"{(text_run / 'tokenizer' / 'text_tokenizer.json').stat().st_size} bytes); "
        f"{RESTORE}"
    )
    # without a recorded checksum, the tokenizer's own check names the file
    _unrecord(run)
    line = error_line(_generate(run))
    assert line.startswith(
        f"error: {run / 'tokenizer'}: damaged, the tokenizer does not load "
        f"({tokenizer_file}: not a text tokenizer"
    )
    assert line.endswith(RESTORE)


def test_damaged_config_yaml_gives_one_line(text_run: Path, tmp_path: Path) -> None:
    run = _copy(text_run, tmp_path)
    _truncate(run / "config.yaml", 0.3)  # still YAML, but no longer the run's config
    line = error_line(_generate(run))
    assert line.startswith(f"error: {run / 'config.yaml'}: damaged (truncated: ")
    assert line.endswith(RESTORE)
    _unrecord(run)
    (run / "config.yaml").write_bytes(b"model: [unclosed\n\xff")
    line = error_line(_generate(run))
    assert line.startswith(f"error: {run / 'config.yaml'}: damaged, not a readable run config (")
    assert line.endswith(RESTORE)


def _damage_meta(cache: Path) -> None:
    (cache / "meta.json").write_text('{"train": {"documents": 3')


def _damage_tokenizer(cache: Path) -> None:
    (cache / "tokenizer" / "text_tokenizer.json").write_text("{}")


def _remove_val(cache: Path) -> None:
    (cache / "val.npy").unlink()


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda c: _truncate(c / "train.npy"), "train.npy is damaged (truncated: "),
        (lambda c: _flip_byte(c / "test.npy", 0.9), "test.npy is damaged (its sha256 differs"),
        (_damage_meta, "meta.json is damaged (not JSON: "),
        (_damage_tokenizer, "text_tokenizer.json is damaged ("),
        (_remove_val, "val.npy is damaged (missing)"),
    ],
    ids=["truncated-stream", "changed-stream", "meta-not-json", "tokenizer", "missing-stream"],
)
def test_a_damaged_token_cache_is_rebuilt_with_one_warning(
    text_run: Path, tmp_path: Path, damage, named: str
) -> None:
    root = tmp_path / "cache"
    shutil.copytree(text_run.parent / "cache", root)
    args = [
        "eval",
        str(text_run),
        f"data.cache_dir={root}",
        "--device",
        "cpu",
        "--max-batches",
        "2",
    ]
    intact = CliRunner().invoke(main, args)
    assert intact.exit_code == 0 and intact.stderr == "", intact.output
    (cache,) = [p for p in root.iterdir() if p.is_dir()]
    damage(cache)

    rebuilt = CliRunner().invoke(main, args)
    assert rebuilt.exit_code == 0, rebuilt.output
    lines = rebuilt.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: token cache {cache}"), rebuilt.stderr
    assert named in lines[0] and lines[0].endswith("; rebuilding it from the data")
    assert rebuilt.stdout == intact.stdout  # the same loss on the rebuilt cache
    # the damaged cache is gone, one intact cache is left (eval keys it by the run's tokenizer)
    (rebuilt_cache,) = list(root.iterdir())
    assert (rebuilt_cache / "meta.json").is_file()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and again.stderr == ""  # the rebuilt cache is trusted


def test_the_digest_of_a_checkpoint_finds_a_changed_byte(tmp_path: Path) -> None:
    """A checkpoint whose tensors changed after it was written still loads: its digest finds it."""
    import torch

    from longseq.integrity import CHECKPOINT_DIGEST_KEY, checkpoint_digest, checkpoint_problem

    checkpoint = {
        "state_dict": {"w": torch.arange(1000, dtype=torch.float32)},
        "epoch": 1,
        "global_step": 8,
    }
    checkpoint[CHECKPOINT_DIGEST_KEY] = checkpoint_digest(checkpoint)
    path = tmp_path / "x.ckpt"
    torch.save(checkpoint, path)
    assert checkpoint_problem(path) is None
    raw = path.read_bytes()
    offset = raw.index(torch.arange(1000, dtype=torch.float32)[500:502].numpy().tobytes())
    path.write_bytes(raw[:offset] + b"\x00\x00\x80\x7f" + raw[offset + 4 :])
    assert float(torch.load(path, weights_only=True)["state_dict"]["w"][500]) == float("inf")
    assert checkpoint_problem(path) == "corrupted, its tensors differ from the digest saved in it"
    path.write_bytes(raw[: len(raw) // 2])
    assert checkpoint_problem(path).startswith("truncated or overwritten, it does not load: ")
    path.write_bytes(b"")
    assert checkpoint_problem(path) == "empty (0 bytes)"
    path.write_bytes(os.urandom(2000))
    assert checkpoint_problem(path).startswith("truncated or overwritten, it does not load: ")


@pytest.mark.parametrize("cut", ["at-a-line-end", "mid-line", "garbage"])
def test_a_damaged_fasta_index_is_rebuilt_with_one_warning(tmp_path: Path, cut: str) -> None:
    """The genomics cache's `.fai` index: cut short at a line end it still loads (without the
    last contigs), so its records are checked against the FASTA's size."""
    from longseq.integrity import DamagedFileWarning
    from longseq.plugins.genomics.genome import IndexedGenome

    fasta = tmp_path / "g.fa"
    fasta.write_text("".join(f">chr{c}\n" + "ACGTTGCA" * 10 + "\nACG\n" for c in range(3)))
    intact = IndexedGenome(fasta).contigs
    assert intact == {"chr0": 83, "chr1": 83, "chr2": 83}
    index = tmp_path / "g.fa.fai"
    good = index.read_text()
    damaged = {
        "at-a-line-end": "".join(good.splitlines(True)[:2]),
        "mid-line": good[: len(good) // 2],
        "garbage": "garbage\x00\n",
    }[cut]
    index.write_text(damaged)
    with pytest.warns(DamagedFileWarning) as record:
        assert IndexedGenome(fasta).contigs == intact
    (warning,) = [w for w in record if issubclass(w.category, DamagedFileWarning)]
    assert str(warning.message).startswith(f"{index} is damaged (")
    assert str(warning.message).endswith(f"; rebuilding the index of {fasta}")
    assert index.read_text() == good
