"""The blob directory and the metadata database, below the HTTP layer."""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from anaconda_storage_server import blobs as blobs_module
from anaconda_storage_server.blobs import Blobs, BlobWriter, receive
from anaconda_storage_server.database import SCHEMA_VERSION, Database
from anaconda_storage_server.errors import ApiError

pytestmark = pytest.mark.anyio


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def broken(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    raise ConnectionError("client gone")


async def receive_all(
    blobs: Blobs,
    stream: AsyncIterator[bytes],
    *,
    limit: int | None = None,
    expected: str | None = None,
) -> BlobWriter:
    """What an upload route does: stream in, then complete (tail, fsync, digest check)."""
    writer = BlobWriter(blobs.temp)
    tail = await receive(writer, stream, limit=limit)
    try:
        writer.complete(tail, expected)
    except BaseException:
        writer.discard()
        raise
    return writer


async def test_receive_hashes_and_stores(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    data = [b"a" * 700_000, b"b" * 700_000, b"c"]  # crosses the 1 MiB write buffer
    writer = await receive_all(blobs, chunks(*data))
    content = b"".join(data)
    assert writer.size == len(content)
    assert writer.sha256 == hashlib.sha256(content).hexdigest()
    blobs.store(writer)
    assert blobs.path(writer.sha256).read_bytes() == content
    assert list(blobs.temp.iterdir()) == []
    assert b"".join(blobs.read_chunks(writer.sha256, 699_999, 3)) == b"abb"


async def test_same_content_is_stored_once(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    first = await receive_all(blobs, chunks(b"same"))
    second = await receive_all(blobs, chunks(b"same"))
    blobs.store(first)
    blobs.store(second)
    assert blobs.all_digests() == {first.sha256}
    assert list(blobs.temp.iterdir()) == []


@pytest.mark.parametrize(
    ("stream", "limit", "expected", "error"),
    [
        (lambda: broken(b"x" * 10), None, None, ConnectionError),
        (lambda: chunks(b"x" * 11), 10, None, ApiError),
        (lambda: chunks(b"x"), None, "0" * 64, ApiError),
    ],
    ids=["disconnect", "over the limit", "sha256 mismatch"],
)
async def test_a_failed_receive_leaves_nothing(
    tmp_path: Path, stream: object, limit: int | None, expected: str | None, error: type
) -> None:
    blobs = Blobs(tmp_path / "blobs")
    with pytest.raises(error):
        await receive_all(blobs, stream(), limit=limit, expected=expected)  # type: ignore[operator]
    assert list(blobs.temp.iterdir()) == []
    assert blobs.all_digests() == set()


def test_sweep_and_unreferenced(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    writer = BlobWriter(blobs.temp)
    writer.write(b"left behind")
    writer.finish()  # as a crash would leave it: written, never stored
    assert blobs.sweep_temp() == 1
    kept, dropped = (blobs.store_bytes(data) for data in (b"kept", b"dropped"))
    blobs.remove_unreferenced([kept, dropped, "not-a-digest"], [kept])
    assert blobs.all_digests() == {kept}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A database in tmp_path, closed after the test (schema created idempotently)."""
    with Database(tmp_path / "db.sqlite") as database:
        yield database


def test_the_clock_is_strictly_increasing(database: Database) -> None:
    instants = []
    for _ in range(200):
        with database.write() as transaction:
            instants.append(transaction.now_us)
            assert transaction.now_us == instants[-1]  # one instant per transaction
    assert instants == sorted(set(instants))


def test_a_failed_transaction_changes_nothing(database: Database) -> None:
    ran: list[str] = []

    def fail() -> None:
        with database.write() as transaction:
            transaction.execute(
                "INSERT INTO owners (id, name, kind, created_us) VALUES ('1', 'x', 'user', 0)"
            )
            transaction.after_commit(lambda: ran.append("after"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert ran == []
    with database.read() as connection:
        assert connection.execute("SELECT count(*) FROM owners").fetchone()[0] == 0


def test_the_database_is_wal_and_reopens(tmp_path: Path, database: Database) -> None:
    database.close()
    # The schema is created idempotently; a closed database opens connections again on use.
    with Database(tmp_path / "db.sqlite") as reopened:
        reopened.close()
        connection = reopened.connection()
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    Database(tmp_path / "db.sqlite").close()
    raw = sqlite3.connect(tmp_path / "db.sqlite")
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(RuntimeError, match="newer"):
        Database(tmp_path / "db.sqlite")


async def test_content_stored_already_is_not_fsynced_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = Blobs(tmp_path / "blobs")
    first = BlobWriter(blobs.temp)
    first.complete(b"dedupe me", blobs=blobs)
    blobs.store(first)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    second = BlobWriter(blobs.temp)
    second.complete(b"dedupe me", blobs=blobs)
    blobs.store(second)
    assert synced == []  # neither the temp file nor a directory
    assert blobs.all_digests() == {first.sha256}
    assert list(blobs.temp.iterdir()) == []
    # Should the stored copy go before the commit, the new one is made durable after all.
    third = BlobWriter(blobs.temp)
    third.complete(b"dedupe me", blobs=blobs)
    blobs.path(third.sha256).unlink()
    blobs.store(third)
    assert len(synced) == 2  # the file, then its directory
    assert blobs.path(third.sha256).read_bytes() == b"dedupe me"


async def test_composite_blobs_read_and_go_whole(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    pieces = [b"a" * 1_500_000, b"", b"b" * 10, b"c" * 1_200_000]
    files = []
    for index, piece in enumerate(pieces):
        files.append(tmp_path / f"part{index}")
        files[-1].write_bytes(piece)
    content = b"".join(pieces)
    digest = hashlib.sha256(content).hexdigest()
    blobs.store_parts(digest, files)
    assert blobs.path(digest).is_dir()
    assert blobs.read_all(digest) == content
    for start, length in [(0, len(content)), (1_499_999, 12), (1_500_010, 5), (7, 0)]:
        assert b"".join(blobs.read_chunks(digest, start, length)) == content[start : start + length]
    assert all(len(c) <= 1024 * 1024 for c in blobs.read_chunks(digest, 0, len(content)))
    with pytest.raises(OSError, match="shorter"):
        list(blobs.read_chunks(digest, 0, len(content) + 1))
    assert blobs.all_digests() == {digest}
    blobs.remove_unreferenced([digest], [])
    assert not blobs.path(digest).exists()
    assert list(blobs.temp.iterdir()) == []
    assert all(path.read_bytes() == piece for path, piece in zip(files, pieces, strict=True))


async def test_place_all_moves_new_content_in_and_drops_what_is_stored(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    blobs.store_bytes(b"stored")
    writers = [blobs.writer() for _ in range(4)]
    for writer, content in zip(writers, [b"one", b"stored", b"one", b"two"], strict=True):
        writer.complete(content, durable=False)
        assert not writer.synced
    assert blobs.place_all(writers) == [True, False, False, True]
    for content in (b"one", b"two", b"stored"):
        assert blobs.read_all(hashlib.sha256(content).hexdigest()) == content
    assert list(blobs.temp.iterdir()) == []


async def test_place_all_without_syncfs_fsyncs_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs_module, "_SYNCFS", None)  # as on macOS and Windows
    blobs = Blobs(tmp_path / "blobs")
    writer = blobs.writer()
    writer.complete(b"content", durable=False)
    assert blobs.place_all([writer]) == [True]
    assert writer.synced
    assert blobs.read_all(writer.sha256) == b"content"


async def test_a_failed_sync_takes_the_placed_blobs_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = Blobs(tmp_path / "blobs")
    blobs.store_bytes(b"stored")

    def full(directory: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(blobs_module, "_SYNCFS", lambda descriptor: 0)
    monkeypatch.setattr(blobs_module, "sync_filesystem", full)
    writers = [blobs.writer() for _ in range(2)]
    for writer, content in zip(writers, [b"new", b"stored"], strict=True):
        writer.complete(content, durable=False)
    with pytest.raises(ApiError) as caught:
        blobs.place_all(writers)
    assert caught.value.status == 507
    assert blobs.all_digests() == {hashlib.sha256(b"stored").hexdigest()}
