"""A pytest plugin: test your own pipelines against a real local server, offline.

Installed with `anaconda-storage-server` (entry point `pytest11`), so nothing to configure:

```python
import pandas as pd

def test_pipeline(anaconda_storage):
    src = anaconda_storage.uri("raw/sales.csv")     # anaconda://<user>/<project>/raw/sales.csv
    anaconda_storage.fs.pipe_file(src, b"region,amount\\neu,3\\n")
    run_pipeline(src)                               # your code, unchanged
    assert pd.read_csv(anaconda_storage.uri("out/sales.csv")).shape == (1, 2)
```

Fixtures:

- `anaconda_storage_server` (session): one server on a free loopback port over a temporary
  data directory, started on first use: its `url`, `add_user()`, `add_org()`.
- `anaconda_storage` (per test): a fresh user of that server, `ANACONDA_CLOUD_API_DOMAIN`
  and `ANACONDA_CLOUD_API_KEY` set to reach it (and the `anaconda` CLI's telemetry off:
  the run stays offline), fsspec's cached `anaconda` filesystems dropped, and a new project
  (`anaconda_storage.project`), deleted afterwards with the environment restored. A ready
  filesystem is `anaconda_storage.fs` (needs `anaconda-storage-fsspec`).

Settings (`[tool.pytest.ini_options]`, or `-o name=value` on the command line):

| setting | effect |
| --- | --- |
| `anaconda_storage_server` | `thread` (default: fastest start) or `subprocess` |
| `anaconda_storage_latency_ms` | every request waits this long first |
| `anaconda_storage_fault_rate` | this fraction of requests is answered `fault_status` |
| `anaconda_storage_fault_status` | `503` (default) or `429` |
| `anaconda_storage_cut_rate` | this fraction of downloads is cut off half-way |
| `anaconda_storage_lose_rate` | this fraction of changes is made, then answered `502` |
| `anaconda_storage_bandwidth` | bytes per second of one link all transfers share |
| `anaconda_storage_fault_disk_full_after` | writing content past this many bytes fails (`507`) |
| `anaconda_storage_upload_expiry` | seconds after which idle multipart sessions go |
| `anaconda_storage_retention_days` | days a deleted project stays in the trash (`0`: none) |

Each is a field of `anaconda_storage_server.options.ServerOptions`, which says more.

`@pytest.mark.anaconda_storage(fault_rate=0.3, ...)` gives one test's `anaconda_storage` a
server of its own with those options (the rest keep the session's), to test retries or a
short trash retention (`retention_days=0`).

The plugin starts nothing and changes nothing in a session whose tests do not ask for its
fixtures; this module imports only the standard library and pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from anaconda_storage_server.sandbox import (
    INI_OPTIONS,
    ServerSettings,
    StorageSandbox,
    StorageServer,
    open_sandbox,
    project_name,
    start_server,
)

MARKER = "anaconda_storage"
# `pytest --help`'s line for each setting (`anaconda_storage_<name>`).
_HELPS = {
    "latency_ms": "test aid: milliseconds added to every request",
    "bandwidth": "test aid: bytes per second of one link all transfers share (empty: none)",
    "fault_rate": "test aid: fraction of requests answered fault_status (Retry-After: 0)",
    "fault_status": "test aid: 503 or 429",
    "cut_rate": "test aid: fraction of downloads cut off half-way",
    "lose_rate": "test aid: fraction of changes made, then answered 502",
    "fault_disk_full_after": "test aid: writing content past this many bytes fails (507)",
    "upload_expiry": "seconds after which idle multipart upload sessions are removed",
    "retention_days": "days a deleted project stays in its owner's trash (0: purged at once)",
}
_session_server: pytest.StashKey[StorageServer] = pytest.StashKey()
_marked_servers: pytest.StashKey[list[StorageServer]] = pytest.StashKey()


# -- hooks --------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    defaults = ServerSettings()
    parser.addini(
        "anaconda_storage_server",
        "anaconda-storage-server: run the fixtures' server as a 'thread' or a 'subprocess'",
        default=defaults.kind,
    )
    for name in INI_OPTIONS:
        value = getattr(defaults.options, name)
        parser.addini(
            f"anaconda_storage_{name}",
            f"anaconda-storage-server: {_HELPS[name]}",
            default="" if value is None else str(value),
        )


def pytest_configure(config: pytest.Config) -> None:
    ServerSettings.from_config(config)  # a wrong setting fails the session at once
    defaults = ServerSettings().options
    fields = ", ".join(f"{name}={getattr(defaults, name)}" for name in INI_OPTIONS)
    config.addinivalue_line(
        "markers",
        f"{MARKER}({fields}): give this test's anaconda_storage a server of its own with "
        "these options (anaconda_storage_server.options.ServerOptions)",
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # Only a session that started a server says anything: which, and how long it took.
    session = config.stash.get(_session_server, None)
    if session is not None:
        terminalreporter.write_line(
            f"anaconda-storage-server: {session.settings.kind} at {session.url}, "
            f"started in {session.startup_seconds:.2f} s"
        )
    marked = config.stash.get(_marked_servers, [])
    if marked:
        slowest = max(server.startup_seconds for server in marked)
        terminalreporter.write_line(
            f"anaconda-storage-server: {len(marked)} more for marked tests "
            f"({marked[0].settings.kind}), started in {slowest:.2f} s at most"
        )


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def anaconda_storage_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StorageServer]:
    """A real local Storage API server for the session, on a free loopback port.

    Its `url`, `add_user(name=None)` (a `StorageUser` with its API key) and
    `add_org(name, members)`. Settings: `anaconda_storage_*` in the ini file.
    """
    settings = ServerSettings.from_config(request.config)
    server = start_server(settings, tmp_path_factory.mktemp("anaconda-storage"))
    request.config.stash[_session_server] = server
    yield server
    server.stop()


@pytest.fixture
def anaconda_storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StorageSandbox]:
    """A fresh user and project on the local server, and the environment that reaches them.

    For the test, `ANACONDA_CLOUD_API_DOMAIN` and `ANACONDA_CLOUD_API_KEY` name the server
    and the user (so `pd.read_csv("anaconda://...")`, Dask workers and the `anaconda` CLI
    reach it with no argument), and fsspec holds no cached `anaconda` filesystem. Afterwards
    the project is deleted and the environment is restored.
    """
    marker = request.node.get_closest_marker(MARKER)
    own: StorageServer | None = None
    if marker is not None and (marker.kwargs or marker.args):
        own = start_server(
            _marked_settings(request.config, marker),
            tmp_path_factory.mktemp("anaconda-storage-marked"),
        )
        request.config.stash.setdefault(_marked_servers, []).append(own)
        server = own
    else:
        server = request.getfixturevalue("anaconda_storage_server")
    try:
        yield from open_sandbox(server, project_name(request.node.name))
    finally:
        if own is not None:
            own.stop()


def _marked_settings(config: pytest.Config, marker: pytest.Mark) -> ServerSettings:
    if marker.args:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only")
    try:
        return ServerSettings.from_config(config).with_options(**marker.kwargs)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"@pytest.mark.{MARKER}: {exc}") from None
