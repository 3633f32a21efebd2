"""The data directory is private (issue 11, item 11): directories 0700, files 0600, with a
permissive umask, and a warning at start-up for an existing data directory that is not."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anaconda_storage_server.testing import LocalServer

# What the harness itself writes into the data directory (not the server's files).
HARNESS_LOGS = {"server.stderr.log", "server.stdout.log"}


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The common umask 022, which makes plain mkdir/open give 0755/0644 (the servers and
    commands started here inherit it)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _modes(data_dir: Path) -> dict[str, int]:
    """The mode of everything below `data_dir` (the harness logs left out)."""
    found = {}
    for directory, subdirectories, names in os.walk(data_dir):
        for name in subdirectories + names:
            path = Path(directory, name)
            if path.parent == data_dir and name in HARNESS_LOGS:
                continue
            found[str(path.relative_to(data_dir))] = _mode(path)
    return found


def _loose(data_dir: Path) -> dict[str, str]:
    """Every directory that is not 0700 and every file that is not 0600, with its mode."""
    return {
        name: oct(mode)
        for name, mode in _modes(data_dir).items()
        if mode != (0o700 if (data_dir / name).is_dir() else 0o600)
    }


def _manage(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "anaconda_storage_server", *arguments, "--data", str(data_dir)]
    return subprocess.run(command, capture_output=True, text=True, check=True)


def test_users_add_makes_a_private_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    _manage(data_dir, "users", "add", "alice")
    assert _mode(data_dir) == 0o700
    assert "storage.db" in _modes(data_dir)
    assert _loose(data_dir) == {}


def test_serve_makes_a_private_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    # The server itself creates the directory (the harness would make it first).
    command = [sys.executable, "-m", "anaconda_storage_server", "serve", "--data", str(data_dir)]
    process = subprocess.Popen(
        [*command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line, process.stderr.read() if process.stderr else line
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert _mode(data_dir) == 0o700
    assert {"storage.db", "blobs", "blobs/tmp", "blobs/00", "uploads"} <= set(_modes(data_dir))
    assert _loose(data_dir) == {}
    assert "chmod 700" not in stderr


def test_everything_stored_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with LocalServer(data_dir) as server:
        key = server.add_user("alice")
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            project = "/api/storage/projects/alice/p"
            assert client.post("/api/storage/projects/alice", json={"name": "p"}).is_success
            small, large = b"small", os.urandom(3 * 1024 * 1024)  # in memory / streamed
            assert client.put(f"{project}/files/small.txt", content=small).is_success
            assert client.put(f"{project}/files/large.bin", content=large).is_success
            # A multipart upload in progress: its session directory and part files.
            session = client.post(f"{project}/uploads", json={"path": "multi.bin"}).json()
            for number in (1, 2):
                part = client.put(
                    f"{project}/uploads/{session['id']}/parts/{number}", content=large
                )
                assert part.status_code == 200, part.text
            assert f"uploads/{session['id']}" in _modes(data_dir)
            assert _loose(data_dir) == {}
            # Completed: a composite blob (a directory of hard-linked parts).
            completed = client.post(f"{project}/uploads/{session['id']}/complete")
            assert completed.status_code == 201, completed.text
            composite = completed.json()["sha256"]
            assert f"blobs/{composite[:2]}/{composite}" in _modes(data_dir)
            assert {"storage.db", "storage.db-wal", "storage.db-shm"} <= set(_modes(data_dir))
            assert _loose(data_dir) == {}


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o711])
def test_a_shared_data_dir_is_warned_about(tmp_path: Path, mode: int) -> None:
    data_dir = tmp_path / f"data-{uuid.uuid4().hex[:6]}"
    data_dir.mkdir()
    data_dir.chmod(mode)
    with LocalServer(data_dir) as server:
        assert server.running
    log = server.stderr_path.read_text()
    warning = next(line for line in log.splitlines() if "chmod 700" in line)
    assert "WARNING" in warning
    assert str(data_dir) in warning
    assert f"{mode:04o}" in warning
    assert f"chmod 700 {data_dir}" in warning
    assert _mode(data_dir) == mode  # reported, not changed behind the owner's back


def test_a_private_data_dir_is_not_warned_about(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    with LocalServer(data_dir) as server:
        server.add_user("alice")
    assert "chmod 700" not in server.stderr_path.read_text()


def test_users_add_warns_about_a_shared_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    result = _manage(data_dir, "users", "add", "alice")
    assert f"chmod 700 {data_dir}" in result.stderr
