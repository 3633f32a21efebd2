"""The servers, users and projects the pytest plugin hands out (see `pytest_plugin`).

`ServerSettings` says how a server runs (a thread or a subprocess, and its test aids);
`start_server` starts one and times it; `StorageServer` adds users and organizations;
`open_sandbox` gives a test a fresh user and project, with the environment that reaches
them, and takes it all back afterwards. Only the standard library and pytest are imported
here at import time: the plugin loads this module in every session.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from anaconda_storage_server.options import ServerOptions

if TYPE_CHECKING:
    from anaconda_storage_fsspec import AnacondaFileSystem

# The seed's variables (anaconda_storage_core.config reads them); named here so that this
# module imports nothing heavy in sessions that never use it.
ENV_DOMAIN = "ANACONDA_CLOUD_API_DOMAIN"
ENV_API_KEY = "ANACONDA_CLOUD_API_KEY"
# anaconda-cli-base sends telemetry from the `anaconda` command by default: not offline.
ENV_TELEMETRY = "ANACONDA_TELEMETRY_ENABLED"

KINDS = ("thread", "subprocess")
# The options that are settings (`anaconda_storage_<name>`), with their type: every field of
# `ServerOptions` that is one number (not the connection limits).
INI_OPTIONS = {
    field.name: str(field.type)
    for field in dataclasses.fields(ServerOptions)
    if str(field.type) in ("float", "int", "float | None", "int | None")
}
_names = itertools.count(1)
# How often the fixture sends its own calls to a server injecting faults.
_SETUP_ATTEMPTS = 50


class _Server(Protocol):
    """What `LocalServer` and `ThreadedServer` have in common."""

    url: str
    data_dir: Path

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def add_user(self, name: str) -> str: ...

    def add_org(self, name: str, members: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class ServerSettings:
    """How the plugin's servers run: as what, and with which options (test aids all off).

    Args:
        kind: `thread` (in this process, the fastest to start) or `subprocess`.
        options: The server's test aids, expiries and trash retention.
    """

    kind: str = "thread"
    options: ServerOptions = dataclasses.field(default_factory=ServerOptions)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"the server runs as a thread or a subprocess, not {self.kind!r}")

    @classmethod
    def from_config(cls, config: pytest.Config) -> ServerSettings:
        """The settings of the ini file (or `-o`): `anaconda_storage_*`.

        Raises:
            pytest.UsageError: A setting is not a valid value.
        """
        kind = str(config.getini("anaconda_storage_server")).strip()
        values: dict[str, Any] = {}
        for name, type_name in INI_OPTIONS.items():
            text = str(config.getini(f"anaconda_storage_{name}")).strip()
            if type_name.endswith("| None") and text.lower() in ("", "none"):
                values[name] = None
                continue
            try:
                values[name] = int(text) if type_name.startswith("int") else float(text)
            except ValueError:
                raise pytest.UsageError(
                    f"anaconda_storage_{name} = {text!r} is not a number"
                ) from None
        try:
            return cls(kind=kind, options=ServerOptions(**values))
        except ValueError as exc:
            raise pytest.UsageError(f"anaconda_storage settings: {exc}") from None

    def with_options(self, **fields: Any) -> ServerSettings:
        """These settings with some options replaced (a marker's keyword arguments).

        Raises:
            TypeError: A name is not an option.
            ValueError: An option is out of its range.
        """
        return dataclasses.replace(self, options=dataclasses.replace(self.options, **fields))


@dataclass(frozen=True)
class StorageUser:
    """A user of a local server: what a client needs to act as it."""

    name: str
    api_key: str = dataclasses.field(repr=False)
    url: str

    @property
    def storage_options(self) -> dict[str, str]:
        """fsspec's storage options for this user: `fsspec.open(uri, **storage_options)`."""
        return {"api_key": self.api_key, "domain": self.url}

    @property
    def env(self) -> dict[str, str]:
        """The environment variables that make any client act as this user on this server."""
        return {ENV_DOMAIN: self.url, ENV_API_KEY: self.api_key, ENV_TELEMETRY: "false"}


class StorageServer:
    """The local server a fixture started: its URL, and users and organizations to add.

    Attributes:
        url: `http://127.0.0.1:<port>`: the `domain` of a client.
        data_dir: The server's data directory.
        settings: How it runs, and its test aids.
        startup_seconds: How long it took to start (the plugin reports it at the end).
    """

    def __init__(self, server: _Server, settings: ServerSettings, startup_seconds: float):
        self._server = server
        self.url = server.url
        self.data_dir = server.data_dir
        self.settings = settings
        self.startup_seconds = startup_seconds

    def __repr__(self) -> str:
        return f"StorageServer({self.url!r}, kind={self.settings.kind!r})"

    def add_user(self, name: str | None = None) -> StorageUser:
        """Create a user with a new API key; without a name, a new unique one (`user-N`).

        Raises:
            anaconda_storage_server.testing.ServerError: The name is invalid or taken.
        """
        name = name or f"user-{next(_names)}"
        return StorageUser(name=name, api_key=self._server.add_user(name), url=self.url)

    def add_org(self, name: str, members: Sequence[str | StorageUser]) -> str:
        """Create an organization of these users (names or `StorageUser`s); returns its name.

        Raises:
            anaconda_storage_server.testing.ServerError: The name is invalid or taken, or a
                member is not a user.
        """
        names = [m.name if isinstance(m, StorageUser) else m for m in members]
        self._server.add_org(name, names)
        return name

    def stop(self) -> None:
        """Stop the server (the fixtures do it at the end of their scope)."""
        self._server.stop()


def start_server(settings: ServerSettings, data_dir: Path) -> StorageServer:
    """Start a local server as `settings` say, over `data_dir`, timing its start-up.

    Raises:
        anaconda_storage_server.testing.ServerError: It did not start.
    """
    server: _Server
    if settings.kind == "thread":
        from anaconda_storage_server.threaded import ThreadedServer

        server = ThreadedServer(data_dir, settings.options)
    else:
        from anaconda_storage_server.testing import LocalServer

        server = LocalServer(data_dir, settings.options)
    begin = time.perf_counter()
    server.start()
    return StorageServer(server, settings, time.perf_counter() - begin)


class StorageSandbox:
    """What a test gets from `anaconda_storage`: a fresh user, its project, the environment.

    Attributes:
        server: The server (`url`, `add_user`, `add_org`).
        user: The test's user (`name`, `api_key`, `storage_options`, `env`).
        project: `owner/project`, created for the test and deleted after it.
    """

    def __init__(self, server: StorageServer, user: StorageUser, project: str) -> None:
        self.server = server
        self.user = user
        self.project = project
        self._fs: AnacondaFileSystem | None = None

    def __repr__(self) -> str:
        return f"StorageSandbox(project={self.project!r}, url={self.url!r})"

    @property
    def url(self) -> str:
        """The server's URL: what `ANACONDA_CLOUD_API_DOMAIN` holds during the test."""
        return self.server.url

    @property
    def api_key(self) -> str:
        """The user's API key: what `ANACONDA_CLOUD_API_KEY` holds during the test."""
        return self.user.api_key

    @property
    def storage_options(self) -> dict[str, str]:
        """The user's fsspec storage options (not needed while the environment is set)."""
        return self.user.storage_options

    def uri(self, path: str = "") -> str:
        """`anaconda://<owner>/<project>/<path>`: a place in the test's project."""
        path = path.lstrip("/")
        return f"anaconda://{self.project}/{path}" if path else f"anaconda://{self.project}"

    @property
    def fs(self) -> AnacondaFileSystem:
        """An `AnacondaFileSystem` of the test's user, its own instance, closed afterwards.

        Raises:
            ModuleNotFoundError: `anaconda-storage-fsspec` is not installed.
        """
        if self._fs is None:
            try:
                from anaconda_storage_fsspec import AnacondaFileSystem
            except ModuleNotFoundError as exc:
                raise ModuleNotFoundError(
                    "anaconda_storage.fs needs the fsspec driver: "
                    "pip install anaconda-storage-fsspec",
                    name=exc.name,
                ) from exc
            self._fs = AnacondaFileSystem(
                api_key=self.user.api_key, domain=self.url, skip_instance_cache=True
            )
        return self._fs

    def _close(self) -> None:
        if self._fs is not None:
            self._fs.close()
            self._fs = None


def _clear_fsspec_instances() -> None:
    """Drop the `anaconda` filesystems fsspec cached, which hold the previous settings."""
    try:
        from anaconda_storage_fsspec import AnacondaFileSystem
    except ModuleNotFoundError:  # no driver: nothing can be cached
        return
    AnacondaFileSystem.clear_instance_cache()


def project_name(test_name: str) -> str:
    """A project name (`[a-z0-9-_]{1,120}`) from a test's name: `test_x[a-1]` -> `test_x-a-1`."""
    name = re.sub(r"[^a-z0-9_-]+", "-", test_name.lower()).strip("-")
    return name[:120] or "project"


def open_sandbox(server: StorageServer, project: str) -> Iterator[StorageSandbox]:
    from anaconda_storage_core import StorageClient
    from anaconda_storage_core.errors import Conflict, NotFound

    user = server.add_user()
    uri = f"{user.name}/{project}"
    with StorageClient(api_key=user.api_key, domain=server.url) as client:
        _despite_faults(lambda: client.create_project(uri), done=Conflict)
    sandbox = StorageSandbox(server, user, uri)
    with pytest.MonkeyPatch.context() as environment:
        for name, value in user.env.items():
            environment.setenv(name, value)
        _clear_fsspec_instances()
        try:
            yield sandbox
        finally:
            sandbox._close()
            _clear_fsspec_instances()
    with StorageClient(api_key=user.api_key, domain=server.url) as client:
        # NotFound: the test deleted the project, or an earlier attempt did.
        _despite_faults(lambda: client.delete_project(uri, recursive=True), done=NotFound)


def _despite_faults(action: Callable[[], object], done: type[Exception]) -> None:
    """Run one of the fixture's own calls through the faults a test asked the server for.

    The client does not repeat every call a fault hit (a 503 on a POST, a 502 on a
    DELETE); the fixture does, until it succeeds or finds that an earlier attempt whose
    answer was lost took effect (`done`).
    """
    from anaconda_storage_core.errors import ServerError

    for _ in range(_SETUP_ATTEMPTS - 1):
        try:
            action()
        except done:
            return
        except ServerError:
            continue
        return
    action()
