"""Fixtures shared by every test folder: the real local server on a free loopback port.

One server runs per test session (a subprocess of `anaconda-storage-server serve` on a temp
data directory); each test that needs an account gets a fresh user, so tests never see each
other's projects.
"""

from __future__ import annotations

import itertools
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
