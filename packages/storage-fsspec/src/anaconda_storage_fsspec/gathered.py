"""Whole-file reads of a ``get`` of many files named by a directory or a pattern,
gathered into few requests.

fsspec's ``_get`` maps a directory or a glob to local paths and runs one coroutine per
file, and each would send its own ``GET``. The local server spends more CPU on a request
(about 0.5 ms: parsing it, its middleware, its look-ups) than on a small file's bytes, so
a thousand small files cost a thousand of those (issue 15). While such a ``get`` runs,
each whole-file read registers with a :class:`GatheredReads` instead, and the reads
registered in the same turn of the event loop are sent together through core's
``read_files``: one ``POST .../read`` per 1,000 files (docs/api.md, "Reading many
files"), each content checked as a ``GET``'s is. (``cat`` of many files, and ``get`` of
two lists, need no gathering: they read core's ``read_files`` as one stream, in
``content.py``.)

fsspec's own ``_get`` stays in charge of which files, where they go, callbacks and
errors; only the request changes. A file larger than ``INLINE_LIMIT`` is announced, not
sent, and read on its own at the revision announced, as is every file when the server has
no such route; those reads keep at most ``batch_size`` requests in flight. A read alone
in its turn (``get`` of one file) is a plain ``GET``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from anaconda_storage_core import AsyncStorageClient
from anaconda_storage_core.models import FileRead
from anaconda_storage_core.transfer.digest import Verify
from anaconda_storage_core.uri import StorageURI

__all__ = ["CONCURRENCY", "INLINE_LIMIT", "GatheredReads", "gathered", "gathering"]

INLINE_LIMIT = 256 * 1024
"""The largest file sent with the others (core's ``inline_limit``); a larger one is read
on its own, where one request more costs little beside its bytes. With ``CONCURRENCY``
it bounds what a ``get`` holds in memory: at most 2 x 1,000 files of 256 KiB."""

CONCURRENCY = 2
"""Requests of up to 1,000 files each that core's ``read_files`` sends at once."""


@dataclass(frozen=True)
class _Wanted:
    uri: StorageURI
    verify: Verify
    answer: asyncio.Future[FileRead]


class GatheredReads:
    """The whole-file reads of one ``cat`` or ``get``, sent together.

    Args:
        client: Returns the client of the running loop.
        batch_size: Requests in flight for files read on their own.
    """

    def __init__(
        self, client: Callable[[], Awaitable[AsyncStorageClient]], batch_size: int
    ) -> None:
        self._client = client
        self._queue: list[_Wanted] = []
        self._counted = -1
        self._sending: set[asyncio.Task[None]] = set()
        self.alone = asyncio.Semaphore(max(1, batch_size))
        """Held by a read sent on its own (a large file, or a server without the route)."""

    async def read(self, uri: StorageURI, verify: Verify) -> FileRead:
        """The file's content, once read with the others of this turn of the loop.

        Returns:
            core's ``FileRead``: the checked ``data``, or the ``error`` for this file, or
            neither (``inline`` false): read ``pinned`` on its own, holding ``alone``.
        """
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[FileRead] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._settle)
        self._queue.append(_Wanted(uri, verify, answer))
        return await answer

    def _settle(self) -> None:
        # fsspec starts its coroutines all at once, but each reaches `read` in its own step
        # of the loop: wait until a turn adds no more before sending.
        if len(self._queue) != self._counted:
            self._counted = len(self._queue)
            asyncio.get_running_loop().call_soon(self._settle)
            return
        wanted, self._queue, self._counted = self._queue, [], -1
        task = asyncio.get_running_loop().create_task(self._send(wanted))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, wanted: list[_Wanted]) -> None:
        try:
            if len(wanted) == 1:  # nothing to gather: one GET costs what one POST does
                only = wanted[0]
                _answer(only, FileRead(only.uri, None, None, None))
                return
            client = await self._client()
            for verify in {w.verify for w in wanted}:
                same = [w for w in wanted if w.verify == verify]
                position = 0
                uris = [w.uri for w in same]
                reading = client.read_files(
                    uris, verify=verify, inline_limit=INLINE_LIMIT, concurrency=CONCURRENCY
                )
                async for read in reading:
                    _answer(same[position], read)
                    position += 1
        except BaseException as exc:
            for w in wanted:
                if not w.answer.done():
                    w.answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    async def aclose(self) -> None:
        """Stop what is still being sent (its readers are gone: the call ended early)."""
        for task in list(self._sending):
            task.cancel()
        for task in list(self._sending):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _answer(wanted: _Wanted, read: FileRead) -> None:
    if not wanted.answer.done():  # its reader may have been cancelled
        wanted.answer.set_result(read)


_current: ContextVar[GatheredReads | None] = ContextVar("anaconda_gathered_reads", default=None)


def gathered() -> GatheredReads | None:
    """The reads being gathered in this task's context, if a ``cat`` or ``get`` runs."""
    return _current.get()


@contextlib.asynccontextmanager
async def gathering(reads: GatheredReads) -> AsyncIterator[GatheredReads]:
    """Gather the whole-file reads of the tasks started inside (they copy the context)."""
    token = _current.set(reads)
    try:
        yield reads
    finally:
        _current.reset(token)
        await reads.aclose()
