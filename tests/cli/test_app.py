"""The plugin as a whole: loaded by `anaconda`, every command with an example, light to
import, errors as one line (a traceback only when asked)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

COMMANDS = [
    "cat",
    "chattr",
    "checkpoint",
    "chmod",
    "cp",
    "download",
    "ls",
    "mkdir",
    "mv",
    "rm",
    "rmdir",
    "stat",
    "touch",
    "upload",
]


def test_the_seeds_commands_are_all_there(cli: Any) -> None:
    result = cli("--help")
    assert result.code == 0, result
    for name in COMMANDS:
        assert f" {name} " in result.out, name


@pytest.mark.parametrize("name", COMMANDS)
def test_help_shows_an_example(cli: Any, name: str) -> None:
    result = cli(name, "--help")
    assert result.code == 0, result
    assert "Examples" in result.out
    assert f"$ anaconda storage {name}" in result.out or name == "checkpoint"
    assert "anaconda storage" in result.out


def test_no_arguments_shows_help(cli: Any) -> None:
    result = cli()
    assert "Usage" in result.out + result.err


def test_plugin_is_loaded_by_the_anaconda_command(cli: Any) -> None:
    result = cli.run("--help")
    assert result.code == 0, result
    assert "upload" in result.out


def test_importing_the_plugin_stays_light() -> None:
    # `anaconda` imports every plugin on every run: the client and httpx wait for a command.
    code = (
        "import sys, anaconda_storage_cli.app; "
        "print(sorted(m for m in ('httpx', 'anaconda_storage_core.client', 'fsspec') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_typo_gets_a_suggestion(cli: Any) -> None:
    result = cli("lss")
    assert result.code == 2
    assert "Did you mean" in result.out + result.err


def test_errors_are_one_line_without_traceback(cli: Any) -> None:
    result = cli("ls", "nobody-here/nothing")
    assert result.code == 3, result
    assert result.err.startswith("error: ")
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_debug_variable_shows_the_traceback(cli: Any) -> None:
    result = cli("ls", "nobody-here/nothing", env={"ANACONDA_STORAGE_DEBUG": "1"})
    assert result.code == 3, result
    assert "Traceback (most recent call last)" in result.err
    assert "error: " in result.err


def test_invalid_uri_says_where(cli: Any) -> None:
    result = cli("ls", "alice/Sales")
    assert result.code == 2, result
    assert "project names are lower case" in result.err
    assert "position 6" in result.err


def test_usage_error_of_the_framework(cli: Any) -> None:
    result = cli("ls", "--no-such-option")
    assert result.code == 2
    assert "No such option" in result.out + result.err
