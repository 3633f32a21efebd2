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
    assert f"$ anaconda storage {name}" in result.out
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


def test_shell_completion_of_commands(cli: Any) -> None:
    result = cli.run(
        env={
            "_ANACONDA_COMPLETE": "complete_bash",
            "COMP_WORDS": "anaconda storage ch",
            "COMP_CWORD": "2",
        }
    )
    assert result.code == 0, result
    assert {"chattr", "checkpoint", "chmod"} <= set(result.out.replace("plain,", "").split())
    script = cli.run(env={"_ANACONDA_COMPLETE": "source_bash"})
    assert "complete -o default -F _anaconda_completion anaconda" in script.out


def test_shell_completion_of_remote_paths(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from anaconda_storage_cli.completion import REMOTE_COMPLETION, complete_remote_path

    owner = cli.account.name
    assert cli(*["mkdir", f"{owner}/sales/inbox"], "-p").code == 0
    assert cli("touch", f"{owner}/sales/index.html").code == 0
    for name, value in cli.env().items():
        monkeypatch.setenv(name, value)
    assert f"{owner}/" in complete_remote_path("")
    assert complete_remote_path(f"{owner}/sa") == [f"{owner}/sales/"]
    assert complete_remote_path(f"anaconda://{owner}/sales/in") == [
        f"anaconda://{owner}/sales/inbox/",
        f"anaconda://{owner}/sales/index.html",
    ]
    assert complete_remote_path("Bad Owner/") == []  # never an error
    if not REMOTE_COMPLETION:
        pytest.skip("typer < 0.15.1 cannot complete arguments without a deprecation warning")
    result = cli.run(
        env={
            "_ANACONDA_COMPLETE": "complete_bash",
            "COMP_WORDS": f"anaconda storage ls {owner}/sales/inb",
            "COMP_CWORD": "3",
        }
    )
    assert result.out.replace("plain,", "").split() == [f"{owner}/sales/inbox/"]


def test_entry_point_and_exports() -> None:
    from importlib.metadata import entry_points

    import typer

    import anaconda_storage_cli
    from anaconda_storage_cli.app import app

    (entry,) = [e for e in entry_points(group="anaconda_cli.subcommand") if e.name == "storage"]
    assert entry.value == "anaconda_storage_cli.app:app"
    assert entry.load() is app
    assert isinstance(app, typer.Typer)
    assert anaconda_storage_cli.__all__ == ["__version__"]
