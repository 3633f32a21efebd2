"""Crash safety: SIGKILL the server mid-upload, start it again on the same data directory.

Every committed file must read back intact, the interrupted upload must have left nothing
visible, no temp file may survive the restart, and SQLite must find its database sound.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anaconda_storage_server.testing import LocalServer

CHUNK = b"\xab" * 65536


class SlowBody:
    """A request body that never ends on its own: chunks until stopped, signalling progress."""

    def __init__(self) -> None:
        self.sent = 0
        self.started = threading.Event()
        self.stop = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        while not self.stop.is_set() and self.sent < 4096:
            yield CHUNK
            self.sent += 1
            if self.sent == 40:  # 2.5 MiB: the server has surely opened its temp file
                self.started.set()
            time.sleep(0.005)


def send_slowly(
    url: str, headers: dict[str, str], body: SlowBody, errors: list[BaseException]
) -> None:
    try:
        httpx.put(url, content=iter(body), headers=headers, timeout=30)
    except BaseException as exc:  # the connection dies with the server
        errors.append(exc)


def files_in(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    local = LocalServer(tmp_path / "data")
    local.start()
    yield local
    local.stop()


def test_sigkill_mid_upload_loses_nothing_committed(server: LocalServer) -> None:
    key = server.add_user("crash")
    headers = {"Authorization": f"Bearer {key}"}
    base = "/api/storage/projects/crash/p"
    committed: dict[str, bytes] = {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        assert client.post("/api/storage/projects/crash", json={"name": "p"}).status_code == 201
        for number in range(12):
            content = os.urandom(1000 * number + 1)
            path = f"dir{number % 3}/file{number}.bin"
            assert client.put(f"{base}/files/{path}", content=content).status_code == 201
            committed[path] = content
        # History too: a second revision, a deletion, a directory marker.
        committed["dir0/file0.bin"] = b"second revision"
        assert (
            client.put(f"{base}/files/dir0/file0.bin", content=b"second revision").status_code
            == 200
        )
        assert client.delete(f"{base}/files/dir1/file1.bin").status_code == 204
        del committed["dir1/file1.bin"]
        assert client.put(f"{base}/directories/empty").status_code == 201
        committed["empty/.keep"] = b""
        # A multipart session with one part done and a second part in flight.
        upload = client.post(f"{base}/uploads", json={"path": "multi.bin"}).json()
        part_url = f"{base}/uploads/{upload['id']}/parts"
        assert client.put(f"{part_url}/1", content=b"part one").status_code == 200

    blob_temp = server.data_dir / "blobs" / "tmp"
    bodies, threads, errors = [SlowBody(), SlowBody()], [], []
    targets = [f"{server.url}{base}/files/interrupted.bin", f"{server.url}{part_url}/2"]
    for body, url in zip(bodies, targets, strict=True):
        thread = threading.Thread(target=send_slowly, args=(url, headers, body, errors))
        thread.start()
        threads.append(thread)
    for body in bodies:
        assert body.started.wait(20)
    deadline = time.monotonic() + 10
    while not files_in(blob_temp) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert files_in(blob_temp), "the upload should be half-way in a temp file"

    server.kill()
    for body in bodies:
        body.stop.set()
    for thread in threads:
        thread.join(30)
    assert len(errors) == 2  # both requests died with the server
    server.start()

    assert files_in(blob_temp) == []
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        tree = client.get(f"{base}/tree").json()
        assert [item["path"] for item in tree["items"]] == sorted(committed)
        for path, content in committed.items():
            answer = client.get(f"{base}/files/{path}")
            assert answer.status_code == 200, path
            assert answer.content == content
            assert answer.headers["x-storage-sha256"] == hashlib.sha256(content).hexdigest()
        meta = client.get(f"{base}/meta/interrupted.bin")
        assert meta.status_code == 404
        assert meta.json()["error"]["missing"] == "path"
        assert client.get(f"{base}/revisions/interrupted.bin").status_code == 404
        assert client.get(f"{base}/revisions/dir0/file0.bin").json()["items"][1]["size"] == 1
        session = client.get(f"{base}/uploads/{upload['id']}").json()
        assert [part["number"] for part in session["parts"]] == [1]
        # The session still completes, with exactly its committed part.
        done = client.post(f"{base}/uploads/{upload['id']}/complete")
        assert done.status_code == 201, done.text
        assert client.get(f"{base}/files/multi.bin").content == b"part one"
    assert files_in(server.data_dir / "uploads") == []

    database = sqlite3.connect(server.data_dir / "storage.db")
    try:
        assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert database.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        database.close()


def test_restart_removes_stray_files(server: LocalServer) -> None:
    """What a crash may leave (temp blobs, orphan parts and blobs) is removed at start-up."""
    key = server.add_user("stray")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        client.post("/api/storage/projects/stray", json={"name": "p"})
        client.put("/api/storage/projects/stray/p/files/kept", content=b"kept")
    server.stop()
    data = server.data_dir
    (data / "blobs" / "tmp" / "leftover.tmp").write_bytes(b"half")
    orphan = hashlib.sha256(b"orphan").hexdigest()
    (data / "blobs" / orphan[:2] / orphan).write_bytes(b"orphan")
    (data / "uploads" / "gone-session").mkdir()
    (data / "uploads" / "gone-session" / "x.tmp").write_bytes(b"part")
    server.start()
    assert files_in(data / "blobs" / "tmp") == []
    assert not (data / "blobs" / orphan[:2] / orphan).exists()
    assert not (data / "uploads" / "gone-session").exists()
    kept = hashlib.sha256(b"kept").hexdigest()
    assert (data / "blobs" / kept[:2] / kept).read_bytes() == b"kept"


def test_sigkill_during_concurrent_small_puts_keeps_every_answered_one(
    server: LocalServer,
) -> None:
    """64 writers of small files, committed in groups (group_commit.py), killed mid-stream:
    every PUT answered 2xx is there with its content; anything else is absent or whole."""
    key = server.add_user("group")
    headers = {"Authorization": f"Bearer {key}"}
    base = "/api/storage/projects/group/p"
    with httpx.Client(base_url=server.url, headers=headers) as client:
        assert client.post("/api/storage/projects/group", json={"name": "p"}).status_code == 201
    answered: dict[str, bytes] = {}
    attempted: dict[str, bytes] = {}
    unexpected: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def writer(number: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            for round_ in range(1000):
                path = f"w{number:02d}/f{round_:04d}.bin"
                content = os.urandom(4096)
                with lock:
                    attempted[path] = content
                try:
                    response = client.put(f"{base}/files/{path}", content=content)
                except httpx.HTTPError:
                    return  # the server is gone
                with lock:
                    if response.status_code != 201:
                        unexpected.append(response.text)
                        return
                    answered[path] = content
                    if len(answered) >= 640:
                        enough.set()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(64)]
    for thread in threads:
        thread.start()
    assert enough.wait(120), "the writers should have been answered 640 times"
    server.kill()  # with about 64 PUTs in flight
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == []
    server.start()

    assert files_in(server.data_dir / "blobs" / "tmp") == []
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        listed: list[str] = []
        cursor = None
        while True:
            params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            page = client.get(f"{base}/tree", params=params).json()
            listed += [item["path"] for item in page["items"] if item["type"] == "file"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        assert set(answered) <= set(listed)  # every answered PUT survived
        assert set(listed) <= set(attempted)
        for path in listed:  # answered or not, what is there is whole
            answer = client.get(f"{base}/files/{path}")
            assert answer.status_code == 200, path
            assert answer.content == attempted[path], path
    database = sqlite3.connect(server.data_dir / "storage.db")
    try:
        assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        database.close()
