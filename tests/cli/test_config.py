"""Composing the hydra tree: defaults, every group option, every experiment preset."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import DictConfig

import longseq.configs
from longseq.configs.schema import TrainConfig
from longseq.train import ConfigError, compose, to_train_config

CONFIG_DIR = Path(longseq.configs.__file__).parent
MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (CONFIG_DIR / "trainer").glob("*.yaml"))
EXPERIMENTS = sorted(
    p.relative_to(CONFIG_DIR / "experiment").with_suffix("").as_posix()
    for p in (CONFIG_DIR / "experiment").rglob("*.yaml")
)
# The presets these tests own; each modality's tests check its own presets.
CORE_EXPERIMENTS = [e for e in EXPERIMENTS if e.split("/")[0] in ("synthetic", "text")]


def test_config_tree_has_the_documented_options() -> None:
    assert MODELS == ["h3", "hybrid", "hyena", "s4d", "transformer"]
    # Modality packages add their own presets under experiment/<modality>/.
    assert {
        "synthetic/associative_recall",
        "synthetic/associative_recall_paper",
        "synthetic/induction_head",
        "synthetic/mqar",
        "text/kjv",
    } <= set(EXPERIMENTS)
    assert "default" in TRAINERS
    assert {"synthetic.yaml", "lm.yaml"} <= {p.name for p in (CONFIG_DIR / "data").glob("*.yaml")}
    assert (CONFIG_DIR / "modality" / "text.yaml").is_file()


def test_defaults_compose_to_associative_recall_with_h3() -> None:
    cfg = compose([])
    assert isinstance(cfg, DictConfig)
    config = to_train_config(cfg)
    assert isinstance(config, TrainConfig)
    assert config.name == "associative_recall"
    assert config.task.name == "synthetic"
    assert config.model.mixer == "h3" and config.model.attn_layer_idx == []
    assert config.model.d_model == 64 and config.model.n_layer == 2
    assert config.model.vocab_size == 0  # filled from the task at build time
    assert config.modality == {}  # the synthetic languages read no files
    assert (config.data.language, config.data.vocab_size, config.data.seq_len) == (
        "associative_recall",
        10,
        20,
    )
    assert (config.data.num_train, config.data.num_test) == (5000, 500)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_option_composes_and_validates(model: str) -> None:
    config = to_train_config(compose([f"model={model}"]))
    expected_mixer = {"hybrid": "h3", "transformer": "attention"}.get(model, model)
    assert config.model.mixer == expected_mixer
    if model == "hybrid":
        assert config.model.attn_layer_idx == [1]
    if model == "transformer":
        assert config.model.max_position_embeddings >= 1024
        assert config.model.attention.n_heads == 1


@pytest.mark.parametrize("trainer", TRAINERS)
def test_every_trainer_option_composes_and_validates(trainer: str) -> None:
    config = to_train_config(compose([f"trainer={trainer}"]))
    assert config.trainer.max_epochs >= 1


@pytest.mark.parametrize("experiment", CORE_EXPERIMENTS)
def test_every_experiment_composes_with_every_model(experiment: str) -> None:
    for model in MODELS:
        config = to_train_config(compose([f"experiment={experiment}", f"model={model}"]))
        assert config.name == experiment.rsplit("/", 1)[-1]
        if experiment.startswith("synthetic/"):
            assert config.name in (config.data.language, f"{config.data.language}_paper")
        else:
            assert config.modality["name"]


def test_paper_settings_of_the_presets() -> None:
    ih = to_train_config(compose(["experiment=synthetic/induction_head"]))
    assert (ih.data.vocab_size, ih.data.seq_len) == (20, 30)
    ar = to_train_config(compose(["experiment=synthetic/associative_recall_paper"]))
    quick = to_train_config(compose(["experiment=synthetic/associative_recall"]))
    assert ar.data == quick.data and (ar.data.vocab_size, ar.data.seq_len) == (10, 20)
    assert (ar.model.d_model, ar.optim.lr, ar.trainer.max_epochs) == (32, 5e-4, 200)
    assert (ar.optim.schedule, ar.optim.min_lr_ratio, ar.optim.weight_decay) == ("linear", 0.0, 0.1)
    assert ar.optim.decay_scope == "all" and ar.trainer.gradient_clip_val == 0.0
    assert quick.optim.decay_scope == "matrices" and quick.trainer.gradient_clip_val == 1.0
    mqar = to_train_config(compose(["experiment=synthetic/mqar"]))
    assert (mqar.data.seq_len, mqar.data.num_kv_pairs, mqar.data.vocab_size) == (64, 4, 8192)
    assert mqar.model.d_model == 64 and mqar.model.mlp_ratio == 0
    assert (mqar.model.ssm.head_dim, mqar.model.ssm.d_state) == (2, mqar.data.seq_len)


def test_command_line_overrides_win_over_the_experiment() -> None:
    config = to_train_config(
        compose(["experiment=synthetic/mqar", "model.d_model=32", "trainer.max_epochs=2"])
    )
    assert config.model.d_model == 32 and config.trainer.max_epochs == 2


def test_experiment_can_be_dropped() -> None:
    config = to_train_config(compose(["~experiment"]))
    assert config.name == "default"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "model=foo",
            "unknown option 'foo' for group 'model'; valid: h3, hybrid, hyena, s4d, transformer",
        ),
        ("model.d_modle=3", "unknown key 'model.d_modle'; did you mean 'model.d_model'?"),
        ("trainer.max_epochs=abc", "invalid value 'abc' for 'trainer.max_epochs'"),
        ("data.seq_len=21", "data.seq_len=21"),
        ("task.name=nope", "task.name: unknown task 'nope'; valid: classification, lm, synthetic"),
    ],
)
def test_compose_errors_are_config_errors(override: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        to_train_config(compose([override]))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("value", "seconds"), [("00:00:06:10", 370.0), ("605", 605.0)])
def test_max_time_reaches_lightnings_timer(tmp_path: Path, value: str, seconds: float) -> None:
    from lightning.pytorch.callbacks import Timer

    from longseq.training.trainer import build_trainer

    config = to_train_config(compose([f"trainer.max_time={value}", "trainer.max_epochs=-1"]))
    trainer = build_trainer(config, tmp_path / "run", resumed=False)
    timers = [cb for cb in trainer.callbacks if isinstance(cb, Timer)]
    assert len(timers) == 1 and timers[0]._duration == seconds


@pytest.mark.parametrize("value", ["abc", "0", "00:00:00:00", "1:2"])
def test_bad_max_time_is_one_line(value: str) -> None:
    with pytest.raises(ConfigError, match=r"trainer.max_time=.* must be null, 'DD:HH:MM:SS'"):
        to_train_config(compose([f"trainer.max_time={value}"]))


def test_compose_leaves_an_existing_hydra_initialization_alone(tmp_path: Path) -> None:
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    with initialize_config_dir(str(tmp_path), version_base="1.3"):
        before = GlobalHydra.instance().hydra
        assert compose(["model=s4d"]).model.mixer == "s4d"
        assert GlobalHydra.instance().hydra is before
    assert not GlobalHydra.instance().is_initialized()
