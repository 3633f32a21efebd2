"""Reading many files in few requests (`POST .../read`, docs/api.md "Reading many files"),
as flows both clients run: the files grouped into requests, each answer's frames parsed as
its chunks arrive, each content checked, and a broken answer resumed.

Issue 15: the server spends about half a millisecond of CPU per request, more than a small
file's bytes cost; a thousand small files read one `GET` each cannot be faster than
fsspec's HTTP driver. Read in a few requests, they are.

The answer is one frame per file, in the order asked: a JSON header on one line, then, for
a file sent inline, exactly `size` bytes. The frames are cut out of one `bytearray` at an
offset as chunks arrive (one cut per chunk, never a copy of what is left per frame). An
answer is input like any other: a header that is not what the contract says, a path that
is not the one asked at that place, or bytes after the last frame make a `ServerError`
naming the request, never a `KeyError` three frames later.

A connection that breaks mid-answer (as `download.read_content` resumes a `GET`) loses only
the frames not yet complete: the files from the first of them on are asked again, the file
whose header arrived pinned to the revision it named, so its content is that revision's
whatever was written meanwhile.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from .. import checksum
from ..effects import Close, Flow, Read, Sleep
from ..errors import ChecksumMismatch, ServerError, StorageError, scrubbed
from ..locations import Location, project_location
from ..models import ContentInfo, FileRead
from ..operations import reading
from ..operations.call import Api, location
from ..retry import RetryPolicy, attempt, connection_error
from ..uri import InvalidURI, StorageURI
from .digest import Verify, content_check

__all__ = [
    "FILES_PER_REQUEST",
    "MAX_BODY",
    "MAX_HEADER",
    "Batch",
    "Frames",
    "InOrder",
    "ReadRoute",
    "plan",
    "read_batch",
    "unread",
]

logger = logging.getLogger("anaconda_storage_core")

MAX_BODY = 768 * 1024
"""The largest request body `plan` makes, by its upper bound (`_body_size`): the server
takes JSON bodies of up to 1 MiB (docs/api.md, "Errors", `413`)."""

FILES_PER_REQUEST = 1000
"""How many files a request carries at most (see `plan`): all the contract allows.

Chosen by measurement (1,000 files of 4 KiB from the local server, on the same 2 CPUs,
median of 7): read in one request they took 73 ms (91 ms with 20 ms of latency added per
request), in 2 of 500 at once 75 (89), in 4 of 250 87 (121), in 8 of 125 89 (105); the
client's CPU was the same within the noise, 19-23 us a file. The server resolves and
frames each request on its own, so smaller requests only add its per-request work, with
no idle CPU to hide it in. 4,000 files went in 264-283 ms whether 1, 2 or 4 requests of
1,000 ran at once, and in 299 ms as 8 of 500."""

MAX_HEADER = 64 * 1024
"""The longest header line taken: a path is at most a few KiB; more is not our server."""

# A content's size beyond which a header is not a header (the largest a signed 64-bit
# offset holds: no store holds more).
_MAX_SIZE = 2**63 - 1

_DECODER = json.JSONDecoder()

# Contents up to this size are cut out of the buffer by a slice, larger ones through a
# memoryview (one copy rather than two, slower for small ones).
_COPIED = 64 * 1024

_TEXT = (str, type(None))

_REVISION = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")  # a UUID


class ReadRoute:
    """What a client has learnt of its server's `POST .../read`: whether it is missing (an
    older server), so that a client asks only once."""

    __slots__ = ("missing",)

    def __init__(self) -> None:
        self.missing = False


@dataclass(frozen=True)
class Batch:
    """The files of one request: one project, one checkpoint (or none).

    Attributes:
        uris: The files as asked, parsed, in order.
        positions: Where each stands in the caller's order.
    """

    owner: str
    project: str
    checkpoint: str | None
    uris: list[StorageURI]
    positions: list[int]


def _file_uri(uri: Location) -> StorageURI:
    parsed = project_location(uri)
    if not parsed.path:
        raise InvalidURI(parsed.format(), "names no path in the project: write owner/project/path")
    return parsed


def plan(
    uris: Iterable[Location], *, per_request: int = FILES_PER_REQUEST, window: int = 1000
) -> Iterator[Batch]:
    """The requests that read `uris`, grouped by project and checkpoint (a file at a
    revision is read at no checkpoint), taken `window` files at a time.

    The files are read lazily, `window` at a time, so that a caller may read any number;
    each window's files of one group are split into requests of about the same size, at
    most `per_request` (and at most 1,000) each. Every request of a window comes before
    any of the next window's.

    Raises:
        InvalidURI: A URI is malformed or names no file (raised when it is reached).
    """
    per_request = max(1, min(per_request, reading.MAX_FILES))
    given = iter(uris)
    position = 0
    while True:
        files = list(itertools.islice(given, window))
        if not files:
            return
        groups: dict[tuple[str, str, str | None], tuple[list[StorageURI], list[int]]] = {}
        for uri in files:
            parsed = _file_uri(uri)
            key = (parsed.owner or "", parsed.project or "", parsed.checkpoint)
            group = groups.get(key)
            if group is None:
                group = groups[key] = ([], [])
            group[0].append(parsed)
            group[1].append(position)
            position += 1
        for (owner, project, checkpoint), (parsed_uris, positions) in groups.items():
            requests = -(-len(parsed_uris) // per_request)
            size = -(-len(parsed_uris) // requests)
            for start in range(0, len(parsed_uris), size):
                for first, end in _within_body(
                    parsed_uris, start, min(start + size, len(parsed_uris))
                ):
                    yield Batch(
                        owner,
                        project,
                        checkpoint,
                        parsed_uris[first:end],
                        positions[first:end],
                    )


def _within_body(uris: list[StorageURI], start: int, end: int) -> Iterator[tuple[int, int]]:
    """`uris[start:end]` cut into runs whose request bodies stay within `MAX_BODY`, as
    `(first, end)` index pairs (at least one file each)."""
    first, used = start, 0
    for index in range(start, end):
        size = _body_size(uris[index])
        if used + size > MAX_BODY and index > first:
            yield first, index
            first, used = index, 0
        used += size
    yield first, end


def _body_size(uri: StorageURI) -> int:
    """An upper bound of what `uri` adds to a request's JSON body: a path of 1,024
    characters is up to 12 bytes each once escaped (`"\\ud83d\\ude00"` for one astral
    character), so 1,000 of them could be 12 MB, past the server's 1 MiB limit on a JSON
    body (`413`); most paths are ASCII, at most 2 bytes each (`\\"`)."""
    path = uri.path
    return (2 if path.isascii() else 12) * len(path) + len(uri.revision or "") + 40


class InOrder:
    """Hands out the reads of batches in the caller's order, as they come in.

    Batches of one window may interleave (files of two projects, alternating); a read is
    kept only until the reads before it are in.
    """

    __slots__ = ("_held", "_next")

    def __init__(self) -> None:
        self._held: dict[int, FileRead] = {}
        self._next = 0

    def place(self, positions: Sequence[int], reads: Sequence[FileRead]) -> list[FileRead]:
        """Take reads (of a batch, or of a run of it: at `positions` of the caller's
        order); answer those now due, in order."""
        if (
            positions[0] == self._next
            and positions[-1] - positions[0] == len(positions) - 1
            and not self._held
        ):
            # The common case (one project): the batch is the next files, none waits.
            self._next += len(reads)
            return list(reads)
        held = self._held
        for position, read in zip(positions, reads, strict=True):
            held[position] = read
        due: list[FileRead] = []
        while self._next in held:
            due.append(held.pop(self._next))
            self._next += 1
        return due


def unread(uris: Iterable[StorageURI]) -> list[FileRead]:
    """The reads of files that a server without `POST .../read` did not read: the caller
    reads each on its own."""
    return [FileRead(uri, None, None, None) for uri in uris]


class Frames:
    """The frames of one answer, parsed as its chunks arrive (`feed`).

    Args:
        uris: The files asked, in order (each read's `uri`).
        target: The request's target, for messages (`alice/sales`).
        verify: How each content is checked.
        inline_limit: The largest content the request allowed inline.
        checkpoint_at: The answer's `X-Storage-Checkpoint-At`, for each `ContentInfo`.

    Attributes:
        done: The reads of the complete frames not yet taken (`take`), in order.
        header: The `ContentInfo` of the frame whose content is awaited, if any: the
            revision a resumed read of that file is pinned to.
    """

    __slots__ = (
        "_buffer",
        "_scanned",
        "_taken",
        "checkpoint_at",
        "done",
        "header",
        "inline_limit",
        "target",
        "uris",
        "verify",
    )

    def __init__(
        self,
        uris: Sequence[StorageURI],
        target: str,
        verify: Verify,
        inline_limit: int,
        checkpoint_at: datetime | None = None,
    ) -> None:
        self.uris = uris
        self.target = target
        self.verify = verify
        self.inline_limit = inline_limit
        self.checkpoint_at = checkpoint_at
        self.done: list[FileRead] = []
        self._taken = 0  # reads handed over by `take`
        self.header: ContentInfo | None = None
        self._buffer = bytearray()
        self._scanned = 0  # how far the buffer was searched for the header's newline

    @property
    def count(self) -> int:
        """How many frames are complete, taken or not."""
        return self._taken + len(self.done)

    @property
    def complete(self) -> bool:
        """Whether every frame asked for is in."""
        return self.count == len(self.uris)

    def take(self) -> list[FileRead]:
        """The reads completed since the last `take` (so that they need not be held)."""
        done, self.done = self.done, []
        self._taken += len(done)
        return done

    def feed(self, chunk: bytes) -> None:
        """Parse what `chunk` completes.

        Raises:
            ServerError: The answer is not what the contract says.
        """
        buffer = self._buffer
        buffer += chunk
        position = 0  # where the next frame's unparsed part starts
        try:
            while True:
                header = self.header
                if header is None:
                    if self.count == len(self.uris):
                        if position < len(buffer):
                            raise self._invalid("bytes follow the last frame")
                        return
                    end = buffer.find(b"\n", max(position, self._scanned))
                    if end < 0 or end - position > MAX_HEADER:
                        if len(buffer) - position > MAX_HEADER:
                            raise self._invalid(f"a header line is longer than {MAX_HEADER} bytes")
                        self._scanned = len(buffer)
                        return
                    header = self._header(buffer[position:end])
                    position = end + 1
                    if header is None:
                        continue  # a frame without content
                    self.header = header
                end = position + header.size
                if len(buffer) < end:
                    return
                if header.size <= _COPIED:
                    data = bytes(buffer[position:end])
                else:
                    with memoryview(buffer) as view:
                        data = view[position:end].tobytes()
                position = end
                self.header = None
                self.done.append(self._content(header, data))
        finally:
            # One cut per chunk: what is left moves to the front (CPython moves the start
            # of a bytearray rather than its bytes).
            del buffer[:position]
            self._scanned = max(0, self._scanned - position)

    def _invalid(self, detail: str) -> ServerError:
        frame = min(self.count + 1, len(self.uris))  # bytes after the last: the last
        return ServerError(
            f"invalid answer reading many files of {self.target}, at frame {frame}"
            f" of {len(self.uris)}: {detail}"
        )

    def _header(self, line: bytearray) -> ContentInfo | None:
        """Read a frame's header: the `ContentInfo` of the content that follows, or None
        when the frame is complete (an error, a file not sent inline)."""
        header = self._json(line)
        if type(header) is not dict:
            raise self._invalid("the header is not a JSON object")
        uri = self.uris[self.count]
        path = header.get("path")
        if path != uri.path:
            raise self._invalid(f"the header names path {path!r}, not {uri.path!r} as asked")
        error = header.get("error")
        if error is not None:
            self.done.append(FileRead(uri, None, None, self._error(error, uri)))
            return None
        revision = header.get("revision")
        size = header.get("size")
        inline = header.get("inline")
        sha256 = header.get("sha256")
        crc32c = header.get("crc32c")
        modified = header.get("modified")
        if not (type(revision) is str and _REVISION.fullmatch(revision)):
            raise self._invalid(f"the revision {revision!r} is not a revision")
        if type(size) is not int or not 0 <= size <= _MAX_SIZE:
            raise self._invalid(f"the size {size!r} is not a size")
        if type(inline) is not bool:
            raise self._invalid(f"inline is {inline!r}, not true or false")
        if inline and size > self.inline_limit:
            raise self._invalid(f"{size} bytes inline, over the inline limit asked")
        if not (type(sha256) in _TEXT and type(crc32c) in _TEXT and type(modified) in _TEXT):
            raise self._invalid("sha256, crc32c and modified are strings, if present")
        info = ContentInfo(
            size=size,
            revision=revision,
            sha256=sha256,
            last_modified=modified,
            length=size if inline else 0,
            checkpoint_at=self.checkpoint_at,
            crc32c=crc32c,
        )
        if inline:
            return info
        self.done.append(FileRead(uri, info, None, None))
        return None

    def _json(self, line: bytearray) -> Any:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise self._invalid("the header is not UTF-8") from None
        # `raw_decode` skips what `json.loads` checks of bytes (their encoding) and of the
        # whitespace around the value: about 1 us a header rather than 5.
        try:
            value, end = _DECODER.raw_decode(text)
        except (ValueError, RecursionError):  # RecursionError: nested absurdly deep
            value, end = None, -1
        if end != len(text):  # whitespace around the value, or not JSON at all
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                raise self._invalid("the header is not JSON") from None
        return value

    def _error(self, error: Any, uri: StorageURI) -> StorageError:
        if not (
            type(error) is dict
            and type(error.get("code")) is str
            and type(error.get("message", "")) is str
        ):
            raise self._invalid(f"the error {error!r} is not an error object")
        return reading.file_error(error, _file_target(uri))

    def _content(self, info: ContentInfo, data: bytes) -> FileRead:
        uri = self.uris[self.count]
        verify = self.verify
        if (
            info.crc32c is not None
            and (verify is True or verify == "crc32c")
            and info.crc32c == checksum.encode(checksum.crc32c(data))
        ):
            return FileRead(uri, info, data, None)  # the common case: one CRC, one compare
        check = content_check(verify, info.crc32c, info.sha256)
        if check is not None:
            check.update(data)
            try:
                check.verify(f"reading {_file_target(uri)}")
            except ChecksumMismatch as mismatch:
                return FileRead(uri, None, None, mismatch)
        return FileRead(uri, info, data, None)


def _file_target(uri: StorageURI) -> str:
    return location(
        uri.owner or "",
        uri.project or "",
        uri.path,
        checkpoint=uri.checkpoint,
        revision=uri.revision,
    )


def read_batch(
    api: Api,
    policy: RetryPolicy,
    batch: Batch,
    route: ReadRoute,
    *,
    verify: Verify = True,
    inline_limit: int = 1024 * 1024,
    deliver: Callable[[list[FileRead]], object] | None = None,
) -> Flow[list[FileRead]]:
    """Read the files of one batch: one request, and more only if its answer breaks.

    Args:
        route: Whether the server has `POST .../read`; set when it answers it has not.
        verify: How each content is checked (`digest.Verify`); a content that fails its
            check is that file's `ChecksumMismatch`, not the batch's.
        inline_limit: The largest content sent in the answer.
        deliver: Given the reads as their frames complete (each chunk's, in order), rather
            than all at the end: the caller hands them out while the rest arrive, and none
            is held here.

    Returns:
        One read per file, in the batch's order: without `info` and `data` for all of
        them from a server without the route. Empty with `deliver` (every read went to it).

    Raises:
        StorageError: The request's typed error (`NotFound` for the project or the
            checkpoint, `InvalidRequest`, `ServerError` once retries are spent, or for an
            answer that breaks the contract).
        StorageConnectionError: The answer kept breaking, `policy.attempts` times.
    """
    uris = batch.uris
    reads: list[FileRead] = []

    def keep(new: list[FileRead]) -> None:
        if deliver is None:
            reads.extend(new)
        elif new:
            deliver(new)

    if route.missing:
        keep(unread(uris))
        return reads
    count = 0  # the files of the batch complete, kept or delivered
    pin: str | None = None  # the revision the first file not read is pinned to
    checkpoint_at: datetime | None = None
    breaks = 0
    while count < len(uris):
        first = count
        checkpoint = batch.checkpoint
        if pin is not None and checkpoint is not None:
            # A revision and a checkpoint do not go together: the pinned file alone first.
            wanted = [reading.WantedFile(uris[first].path, pin)]
            checkpoint = None
        else:
            wanted = [reading.WantedFile(uri.path, uri.revision) for uri in uris[first:]]
            if pin is not None:
                wanted[0] = reading.WantedFile(uris[first].path, pin)
        call = reading.read_files(
            api,
            batch.owner,
            batch.project,
            wanted,
            checkpoint=checkpoint,
            inline_limit=inline_limit,
        )
        response: httpx.Response = yield from attempt(call, policy)
        answer = call.parse(response)  # raises the typed error of an error answer
        if answer is None:
            route.missing = True
            logger.info("the server cannot read many files at once: reading them one by one")
            keep(unread(uris[first:]))
            return reads
        checkpoint_at = answer.checkpoint_at or checkpoint_at
        frames = Frames(
            uris[first : first + len(wanted)], call.target, verify, inline_limit, checkpoint_at
        )
        try:
            while chunk := (yield Read(response)):
                frames.feed(chunk)
                if deliver is not None and frames.done:
                    deliver(frames.take())
            if not frames.complete:
                raise httpx.RemoteProtocolError("the answer ended before its last frame")
        except httpx.TransportError as exc:
            yield Close(response)
            keep(frames.take())
            count += frames.count
            if not frames.complete:
                if frames.count or frames.header is not None:
                    pin = frames.header.revision if frames.header is not None else None
                breaks += 1
                if breaks >= policy.attempts:
                    raise connection_error(call.request, exc) from scrubbed(exc)
                logger.info(
                    "resuming reading many files of %s at file %d of %d after %s",
                    call.target,
                    count + 1,
                    len(uris),
                    type(exc).__name__,
                )
                yield Sleep(policy.delay(breaks - 1))
                continue
            # Broken once every frame was in: nothing is lost.
        except StorageError:  # an answer that breaks the contract
            yield Close(response)
            raise
        else:
            yield Close(response)
            keep(frames.take())
            count += frames.count
        pin = None
    return reads
