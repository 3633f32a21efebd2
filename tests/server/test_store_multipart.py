"""Multipart completion without rewriting (composite blobs) and blob deduplication.

Completion hard-links the parts into a composite blob (a directory) and hashes only the
parts its in-memory running sha256 has not seen in order; these tests check that the
digest, content, ranges, copies, garbage collection and crash recovery stay exact.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anaconda_storage_server.blobs import Blobs
from anaconda_storage_server.testing import LocalServer

BASE = "/api/storage/projects/multi/p"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    local = LocalServer(tmp_path / "data")
    local.start()
    yield local
    local.stop()


@pytest.fixture
def client(server: LocalServer) -> Iterator[httpx.Client]:
    key = server.add_user("multi")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        assert http.post("/api/storage/projects/multi", json={"name": "p"}).status_code == 201
        yield http


def blob_path(server: LocalServer, digest: str) -> Path:
    return server.data_dir / "blobs" / digest[:2] / digest


def upload(client: httpx.Client, path: str, parts: dict[int, bytes], order: list[int]) -> str:
    """A session with `parts` sent in `order` (each once); its id."""
    session = client.post(f"{BASE}/uploads", json={"path": path}).json()
    for number in order:
        answer = client.put(f"{BASE}/uploads/{session['id']}/parts/{number}", content=parts[number])
        assert answer.status_code == 200, answer.text
    upload_id: str = session["id"]
    return upload_id


def complete(client: httpx.Client, upload_id: str, numbers: list[int] | None = None) -> dict:
    body = None if numbers is None else {"parts": [{"number": n} for n in numbers]}
    answer = client.post(f"{BASE}/uploads/{upload_id}/complete", json=body)
    assert answer.status_code == 201, answer.text
    file: dict = answer.json()
    return file


def check_content(client: httpx.Client, path: str, content: bytes) -> None:
    answer = client.get(f"{BASE}/files/{path}")
    assert answer.content == content
    assert answer.headers["x-storage-sha256"] == hashlib.sha256(content).hexdigest()
    # Ranges that start, end and cross inside parts, and a suffix.
    size = len(content)
    for start, end in [(0, 0), (1, size // 2), (size // 3, size - 2), (size - 1, size + 10)]:
        ranged = client.get(f"{BASE}/files/{path}", headers={"Range": f"bytes={start}-{end}"})
        assert ranged.status_code == 206
        assert ranged.content == content[start : end + 1]
    suffix = client.get(f"{BASE}/files/{path}", headers={"Range": "bytes=-5"})
    assert suffix.content == content[-5:]


@pytest.mark.parametrize(
    "order",
    [[1, 2, 3, 4], [3, 1, 4, 2], [4, 3, 2, 1]],
    ids=["in order", "shuffled", "reversed"],
)
def test_parts_in_any_order_give_the_whole_sha256(
    server: LocalServer, client: httpx.Client, order: list[int]
) -> None:
    # Large parts (streamed from disk in chunks) and a small one.
    parts = {1: os.urandom(1_500_000), 2: os.urandom(70_000), 3: b"x", 4: os.urandom(1_100_000)}
    file = complete(client, upload(client, "big.bin", parts, order))
    content = b"".join(parts[n] for n in sorted(parts))
    assert file["sha256"] == hashlib.sha256(content).hexdigest()
    assert file["size"] == len(content)
    check_content(client, "big.bin", content)
    # Nothing was rewritten: the blob is the parts, linked.
    assert blob_path(server, file["sha256"]).is_dir()
    assert sorted(p.name for p in blob_path(server, file["sha256"]).iterdir()) == [
        "000001",
        "000002",
        "000003",
        "000004",
    ]
    assert list((server.data_dir / "uploads").iterdir()) == []
    assert list((server.data_dir / "blobs" / "tmp").iterdir()) == []


def test_a_chosen_order_and_subset(client: httpx.Client) -> None:
    parts = {1: b"one-" * 1000, 2: b"two-" * 3000, 3: b"three-" * 10}
    file = complete(client, upload(client, "chosen.bin", parts, [1, 2, 3]), [3, 1])
    content = parts[3] + parts[1]
    assert file["sha256"] == hashlib.sha256(content).hexdigest()
    check_content(client, "chosen.bin", content)


def test_a_part_sent_again_replaces_it_in_the_digest(client: httpx.Client) -> None:
    parts = {1: b"a" * 5000, 2: b"b" * 5000, 3: b"c" * 5000}
    upload_id = upload(client, "again.bin", parts, [1, 2, 3])
    answer = client.put(f"{BASE}/uploads/{upload_id}/parts/2", content=b"B" * 7000)
    assert answer.status_code == 200
    file = complete(client, upload_id)
    content = parts[1] + b"B" * 7000 + parts[3]
    assert file["sha256"] == hashlib.sha256(content).hexdigest()
    check_content(client, "again.bin", content)


def test_one_part_and_no_part(server: LocalServer, client: httpx.Client) -> None:
    file = complete(client, upload(client, "one.bin", {1: b"only part"}, [1]))
    assert blob_path(server, file["sha256"]).read_bytes() == b"only part"
    empty = complete(client, upload(client, "none.bin", {}, []))
    assert empty["sha256"] == hashlib.sha256(b"").hexdigest()
    assert client.get(f"{BASE}/files/none.bin").content == b""


def test_composites_are_shared_and_collected(server: LocalServer, client: httpx.Client) -> None:
    parts = {1: os.urandom(100_000), 2: os.urandom(100_000)}
    content = parts[1] + parts[2]
    file = complete(client, upload(client, "a.bin", parts, [2, 1]))
    # The same content again (a PUT and another multipart upload) reuses the blob as is.
    inode = blob_path(server, file["sha256"]).stat().st_ino
    assert client.put(f"{BASE}/files/b.bin", content=content).status_code == 201
    complete(client, upload(client, "c.bin", parts, [1, 2]))
    assert blob_path(server, file["sha256"]).stat().st_ino == inode
    copied = client.post(
        "/api/storage/copy",
        json={
            "source": {"owner": "multi", "project": "p", "path": "a.bin"},
            "destination": {"owner": "multi", "project": "p", "path": "d.bin"},
        },
    )
    assert copied.status_code == 200, copied.text
    for path in ("a.bin", "b.bin", "c.bin", "d.bin"):
        check_content(client, path, content)
    # A deleted project waits in the trash with its content; purged, its blobs go.
    assert client.delete(BASE, params={"recursive": "true"}).status_code == 204
    assert blob_path(server, file["sha256"]).stat().st_ino == inode
    assert client.delete("/api/storage/trash/multi/p").status_code == 204
    assert not blob_path(server, file["sha256"]).exists()
    assert list((server.data_dir / "blobs" / "tmp").iterdir()) == []


def test_duplicate_put_is_not_rewritten(server: LocalServer, client: httpx.Client) -> None:
    content = b"same bytes" * 100
    assert client.put(f"{BASE}/files/first", content=content).status_code == 201
    stored = blob_path(server, hashlib.sha256(content).hexdigest())
    before = stored.stat()
    assert client.put(f"{BASE}/files/second", content=content).status_code == 201
    after = stored.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert client.get(f"{BASE}/files/second").content == content
    assert list((server.data_dir / "blobs" / "tmp").iterdir()) == []


def test_crash_during_completion_leaves_the_session_whole(
    server: LocalServer, client: httpx.Client
) -> None:
    """A crash after the composite is linked into place, before the commit that uses it."""
    parts = {1: os.urandom(80_000), 2: os.urandom(80_000), 3: os.urandom(10)}
    upload_id = upload(client, "crashed.bin", parts, [2, 3, 1])
    content = b"".join(parts[n] for n in (1, 2, 3))
    digest = hashlib.sha256(content).hexdigest()
    server.kill()
    # What the completion had done on disk when killed: composite in place (uncommitted),
    # another half-assembled in the temp directory, a composite half-way through removal.
    blobs = Blobs(server.data_dir / "blobs")
    session_dir = server.data_dir / "uploads" / upload_id
    part_files = sorted(session_dir.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    ordered = [part_files[2], part_files[0], part_files[1]]  # sent as 2, 3, 1
    blobs.store_parts(digest, ordered)
    assert blob_path(server, digest).is_dir()
    (blobs.temp / "half.parts").mkdir()
    os.link(ordered[0], blobs.temp / "half.parts" / "000001")
    (blobs.temp / "half.gone").mkdir()
    (blobs.temp / "half.gone" / "000001").write_bytes(b"x")
    server.start()

    assert not blob_path(server, digest).exists()  # never committed: collected
    assert list(blobs.temp.iterdir()) == []
    with httpx.Client(base_url=server.url, headers=client.headers, timeout=30) as http:
        assert http.get(f"{BASE}/files/crashed.bin").status_code == 404
        session = http.get(f"{BASE}/uploads/{upload_id}").json()
        assert [part["size"] for part in session["parts"]] == [80_000, 80_000, 10]
        file = complete(http, upload_id)
        assert file["sha256"] == digest
        check_content(http, "crashed.bin", content)


def test_a_refused_put_keeps_no_blob(server: LocalServer, client: httpx.Client) -> None:
    assert client.put(f"{BASE}/files/taken", content=b"first").status_code == 201
    refused = client.put(f"{BASE}/files/taken", content=b"second", headers={"If-None-Match": "*"})
    assert refused.status_code == 412
    assert not blob_path(server, hashlib.sha256(b"second").hexdigest()).exists()
    assert client.get(f"{BASE}/files/taken").content == b"first"
    assert list((server.data_dir / "blobs" / "tmp").iterdir()) == []
