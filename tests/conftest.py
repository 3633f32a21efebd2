"""Fixtures shared by every test folder: the real local server on a free loopback port.

One server runs per test session (a subprocess of `anaconda-storage-server serve` on a temp
data directory); each test that needs an account gets a fresh user, so tests never see each
other's projects.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from anaconda_storage_server.testing import LocalServer

_names = itertools.count()


@dataclass(frozen=True)
class Account:
    """A user of the local server: its name, its API key and the server's URL."""

    name: str
    api_key: str
    url: str


@pytest.fixture(scope="session")
def storage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The local server, started once for the session."""
    with LocalServer(tmp_path_factory.mktemp("storage-data")) as server:
        yield server


def _new_account(server: LocalServer, prefix: str) -> Account:
    name = f"{prefix}{next(_names)}"
    return Account(name=name, api_key=server.add_user(name), url=server.url)


@pytest.fixture
def user(storage_server: LocalServer) -> Account:
    """A new user with no projects yet."""
    return _new_account(storage_server, "alice")


@pytest.fixture
def other_user(storage_server: LocalServer) -> Account:
    """A second new user, for sharing and permission tests."""
    return _new_account(storage_server, "bob")


@pytest.fixture
def new_account(storage_server: LocalServer) -> Callable[[str], Account]:
    """A factory of further new users: `new_account("carol")`."""

    def make(prefix: str = "user") -> Account:
        return _new_account(storage_server, prefix)

    return make


class RawServer:
    """A bare loopback socket server, for what the real server never does: answer with bytes
    as they are, close a connection unanswered, or be a host a key must never reach.

    Each connection's first read (up to 64 KiB; `b""` if it failed) is kept in `received`,
    then `answer` is sent, if any, and the connection is closed.
    """

    def __init__(self, answer: bytes | None = None) -> None:
        self.answer = answer
        self.received: list[bytes] = []
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            with connection:
                connection.settimeout(2)
                try:
                    self.received.append(connection.recv(65536))
                    if self.answer is not None:
                        connection.sendall(self.answer)
                except OSError:
                    self.received.append(b"")

    @property
    def requests(self) -> int:
        """How many connections sent something."""
        return sum(1 for received in self.received if received)

    def close(self) -> None:
        # Closing a socket does not wake a thread blocked in its accept() on Linux; shutting
        # it down does (without it, every close waited out the join's 5 s).
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
        self.thread.join(5)


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """Start `RawServer(answer)`s; each is closed when the test ends."""
    started: list[RawServer] = []

    def start(answer: bytes | None = None) -> RawServer:
        started.append(RawServer(answer))
        return started[-1]

    yield start
    for server in started:
        server.close()
