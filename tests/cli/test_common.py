"""What every command shares (longseq.cli.common): comma-separated lists, --device and the
optional-dependency check, each failing as one ``error: ...`` line with exit code 2."""

from __future__ import annotations

import pytest

from longseq.cli.common import EXIT_USAGE, int_list, missing, names, pick_device


@pytest.mark.parametrize(
    "value,message",
    [
        ("16,abc", "--lengths '16,abc': 'abc' is not an integer; give a comma-separated list"),
        ("16,0", "--lengths '16,0': 0 is not positive; give a comma-separated list"),
        (" , ", "--lengths ' , ': give a comma-separated list of positive integers"),
    ],
)
def test_int_list_fails_with_one_line(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        int_list("--lengths", value)
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_lists_and_devices() -> None:
    assert int_list("--lengths", "8, 16,") == [8, 16]
    assert names(" a,b ,,c") == ["a", "b", "c"]
    assert pick_device("cpu") == "cpu"
    assert missing("--png", "no_such_package_xyz", "bench") == (
        "--png needs no_such_package_xyz: pip install 'longseq[bench]'"
    )
    assert missing("--png", "click", "bench") is None


def test_bad_device_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        pick_device("tpu")
    assert capsys.readouterr().err == "error: --device 'tpu' must be cpu, cuda or auto\n"


@pytest.mark.parametrize(
    "command",
    [
        ["bench", "conv"],
        ["bench", "train"],
        ["eval", "run"],
        ["generate", "run", "--prompt", "1"],
        ["complete", "run"],
    ],
)
def test_every_device_option_takes_a_bad_value_as_one_line(command: list[str]) -> None:
    from click.testing import CliRunner

    from longseq.cli import main

    result = CliRunner().invoke(main, [*command, "--device", "tpu"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output == "error: --device 'tpu' must be cpu, cuda or auto\n"


def test_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    from longseq.cli.common import EXIT_INTERRUPTED, one_line_errors

    for raised, code, line in (
        (ValueError("bad\n value"), EXIT_USAGE, "error: bad value\n"),
        (KeyboardInterrupt(), EXIT_INTERRUPTED, "error: interrupted\n"),
    ):
        with pytest.raises(SystemExit) as exited, one_line_errors():
            raise raised
        assert exited.value.code == code and capsys.readouterr().err == line
    with pytest.raises(KeyError), one_line_errors(OSError):  # other errors are not its to report
        raise KeyError("x")
