"""Fixtures of the CLI suite: `anaconda storage ...` run in-process and as real subprocesses.

Test modules cannot import this file (pytest runs with `--import-mode=importlib` and tests/
is no package), so the helpers live on the `cli` fixture:

- `cli("ls", "alice/p")` runs `anaconda storage ls alice/p` in-process, through
  `anaconda_cli_base.cli.app` (typer's CliRunner), as the account given (default: `user`);
- `cli.run("ls", "alice/p")` runs the real `anaconda` console script in a subprocess;
- both return a `Result` with `code`, `out`, `err` (and `out_bytes`), and take `account=`,
  `input=` and `env=`; `result.ok()` asserts it a success and returns it.

Every run gets a fresh HOME, so `~/.anaconda` (its config file, its stored tokens) never
leaks into a test, and the server's URL and the account's key in the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ANACONDA = Path(sys.executable).with_name("anaconda")
# Variables a developer's shell may hold that would change what a test sees.
_DROPPED = (
    "ANACONDA_STORAGE_DEBUG",
    "ANACONDA_CLOUD_API_KEY",
    "ANACONDA_CLOUD_API_DOMAIN",
    "ANACONDA_CLOUD_DOMAIN",
    "ANACONDA_DEFAULT_SITE",
    "ANACONDA_CLI_DISABLE_PLUGINS",
)


@dataclass(frozen=True)
class Result:
    """What a run of `anaconda storage ...` did."""

    code: int
    out_bytes: bytes
    err: str

    @property
    def out(self) -> str:
        return self.out_bytes.decode("utf-8", errors="replace")

    def __repr__(self) -> str:  # what pytest shows when an assertion fails
        return f"Result(code={self.code}, out={self.out[:2000]!r}, err={self.err[:2000]!r})"

    def ok(self) -> Result:
        """This result, asserted a success: exit code 0, and no traceback said."""
        assert self.code == 0, self
        assert "Traceback" not in self.err, self
        return self


class Cli:
    """Runs `anaconda storage ...` as an account, in-process or in a subprocess."""

    def __init__(self, account: Any, home: Path) -> None:
        self.account = account
        self.home = home

    def env(self, account: Any = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
        account = account or self.account
        values = {
            "HOME": str(self.home),
            "USERPROFILE": str(self.home),
            "ANACONDA_CLOUD_API_DOMAIN": account.url,
            "ANACONDA_CLOUD_API_KEY": account.api_key,
            "OTEL_SDK_DISABLED": "true",
            "ANACONDA_TELEMETRY_ENABLED": "false",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        values.update(env or {})
        return values

    def __call__(
        self,
        *args: str,
        account: Any = None,
        input: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        """Run in-process through anaconda-cli-base's app, as `anaconda` would."""
        from anaconda_cli_base.cli import app
        from typer.testing import CliRunner

        try:
            runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
        except TypeError:
            runner = CliRunner()
        values = self.env(account, env)
        saved = {name: os.environ.pop(name) for name in _DROPPED if name in os.environ}
        try:
            result = runner.invoke(app, ["storage", *args], input=input, env=values)
        finally:
            os.environ.update(saved)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.stdout_bytes, result.stderr)

    def run(
        self,
        *args: str,
        account: Any = None,
        input: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Result:
        """Run the real `anaconda` console script in a subprocess."""
        values = {k: v for k, v in os.environ.items() if k not in _DROPPED}
        values.update(self.env(account, env))
        data = input.encode() if isinstance(input, str) else input
        done = subprocess.run(
            [str(ANACONDA), "storage", *args],
            input=data,
            capture_output=True,
            env=values,
            cwd=cwd,
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr.decode("utf-8", errors="replace"))


@pytest.fixture
def cli(user: Any, tmp_path: Path) -> Cli:
    """`anaconda storage ...` as `user` (a new account with no projects)."""
    home = tmp_path / "home"
    home.mkdir()
    return Cli(user, home)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A local folder to upload: `data/a.csv`, `data/sub/b.txt`, `data/empty/`."""
    root = tmp_path / "local" / "data"
    (root / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a.csv").write_text("a,b\n1,2\n")
    (root / "sub" / "b.txt").write_text("bee\n")
    return root
