"""A full disk (issue 11, item 10): `507 insufficient_storage`, no temp file left behind,
nothing stored lost, and the server keeps serving.

Two ways to fill the disk: a real small filesystem (a tmpfs holding the whole data
directory, which needs the right to mount: the test says so when it skips), and the
server's test aid `--fault-disk-full-after BYTES`, which needs no privilege. A unit test
pins the cleanup itself on `/dev/full`: the flush fails, then closing fails again, and the
temp file must go all the same.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anaconda_storage_server.blobs import BlobWriter
from anaconda_storage_server.errors import ApiError
from anaconda_storage_server.testing import LocalServer

MiB = 1024 * 1024
INSUFFICIENT = "insufficient_storage"


def _client(server: LocalServer) -> httpx.Client:
    key = server.add_user(f"u{uuid.uuid4().hex[:8]}")
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _owner(client: httpx.Client) -> str:
    answer = client.get("/api/account")
    assert answer.status_code == 200, answer.text
    name: str = answer.json()["name"]
    return name


def _check_507(answer: httpx.Response) -> None:
    assert answer.status_code == 507, answer.text
    error = answer.json()["error"]
    assert error["code"] == INSUFFICIENT
    assert "disk is full" in error["message"]


def _leftovers(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


def _fill_the_disk(server: LocalServer, client: httpx.Client, big: int) -> None:
    """Everything the issue asks of a full disk, for a single PUT and a multipart part."""
    data_dir = server.data_dir
    owner = _owner(client)
    project = f"/api/storage/projects/{owner}/full"
    assert client.post(f"/api/storage/projects/{owner}", json={"name": "full"}).is_success
    kept = os.urandom(MiB // 2)
    assert client.put(f"{project}/files/kept.bin", content=kept).status_code == 201

    # A streamed PUT (over the 1 MiB buffer) that the disk cannot hold.
    _check_507(client.put(f"{project}/files/big.bin", content=os.urandom(big)))
    assert _leftovers(data_dir / "blobs" / "tmp") == []
    assert client.get(f"{project}/meta/big.bin").status_code == 404

    # A multipart part that the disk cannot hold: the parts stored before stay.
    session = client.post(f"{project}/uploads", json={"path": "multi.bin"})
    assert session.status_code == 201, session.text
    uploads = f"{project}/uploads/{session.json()['id']}"
    first = os.urandom(256 * 1024)
    assert client.put(f"{uploads}/parts/1", content=first).status_code == 200
    parts_dir = data_dir / "uploads" / session.json()["id"]
    assert len(_leftovers(parts_dir)) == 1
    _check_507(client.put(f"{uploads}/parts/2", content=os.urandom(big)))
    assert len(_leftovers(parts_dir)) == 1
    assert _leftovers(data_dir / "blobs" / "tmp") == []

    # Nothing stored is lost, and the server goes on storing what fits.
    assert client.get(f"{project}/files/kept.bin").content == kept
    completed = client.post(f"{uploads}/complete")
    assert completed.status_code == 201, completed.text
    assert completed.json()["sha256"] == hashlib.sha256(first).hexdigest()
    assert client.put(f"{project}/files/small.bin", content=b"fits").status_code == 201
    assert client.get(f"{project}/files/small.bin").content == b"fits"
    assert server.running


def test_disk_full_aid_answers_507_and_leaves_nothing(tmp_path: Path) -> None:
    aid = ["--fault-disk-full-after", str(2 * MiB)]
    with LocalServer(tmp_path / "data", extra_args=aid) as server, _client(server) as client:
        _fill_the_disk(server, client, big=8 * MiB)
    assert "Traceback" not in server.stderr_path.read_text()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB tmpfs, mounted for the test (skips where mounting is not allowed)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: a real small filesystem cannot be made here")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "mounting a small tmpfs needs CAP_SYS_ADMIN (run as root to test a real full"
            f" disk; the --fault-disk-full-after test covers the rest): {mounted.stderr.strip()}"
        )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill_up(path: Path) -> None:
    """Write zeros to `path` until its filesystem has not one byte left."""
    with open(path, "wb", buffering=0) as file:
        for size in (65536, 1):
            try:
                while True:
                    file.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise


def test_real_full_disk_answers_507_and_leaves_nothing(small_disk: Path) -> None:
    with LocalServer(small_disk / "data") as server, _client(server) as client:
        _fill_the_disk(server, client, big=16 * MiB)
        # Fill what is left to the last byte, then store a small file: its write is
        # buffered, the flush fails, and closing the temp file fails a second time.
        ballast = small_disk / "ballast"
        _fill_up(ballast)
        tiny = f"/api/storage/projects/{_owner(client)}/full/files/tiny.bin"
        _check_507(client.put(tiny, content=b"x"))
        assert _leftovers(server.data_dir / "blobs" / "tmp") == []
        ballast.unlink()
        answer = client.put(tiny, content=b"x")
        assert answer.status_code == 201, answer.text


def test_discard_removes_the_temp_file_when_closing_fails_again(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    writer = BlobWriter(tmp_path)
    assert writer.path.exists()
    # The temp file's writes go to /dev/full: every flush fails with ENOSPC.
    assert writer._file is not None
    writer._file.close()
    writer._file = open("/dev/full", "wb")  # noqa: SIM115 - closed by discard
    writer.write(b"buffered, not yet flushed")
    with pytest.raises(ApiError) as failed:
        writer.finish()
    assert failed.value.status == 507
    assert failed.value.code == INSUFFICIENT
    assert isinstance(failed.value.__cause__, OSError)
    writer.discard()
    assert not writer.path.exists()
    assert _leftovers(tmp_path) == []
