"""Writing a file: one streamed `PUT`, or a multipart upload that can be resumed, as flows
(see `effects.py`) that both clients run.

A source up to `multipart_threshold` bytes goes in one `PUT` with its sha256, which the
server checks before keeping anything. A larger one goes in parts of `part_size` bytes
(more when 10,000 parts would not hold it), `concurrency` at a time, each part streamed
from the file (a file is never held in memory) and its sha256 computed on the way and
compared with what the server received; completion lists every part with its sha256.

Resuming: uploading a local file (a path, or a seekable binary file) first looks for a
session in progress for the same path (`GET uploads?path=`); when there is one, the parts
it holds whose size and sha256 match the local file's parts are kept, and only the others
are sent. A source read from an iterator cannot be read twice, so it is never resumed,
and it is sent one part at a time so that memory holds one part whatever its size.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple, TypeAlias

from ..effects import Flow, Gather
from ..errors import ChecksumMismatch
from ..locations import FileLocation
from ..models import FileInfo, Upload, UploadPart
from ..operations.call import Api
from ..operations.files import put_file
from ..operations.uploads import (
    MAX_PARTS,
    complete_upload,
    create_upload,
    get_upload,
    list_uploads,
    put_part,
)
from ..retry import RetryPolicy, send
from .bodies import CHUNK_SIZE, FileSlice, sha256_of

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MULTIPART_THRESHOLD",
    "DEFAULT_PART_SIZE",
    "MIN_PART_SIZE",
    "Source",
    "UploadSettings",
    "send_part",
    "upload",
]

logger = logging.getLogger("anaconda_storage_core")

MIN_PART_SIZE = 5 * 1024 * 1024
"""The smallest part a client uses (docs/api.md: "clients use parts of at least 5 MiB")."""
DEFAULT_PART_SIZE = 16 * 1024 * 1024
DEFAULT_MULTIPART_THRESHOLD = 64 * 1024 * 1024
DEFAULT_CONCURRENCY = 4

Source: TypeAlias = (
    bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes] | Iterable[bytes]
)
"""What can be uploaded: bytes, a local path, a binary file, or an iterable of bytes."""

Progress = Callable[[int], None]


@dataclass(frozen=True)
class UploadSettings:
    """How uploads are cut.

    Attributes:
        part_size: Bytes per part of a multipart upload (at least 5 MiB).
        multipart_threshold: Sources larger than this go in parts (and can be resumed).
        concurrency: How many parts of one upload are sent at once.
        resume: Whether an upload of a local file continues a session left by an earlier,
            interrupted one.
    """

    part_size: int = DEFAULT_PART_SIZE
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD
    concurrency: int = DEFAULT_CONCURRENCY
    resume: bool = True

    def __post_init__(self) -> None:
        if self.part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size is at least {MIN_PART_SIZE} bytes (5 MiB)")
        if self.multipart_threshold < 0:
            raise ValueError("multipart_threshold cannot be negative")
        if self.concurrency < 1:
            raise ValueError("concurrency is at least 1")


class _Conditions(NamedTuple):
    if_match: str | None
    if_none_match: str | None


@dataclass
class _LocalFile:
    """A seekable local source: a path, or an open binary file from its current position."""

    source: str | os.PathLike[str] | IO[bytes]
    offset: int
    size: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def slice(self, start: int, length: int, progress: Progress | None = None) -> FileSlice:
        return FileSlice(
            self.source, self.offset + start, length, progress=progress, lock=self.lock
        )

    def sha256(self, start: int, length: int) -> str:
        return sha256_of(self.source, self.offset + start, length, lock=self.lock)


def _classify(source: Source) -> bytes | _LocalFile | Iterator[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        return _LocalFile(source, 0, os.path.getsize(source))
    read = getattr(source, "read", None)
    if read is not None:
        file: Any = source
        seekable = getattr(file, "seekable", None)
        if seekable is not None and seekable():
            offset = file.tell()
            size = file.seek(0, io.SEEK_END) - offset
            file.seek(offset)
            return _LocalFile(file, offset, size)
        return iter(lambda: read(CHUNK_SIZE), b"")
    if isinstance(source, Iterable):
        return iter(source)
    raise TypeError(
        f"cannot upload a {type(source).__name__}: give bytes, a path, a binary file or an"
        " iterable of bytes"
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parts(size: int, part_size: int) -> list[tuple[int, int, int]]:
    """`(number, start, length)` of each part of `size` bytes."""
    part_size = max(part_size, math.ceil(size / MAX_PARTS))
    count = max(1, math.ceil(size / part_size))
    return [(n + 1, n * part_size, min(part_size, size - n * part_size)) for n in range(count)]


def upload(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    source: Source,
    settings: UploadSettings,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    progress: Progress | None = None,
) -> Flow[FileInfo]:
    """Upload `source` to `where` (one PUT, or a resumable multipart upload).

    Args:
        where: The destination file (not at a revision or checkpoint: checked before).
        source: bytes, a local path, a binary file (from its current position), or an
            iterable of bytes.
        settings: Part size, multipart threshold, concurrency, resume.
        if_match: Write only if this is the file's current revision.
        if_none_match: `*`: write only if the path holds no live file.
        progress: Called with the number of bytes of each chunk sent.

    Returns:
        The new revision's `FileInfo`.

    Raises:
        PreconditionFailed: A condition does not hold.
        ChecksumMismatch: The server received other bytes than those sent.
        StorageError: The typed error of an error answer.
    """
    data = _classify(source)
    conditions = _Conditions(if_match, if_none_match)
    if isinstance(data, bytes):
        if len(data) <= settings.multipart_threshold:
            return (yield from _put_bytes(api, policy, where, data, conditions, progress))
        local = _LocalFile(io.BytesIO(data), 0, len(data))
        return (
            yield from _multipart_local(
                api, policy, where, local, settings, conditions, progress, resume=False
            )
        )
    if isinstance(data, _LocalFile):
        if data.size <= settings.multipart_threshold:
            return (yield from _put_file(api, policy, where, data, conditions, progress))
        return (
            yield from _multipart_local(
                api, policy, where, data, settings, conditions, progress, resume=settings.resume
            )
        )
    # An iterator: read up to the threshold to learn whether it needs parts at all.
    head: list[bytes] = []
    size = 0
    for chunk in data:
        head.append(bytes(chunk))
        size += len(chunk)
        if size > settings.multipart_threshold:
            break
    else:
        return (yield from _put_bytes(api, policy, where, b"".join(head), conditions, progress))
    return (
        yield from _multipart_stream(
            api, policy, where, _chain(head, data), settings, conditions, progress
        )
    )


def _chain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    while head:
        yield head.pop(0)
    yield from rest


def _put_bytes(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    data: bytes,
    conditions: _Conditions,
    progress: Progress | None,
) -> Flow[FileInfo]:
    call = put_file(
        api,
        where.owner,
        where.project,
        where.path,
        content=data,
        sha256=_sha256(data),
        if_match=conditions.if_match,
        if_none_match=conditions.if_none_match,
    )
    info: FileInfo = yield from send(call, policy)
    if progress:
        progress(len(data))
    return info


def _put_file(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    local: _LocalFile,
    conditions: _Conditions,
    progress: Progress | None,
) -> Flow[FileInfo]:
    # The sha256 is computed while the file is sent (reading it twice to send the header
    # first would halve the throughput where hashing is slower than the network), and the
    # server's is compared with it afterwards.
    body = local.slice(0, local.size, progress)
    call = put_file(
        api,
        where.owner,
        where.project,
        where.path,
        stream=body,
        length=local.size,
        if_match=conditions.if_match,
        if_none_match=conditions.if_none_match,
    )
    info: FileInfo = yield from send(call, policy)
    if body.sha256 is not None and info.sha256 != body.sha256:
        raise ChecksumMismatch(
            f"checksum mismatch uploading {where.owner}/{where.project}/{where.path}: sent"
            f" sha256 {body.sha256}, the server stored {info.sha256} as revision {info.revision}",
            expected=body.sha256,
            actual=info.sha256,
        )
    return info


def _checked(
    part: UploadPart, number: int, length: int, sha256: str | None, what: str
) -> UploadPart:
    if part.size != length or (sha256 is not None and part.sha256 != sha256):
        raise ChecksumMismatch(
            f"checksum mismatch uploading {what} part {number}: sent {length} bytes with sha256"
            f" {sha256}, the server received {part.size} bytes with sha256 {part.sha256}",
            expected=sha256,
            actual=part.sha256,
        )
    return part


def _send_slice(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    upload_id: str,
    local: _LocalFile,
    part: tuple[int, int, int],
    progress: Progress | None,
) -> Flow[UploadPart]:
    number, start, length = part
    body = local.slice(start, length, progress)
    call = put_part(api, where.owner, where.project, upload_id, number, stream=body, length=length)
    received: UploadPart = yield from send(call, policy)
    return _checked(received, number, length, body.sha256, where.path)


def send_part(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    upload_id: str,
    number: int,
    data: bytes,
    progress: Progress | None = None,
) -> Flow[UploadPart]:
    """Send part `number` of session `upload_id` from bytes, with its sha256, and check
    what the server received."""
    sha256 = _sha256(data)
    call = put_part(api, where.owner, where.project, upload_id, number, content=data, sha256=sha256)
    received: UploadPart = yield from send(call, policy)
    if progress:
        progress(len(data))
    return _checked(received, number, len(data), sha256, where.path)


def _session_to_resume(api: Api, policy: RetryPolicy, where: FileLocation) -> Flow[Upload | None]:
    """The newest session in progress for the path, with its parts, if any."""
    page = yield from send(
        list_uploads(api, where.owner, where.project, path=where.path, limit=10), policy
    )
    for session in page.items:
        if session.path == where.path:
            return (
                yield from send(get_upload(api, where.owner, where.project, session.id), policy)
            )
    return None


def _multipart_local(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    local: _LocalFile,
    settings: UploadSettings,
    conditions: _Conditions,
    progress: Progress | None,
    *,
    resume: bool,
) -> Flow[FileInfo]:
    parts = _parts(local.size, settings.part_size)
    kept: dict[int, UploadPart] = {}
    session: Upload | None = None
    # A session carries the conditions it was created with; one created under other
    # conditions must not be completed in this upload's name, so conditions start afresh.
    if resume and not conditions.if_match and not conditions.if_none_match:
        session = yield from _session_to_resume(api, policy, where)
    if session is not None:
        layout = {number: (start, length) for number, start, length in parts}
        for held in session.parts:
            start, length = layout.get(held.number, (0, -1))
            if held.size == length and held.sha256 == local.sha256(start, length):
                kept[held.number] = held
                if progress:
                    progress(length)
        logger.info(
            "resuming the upload of %s: %d of %d parts already sent",
            where.path,
            len(kept),
            len(parts),
        )
    else:
        session = yield from send(
            create_upload(
                api,
                where.owner,
                where.project,
                where.path,
                if_match=conditions.if_match,
                if_none_match=conditions.if_none_match,
            ),
            policy,
        )
    assert session is not None
    upload_id = session.id
    missing = [part for part in parts if part[0] not in kept]
    sent: list[UploadPart] = yield Gather(
        (_send_slice(api, policy, where, upload_id, local, part, progress) for part in missing),
        limit=settings.concurrency,
    )
    for part in sent:
        kept[part.number] = part
    listed = [kept[number] for number, _, _ in parts]
    call = complete_upload(api, where.owner, where.project, upload_id, listed)
    return (yield from send(call, policy))


def _rechunk(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The bytes of `chunks` regrouped in pieces of `size` (the last may be shorter)."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        while held >= size:
            joined = b"".join(pending)
            yield joined[:size]
            rest = joined[size:]
            pending = [rest] if rest else []
            held = len(rest)
    if held:
        yield b"".join(pending)


def _multipart_stream(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    chunks: Iterator[bytes],
    settings: UploadSettings,
    conditions: _Conditions,
    progress: Progress | None,
) -> Flow[FileInfo]:
    session: Upload = yield from send(
        create_upload(
            api,
            where.owner,
            where.project,
            where.path,
            if_match=conditions.if_match,
            if_none_match=conditions.if_none_match,
        ),
        policy,
    )

    def part_flows() -> Iterator[Flow[UploadPart]]:
        for index, data in enumerate(_rechunk(chunks, settings.part_size)):
            if index >= MAX_PARTS:
                raise ValueError(
                    f"the source needs more than {MAX_PARTS} parts of {settings.part_size}"
                    " bytes: raise part_size"
                )
            yield send_part(api, policy, where, session.id, index + 1, data, progress)

    # One part at a time: each flow holds its part's bytes, read from the iterator only
    # when the part before it is done.
    sent: list[UploadPart] = yield Gather(part_flows(), limit=1)
    call = complete_upload(api, where.owner, where.project, session.id, sent)
    return (yield from send(call, policy))
