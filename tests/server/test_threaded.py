"""`ThreadedServer`: the server on a thread behaves as the subprocess does.

The scenarios run against both `ThreadedServer` and `LocalServer`, so a difference between
the two shows up as a failure of one of them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_server.testing import LocalServer, ServerError
from anaconda_storage_server.threaded import THREAD_NAME, ThreadedServer

KINDS: dict[str, Callable[..., Any]] = {"thread": ThreadedServer, "subprocess": LocalServer}


@pytest.fixture(params=sorted(KINDS))
def make_server(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`make_server(data_dir, **test_aids)`: a not yet started server of either kind."""
    return KINDS[request.param]


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_users_organizations_and_files(make_server: Callable[..., Any], tmp_path: Path) -> None:
    with make_server(tmp_path / "data") as server:
        key = server.add_user("alice")
        server.add_user("bob")
        server.add_org("analytics", ["alice", "bob"])
        with httpx.Client(base_url=server.url, headers=_headers(key)) as client:
            account = client.get("/api/account")
            assert account.status_code == 200
            assert account.headers["api-version"] == "2023.11.28"
            assert [org["name"] for org in account.json()["organizations"]] == ["analytics"]
            project = "/api/storage/projects/analytics"
            assert client.post(project, json={"name": "p"}).status_code == 201
            put = client.put(f"{project}/p/files/a.txt", content=b"hello")
            assert put.status_code == 201, put.text
            assert client.get(f"{project}/p/files/a.txt").content == b"hello"
        with pytest.raises(ServerError, match="taken"):
            server.add_user("alice")
        with pytest.raises(ServerError, match="carol"):
            server.add_org("team", ["carol"])


def test_injected_faults_spare_health(make_server: Callable[..., Any], tmp_path: Path) -> None:
    with make_server(tmp_path / "data", fault_rate=1.0, fault_status=429) as server:
        key = server.add_user("alice")
        answer = httpx.get(f"{server.url}/api/account", headers=_headers(key))
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "0"
        assert answer.json()["error"]["code"] == "too_many_requests"
        assert httpx.get(f"{server.url}/api/health").status_code == 200


def test_a_restart_keeps_the_port_and_the_data(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    server = make_server(tmp_path / "data")
    server.start()
    try:
        key = server.add_user("alice")
        url = server.url
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/health")
    server.start()
    try:
        assert server.url == url
        assert httpx.get(f"{url}/api/account", headers=_headers(key)).status_code == 200
    finally:
        server.stop()


def test_a_taken_port_fails_the_start(make_server: Callable[..., Any], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = make_server(tmp_path / "data", port=taken.getsockname()[1])
        with pytest.raises(ServerError):
            server.start()
        assert not server.running


def test_the_thread_ends_and_the_database_closes_at_stop(tmp_path: Path) -> None:
    server = ThreadedServer(tmp_path / "data")
    with server:
        server.add_user("alice")
        assert [t for t in threading.enumerate() if t.name == THREAD_NAME]
        assert server.running
        with pytest.raises(ServerError, match="running already"):
            server.start()
    assert not server.running
    assert not [t for t in threading.enumerate() if t.name == THREAD_NAME]
    # Every SQLite connection is closed: the WAL is checkpointed into the database and
    # removed by the last connection's close.
    assert not (tmp_path / "data" / "storage.db-wal").exists()


def _blob_files(data_dir: Path) -> int:
    return sum(1 for path in (data_dir / "blobs").rglob("*") if path.is_file())


def test_a_retention_of_0_days_purges_a_deleted_project(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    # The trash's rule: a deleted project is purged once its retention is over, here at
    # once, with the content only it held; until then it could be restored.
    data = tmp_path / "data"
    with make_server(data, retention_days=0) as server:
        key = server.add_user("alice")
        with httpx.Client(base_url=server.url, headers=_headers(key)) as client:
            project = "/api/storage/projects/alice"
            assert client.post(project, json={"name": "p"}).status_code == 201
            put = client.put(f"{project}/p/files/a.bin", content=b"held by p alone")
            assert put.status_code == 201, put.text
            blobs = _blob_files(data)
            deleted = client.delete(f"{project}/p", params={"recursive": "true"})
            assert deleted.status_code == 204
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                listed = client.get("/api/storage/trash/alice")
                assert listed.status_code == 200
                if not listed.json()["items"]:
                    break
                time.sleep(0.05)
            assert listed.json()["items"] == []
            restored = client.post("/api/storage/trash/alice/p/restore")
            assert restored.status_code == 404
    assert _blob_files(data) == blobs - 1


def test_the_default_retention_keeps_a_deleted_project(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    with make_server(tmp_path / "data") as server:
        key = server.add_user("alice")
        with httpx.Client(base_url=server.url, headers=_headers(key)) as client:
            assert client.post("/api/storage/projects/alice", json={"name": "p"}).status_code == 201
            assert client.delete("/api/storage/projects/alice/p").status_code == 204
            time.sleep(0.3)  # several sweeps of a 0-day retention
            listed = client.get("/api/storage/trash/alice").json()["items"]
            assert [item["project"]["name"] for item in listed] == ["p"]
