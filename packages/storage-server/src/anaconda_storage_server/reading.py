"""Reading many files in one answer: `POST .../read` (docs/api.md, "Reading many files").

Issue 15: one small GET costs the server about 0.5 ms of CPU (HTTP parsing, routing, two
SQLite look-ups), more than any client spends on it, so reading a thousand small files one
request each cannot beat a plain HTTP client. This route answers up to 1,000 files in one
request, as a stream of frames: a JSON header line per file, then its bytes when inline.

How one answer is made:

1. The body is checked on the event loop (every 400 names its `field`).
2. One worker thread resolves every file in one read transaction (`_resolve`), so the answer
   is the project's state at one instant, even while it is being written; a file that a GET
   would answer 404 becomes an error frame, not a failed request. The same thread goes on to
   build the first body chunk (`Frames.next_chunk`), so an answer of small files costs one
   thread hop.
3. Frames are joined into chunks of about `CHUNK_TARGET` bytes, each built in a worker
   thread (small contents are read whole there), so a thousand 4 KiB files are a handful of
   `send`s, not a thousand. Memory holds one chunk, not the whole answer.
4. A content over `content.SMALL_FILE` that is inline is streamed from its blob in chunks,
   like a GET (`content.BlobResponse`); its blob is opened before its header is written, so
   a blob gone since the look-up (its project purged) becomes a `not_found` frame instead.

A blob shorter than its recorded size raises mid-answer: the connection is cut and the
client asks again for the files whose frames were not complete (the contract's recovery).
The stream stops as soon as the client disconnects.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from anaconda_storage_core.uri import CheckpointRef, RevisionRef
from anaconda_storage_server.access import open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.blobs import Blobs
from anaconda_storage_server.content import SMALL_FILE, until_disconnect
from anaconda_storage_server.context import Context, caller, context, json_body
from anaconda_storage_server.errors import ApiError, error_object, invalid, not_found
from anaconda_storage_server.history import (
    RevisionContent,
    checkpoint_instant,
    content_at,
    current_content,
    encoded_crc32c,
    format_instant,
    revision_of,
)
from anaconda_storage_server.names import check_path, parse_checkpoint, parse_revision

MAX_FILES = 1000
DEFAULT_INLINE_LIMIT = 1_048_576
MAX_INLINE_LIMIT = 1_073_741_824
MEDIA_TYPE = "application/x-storage-files"
# Frames are joined into chunks of about this size (a chunk ends at the first frame that
# reaches it): one `send` and one thread hop per chunk instead of per file.
CHUNK_TARGET = 524288
BODY_KEYS = ("files", "checkpoint", "inline_limit")
ITEM_KEYS = ("path", "revision")


@dataclass(frozen=True)
class Wanted:
    """One requested file: its path (NFC) and the revision asked for, if any."""

    path: str
    revision: RevisionRef | None


@dataclass(frozen=True)
class ReadRequest:
    """A checked body of `POST .../read`."""

    files: list[Wanted]
    checkpoint: CheckpointRef | None
    inline_limit: int


def parse_read_request(body: dict[str, Any]) -> ReadRequest:
    """Check the body of `POST .../read`.

    Unknown keys, at the top or in an item, are refused rather than ignored: a client
    sending a field this server does not know would otherwise get an answer that silently
    ignores it.

    Raises:
        ApiError: 400 `invalid` naming the offending `field`.
    """
    for key in body:
        if key not in BODY_KEYS:
            raise invalid(f"unknown field {key!r}", field=key)
    files = body.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
        raise invalid(f"files must be a list of 1 to {MAX_FILES} files", field="files")
    wanted = [_wanted(index, item) for index, item in enumerate(files)]
    checkpoint = body.get("checkpoint")
    if checkpoint is not None and not isinstance(checkpoint, str):
        raise invalid("checkpoint must be a string", field="checkpoint")
    if checkpoint is not None and any(item.revision is not None for item in wanted):
        raise invalid("give a checkpoint or revisions, not both", field="checkpoint")
    return ReadRequest(
        files=wanted,
        checkpoint=None if checkpoint is None else parse_checkpoint(checkpoint),
        inline_limit=_inline_limit(body.get("inline_limit")),
    )


def _wanted(index: int, item: object) -> Wanted:
    where = f"files[{index}]"
    if not isinstance(item, dict):
        raise invalid(f"{where} must be an object with a path", field="files")
    for key in item:
        if key not in ITEM_KEYS:
            raise invalid(f"{where} has an unknown field {key!r}", field="files")
    path, revision = item.get("path"), item.get("revision")
    if not isinstance(path, str):
        raise invalid(f"{where}.path must be a string", field="files")
    if revision is not None and not isinstance(revision, str):
        raise invalid(f"{where}.revision must be a string", field="files")
    try:
        return Wanted(
            path=check_path(path, field="files"),
            revision=None if revision is None else parse_revision(revision),
        )
    except ApiError as exc:
        raise invalid(f"{where}: {exc.message}", field="files") from None


def _inline_limit(value: object) -> int:
    if value is None:
        return DEFAULT_INLINE_LIMIT
    # bool is an int in Python; `true` is not a number of bytes.
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid("inline_limit must be an integer", field="inline_limit")
    if not 0 <= value <= MAX_INLINE_LIMIT:
        raise invalid(f"inline_limit must be 0 to {MAX_INLINE_LIMIT}", field="inline_limit")
    return value


# What one requested file resolved to: its content, or the 404 a GET of it would answer.
Resolved = tuple[str, RevisionContent | ApiError]


def _look_up(
    connection: sqlite3.Connection, project_id: str, wanted: Wanted, instant: int | None
) -> RevisionContent | ApiError:
    """One file as a GET of it would find it (`content.read_target`), or its 404."""
    path = wanted.path
    if wanted.revision is None:
        found = (
            current_content(connection, project_id, path)
            if instant is None
            else content_at(connection, project_id, path, instant)
        )
        return found if found is not None else not_found("path", f"no file {path!r}")
    try:
        version = revision_of(connection, project_id, path, wanted.revision)
    except ApiError as exc:  # missing path or revision: the frame says which
        return exc.with_traceback(None)  # kept until answered: not with this thread's frames
    if version.deleted or version.sha256 is None:
        return not_found("path", f"{path!r} was deleted at revision {version.id}")
    return RevisionContent.of(version)


def _resolve(
    state: Context, user: Owner, owner: str, name: str, request: ReadRequest
) -> tuple[Frames, int | None, bytes]:
    """Resolve every file in one read transaction; the frames, the instant, a first chunk.

    Raises:
        ApiError: 404 for a project the caller cannot read or an unknown checkpoint.
    """
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        instant = None
        if request.checkpoint is not None:
            instant = checkpoint_instant(connection, project.id, request.checkpoint)
        resolved: list[Resolved] = [
            (wanted.path, _look_up(connection, project.id, wanted, instant))
            for wanted in request.files
        ]
    frames = Frames(state.blobs, resolved, request.inline_limit)
    # Built here, in the thread that resolved: small answers need no second hop.
    return frames, instant, frames.next_chunk()


def _header(path: str, content: RevisionContent, inline: bool) -> bytes:
    header = {
        "path": path,
        "revision": content.id,
        "size": content.size,
        "sha256": content.sha256,
        "crc32c": encoded_crc32c(content.crc32c),
        "modified": format_instant(content.created_us),
        "inline": inline,
    }
    return _line(header)


def _error(path: str, error: ApiError) -> bytes:
    # The error object of every error answer, in a frame.
    return _line({"path": path, "error": error_object(error)})


def _line(header: dict[str, Any]) -> bytes:
    # ASCII JSON escapes every newline a string holds: the first b"\n" ends the header.
    return json.dumps(header, separators=(",", ":")).encode("ascii") + b"\n"


def _gone(path: str) -> bytes:
    # The blob went (its project was purged) after the look-up: what a GET would answer now.
    return _error(path, not_found("path", f"no file {path!r}"))


class Frames:
    """The frames of one answer, built chunk by chunk in worker threads, in request order.

    Each call to `next_chunk` (blocking: it reads blobs) returns the next frames joined,
    and stops early at a large inline content, whose blob it opens and leaves in `stream`
    for the caller to send chunk by chunk before asking for the next chunk.
    """

    def __init__(self, blobs: Blobs, resolved: list[Resolved], inline_limit: int) -> None:
        self.blobs = blobs
        self.resolved = resolved
        self.inline_limit = inline_limit
        self.position = 0
        # A large inline content whose header ends the last chunk: its open blob, size, sha256.
        self.stream: tuple[Generator[bytes, None, None], int, str] | None = None

    @property
    def done(self) -> bool:
        return self.position >= len(self.resolved) and self.stream is None

    def next_chunk(self) -> bytes:
        """The next frames, about `CHUNK_TARGET` bytes (blocking)."""
        chunk = bytearray()
        while self.position < len(self.resolved) and len(chunk) < CHUNK_TARGET:
            path, found = self.resolved[self.position]
            self.position += 1
            if isinstance(found, ApiError):
                chunk += _error(path, found)
            elif found.size > self.inline_limit:
                chunk += _header(path, found, inline=False)
            elif found.size <= SMALL_FILE:
                chunk += self._small(path, found)
            else:
                try:
                    blob = self.blobs.iter_range(found.sha256, 0, found.size)
                except FileNotFoundError:
                    chunk += _gone(path)
                    continue
                chunk += _header(path, found, inline=True)
                self.stream = (blob, found.size, found.sha256)
                break
        return bytes(chunk)

    def _small(self, path: str, found: RevisionContent) -> bytes:
        try:
            data = self.blobs.read_all(found.sha256)
        except FileNotFoundError:
            return _gone(path)
        if len(data) != found.size:
            # The frame would announce bytes it does not hold and every later frame would
            # be misread: cut the answer instead (the client asks again).
            raise OSError(f"blob {found.sha256} is not of its recorded size {found.size}")
        return _header(path, found, inline=True) + data


class FramesResponse(Response):
    """The streamed answer of `POST .../read`: the frames, chunk by chunk."""

    def __init__(self, frames: Frames, first: bytes, instant: int | None) -> None:
        self.status_code = 200
        self.media_type = MEDIA_TYPE
        self.body = b""
        self.background = None
        headers = {"Content-Type": MEDIA_TYPE}
        if instant is not None:
            headers["X-Storage-Checkpoint-At"] = format_instant(instant)
        self.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        self.frames = frames
        self.first = first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if self.frames.done:  # everything fit in the first chunk: no watcher, no task
            await send({"type": "http.response.body", "body": self.first})
            return
        await until_disconnect(functools.partial(self._stream, send), receive)

    async def _stream(self, send: Send) -> None:
        chunk = self.first
        while True:
            done = self.frames.done
            await send({"type": "http.response.body", "body": chunk, "more_body": not done})
            if done:
                return
            if self.frames.stream is not None:
                await self._stream_blob(send)
            chunk = await anyio.to_thread.run_sync(self.frames.next_chunk)

    async def _stream_blob(self, send: Send) -> None:
        assert self.frames.stream is not None
        chunks, remaining, sha256 = self.frames.stream
        try:
            while remaining > 0:
                chunk = await anyio.to_thread.run_sync(next, chunks, b"")
                if not chunk:
                    raise OSError(f"blob {sha256} is shorter than its recorded size")
                remaining -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            self.frames.stream = None
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(chunks.close)


async def read_files(request: Request) -> Response:
    """`POST .../read`: many files' contents in one framed answer."""
    user = await caller(request)
    checked = parse_read_request(await json_body(request))
    state = context(request)
    params = request.path_params
    frames, instant, first = await state.run(
        _resolve, state, user, params["owner"], params["project"], checked
    )
    return FramesResponse(frames, first, instant)


PROJECT = "/api/storage/projects/{owner}/{project}"
routes = [Route(f"{PROJECT}/read", read_files, methods=["POST"])]
