"""Request bodies read from a local file, streamed to either client, sent again on retry.

`FileSlice` is an `httpx.SyncByteStream` and an `httpx.AsyncByteStream` at once, so the
same built request serves `StorageClient` and `AsyncStorageClient`. Each iteration reads
the slice again from the start (what makes it retryable) and computes its checksum on the
way (CRC32C, or sha256 when asked), so content is read once per send and never held whole
in memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import IO

import httpx

from .. import checksum
from .digest import Sha256

__all__ = ["CHUNK_SIZE", "BytesBody", "FileSlice", "sha256_of"]

CHUNK_SIZE = 1024 * 1024
"""How much of a local file is read at a time."""


class FileSlice(httpx.SyncByteStream, httpx.AsyncByteStream):
    """`length` bytes of a file from `offset`: a path, or an open seekable binary file.

    Args:
        digest: What is computed on the way: `"sha256"`, `"crc32c"`, or None (nothing).

    Attributes:
        sha256: The hex digest of the bytes sent by the last complete iteration, else None
            (also when `digest` is not `"sha256"`).
        crc32c: Their CRC32C (base64), likewise for `"crc32c"`.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | IO[bytes],
        offset: int,
        length: int,
        *,
        progress: Callable[[int], None] | None = None,
        lock: threading.Lock | None = None,
        digest: str | None = "sha256",
    ) -> None:
        self._source = source
        self.offset = offset
        self.length = length
        self.digest = digest
        self.sha256: str | None = None
        self.crc32c: str | None = None
        self._progress = progress
        # A shared file object is read under a lock: parts may be sent from several threads.
        self._lock = lock or threading.Lock()

    def _chunks(self) -> Iterator[bytes]:
        self.sha256 = self.crc32c = None
        if self.digest == "crc32c":
            crc = checksum.Crc32c()
            yield from self._read(crc)
            self.crc32c = crc.text()
            return
        if self.digest is None:
            yield from self._read(None)
            return
        digest = Sha256()
        try:
            yield from self._read(digest)
        except BaseException:
            digest.close()  # a send abandoned midway: stop the hashing thread
            raise
        self.sha256 = digest.hexdigest()

    def _read(self, digest: Sha256 | checksum.Crc32c | None) -> Iterator[bytes]:
        remaining = self.length
        if isinstance(self._source, (str, os.PathLike)):
            with open(self._source, "rb") as file:
                file.seek(self.offset)
                while remaining > 0:
                    chunk = file.read(min(CHUNK_SIZE, remaining))
                    if not chunk:
                        raise OSError(f"{os.fspath(self._source)} is shorter than expected")
                    remaining -= len(chunk)
                    if digest is not None:
                        digest.update(chunk)
                    yield chunk
        else:
            position = self.offset
            while remaining > 0:
                with self._lock:
                    self._source.seek(position)
                    chunk = self._source.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    raise OSError("the file is shorter than expected")
                position += len(chunk)
                remaining -= len(chunk)
                if digest is not None:
                    digest.update(chunk)
                yield chunk

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks():
            if self._progress:
                self._progress(len(chunk))
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            if self._progress:
                self._progress(len(chunk))
            yield chunk


class BytesBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A bytes body sent in chunks of `CHUNK_SIZE`.

    aiohttp warns (ResourceWarning) about bytes bodies over 1 MiB, which it writes in one
    piece; chunks keep the event loop responsive and the warning away.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        view = memoryview(self.data)
        for start in range(0, len(view), CHUNK_SIZE):
            yield bytes(view[start : start + CHUNK_SIZE])

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk


def sha256_of(
    source: str | os.PathLike[str] | IO[bytes],
    offset: int,
    length: int,
    lock: threading.Lock | None = None,
) -> str:
    """The sha256 of `length` bytes of a file from `offset`, read in chunks."""
    stream = FileSlice(source, offset, length, lock=lock)
    for _ in stream._chunks():
        pass
    assert stream.sha256 is not None
    return stream.sha256
