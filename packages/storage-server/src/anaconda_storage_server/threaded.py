"""`ThreadedServer`: the real server on a thread of this process, for fast start-up in tests.

```python
with ThreadedServer(tmp_path) as server:
    api_key = server.add_user("alice")
    httpx.get(f"{server.url}/api/account", headers={"Authorization": f"Bearer {api_key}"})
```

The same application as `anaconda-storage-server serve` (`create_app` with the same
`ServerOptions`, the same connection protocol and uvicorn settings), served by uvicorn on a thread
with its own event loop, as moto's `ThreadedMotoServer` serves moto. What it saves is the
start of a Python process that imports Starlette and uvicorn: `bench/server_startup.py`
measures both. It has the interface of `testing.LocalServer` (`url`, `port`, `start`,
`stop`, `add_user`, `add_org`, a context manager), so either can stand for the other.

What differs from the subprocess: the server shares this process's GIL, its logging (the
records go to the `uvicorn.error` and `anaconda_storage_server` loggers, not to files) and
its open-file limit; it cannot be killed as a crash would (`LocalServer.kill` is for that).
Users and organizations are written straight into the database, as `users add` writes
them, without starting a process.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from anaconda_storage_server.options import ServerOptions, ServerOptionsKeywords, server_options
from anaconda_storage_server.testing import START_TIMEOUT, STOP_TIMEOUT, ServerError

if TYPE_CHECKING:
    import uvicorn
    from typing_extensions import Unpack

    from anaconda_storage_server.database import Database

THREAD_NAME = "anaconda-storage-server"


class ThreadedServer:
    """A local Storage API server on a thread of this process, over a data directory.

    Args:
        data_dir: The data directory (created if absent; reused across restarts).
        options: Test aids, expiries, retention and connection limits (`ServerOptions`).
        host: The address to listen on.
        port: The port; 0 picks a free one at the first start, reused by later starts.
        log_level: uvicorn's logging threshold.
        **option_fields: Fields of `ServerOptions` that replace those of `options`:
            `ThreadedServer(data, latency_ms=20, retention_days=0)`.

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
        log_level: str = "warning",
        **option_fields: Unpack[ServerOptionsKeywords],
    ) -> None:
        self.data_dir = Path(data_dir)
        self.options = server_options(options, option_fields)
        self.host = host
        self.port = port
        self.log_level = log_level
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._accounts: Database | None = None
        self._closers: list[Database] = []

    def start(self) -> None:
        """Start serving on a new thread, and return once the server is listening.

        Raises:
            ServerError: It failed to start, or did not within 20 seconds.
        """
        if self._thread is not None:
            raise ServerError("the server is running already")
        # Imported here: the pytest plugin imports this module in every session, and a
        # session that never starts a server must not pay for uvicorn and Starlette.
        import uvicorn

        from anaconda_storage_server.app import create_app
        from anaconda_storage_server.cli import _listening_socket, uvicorn_config
        from anaconda_storage_server.faults import quiet_cut_logs

        if self.options.cut_rate > 0:
            quiet_cut_logs()
        app = create_app(self.data_dir, self.options)
        self._closers.append(_database_of(app))
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = _listening_socket(family, self.host, self.port)
        except OSError as exc:
            self._close_databases()
            raise ServerError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        self.port = sock.getsockname()[1]
        host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        config = uvicorn_config(app, self.options.connections, self.log_level)
        listening = threading.Event()

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=sockets)
                listening.set()

        server = Server(config)

        def serve() -> None:
            try:
                # uvicorn installs no signal handlers off the main thread; `run` makes the
                # thread's own event loop and closes it when the server has shut down.
                server.run(sockets=[sock])
            except BaseException as exc:  # reported by `start`, or by `stop`
                self._failure = exc
            finally:
                sock.close()
                listening.set()

        self._server = server
        self._failure = None
        self._thread = threading.Thread(target=serve, name=THREAD_NAME, daemon=True)
        self._thread.start()
        if not listening.wait(START_TIMEOUT) or not server.started:
            failure = self._failure
            self.stop()
            message = f"the server did not start: {failure!r}" if failure else "no start"
            raise ServerError(message) from failure
        self.url = f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop the server gracefully and wait for its thread; closes its databases.

        Raises:
            ServerError: The thread did not end within 10 seconds.
        """
        server, thread = self._server, self._thread
        self._server = self._thread = None
        try:
            if server is not None and thread is not None:
                server.should_exit = True
                thread.join(STOP_TIMEOUT)
                if thread.is_alive():
                    server.force_exit = True
                    thread.join(STOP_TIMEOUT)
                    if thread.is_alive():
                        raise ServerError("the server's thread did not end")
        finally:
            self._close_databases()

    def _close_databases(self) -> None:
        closers, self._closers = self._closers, []
        if self._accounts is not None:
            closers.append(self._accounts)
            self._accounts = None
        for database in closers:
            database.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _database(self) -> Database:
        if self._accounts is None:
            from anaconda_storage_server.data_dir import open_data_dir
            from anaconda_storage_server.database import Database

            open_data_dir(self.data_dir)
            self._accounts = Database(self.data_dir / "storage.db")
        return self._accounts

    def add_user(self, name: str) -> str:
        """Create a user, as the `users add` command does; returns its API key.

        Raises:
            ServerError: The name is invalid or taken.
        """
        from anaconda_storage_server.accounts import AccountError, create_user

        try:
            return create_user(self._database(), name)[1]
        except AccountError as exc:
            raise ServerError(f"users add {name} failed: {exc}") from exc

    def add_org(self, name: str, members: Sequence[str]) -> None:
        """Create an organization, as the `orgs add` command does.

        Raises:
            ServerError: The name is invalid or taken, or a member is not a user.
        """
        from anaconda_storage_server.accounts import AccountError, create_org

        try:
            create_org(self._database(), name, members)
        except AccountError as exc:
            raise ServerError(f"orgs add {name} failed: {exc}") from exc

    def __enter__(self) -> ThreadedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _database_of(app: object) -> Database:
    """The database the application opened, found through its middleware (`.app` links)."""
    from starlette.applications import Starlette

    layer = app
    while not isinstance(layer, Starlette):
        layer = getattr(layer, "app", None)
        if layer is None:
            raise ServerError("the application holds no Starlette app")
    database: Database = layer.state.context.database
    return database


__all__ = ["THREAD_NAME", "ThreadedServer"]
