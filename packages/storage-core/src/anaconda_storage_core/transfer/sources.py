"""What an upload's source can be, and how it is read: bytes, a local file, or a stream
that can be read only once.

`classify` tells the three apart before anything is sent, as `upload.py` sends each its
own way. Bytes are held already. A local file (a path, or a seekable binary file from its
current position) is a `LocalFile`: its size is known up front, and any range of it can be
read again, to send a part once more on a retry, to check the parts of a session to resume,
or to settle a completion whose answer was lost; an open file, shared by the parts sent at
once, is read under a lock. Anything else (an iterator or an async iterable of bytes, a
non-seekable file, an async file whose `read` is a coroutine) is a `Stream`: it cannot be
read again, so its chunks are held as they come and cut into pieces of the size asked for.
An async one is read with `Pull` effects, which only the asyncio runner performs.
"""

from __future__ import annotations

import inspect
import io
import os
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, TypeAlias

from ..effects import Flow, Pull
from .bodies import CHUNK_SIZE, FileSlice, sha256_of

__all__ = ["LocalFile", "Progress", "Source", "Stream", "classify"]

Source: TypeAlias = (
    bytes
    | bytearray
    | memoryview
    | str
    | os.PathLike[str]
    | IO[bytes]
    | Iterable[bytes]
    | AsyncIterable[bytes]
)
"""What can be uploaded: bytes, a local path, a binary file, or an iterable of bytes; with
the asyncio client also an async iterable of bytes or an async binary file."""

Progress = Callable[[int], None]


@dataclass
class LocalFile:
    """A seekable local source: a path, or an open binary file from its current position."""

    source: str | os.PathLike[str] | IO[bytes]
    offset: int
    size: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def slice(
        self,
        start: int,
        length: int,
        progress: Progress | None = None,
        digest: str | None = "sha256",
    ) -> FileSlice:
        return FileSlice(
            self.source,
            self.offset + start,
            length,
            progress=progress,
            lock=self.lock,
            digest=digest,
        )

    def sha256(self, start: int, length: int) -> str:
        return sha256_of(self.source, self.offset + start, length, lock=self.lock)

    def read(self) -> bytes:
        """The whole content, read now (for a small file: see `upload`).

        Raises:
            OSError: The file is shorter than its size was.
        """
        return b"".join(self.slice(0, self.size, digest=None))


def classify(source: Source) -> bytes | LocalFile | Stream:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        return LocalFile(source, 0, os.path.getsize(source))
    read = getattr(source, "read", None)
    if inspect.iscoroutinefunction(read) and _takes_a_size(read):
        return Stream(_async_reads(read))  # an async file (aiofiles, anyio)
    if isinstance(source, AsyncIterable):
        return Stream(aiter(source))
    if read is not None:
        file: Any = source
        seekable = getattr(file, "seekable", None)
        if seekable is not None and seekable():
            offset = file.tell()
            size = file.seek(0, io.SEEK_END) - offset
            file.seek(offset)
            return LocalFile(file, offset, size)
        return Stream(iter(lambda: read(CHUNK_SIZE), b""))
    if isinstance(source, Iterable):
        return Stream(iter(source))
    raise TypeError(
        f"cannot upload a {type(source).__name__}: give bytes, a path, a binary file or an"
        " iterable of bytes"
    )


def _takes_a_size(read: Any) -> bool:
    # `read(n)` of a file, not the `read()` of everything of a response or stream.
    try:
        inspect.signature(read).bind(CHUNK_SIZE)
    except (TypeError, ValueError):
        return False
    return True


async def _async_reads(read: Callable[[int], Awaitable[bytes]]) -> AsyncIterator[bytes]:
    while chunk := await read(CHUNK_SIZE):
        yield chunk


class Stream:
    """A one-shot source, an iterator or an async iterator of bytes, read in pieces of a
    given size (parts): its chunks are held as they come and cut at the pieces' bounds."""

    def __init__(self, chunks: Iterator[bytes] | AsyncIterator[bytes]) -> None:
        self.chunks = chunks
        self.pulls = isinstance(chunks, AsyncIterator)
        self.pending: deque[bytes] = deque()
        self.offset = 0  # into the first pending chunk, where the next piece starts
        self.held = 0  # bytes pending
        self.ended = False

    def fill(self, size: int) -> Flow[None]:
        """Read chunks until `size` bytes are held, or the source ends."""
        while self.held < size and not self.ended:
            try:
                if isinstance(self.chunks, AsyncIterator):
                    chunk = yield Pull(self.chunks)  # performed by the asyncio runner only
                else:
                    chunk = next(self.chunks)
            except (StopIteration, StopAsyncIteration):
                self.ended = True
                return
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"an upload's source gave a {type(chunk).__name__}, not bytes")
            if chunk:
                data = bytes(chunk)
                self.pending.append(data)
                self.held += len(data)

    def take(self, size: int) -> bytes:
        """Up to `size` of the bytes held, in order."""
        pieces = []
        wanted = min(size, self.held)
        self.held -= wanted
        while wanted:
            chunk = self.pending[0]
            end = min(len(chunk), self.offset + wanted)
            pieces.append(
                chunk if self.offset == 0 and end == len(chunk) else chunk[self.offset : end]
            )
            wanted -= end - self.offset
            if end == len(chunk):
                self.pending.popleft()
                self.offset = 0
            else:
                self.offset = end
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def read(self, size: int) -> Flow[bytes]:
        """The next `size` bytes (fewer at the end; `b""` once all were read)."""
        yield from self.fill(size)
        return self.take(size)
