"""Serving file content: which blob, which bytes (Range), and streaming it out.

`read_target` resolves what a GET or HEAD reads (current, at a revision, at a checkpoint)
and, for a file of at most 64 KiB, reads its bytes too. It runs on the event loop itself,
not in a worker thread: two indexed SQLite reads (WAL readers never wait for a writer) and
one small read from the page cache take about 50 µs, less than a thread hop costs, and many
concurrent small downloads are the case to serve fast (measured here: 1,000 4 KiB GETs at
100 concurrent requests went from ~900/s to ~1,500/s). Larger content is streamed in 1 MiB
chunks, each read in a worker thread, while a watcher stops the stream as soon as the
client disconnects.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from anaconda_storage_core import checksum
from anaconda_storage_server.access import open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.blobs import Blobs
from anaconda_storage_server.changes import parse_etags
from anaconda_storage_server.context import Context
from anaconda_storage_server.errors import ApiError, error_response, not_found
from anaconda_storage_server.history import (
    ReadPoint,
    Version,
    checkpoint_instant,
    current_version,
    format_instant,
    revision_of,
    version_at,
)
from anaconda_storage_server.text import ascii_integer

SMALL_FILE = 64 * 1024  # read at once, with the metadata (see read_target)
RANGE = re.compile(r"([0-9]*)\s*-\s*([0-9]*)", re.ASCII)
BEYOND_ANY_SIZE = 2**63  # larger than any stored content


@dataclass(frozen=True)
class Target:
    """What a content request reads: the revision, the checkpoint instant, small content."""

    version: Version
    instant: int | None
    data: bytes | None


def read_target(
    state: Context, user: Owner, owner: str, name: str, path: str, point: ReadPoint
) -> Target:
    """Resolve the revision a GET/HEAD reads (and read it if it is small)."""
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        instant = None
        if point.revision is not None:
            version: Version | None = revision_of(connection, project.id, path, point.revision)
            if version is not None and version.deleted:
                raise not_found("path", f"{path!r} was deleted at revision {version.id}")
        elif point.checkpoint is not None:
            instant = checkpoint_instant(connection, project.id, point.checkpoint)
            version = version_at(connection, project.id, path, instant)
        else:
            version = current_version(connection, project.id, path)
    if version is None or version.sha256 is None:
        raise not_found("path", f"no file {path!r}")
    data = None
    if version.size <= SMALL_FILE:
        try:
            data = state.blobs.read_all(version.sha256)
        except FileNotFoundError:  # removed with its project since the lookup
            raise not_found("path", f"no file {path!r}") from None
    return Target(version=version, instant=instant, data=data)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first range of a `Range` header as (start, length); None to serve everything.

    Raises:
        ApiError: 416 for a range outside the content.
    """
    if header is None:
        return None
    unit, _, specs = header.partition("=")
    # Several ranges: only the first is served (docs/api.md).
    match = RANGE.fullmatch(specs.split(",", 1)[0].strip())
    if unit.strip().lower() != "bytes" or match is None or (not match[1] and not match[2]):
        return None  # not a byte range we understand: ignored, as RFC 9110 allows
    if match[1]:
        start = _offset(match[1])
        end = _offset(match[2]) if match[2] else size - 1
        if match[2] and end < start:
            return None  # an invalid range-spec is ignored (RFC 9110, 14.1.1)
        if start >= size:
            raise _unsatisfiable(size)
        return start, min(end, size - 1) - start + 1
    suffix = _offset(match[2])
    if suffix == 0 or size == 0:
        raise _unsatisfiable(size)
    length = min(suffix, size)
    return size - length, length


def _offset(digits: str) -> int:
    # RFC 9110 puts no bound on the digits of a range, and `int()` refuses more than 4,300:
    # any number of more digits than a size can have is beyond every content, so it counts
    # as "past the end" (a start: 416; an end or a suffix: up to the end).
    value = ascii_integer(digits.lstrip("0") or "0")
    return BEYOND_ANY_SIZE if value is None else min(value, BEYOND_ANY_SIZE)


def _unsatisfiable(size: int) -> ApiError:
    return ApiError(
        416,
        f"the range is outside the content ({size} bytes)",
        headers={"Content-Range": f"bytes */{size}"},
    )


async def content_response(request: Request, state: Context, target: Target) -> Response:
    """The GET/HEAD answer for a target: 200, 206, 304 or 416."""
    version = target.version
    assert version.sha256 is not None
    headers = {
        "ETag": f'"{version.id}"',
        "Last-Modified": formatdate(version.created_us / 1_000_000, usegmt=True),
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "X-Storage-Revision": version.id,
        "X-Storage-Sha256": version.sha256,
    }
    if target.instant is not None:
        headers["X-Storage-Checkpoint-At"] = format_instant(target.instant)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = parse_etags(if_none_match)
        if "*" in tags or version.id in tags:
            return Response(status_code=304, headers=_without_content(headers))
    try:
        byte_range = parse_range(request.headers.get("range"), version.size)
    except ApiError as exc:
        exc.headers.update(_without_content(headers))
        return error_response(exc)
    status, start, length = 200, 0, version.size
    if byte_range is None and version.crc32c is not None:
        # The whole content's CRC32C, only on an answer that carries the whole content:
        # a range's bytes could never match it (docs/api.md, "Checksums").
        headers[checksum.HEADER] = checksum.encode(version.crc32c)
    if byte_range is not None:
        status, (start, length) = 206, byte_range
        end = start + length - 1
        headers["Content-Range"] = f"bytes {start}-{end}/{version.size}"
    headers["Content-Length"] = str(length)
    return BlobResponse(
        status=status,
        headers=headers,
        blobs=state.blobs,
        sha256=version.sha256,
        start=start,
        length=length,
        data=target.data,
        head=request.method == "HEAD",
    )


def _without_content(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in ("Content-Type", "Content-Length")}


class BlobResponse(Response):
    """Bytes `start .. start + length` of a blob, from memory or streamed from its file."""

    def __init__(
        self,
        *,
        status: int,
        headers: dict[str, str],
        blobs: Blobs,
        sha256: str,
        start: int,
        length: int,
        data: bytes | None,
        head: bool,
    ) -> None:
        self.status_code = status
        self.media_type = None
        self.body = b""
        self.background = None
        self.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        self.blobs = blobs
        self.sha256 = sha256
        self.start = start
        self.length = length
        self.data = data
        self.head = head

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if self.head or self.length == 0:
            await send({"type": "http.response.body", "body": b""})
        elif self.data is not None:
            body = self.data[self.start : self.start + self.length]
            await send({"type": "http.response.body", "body": body})
        else:
            await until_disconnect(functools.partial(self._stream, send), receive)

    async def _stream(self, send: Send) -> None:
        chunks = await anyio.to_thread.run_sync(
            self.blobs.iter_range, self.sha256, self.start, self.length
        )
        try:
            remaining = self.length
            while remaining > 0:
                chunk = await anyio.to_thread.run_sync(next, chunks, b"")
                if not chunk:
                    raise OSError(f"blob {self.sha256} is shorter than its recorded size")
                remaining -= len(chunk)
                await send(
                    {"type": "http.response.body", "body": chunk, "more_body": remaining > 0}
                )
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(chunks.close)


async def until_disconnect(stream: Callable[[], Awaitable[None]], receive: Receive) -> None:
    """Run `stream` (what sends a long answer's body) until it ends or the client goes,
    whichever comes first: a client gone stops the reads and sends at once."""
    async with anyio.create_task_group() as tasks:

        async def stream_then_stop() -> None:
            await stream()
            tasks.cancel_scope.cancel()

        tasks.start_soon(stream_then_stop)
        await _wait_for_disconnect(receive)
        tasks.cancel_scope.cancel()


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
