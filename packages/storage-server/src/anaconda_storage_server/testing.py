"""`LocalServer`: the real server in a subprocess, for tests, the demo and benchmarks.

```python
with LocalServer(tmp_path) as server:
    api_key = server.add_user("alice")
    httpx.get(f"{server.url}/api/account", headers={"Authorization": f"Bearer {api_key}"})
```

The server runs as `python -m anaconda_storage_server serve` with `sys.executable`, so what is
tested is exactly what users run. Its stdout and stderr go to files in the data directory
(`server.stdout.log`, `server.stderr.log`); a server that dies at start-up is reported with
the tail of its stderr.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from anaconda_storage_server.options import ServerOptions, ServerOptionsKeywords, server_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
LISTENING = re.compile(r"listening on (http://\S+)")
# Loopback never goes through a proxy, whatever the environment says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(RuntimeError):
    """The local server did not start, or a command against it failed."""


class LocalServer:
    """A local Storage API server in a subprocess over a data directory.

    Args:
        data_dir: The data directory (created if absent; reused across restarts).
        options: Test aids, expiries, retention and connection limits (`ServerOptions`),
            given to `serve` as its arguments.
        host: The address to listen on.
        port: The port; 0 picks a free one at the first start, reused by later starts.
        extra_args: More arguments for `serve`.
        **option_fields: Fields of `ServerOptions` that replace those of `options`:
            `LocalServer(data, latency_ms=20, retention_days=0)`.

    Raises:
        TypeError: A keyword is not an option.
        ValueError: An option is out of its range.
    """

    def __init__(
        self,
        data_dir: Path,
        options: ServerOptions | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_args: Sequence[str] = (),
        **option_fields: Unpack[ServerOptionsKeywords],
    ) -> None:
        self.data_dir = Path(data_dir)
        self.options = server_options(options, option_fields)
        self.host = host
        self.port = port
        self.extra_args = list(extra_args)
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def stderr_path(self) -> Path:
        """Where the server's stderr goes (appended across restarts)."""
        return self.data_dir / "server.stderr.log"

    @property
    def stdout_path(self) -> Path:
        return self.data_dir / "server.stdout.log"

    def _command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "anaconda_storage_server",
            "serve",
            "--data",
            str(self.data_dir),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        return command + self.options.serve_arguments() + self.extra_args

    def start(self) -> None:
        """Start the server and wait until `GET /api/health` answers.

        Raises:
            ServerError: It exited or did not answer within 20 seconds (with its stderr).
        """
        if self._process is not None:
            raise ServerError("the server is running already")
        # Private, as the server makes it: an existing looser one is warned about.
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.stderr_path, "ab") as stderr, open(self.stdout_path, "wb") as stdout:
            stderr.write(f"--- {' '.join(self._command())}\n".encode())
            stderr.flush()
            self._process = subprocess.Popen(
                self._command(), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + START_TIMEOUT
        try:
            self.url = self._wait_for_url(deadline)
            self.port = int(self.url.rsplit(":", 1)[1])
            self._wait_for_health(deadline)
        except BaseException:
            self.kill()
            raise

    def _wait_for_url(self, deadline: float) -> str:
        while True:
            self._check_alive()
            match = LISTENING.search(self.stdout_path.read_text(errors="replace"))
            if match:
                return match[1]
            if time.monotonic() > deadline:
                raise ServerError(f"the server did not start in time\n{self._stderr_tail()}")
            time.sleep(0.02)

    def _wait_for_health(self, deadline: float) -> None:
        while True:
            self._check_alive()
            try:
                with _DIRECT.open(f"{self.url}/api/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ServerError(f"the server does not answer\n{self._stderr_tail()}")
            time.sleep(0.02)

    def _check_alive(self) -> None:
        assert self._process is not None
        status = self._process.poll()
        if status is not None:
            self._process = None
            raise ServerError(f"the server exited with status {status}\n{self._stderr_tail()}")

    def _stderr_tail(self, lines: int = 40) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return "(no stderr)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not exit in time."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would; `start` may follow."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()

    @property
    def pid(self) -> int | None:
        """The server process's id, None when it is not running."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _manage(self, *arguments: str) -> str:
        command = [sys.executable, "-m", "anaconda_storage_server", *arguments]
        command += ["--data", str(self.data_dir)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServerError(f"{' '.join(arguments)} failed: {result.stderr.strip()}")
        return result.stdout

    def add_user(self, name: str) -> str:
        """Create a user with the `users add` command; returns its API key."""
        return self._manage("users", "add", name).strip().splitlines()[-1]

    def add_org(self, name: str, members: Sequence[str]) -> None:
        """Create an organization with the `orgs add` command."""
        member_arguments = [argument for member in members for argument in ("--member", member)]
        self._manage("orgs", "add", name, *member_arguments)

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        # A forgotten server must not outlive its test run.
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            with contextlib.suppress(OSError):
                process.kill()
                process.wait(STOP_TIMEOUT)
