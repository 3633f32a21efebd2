"""Group commit: concurrent uploads share one sync of their blobs and one transaction.

A lone upload pays for three fsyncs (its temp file, the blob directory after the rename,
SQLite's WAL at commit) and a thread hop; measured on a two-CPU machine, that is about
2.5 ms of server CPU per 4 KiB PUT, a third of it in the kernel, and it bounds a `put` of
many small files. Databases answer this with group commit, and so does this module:

- A write is queued with what it stores (`prepare`: write the temp file, check its
  digest) and what it records (`apply`: the checks and the revision, in a transaction).
- The first writer that finds no batch being committed leads: it takes every queued
  write, and in one worker thread prepares them all, then in one `BEGIN IMMEDIATE`
  transaction moves the new blobs into place and makes them durable at once
  (`Blobs.place_all`: one `syncfs` on Linux), records each write in a savepoint of its
  own, and commits (one fsync of the WAL). Writes queued meanwhile wait for the next
  batch, led by the first of them once this one is answered: the classic scheme (a batch
  forms while the previous one syncs), with no timer to tune and no thread to own.
- Every write of a batch is answered after its COMMIT returned, so an answered write has
  its content and its row on disk: `201` still means stored, across a kill -9 or a power
  cut. A write that fails its own checks (`409`, `412`, a wrong `X-Storage-Sha256`) is
  rolled back to its savepoint alone; the others commit. A failure of the batch itself
  (the disk full at the sync or the commit) fails every write of it.

Each write keeps its own instant (`Transaction.now_us`), strictly after the one before,
so history stays as exact as with a transaction per write.

Blobs are renamed into place before the sync that makes them durable, under the
database's write lock: no other writer (and no garbage collection) can see such a blob
before the sync and commit a reference to it, and a power cut between the rename and the
sync can only leave a blob that no revision references, which start-up recovery removes
(`recovery.recover`) before the server answers anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import anyio
import anyio.to_thread

from anaconda_storage_server.blobs import Blobs, BlobWriter
from anaconda_storage_server.database import Database, Transaction
from anaconda_storage_server.errors import storing

T = TypeVar("T")

# Writes in one batch at most: one transaction stays short, and the orphan check's
# `IN (...)` stays within SQLite's oldest limit on variables (999).
MAX_BATCH = 256


class _Write(Generic[T]):
    """One queued write: what it stores, what it records, and its outcome."""

    def __init__(
        self,
        prepare: Callable[[], BlobWriter],
        apply: Callable[[Transaction, BlobWriter], T],
    ) -> None:
        self.prepare = prepare
        self.apply = apply
        self.writer: BlobWriter | None = None
        self.new_blob = False
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False
        # Set when the write is answered, or when its turn to lead has come.
        self.woken = anyio.Event()

    def fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Commits concurrent uploads in batches (see the module docstring).

    Args:
        database: The metadata store the revisions are written to.
        blobs: The blob directory the content goes to.
    """

    def __init__(self, database: Database, blobs: Blobs) -> None:
        self.database = database
        self.blobs = blobs
        self._queue: list[_Write[Any]] = []
        self._leading = False
        # Figures for tests and benchmarks: batches committed, writes in them.
        self.batches = 0
        self.writes = 0

    async def write(
        self,
        prepare: Callable[[], BlobWriter],
        apply: Callable[[Transaction, BlobWriter], T],
    ) -> T:
        """Store and record one write with whatever else is queued; its `apply` result.

        Call from the event loop. Returns once the write is durable (or has failed).

        Args:
            prepare: Run in a worker thread, outside the transaction: returns a finished
                `BlobWriter` (not necessarily fsynced: the batch syncs what it places).
            apply: Run inside the batch's transaction, in a savepoint of its own, with a
                `Transaction` of its own (its instant) and the placed writer.

        Raises:
            Whatever `prepare` or `apply` raised for this write, or the batch's failure.
        """
        entry: _Write[T] = _Write(prepare, apply)
        self._queue.append(entry)
        # Shielded: a write whose request goes away is still committed (or not) with its
        # batch, and a leader must hand its batch's answers and the lead on, whatever
        # happens to its own request.
        with anyio.CancelScope(shield=True):
            if self._leading:
                await entry.woken.wait()
                if entry.done:
                    return entry.outcome()
            self._leading = True
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await anyio.to_thread.run_sync(self._commit, batch)
            finally:
                for queued in batch:
                    if not queued.done:  # only if `_commit` itself broke
                        queued.fail(RuntimeError("the write's batch was not committed"))
                        queued.done = True
                    queued.woken.set()
                if self._queue:
                    self._queue[0].woken.set()  # the next batch's leader
                else:
                    self._leading = False
        return entry.outcome()

    def _commit(self, batch: list[_Write[Any]]) -> None:
        """Prepare, place, sync, record and commit a batch (in a worker thread)."""
        for entry in batch:
            try:
                entry.writer = entry.prepare()
            except BaseException as exc:
                entry.fail(exc)
        ready = [entry for entry in batch if entry.error is None]
        try:
            if ready:
                self._transaction(ready)
        except BaseException as exc:
            for entry in ready:
                entry.fail(exc)
            # Nothing of the batch is committed: its new blobs belong to nobody.
            self._collect([entry for entry in ready if entry.new_blob])
        finally:
            for entry in batch:
                if entry.writer is not None:
                    entry.writer.discard()  # the temp file of a failed or duplicate write
                entry.done = True
            self.batches += 1
            self.writes += len(batch)

    def _transaction(self, ready: list[_Write[Any]]) -> None:
        with self.database.write() as transaction:
            writers = [entry.writer for entry in ready if entry.writer is not None]
            for entry, new in zip(ready, self.blobs.place_all(writers), strict=True):
                entry.new_blob = new
            for entry in ready:
                assert entry.writer is not None
                try:
                    with transaction.change() as change, storing("the change"):
                        entry.result = entry.apply(change, entry.writer)
                except Exception as exc:
                    if not transaction.connection.in_transaction:
                        raise  # SQLite ended the whole transaction (a full disk, I/O)
                    entry.fail(exc)
            self._remove_orphans(
                transaction, [entry for entry in ready if entry.error and entry.new_blob]
            )

    def _remove_orphans(self, transaction: Transaction, failed: list[_Write[Any]]) -> None:
        """Remove the blobs placed for failed writes that nothing else references."""
        digests = sorted({entry.writer.sha256 for entry in failed if entry.writer is not None})
        if not digests:
            return
        placeholders = ", ".join("?" * len(digests))
        referenced = {
            row[0]
            for row in transaction.execute(
                f"SELECT DISTINCT sha256 FROM revisions WHERE sha256 IN ({placeholders})",
                tuple(digests),
            )
        }
        self.blobs.remove_unreferenced(digests, referenced)

    def _collect(self, placed: list[_Write[Any]]) -> None:
        if not placed:
            return
        # Should this fail too (the disk still full), start-up recovery removes them.
        with contextlib.suppress(Exception), self.database.write() as transaction:
            self._remove_orphans(transaction, placed)
