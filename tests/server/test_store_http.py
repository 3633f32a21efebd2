"""The server's guarantees that need real HTTP: concurrency, streaming, disconnects, history.

These use the session's local server (tests/conftest.py) and look inside its data directory
where the guarantee is about what stays on disk.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from anaconda_storage_server.testing import LocalServer

MiB = 1024 * 1024


def client(account: Any) -> httpx.Client:
    # Thread-safe, shared by the concurrent tests' threads; a pool big enough for them.
    return httpx.Client(
        base_url=account.url,
        headers={"Authorization": f"Bearer {account.api_key}"},
        timeout=60,
        limits=httpx.Limits(max_connections=32),
    )


def new_project(c: httpx.Client, owner: str, name: str = "p") -> str:
    answer = c.post(f"/api/storage/projects/{owner}", json={"name": name})
    assert answer.status_code == 201, answer.text
    return f"/api/storage/projects/{owner}/{name}"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_concurrent_writers_each_make_a_revision(user: Any) -> None:
    with client(user) as c:
        base = new_project(c, user.name)

        def write(number: int) -> httpx.Response:
            return c.put(f"{base}/files/hot.txt", content=f"writer {number}".encode())

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(write, range(32)))
        assert all(answer.status_code in (200, 201) for answer in answers)
        assert sorted(answer.status_code for answer in answers).count(201) == 1
        revisions = c.get(f"{base}/revisions/hot.txt", params={"limit": 1000}).json()["items"]
        assert {r["id"] for r in revisions} == {a.json()["revision"] for a in answers}
        assert [r["index"] for r in revisions] == list(range(0, -32, -1))


def test_if_match_lets_exactly_one_racer_win(user: Any) -> None:
    with client(user) as c:
        base = new_project(c, user.name)
        first = c.put(f"{base}/files/doc.txt", content=b"v1").json()["revision"]

        def update(number: int) -> httpx.Response:
            return c.put(
                f"{base}/files/doc.txt",
                content=f"v2 by {number}".encode(),
                headers={"If-Match": f'"{first}"'},
            )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(update, range(8)))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200] + [412] * 7
        winner = next(a for a in answers if a.status_code == 200).json()["revision"]
        assert all(a.json()["error"]["current"] == winner for a in answers if a.status_code == 412)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_big_files_stream_both_ways_in_bounded_memory(
    storage_server: LocalServer, user: Any
) -> None:
    size = 64 * MiB
    block = bytes(range(256)) * 4096  # 1 MiB

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    expected = hashlib.sha256()
    for chunk in body():
        expected.update(chunk)
    pid = storage_server.pid
    assert pid is not None
    with client(user) as c:
        base = new_project(c, user.name)
        before = rss_kib(pid)
        stored = c.put(f"{base}/files/big.bin", content=body())  # chunked: no length
        assert stored.status_code == 201, stored.text
        assert stored.json()["sha256"] == expected.hexdigest()
        received = hashlib.sha256()
        with c.stream("GET", f"{base}/files/big.bin") as answer:
            assert answer.headers["content-length"] == str(size)
            for chunk in answer.iter_bytes():
                received.update(chunk)
        assert received.hexdigest() == expected.hexdigest()
        growth_mib = (rss_kib(pid) - before) / 1024
        assert growth_mib < 32, f"the server grew by {growth_mib:.0f} MiB for a 64 MiB file"
        tail = c.get(f"{base}/files/big.bin", headers={"Range": f"bytes=-{MiB + 1}"})
        assert tail.status_code == 206
        assert tail.content == block[-1:] + block


def test_a_client_gone_mid_upload_changes_nothing(storage_server: LocalServer, user: Any) -> None:
    with client(user) as c:
        base = new_project(c, user.name)
        c.put(f"{base}/files/kept.bin", content=b"old")
        before = c.get(f"{base}/revisions/kept.bin").json()
    address = urlsplit(storage_server.url)
    assert address.hostname is not None
    assert address.port is not None
    temp = storage_server.data_dir / "blobs" / "tmp"
    for path in ("new.bin", "kept.bin"):
        with socket.create_connection((address.hostname, address.port)) as raw:
            head = (
                f"PUT {base}/files/{path} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {user.api_key}\r\nContent-Length: {4 * MiB}\r\n\r\n"
            )
            raw.sendall(head.encode() + b"x" * MiB)  # a quarter of the body, then gone
            time.sleep(0.2)
    deadline = time.monotonic() + 10
    while any(temp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(temp.iterdir()) == []
    with client(user) as c:
        assert c.get(f"{base}/meta/new.bin").status_code == 404
        assert c.get(f"{base}/revisions/kept.bin").json() == before
        assert c.get(f"{base}/files/kept.bin").content == b"old"


def test_time_points_are_inclusive_to_the_second(user: Any) -> None:
    with client(user) as c:
        base = new_project(c, user.name)
        first = c.put(f"{base}/files/t.txt", content=b"first").json()
        written = datetime.fromisoformat(first["modified"].replace("Z", "+00:00"))
        second = written.replace(microsecond=0)
        # Wait for the next second, so the next change is after `second`.
        time.sleep(
            max(
                0.0, (second + timedelta(seconds=1.05) - datetime.now(timezone.utc)).total_seconds()
            )
        )
        c.put(f"{base}/files/t.txt", content=b"second")
        at = second.strftime("%Y-%m-%dT%H:%M:%S")
        answer = c.get(f"{base}/files/t.txt", params={"checkpoint": at})
        assert answer.content == b"first"
        assert answer.headers["x-storage-checkpoint-at"] == f"{at}.999999Z"
        before = (second - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
        missing = c.get(f"{base}/meta/t.txt", params={"checkpoint": before})
        assert missing.status_code == 404
        assert c.get(f"{base}/tree", params={"checkpoint": before}).json()["items"] == []
        offset = (second + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
        assert c.get(f"{base}/files/t.txt", params={"checkpoint": offset}).content == b"first"


def test_ad_hoc_checkpoints_see_exactly_what_came_before(user: Any) -> None:
    with client(user) as c:
        base = new_project(c, user.name)
        for number in range(3):
            c.put(f"{base}/files/f{number}", content=b"x")
            c.post(f"{base}/checkpoints", json={"message": f"after {number}"})
        c.delete(f"{base}/files/f0")
        for steps, count in ((1, 3), (2, 2), (3, 1)):
            tree = c.get(f"{base}/tree", params={"checkpoint": f"-{steps}"}).json()["items"]
            assert [item["path"] for item in tree] == [f"f{n}" for n in range(count)]
        assert [item["path"] for item in c.get(f"{base}/tree").json()["items"]] == ["f1", "f2"]
        missing = c.get(f"{base}/tree", params={"checkpoint": "-4"})
        assert missing.json()["error"]["missing"] == "checkpoint"


def test_ownership_moves_only_to_an_own_organization(
    storage_server: LocalServer, user: Any, other_user: Any
) -> None:
    org = f"org-of-{user.name}"
    storage_server.add_org(org, [user.name])
    with client(user) as c, client(other_user) as other:
        base = new_project(c, user.name, "moving")
        other_org = f"org-of-{other_user.name}"
        storage_server.add_org(other_org, [other_user.name])

        def change(kind: str, principal: str, level: str) -> httpx.Response:
            change = {"principal_type": kind, "principal": principal, "grant": True, "level": level}
            return c.post(f"{base}/permissions", json={"changes": [change]})

        assert change("org", other_org, "o").status_code == 403
        assert change("user", other_user.name, "o").status_code == 403
        grant_then_fail = c.post(
            f"{base}/permissions",
            json={
                "changes": [
                    {
                        "principal_type": "user",
                        "principal": other_user.name,
                        "grant": True,
                        "level": "w",
                    },
                    {
                        "principal_type": "org",
                        "principal": "no-such-org",
                        "grant": True,
                        "level": "r",
                    },
                ]
            },
        )
        assert grant_then_fail.json()["error"]["missing"] == "owner"
        assert c.get(f"{base}/permissions").json()["grants"] == []  # all or nothing
        moved = change("org", org, "o")
        assert moved.status_code == 200, moved.text
        assert moved.json()["owner"]["name"] == org
        assert c.get(base).status_code == 404
        project = c.get(f"/api/storage/projects/{org}/moving").json()
        assert project["access"] == "owner"
        assert other.get(f"/api/storage/projects/{org}/moving").status_code == 404
