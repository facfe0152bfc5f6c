"""Registry: decorator registration, lookups with "did you mean", lazy entry points, broken
plugins."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from longseq.plugins import MODALITIES, Registry, UnknownNameError
from longseq.tasks.registry import TASKS


def _registry_with(*names: str) -> Registry[int]:
    registry: Registry[int] = Registry("widget")
    for i, name in enumerate(names):
        registry.register(name)(i)
    return registry


def test_register_returns_object_and_records_origin() -> None:
    registry: Registry[object] = Registry("widget")

    @registry.register("shiny")
    def build() -> int:
        return 3

    assert registry.get("shiny") is build
    entry = registry.entry("shiny")
    assert entry.name == "shiny"
    assert entry.origin == __name__
    assert registry.names() == ["shiny"]
    assert "shiny" in registry and "dull" not in registry
    assert list(registry) == ["shiny"] and len(registry) == 1


def test_duplicate_name_raises_value_error_naming_both_origins() -> None:
    registry = _registry_with("a")
    with pytest.raises(ValueError, match=r"widget 'a' is already registered"):
        registry.register("a")(7)
    assert registry.get("a") == 0


def test_empty_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        _registry_with("")


def test_unknown_name_suggests_close_match_and_lists_valid_names() -> None:
    registry = _registry_with("associative_recall", "induction_head", "mqar")
    with pytest.raises(UnknownNameError) as info:
        registry.get("induction_haed")
    message = str(info.value)
    assert message == (
        "unknown widget 'induction_haed'; did you mean 'induction_head'? "
        "valid: associative_recall, induction_head, mqar"
    )
    assert isinstance(info.value, KeyError)


def test_unknown_name_without_close_match_still_lists_valid_names() -> None:
    registry = _registry_with("alpha", "beta")
    with pytest.raises(KeyError, match=r"^unknown widget 'zzz'; valid: alpha, beta$"):
        registry.get("zzz")


def test_builtin_synthetic_task_is_registered_with_its_origin() -> None:
    entry = TASKS.entry("synthetic")
    assert entry.origin == "longseq.tasks.builtin"
    assert entry.distribution == "longseq"
    assert "synthetic" in TASKS.names()


def test_shared_registries_read_their_entry_point_groups() -> None:
    assert (TASKS.kind, TASKS.entry_point_group) == ("task", "longseq.tasks")
    assert (MODALITIES.kind, MODALITIES.entry_point_group) == ("modality", "longseq.modalities")
    with pytest.raises(UnknownNameError, match=r"^unknown modality 'no_such_modality'"):
        MODALITIES.get("no_such_modality")


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """An installed-looking distribution 'fake-longseq-plugins' with a good and a broken plugin.

    Returns (entry-point group, unique module prefix).
    """
    group = f"longseq_test_{uuid.uuid4().hex[:8]}.tasks"
    prefix = f"fakeplug_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{prefix}_good.py").write_text("def build(cfg):\n    return ('data', 5)\n")
    (tmp_path / f"{prefix}_bad.py").write_text("import not_a_real_module_xyz\n")
    dist_info = tmp_path / "fake_longseq_plugins-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-longseq-plugins\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [{group}]
            good = {prefix}_good:build
            broken = {prefix}_bad:build
            builtin_clash = {prefix}_good:build
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield group, prefix
    for suffix in ("_good", "_bad"):
        sys.modules.pop(prefix + suffix, None)


def test_entry_points_are_discovered_lazily_and_imported_on_demand(
    plugin_dist: tuple[str, str],
) -> None:
    group, prefix = plugin_dist
    registry: Registry[object] = Registry("task", entry_point_group=group)
    registry.register("builtin_clash")(object())

    assert registry.names() == ["broken", "builtin_clash", "good"]
    # Listing names reads metadata only: no plugin module has been imported yet.
    assert f"{prefix}_good" not in sys.modules

    build = registry.get("good")
    assert callable(build) and build(None) == ("data", 5)
    entry = registry.entry("good")
    assert entry.distribution == "fake-longseq-plugins"
    assert entry.origin == f"{prefix}_good:build"


def test_broken_plugin_is_reported_and_the_others_keep_working(
    plugin_dist: tuple[str, str],
) -> None:
    group, _ = plugin_dist
    registry: Registry[object] = Registry("task", entry_point_group=group)
    builtin = object()
    registry.register("builtin_clash")(builtin)

    with pytest.raises(UnknownNameError) as info:
        registry.get("broken")
    message = str(info.value)
    assert "'broken'" in message and "fake-longseq-plugins" in message
    assert "ModuleNotFoundError" in message and "not_a_real_module_xyz" in message

    assert callable(registry.get("good"))
    # The entry point that reuses a built-in name is refused; the built-in stays.
    assert registry.get("builtin_clash") is builtin
    failed = {f.name: f for f in registry.failures}
    assert set(failed) == {"broken", "builtin_clash"}
    assert failed["broken"].distribution == "fake-longseq-plugins"

    with pytest.raises(
        UnknownNameError, match=r"failed to load: .*broken \(fake-longseq-plugins\)"
    ):
        registry.get("nothing_like_it")


def test_load_all_imports_every_plugin_and_returns_failures(plugin_dist: tuple[str, str]) -> None:
    group, _ = plugin_dist
    registry: Registry[object] = Registry("task", entry_point_group=group)
    failures = registry.load_all()
    assert [f.name for f in failures] == ["broken"]
    assert registry.names() == ["builtin_clash", "good"]


def _dist(root: Path, name: str, group: str, entry_points: str) -> None:
    dist_info = root / f"{name.replace('-', '_')}-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[{group}]\n{entry_points}\n")


def test_a_clash_names_the_entry_that_keeps_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = f"longseq_test_{uuid.uuid4().hex[:8]}.modalities"
    _dist(tmp_path / "a", "dist-a", group, "dup = a_mod:A\nlazy_one = a_mod:L\nmine = a_mod:M")
    _dist(tmp_path / "b", "dist-b", group, "dup = b_mod:B")
    monkeypatch.syspath_prepend(str(tmp_path / "a"))
    monkeypatch.syspath_prepend(str(tmp_path / "b"))  # searched first: dist-b's dup wins
    registry: Registry[object] = Registry("modality", entry_point_group=group)
    registry.register_lazy("lazy_one", "some_builtin_module")
    registry.register("mine")(_registry_with)

    assert registry.names() == ["dup", "lazy_one", "mine"]
    clashes = {f.name: f for f in registry.failures if f.clash}
    assert {name: f.error for name, f in clashes.items()} == {
        "dup": "the name 'dup' is already registered by the entry point b_mod:B of "
        "distribution 'dist-b'",
        "lazy_one": "the name 'lazy_one' is already registered by the built-in "
        "some_builtin_module (longseq)",
        "mine": f"the name 'mine' is already registered by {__name__} (unknown distribution)",
    }
    assert clashes["lazy_one"].describe("modality") == (
        "modality plugin 'lazy_one' from distribution 'dist-a' (a_mod:L) is ignored: the name "
        "'lazy_one' is already registered by the built-in some_builtin_module (longseq)"
    )
    # A clash is no load failure of the name: looking up another name does not list it.
    with pytest.raises(
        UnknownNameError,
        match=r"^unknown modality 'dupe'; did you mean 'dup'\? "
        r"valid: dup, lazy_one, mine$",
    ):
        registry.get("dupe")


def test_a_missing_modality_names_the_package_the_run_recorded() -> None:
    from longseq.plugins.registry import missing_modality, modality_source

    source = modality_source("text")
    assert source["distribution"] == "longseq"
    assert source["origin"] == "longseq.plugins.text.modality"
    assert missing_modality("text", source) is None  # installed
    recorded = {"name": "dna2", "distribution": "longseq-dna2", "version": "1.2"}
    assert missing_modality("dna2", recorded) == (
        "modality 'dna2' is not installed; this run was trained with it from longseq-dna2 1.2: "
        "install it with pip install 'longseq-dna2==1.2'"
    )
    assert missing_modality("dna2", None) == (
        "modality 'dna2' is not installed; install the package that provides it (the entry point "
        "'dna2' of group 'longseq.modalities'; this run does not record it)"
    )
