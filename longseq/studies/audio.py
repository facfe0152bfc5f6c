"""Audio study: sample-level language models of 8 kHz speech, 8-bit mu-law (256 classes per
sample). H3 against a Transformer at equal non-embedding parameters and equal training samples,
scored in bits per sample on held-out clips beside the unigram and the best Kneser-Ney n-gram
fitted on the same training clips; the H3 model continues a held-out clip into a WAV, drawn as a
spectrogram beside the real clip.

Full size: the Asterisk English prompts (one speaker). The top-level prompts train; whole
directories are held out: ``phonetic/`` (the NATO alphabet words) validates, ``digits/`` (the
spoken numbers) is the test set; ``silence/`` and the rest are not used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from longseq.studies.spec import (
    Cell,
    Study,
    StudyContext,
    StudyError,
    bits_bar_plot,
    equal_parameter_cells,
)

__all__ = ["STUDY"]

MODELS = ("transformer", "h3")
SOUNDS = "/usr/share/asterisk/sounds/en"
SHIPPED = "pkg://longseq.plugins.audio/data/digits"
RATE = 8000

# per size: (transformer width, layers, seq_len, batch, steps, prompt s, generated s)
_SIZES: dict[str, tuple[int, int, int, int, int, float, float]] = {
    "tiny": (32, 2, 128, 4, 3, 0.05, 0.025),
    "full": (128, 2, 1024, 8, 960, 0.25, 1.0),
}


def _data(ctx: StudyContext) -> tuple[str, ...]:
    """The ``data.*`` overrides: shipped digits split by clip (tiny), or the Asterisk prompts
    with ``phonetic/`` and ``digits/`` held out whole (full)."""
    if ctx.size == "tiny" and "sounds" not in ctx.data:
        return (f"data.path={SHIPPED}", "data.val_fraction=0.1", "data.test_fraction=0.1")
    root = Path(ctx.data_path("sounds", SOUNDS))
    held_out = {"val": root / "phonetic", "test": root / "digits"}
    for split, folder in held_out.items():
        if not folder.is_dir():
            raise StudyError(
                f"study audio: {folder} (the {split} clips) is not a directory; --data sounds= "
                "takes a folder laid out as the Asterisk prompts (install "
                "asterisk-core-sounds-en-wav)"
            )
    return (
        f"data.path={root}/*.wav",
        f"data.val_path={held_out['val']}",
        f"data.test_path={held_out['test']}",
    )


def _cells(ctx: StudyContext) -> list[Cell]:
    width, layers, seq_len, batch, steps, _, _ = _SIZES[ctx.size]
    common = (
        "experiment=audio/digits",
        *_data(ctx),
        f"data.seq_len={seq_len}",
        f"data.batch_size={batch}",
        f"model.n_layer={layers}",
        f"model.attention.n_heads={max(1, width // 64)}",
        "model.attention.dropout=0.0",
        f"trainer.max_steps={steps}",
        "trainer.max_epochs=1000",
        "trainer.val_check_interval=null",
        "trainer.check_val_every_n_epoch=null",
    )
    return equal_parameter_cells(common, MODELS, width, seq_len, steps * batch * seq_len)


def _measure(ctx: StudyContext, cell: Cell, run_dir: Path) -> dict[str, Any]:
    out = run_dir / "eval_ngram.json"
    ctx.longseq("eval", run_dir, "--baseline", "ngram", "--json", out)
    result = json.loads(out.read_text())
    base = result["baseline"]
    unit = base["unit"]
    row: dict[str, Any] = {
        "test_samples": base["units"],
        "bits_per_sample": result[f"bits_per_{unit}"],
        "ngram_order": base["best_order"],
        "ngram_bits_per_sample": base[f"best_bits_per_{unit}"],
        "unigram_bits_per_sample": base[f"unigram_bits_per_{unit}"],
        "ngram_train_samples": base["train_tokens"],
    }
    if cell.key["model"] == "h3":
        # the Transformer's learned positions end at data.seq_len samples (0.128 s at full
        # size): only the H3 model continues a clip past its training window
        row.update(_continue_clip(ctx, run_dir))
    return row


def _continue_clip(ctx: StudyContext, run_dir: Path) -> dict[str, Any]:
    """Continue the start of the longest held-out clip; write the WAV and a spectrogram PNG of
    it beside the real clip into the study's output folder."""
    from longseq.plugins.audio.files import read_audio, write_wav

    *_, prompt_s, new_s = _SIZES[ctx.size]
    test = json.loads((run_dir / "documents.json").read_text())["test"]
    clips = {d["name"]: read_audio(d["name"].split("#")[0], RATE) for d in test}
    name = max(clips, key=lambda n: clips[n].shape[0])
    real = clips[name]
    prompt_path = write_wav(real[: round(prompt_s * RATE)], run_dir / "prompt.wav", RATE)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    wav = ctx.out_dir / "audio_generated.wav"
    new = round(new_s * RATE)
    ctx.longseq(
        "generate",
        run_dir,
        "--prompt-file",
        prompt_path,
        "--max-new-tokens",
        str(new),
        "--seed",
        str(ctx.seed),
        "--output",
        wav,
    )
    generated = read_audio(wav, RATE)
    spectrogram = ctx.out_dir / "audio_spectrogram.png"
    _spectrograms(real, generated, prompt_s, Path(name).name, spectrogram)
    return {
        "prompt_clip": name,
        "prompt_s": prompt_s,
        "generated_wav": str(wav),
        "generated_s": round(generated.shape[0] / RATE, 3),
        "spectrogram_png": str(spectrogram),
    }


def _spectrograms(real: Any, generated: Any, prompt_s: float, clip: str, path: Path) -> None:
    from longseq.reporting import png

    title = f"held-out clip {clip} (left) and the H3 model's continuation of its first {prompt_s} s"
    with png(path, panels=2, figsize=(11, 4), title=title) as (_, axes):
        for ax, samples, label in (
            (axes[0], real, "real clip"),
            (axes[1], generated, "prompt + generated"),
        ):
            nfft = 256 if samples.shape[0] > 256 else max(16, samples.shape[0] // 2)
            ax.specgram(samples, NFFT=nfft, Fs=RATE, noverlap=nfft // 2, cmap="magma")
            ax.axvline(prompt_s, color="cyan", ls="--", lw=1)
            ax.set_title(label)
            ax.set_xlabel("time (s)")
            ax.set_ylabel("frequency (Hz)")


def _plot(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    title = "Speech, 8-bit mu-law: held-out bits per sample at equal params and samples"
    bits_bar_plot(rows, MODELS, path, title, unit="sample", ylabel="bits per sample (test clips)")


STUDY = Study(
    name="audio",
    title="Speech, 8 kHz 8-bit mu-law: H3 vs Transformer in bits per sample (n-gram baseline)",
    data=f"sounds: {SOUNDS} (apt asterisk-core-sounds-en-wav); phonetic/ val, digits/ test",
    cells=_cells,
    measure=_measure,
    columns=[
        ("model", "model", ""),
        ("width", "width", "d"),
        ("seed", "seed", "d"),
        ("bits/sample", "bits_per_sample", ".4f"),
        ("n-gram bits/sample", "ngram_bits_per_sample", ".4f"),
        ("n-gram order", "ngram_order", "d"),
        ("unigram bits/sample", "unigram_bits_per_sample", ".4f"),
    ],
    plot=_plot,
)
