"""Group commit below the HTTP layer: batches, savepoints, and what a failure leaves."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from anaconda_storage_server.blobs import Blobs, BlobWriter
from anaconda_storage_server.database import Database, Transaction
from anaconda_storage_server.errors import ApiError, precondition_failed
from anaconda_storage_server.group_commit import GroupCommit

pytestmark = pytest.mark.anyio


@pytest.fixture
def commits(tmp_path: Path) -> Iterator[GroupCommit]:
    with Database(tmp_path / "storage.db") as database:
        yield GroupCommit(database, Blobs(tmp_path / "blobs"))


def small(commits: GroupCommit, content: bytes) -> Callable[[], BlobWriter]:
    def prepare() -> BlobWriter:
        writer = commits.blobs.writer()
        writer.complete(content, durable=False)
        return writer

    return prepare


def insert(transaction: Transaction, writer: BlobWriter) -> int:
    """Record a write as the upload route does (a row referencing the blob); its instant."""
    transaction.execute(
        "INSERT INTO revisions (id, project_id, path, created_us, created_by, size, sha256)"
        " VALUES (?, 'p', ?, ?, 'u', ?, ?)",
        (writer.path.name, writer.path.name, transaction.now_us, writer.size, writer.sha256),
    )
    return transaction.now_us


def refuse(transaction: Transaction, writer: BlobWriter) -> int:
    insert(transaction, writer)  # undone with its savepoint
    raise precondition_failed(None, "If-Match does not hold")


def rows(commits: GroupCommit) -> list[str]:
    with commits.database.read() as connection:
        return sorted(row[0] for row in connection.execute("SELECT sha256 FROM revisions"))


async def test_concurrent_writes_share_batches_each_with_its_own_instant(
    commits: GroupCommit,
) -> None:
    contents = [f"file {number}".encode() for number in range(64)]
    instants: list[int] = []

    async def one(content: bytes) -> None:
        instants.append(await commits.write(small(commits, content), insert))

    async with anyio.create_task_group() as tasks:
        for content in contents:
            tasks.start_soon(one, content)
    assert commits.writes == 64
    assert commits.batches < 16  # the first alone, then the rest together
    assert len(set(instants)) == 64  # strictly increasing instants, as one write each
    digests = sorted(hashlib.sha256(content).hexdigest() for content in contents)
    assert rows(commits) == digests
    assert commits.blobs.all_digests() == set(digests)
    assert list(commits.blobs.temp.iterdir()) == []


async def test_a_failing_write_is_undone_alone(commits: GroupCommit) -> None:
    outcomes: dict[bytes, object] = {}

    async def one(content: bytes, apply: Callable[[Transaction, BlobWriter], int]) -> None:
        try:
            outcomes[content] = await commits.write(small(commits, content), apply)
        except ApiError as exc:
            outcomes[content] = exc.status

    def bad_digest() -> BlobWriter:  # as files.py's: the temp file goes with the error
        writer = commits.blobs.writer()
        try:
            writer.complete(b"wrong", "0" * 64, durable=False)
        except ApiError:
            writer.discard()
            raise
        return writer

    async def mismatch() -> None:
        try:
            await commits.write(bad_digest, insert)
        except ApiError as exc:
            outcomes[b"wrong"] = exc.status

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(one, b"first", insert)  # leads a batch of its own
        tasks.start_soon(one, b"kept", insert)
        tasks.start_soon(one, b"refused", refuse)
        tasks.start_soon(mismatch)
        tasks.start_soon(one, b"also kept", insert)
    assert outcomes[b"refused"] == 412
    assert outcomes[b"wrong"] == 400
    kept = [b"first", b"kept", b"also kept"]
    assert all(isinstance(outcomes[content], int) for content in kept)
    assert rows(commits) == sorted(hashlib.sha256(content).hexdigest() for content in kept)
    # The refused write's blob was placed for it alone, then removed with its savepoint's
    # rollback; the mismatching one never got past its temp file.
    assert commits.blobs.all_digests() == {hashlib.sha256(c).hexdigest() for c in kept}
    assert list(commits.blobs.temp.iterdir()) == []


async def test_a_failed_batch_fails_every_write_and_keeps_nothing(
    commits: GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(writers: list[BlobWriter]) -> list[bool]:
        raise ApiError(507, "the disk is full")

    monkeypatch.setattr(commits.blobs, "place_all", full)
    statuses: list[int] = []

    async def one(content: bytes) -> None:
        with pytest.raises(ApiError) as caught:
            await commits.write(small(commits, content), insert)
        statuses.append(caught.value.status)

    async with anyio.create_task_group() as tasks:
        for number in range(8):
            tasks.start_soon(one, b"%d" % number)
    assert statuses == [507] * 8
    assert rows(commits) == []
    assert commits.blobs.all_digests() == set()
    assert list(commits.blobs.temp.iterdir()) == []


async def test_a_write_same_content_as_a_failed_one_keeps_the_blob(
    commits: GroupCommit,
) -> None:
    async def one(content: bytes, apply: Callable[[Transaction, BlobWriter], int]) -> None:
        with contextlib.suppress(ApiError):
            await commits.write(small(commits, content), apply)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(one, b"other", insert)  # a batch of its own
        tasks.start_soon(one, b"shared", refuse)  # places the blob, fails...
        tasks.start_soon(one, b"shared", insert)  # ...while this one references it
    digest = hashlib.sha256(b"shared").hexdigest()
    assert digest in rows(commits)
    assert commits.blobs.read_all(digest) == b"shared"
