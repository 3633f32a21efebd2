"""Fixtures of the fsspec driver's tests: filesystems on the local server, fresh projects.

Accounts come from the session's `storage_server` (tests/conftest.py). Making a user runs
the server's command line, so the suites that need many projects share one account per
module (`account`) and get a fresh project per test (`project`); tests about several users
use the function-scoped `user` and `other_user`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from anaconda_storage_fsspec import AnacondaFileSystem
from anaconda_storage_server.testing import LocalServer

_projects = itertools.count()
_accounts = itertools.count()


class Credentials:
    """A user of the local server, as the fsspec tests need it."""

    def __init__(self, name: str, api_key: str, url: str) -> None:
        self.name = name
        self.api_key = api_key
        self.url = url

    @property
    def options(self) -> dict[str, str]:
        """The storage options that reach this user's account on the local server."""
        return {"api_key": self.api_key, "domain": self.url}


@pytest.fixture(scope="module")
def account(storage_server: LocalServer) -> Credentials:
    """A user shared by the tests of one module."""
    name = f"fsspec{next(_accounts)}"
    return Credentials(name, storage_server.add_user(name), storage_server.url)


@pytest.fixture
def new_credentials(storage_server: LocalServer) -> Callable[[str], Credentials]:
    """A factory of further users: `new_credentials("reader")`."""

    def make(prefix: str) -> Credentials:
        name = f"{prefix}{next(_accounts)}"
        return Credentials(name, storage_server.add_user(name), storage_server.url)

    return make


def _filesystem(credentials: Credentials) -> AnacondaFileSystem:
    return AnacondaFileSystem(
        api_key=credentials.api_key, domain=credentials.url, skip_instance_cache=True
    )


@pytest.fixture
def fs(account: Credentials) -> Iterator[AnacondaFileSystem]:
    """A filesystem of the module's user, its own instance (no fsspec instance cache)."""
    filesystem = _filesystem(account)
    yield filesystem
    filesystem.close()


@pytest.fixture
def make_fs() -> Iterator[Callable[[Credentials], AnacondaFileSystem]]:
    """A factory of filesystems for other accounts, closed at teardown."""
    made: list[AnacondaFileSystem] = []

    def make(credentials: Credentials) -> AnacondaFileSystem:
        made.append(_filesystem(credentials))
        return made[-1]

    yield make
    for filesystem in made:
        filesystem.close()


@pytest.fixture
def project(fs: AnacondaFileSystem, account: Credentials) -> str:
    """A new, empty project of the module's user: `owner/project`."""
    name = f"{account.name}/project-{next(_projects)}"
    fs.mkdir(name)
    return name
