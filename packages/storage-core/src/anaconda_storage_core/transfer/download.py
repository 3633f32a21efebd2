"""Reading a file's content: ranges, streaming, and downloads that survive broken
connections, as flows (see `effects.py`) that both clients run.

A read that breaks mid-body (a reset connection, a timeout) is resumed with a `Range`
request from the first byte not received, pinned to the revision the first answer named
(its ETag), so the bytes put together all come from one revision even if the file changes
meanwhile. A download to a path writes a temporary file beside the target, named after the
revision (`.q1.csv.<revision>.part`), checks the whole content against what the server
announced (its CRC32C, `X-Storage-Crc32c`, by default; its sha256, `X-Storage-Sha256`, with
`verify="sha256"` or from a server that sends no CRC32C; see `digest.Verify`), and only
then renames it onto the target. A download that
fails for good leaves that temporary file, and the next download of the same target and
revision continues from its end.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx

from ..effects import Close, Flow, Read, ReadRest, Sleep
from ..errors import (
    ChecksumMismatch,
    RangeNotSatisfiable,
    ServerError,
    StorageConnectionError,
    StorageError,
    scrubbed,
)
from ..locations import FileLocation
from ..models import ContentInfo
from ..operations.call import Api
from ..operations.files import byte_range, get_content, head_content
from ..retry import RetryPolicy, attempt, connection_error, send
from ..transports import READ_SIZE
from .digest import ContentCheck, Verify, content_check

__all__ = [
    "download_to_file",
    "download_to_path",
    "partial_name",
    "partial_path",
    "read_bytes",
    "read_content",
    "read_range",
    "resolve_range",
    "save_whole",
]

logger = logging.getLogger("anaconda_storage_core")

# An answer of at most this many bytes is read whole by one `ReadRest`, not chunk by chunk
# (a chunk is up to this size anyway): a small read takes three effects fewer.
READ_AT_ONCE = READ_SIZE

Progress = Callable[[int], None]


def head(
    api: Api, policy: RetryPolicy, where: FileLocation, revision: str | None = None
) -> Flow[ContentInfo]:
    """The content's headers (`HEAD`), at `revision` if given, else as `where` says."""
    call = head_content(
        api,
        where.owner,
        where.project,
        where.path,
        revision=revision or where.revision,
        checkpoint=None if revision else where.checkpoint,
    )
    return (yield from send(call, policy))


def resolve_range(
    api: Api, policy: RetryPolicy, where: FileLocation, start: int | None, end: int | None
) -> Flow[tuple[int, int | None, str | None]]:
    """Python-slice bounds as non-negative `(start, end)`, asking the size only when a
    negative bound needs it (a lone negative start is a suffix range, no size needed).

    Returns:
        `(start, end, revision)`: the revision is set when a `HEAD` was needed, so the read
        that follows is pinned to the revision the size belongs to.
    """
    needs_size = (end is not None and end < 0) or (
        start is not None and start < 0 and end is not None
    )
    if not needs_size:
        return (0 if start is None else start), end, None
    info = yield from head(api, policy, where)
    size = info.size
    first = 0 if start is None else (max(0, size + start) if start < 0 else start)
    last = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
    return first, last, info.revision


def read_content(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    sink: Callable[[bytes], object],
    *,
    start: int = 0,
    end: int | None = None,
    revision: str | None = None,
    on_info: Callable[[ContentInfo], None] | None = None,
    skip_held: Callable[[ContentInfo], int] | None = None,
) -> Flow[ContentInfo]:
    """Stream the bytes `[start, end)` of a file into `sink`, resuming broken reads.

    Args:
        where: The file (and the revision or checkpoint it is read at).
        sink: Called with each chunk, in order, exactly once per byte.
        start: The first byte; negative: that many bytes before the end (with `end` None).
        end: The byte after the last; None: to the end.
        revision: Read this revision (pins the read from the start).
        on_info: Called once with the first answer's `ContentInfo`, before any chunk.
        skip_held: Called once with the first answer's `ContentInfo`, after `on_info`:
            how many of the bytes from `start` the sink holds already (from an earlier
            download of that revision). The read continues after them, pinned to it.

    Returns:
        The first answer's `ContentInfo` (whole size, revision, sha256).

    Raises:
        StorageConnectionError: The read kept breaking, `policy.attempts` times.
        StorageError: The typed error of an error answer (`NotFound`, ...).
    """
    if end is not None and start >= 0 and end <= start:
        info = yield from head(api, policy, where, revision)
        if on_info:
            on_info(info)
        return info
    position = start  # the next byte the sink expects (negative: a suffix not started)
    first: ContentInfo | None = None
    pinned = revision
    breaks = 0
    while True:
        call = get_content(
            api,
            where.owner,
            where.project,
            where.path,
            revision=pinned or where.revision,
            checkpoint=None if pinned else where.checkpoint,
            range=byte_range(position, end),
        )
        # A small body may come read in full with its answer (effects.Attempt): not where
        # bytes held already are to be skipped (the answer is closed unread then).
        within = READ_AT_ONCE if skip_held is None else 0
        response: httpx.Response = yield from attempt(call, policy, read_within=within)
        info = call.parse(response)  # raises the typed error of an error answer
        if first is None:
            first = info
            pinned = info.revision or None
            if on_info:
                on_info(info)
            held = skip_held(info) if skip_held else 0
            if held:
                yield Close(response)
                position += held
                if position >= (first.size if end is None else min(end, first.size)):
                    return first
                continue  # a Range request from the first byte not held
        if position < 0:
            position = info.start  # a suffix range resolved: now an absolute position
        skip = position - info.start  # a server that ignored the Range sends from 0
        stop = first.size if end is None else min(end, first.size)
        # Only a body of announced length (aiohttp reads no further than it; `ReadRest`
        # stops past it with any sender): without one, chunk by chunk up to `stop`.
        at_once = 0 < info.length <= READ_AT_ONCE
        closed = response.is_closed  # read in full with its answer (`read_within`)
        body = response.content if closed else None
        try:
            while position < stop:
                if body is not None:
                    chunk, body = body, None
                else:  # a small body is read whole, its response closed by the same effect
                    chunk = yield (ReadRest(response, info.length) if at_once else Read(response))
                    closed = at_once
                if not chunk:
                    raise httpx.RemoteProtocolError("the body ended early")
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                chunk = chunk[: stop - position]
                if chunk:
                    sink(chunk)
                    position += len(chunk)
                if closed and position < stop:
                    raise httpx.RemoteProtocolError("the body ended early")
        except httpx.TransportError as exc:
            yield Close(response)
            breaks += 1
            if breaks >= policy.attempts:
                raise connection_error(call.request, exc) from scrubbed(exc)
            logger.info(
                "resuming %s/%s/%s at byte %d after %s",
                where.owner,
                where.project,
                where.path,
                position,
                type(exc).__name__,
            )
            yield Sleep(policy.delay(breaks - 1))
            continue
        if closed:
            return first  # read to its end and closed by `ReadRest`
        if position == info.start + info.length:
            # The whole body is read: one more read meets its end, so that the response's
            # chunk iterators finish rather than being closed midway (asyncio finalizes an
            # unfinished async generator with a task of its own, for each of their layers:
            # a tenth of the client's time in a `get` of many small files). The bytes are
            # all here: a connection that breaks now loses nothing.
            with contextlib.suppress(httpx.TransportError):
                yield Read(response)
        yield Close(response)
        return first


def partial_name(target: str, revision: str) -> str:
    """`partial_path` as a string, made with string operations, not pathlib: a `get` of
    many small files makes one per file."""
    head, name = os.path.split(target)
    return os.path.join(head, f".{name[:180]}.{revision}.part")


def partial_path(dest: str | os.PathLike[str], revision: str) -> Path:
    """Where the download of `revision` to `dest` is written until it is complete."""
    return Path(partial_name(os.fspath(dest), revision))


# O_BINARY: on Windows a descriptor is opened in text mode otherwise, and its writes
# would turn every "\n" into "\r\n".
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def save_whole(dest: str | os.PathLike[str], data: bytes, revision: str) -> None:
    """Write a content read whole (and checked) to `dest` as a download writes one: to
    its partial file beside `dest` first, renamed onto it once complete, so that a reader
    never sees half of it.

    With `os.open` and `os.write`, not `open`: a `get` or `download` of many small files
    does this once per file, and a buffered file object costs more than the write itself.

    Args:
        dest: The file to write (its directory must exist).
        data: The whole content.
        revision: The content's revision, which names the partial file (`partial_name`).

    Raises:
        OSError: The partial file could not be written or renamed; it is removed, and
            `dest` is left as it was.
    """
    target = os.fspath(dest)
    partial = partial_name(target, revision)
    try:
        fd = os.open(partial, _WRITE_FLAGS, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


def _check(verify: Verify, info: ContentInfo) -> ContentCheck | None:
    return content_check(verify, info.crc32c, info.sha256)


def _downloading(where: FileLocation) -> str:
    return f"downloading {where.owner}/{where.project}/{where.path}"


def download_to_path(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    dest: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    verify: Verify = True,
) -> Flow[ContentInfo]:
    """Download a file to `dest` atomically, verified, resuming an earlier partial download.

    Args:
        verify: How the content is checked (`digest.Verify`; by CRC32C by default).

    Returns:
        The content's `ContentInfo`.

    Raises:
        ChecksumMismatch: The content received is not what the server announced; `dest`
            is left as it was and the temporary file removed.
        StorageError: The typed error of an error answer.
    """
    partial = _PartialFile(os.fspath(dest), verify, progress)
    try:
        info = yield from read_content(
            api, policy, where, partial.write, on_info=partial.open, skip_held=partial.held
        )
    except BaseException as exc:
        # A connection or server failure (and an interruption: KeyboardInterrupt, a
        # cancelled task) keeps the partial file, for the next download to resume from.
        partial.close()
        if partial.check is not None:
            partial.check.close()
        if isinstance(exc, StorageError) and not isinstance(
            exc, (StorageConnectionError, ServerError)
        ):
            partial.discard()
        raise
    finally:
        partial.close()
    partial.finish(info, where)
    return info


class _PartialFile:
    """The temporary file a download to a path is written to, opened on the first answer
    (its name holds the revision that answer names), renamed onto the target once its
    content is verified.

    Only that revision's partial file is looked for (opened for appending), never the
    directory listed: a `get` of many files into one directory stays linear. A partial
    file of another revision, left by a download that failed before the file changed, is
    not found and stays (the next download of that revision would still resume from it).
    """

    __slots__ = ("check", "file", "path", "progress", "target", "verify")

    def __init__(self, target: str, verify: Verify, progress: Progress | None) -> None:
        self.target = target
        self.verify = verify
        self.check: ContentCheck | None = None
        self.progress = progress
        self.path: str | None = None
        self.file: IO[bytes] | None = None

    def open(self, info: ContentInfo) -> None:
        self.check = _check(self.verify, info)
        self.path = partial_name(self.target, info.revision)
        self.file = open(self.path, "ab+")  # noqa: SIM115

    def held(self, info: ContentInfo) -> int:
        """The bytes an earlier download of this revision left (read into the check, if
        any); 0 when there are none, or more than the content has (then they are dropped)."""
        file = self.file
        assert file is not None
        size = file.seek(0, os.SEEK_END)
        if size > info.size:
            file.truncate(0)
            return 0
        if size and self.check is not None:
            file.seek(0)
            for block in iter(lambda: file.read(1024 * 1024), b""):
                self.check.update(block)
        if size:
            logger.info("resuming the download of %s at byte %d", self.target, size)
        return size

    def write(self, chunk: bytes) -> None:
        assert self.file is not None
        self.file.write(chunk)
        if self.check is not None:
            self.check.update(chunk)
        if self.progress:
            self.progress(len(chunk))

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def discard(self) -> None:
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def finish(self, info: ContentInfo, where: FileLocation) -> None:
        """Verify the content and rename it onto the target (or remove it, if it is not
        what the server announced)."""
        assert self.path is not None  # the first answer opened it
        try:
            if self.check is not None:
                self.check.verify(_downloading(where))
        except ChecksumMismatch:
            self.discard()
            raise
        os.replace(self.path, self.target)


def download_to_file(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    file: IO[bytes],
    *,
    progress: Progress | None = None,
    verify: Verify = True,
) -> Flow[ContentInfo]:
    """Download a file into an open binary file, verified once all is written.

    Args:
        verify: How the content is checked (`digest.Verify`; by CRC32C by default).

    Raises:
        ChecksumMismatch: The content written is not what the server announced (the
            file object already holds it: it cannot be taken back).
    """
    check: ContentCheck | None = None

    def opened(info: ContentInfo) -> None:
        nonlocal check
        check = _check(verify, info)

    def write(chunk: bytes) -> None:
        file.write(chunk)
        if check is not None:
            check.update(chunk)
        if progress:
            progress(len(chunk))

    try:
        info = yield from read_content(api, policy, where, write, on_info=opened)
    except BaseException:
        if check is not None:
            check.close()
        raise
    if check is not None:
        check.verify(_downloading(where))
    return info


def read_range(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    sink: Callable[[bytes], object],
    start: int | None = None,
    end: int | None = None,
    on_info: Callable[[ContentInfo], None] | None = None,
) -> Flow[ContentInfo]:
    """`read_content` with Python-slice bounds, negative ones included."""
    first, last, revision = yield from resolve_range(api, policy, where, start, end)
    return (
        yield from read_content(
            api, policy, where, sink, start=first, end=last, revision=revision, on_info=on_info
        )
    )


def read_bytes(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    start: int | None,
    end: int | None,
    *,
    verify: Verify = True,
) -> Flow[bytes]:
    """The bytes `[start, end)` of a file; `b""` for a range past its end (as slicing).

    Args:
        verify: How a whole content (no `start`, no `end`) is checked (`digest.Verify`; by
            CRC32C by default). A range is not checked: the server announces the whole
            content's digests only, which a part of it cannot be checked against.

    Raises:
        ChecksumMismatch: The whole content read is not what the server announced.
    """
    chunks: list[bytes] = []
    whole = not start and end is None
    try:
        if whole:  # no bounds to resolve: straight to the read (two generators fewer)
            info = yield from read_content(api, policy, where, chunks.append)
        else:
            info = yield from read_range(api, policy, where, chunks.append, start, end)
    except RangeNotSatisfiable:
        return b""
    data = b"".join(chunks)
    if whole:
        # Checked once, on the joined bytes (the first answer's digests, whatever resumed
        # reads followed): one call into the CRC for the whole content, not one per chunk.
        check = _check(verify, info)
        if check is not None:
            check.update(data)
            check.verify(f"reading {where.owner}/{where.project}/{where.path}")
    return data
