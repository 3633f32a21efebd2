"""Writing a file: one streamed `PUT`, or a multipart upload that can be resumed, as flows
(see `effects.py`) that both clients run.

A source up to `multipart_threshold` bytes goes in one `PUT`; from memory, with its
checksum, which the server checks before keeping anything; from a file, streamed, its
checksum computed on the way and compared with what the server received. A larger one goes
in parts of `part_size` bytes (more when 10,000 parts would not hold it), `concurrency` at
a time, each part streamed from the file (a file is never held in memory) and checked the
same way; completion lists every part with its sha256. The checksum is CRC32C by default
(`X-Storage-Crc32c`, at wire speed), sha256 with `verify="sha256"`, none with
`verify=False` (`UploadSettings.verify`, `digest.Verify`).

Resuming: uploading a local file (a path, or a seekable binary file) first looks for a
session in progress for the same path (`GET uploads?path=`); when there is one, the parts
it holds whose size and sha256 match the local file's parts are kept, and only the others
are sent. Nothing aborts such a session: an upload interrupted in any way leaves what the
server saved for the next run (`resume.py`).

A one-shot source (an iterator or an async iterable of bytes, a non-seekable file) cannot
be read twice, so it is never resumed. It is read up to the threshold first: one that ends
there is sent in one `PUT` from memory, with its sha256, so that the server checks it and
a retry can send it again (a chunked `PUT` of unknown length could be neither). A longer
one is sent in parts, each read when the one before it is sent (for an async iterable,
while it is sent: two parts at most in memory), and a session that fails is aborted (it
could not be resumed). What a source can be, and how each kind is read (an async iterable
or an async file only by the asyncio runner), is in `sources.py`.

The completion of a multipart upload is retried like a `PUT`: the first completion
consumes the session, so a second cannot make a second revision; it answers `404
missing=upload` instead, which `settle.settle_write` checks against the file's history,
as it does a `412` after a conditional `PUT` whose answer was lost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from .. import checksum
from ..effects import Flow, Gather
from ..errors import ChecksumMismatch, StorageError
from ..locations import FileLocation
from ..models import FileInfo, Upload, UploadPart
from ..operations.call import Api
from ..operations.files import put_file
from ..operations.uploads import (
    MAX_PARTS,
    abort_upload,
    complete_upload,
    create_upload,
    put_part,
)
from ..retry import RetryPolicy, Settle, send
from ..settle import settle_write
from .digest import Sha256, Verify, check_verify
from .resume import MultipartUpload, kept_parts, session_to_resume
from .sources import LocalFile, Progress, Source, Stream, classify

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MULTIPART_THRESHOLD",
    "DEFAULT_PART_SIZE",
    "MIN_PART_SIZE",
    "MultipartUpload",
    "OnMultipart",
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

# A local file of at most this many bytes is read whole and sent as bytes (see `upload`);
# a larger one is streamed from disk, read once as it is sent.
SMALL_FILE = 1024 * 1024


@dataclass(frozen=True)
class UploadSettings:
    """How uploads are cut.

    Attributes:
        part_size: Bytes per part of a multipart upload (at least 5 MiB).
        multipart_threshold: Sources larger than this go in parts (and can be resumed).
        concurrency: How many parts of one upload are sent at once.
        resume: Whether an upload of a local file continues a session left by an earlier,
            interrupted one.
        verify: How what the server received is checked (`digest.Verify`): by CRC32C
            (default), sha256, or not at all.
    """

    part_size: int = DEFAULT_PART_SIZE
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD
    concurrency: int = DEFAULT_CONCURRENCY
    resume: bool = True
    verify: Verify = True

    def __post_init__(self) -> None:
        if self.part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size is at least {MIN_PART_SIZE} bytes (5 MiB)")
        if self.multipart_threshold < 0:
            raise ValueError("multipart_threshold cannot be negative")
        if self.concurrency < 1:
            raise ValueError("concurrency is at least 1")
        check_verify(self.verify)

    @property
    def digest(self) -> str | None:
        """What a sent body's checksum is: `"crc32c"`, `"sha256"`, or None."""
        return _digest(self.verify)


def _digest(verify: Verify) -> str | None:
    if verify is False:
        return None
    return "sha256" if verify == "sha256" else "crc32c"


OnMultipart = Callable[[MultipartUpload], None]
"""Told, once a local file's multipart upload has its session (new or resumed), the
`MultipartUpload` that the upload keeps current."""


class _Conditions(NamedTuple):
    if_match: str | None
    if_none_match: str | None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _crc32c(data: bytes) -> str:
    return checksum.encode(checksum.crc32c(data))


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
    on_multipart: OnMultipart | None = None,
) -> Flow[FileInfo]:
    """Upload `source` to `where` (one PUT, or a resumable multipart upload).

    Args:
        where: The destination file (not at a revision or checkpoint: checked before).
        source: bytes, a local path, a binary file (from its current position), an
            iterable of bytes, or (run by the asyncio runner only) an async iterable of
            bytes or an async binary file.
        settings: Part size, multipart threshold, concurrency, resume.
        if_match: Write only if this is the file's current revision.
        if_none_match: `*`: write only if the path holds no live file.
        progress: Called with the number of bytes of each chunk sent (and, resuming, of
            each part already on the server).
        on_multipart: Called when a local file goes in parts, once its session is known,
            with the `MultipartUpload` kept current while it runs (what a caller shows
            when it resumes, or is interrupted).

    Returns:
        The new revision's `FileInfo`.

    Raises:
        PreconditionFailed: A condition does not hold.
        ChecksumMismatch: The server received other bytes than those sent.
        StorageError: The typed error of an error answer.
        TypeError: The source is none of the above; or an async one, run by the blocking
            runner (before anything is sent).
    """
    data = classify(source)
    conditions = _Conditions(if_match, if_none_match)
    if isinstance(data, bytes):
        if len(data) <= settings.multipart_threshold:
            return (
                yield from _put_bytes(
                    api, policy, where, data, conditions, progress, settings.verify
                )
            )
        local = LocalFile(io.BytesIO(data), 0, len(data))
        return (
            yield from _multipart_local(
                api, policy, where, local, settings, conditions, progress, None, resume=False
            )
        )
    if isinstance(data, LocalFile):
        if data.size <= min(SMALL_FILE, settings.multipart_threshold):
            # Read at once and sent as bytes, its CRC32C in a header: one read, and none of
            # a streamed body's machinery (about 60 of the 820 Python calls of a small PUT).
            whole = data.read()
            return (
                yield from _put_bytes(
                    api, policy, where, whole, conditions, progress, settings.verify
                )
            )
        if data.size <= settings.multipart_threshold:
            return (
                yield from _put_file(
                    api, policy, where, data, conditions, progress, settings.digest
                )
            )
        return (
            yield from _multipart_local(
                api,
                policy,
                where,
                data,
                settings,
                conditions,
                progress,
                on_multipart,
                resume=settings.resume,
            )
        )
    # A one-shot source: read up to the threshold to learn whether it needs parts at all.
    yield from data.fill(settings.multipart_threshold + 1)
    if data.held <= settings.multipart_threshold:
        whole = data.take(data.held)
        return (
            yield from _put_bytes(api, policy, where, whole, conditions, progress, settings.verify)
        )
    return (yield from _multipart_stream(api, policy, where, data, settings, conditions, progress))


def _settle(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    conditions: _Conditions,
    sha256: Callable[[], str | None],
) -> Settle[FileInfo]:
    """How to tell a lost success from a failure, should the write be sent again."""
    return settle_write(
        api,
        policy,
        where.owner,
        where.project,
        where.path,
        sha256,
        if_match=conditions.if_match,
        if_none_match=conditions.if_none_match,
    )


def _put_bytes(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    data: bytes,
    conditions: _Conditions,
    progress: Progress | None,
    verify: Verify,
) -> Flow[FileInfo]:
    # The checksum goes in a header: the server checks it before keeping anything. The
    # sha256 that settles a lost answer is computed only should one be lost.
    digest = _digest(verify)
    sha256 = _sha256(data) if digest == "sha256" else None
    crc32c = _crc32c(data) if digest == "crc32c" else None
    call = put_file(
        api,
        where.owner,
        where.project,
        where.path,
        content=data,
        sha256=sha256,
        crc32c=crc32c,
        if_match=conditions.if_match,
        if_none_match=conditions.if_none_match,
    )
    settle = _settle(api, policy, where, conditions, lambda: sha256 or _sha256(data))
    info: FileInfo = yield from send(call, policy, settle)
    # The server checked the header before keeping anything; its answer is compared too,
    # for a server that reads no such header.
    _compare_stored(where, info, sha256, crc32c)
    if progress:
        progress(len(data))
    return info


def _put_file(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    local: LocalFile,
    conditions: _Conditions,
    progress: Progress | None,
    digest: str | None,
) -> Flow[FileInfo]:
    # The checksum is computed while the file is sent (reading it twice to send a header
    # first would cost a second read of the file), and the server's is compared with it
    # afterwards.
    body = local.slice(0, local.size, progress, digest)
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
    # The body's sha256 is that of its last complete send: a retry answered before it was
    # all sent (a 412 may come early) leaves none, and the file is read again for it.
    settle = _settle(
        api, policy, where, conditions, lambda: body.sha256 or local.sha256(0, local.size)
    )
    info: FileInfo = yield from send(call, policy, settle)
    _compare_stored(where, info, body.sha256, body.crc32c)
    return info


def _compare_stored(
    where: FileLocation, info: FileInfo, sha256: str | None, crc32c: str | None
) -> None:
    """Compare the digest of what was sent (the sha256 if computed, else the CRC32C) with
    what the server says it stored.

    Raises:
        ChecksumMismatch: They differ.
    """
    name, sent, stored = (
        ("sha256", sha256, info.sha256) if sha256 is not None else ("CRC32C", crc32c, info.crc32c)
    )
    # A server that answers no CRC32C (an older one) leaves the CRC unchecked.
    if sent is not None and stored is not None and sent != stored:
        raise ChecksumMismatch(
            f"checksum mismatch uploading {where.owner}/{where.project}/{where.path}: sent"
            f" {name} {sent}, the server stored {stored} as revision {info.revision}",
            expected=sent,
            actual=stored,
        )


def _checked(
    part: UploadPart,
    number: int,
    length: int,
    sha256: str | None,
    what: str,
    crc32c: str | None = None,
) -> UploadPart:
    name, sent, received = (
        ("sha256", sha256, part.sha256) if sha256 is not None else ("CRC32C", crc32c, part.crc32c)
    )
    if part.size != length or (sent is not None and received is not None and received != sent):
        raise ChecksumMismatch(
            f"checksum mismatch uploading {what} part {number}: sent {length} bytes with {name}"
            f" {sent}, the server received {part.size} bytes with {name} {received}",
            expected=sent,
            actual=received,
        )
    return part


def _send_slice(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    upload_id: str,
    local: LocalFile,
    part: tuple[int, int, int],
    progress: Progress | None,
    state: MultipartUpload,
    digest: str | None,
) -> Flow[UploadPart]:
    number, start, length = part
    body = local.slice(start, length, progress, digest)
    call = put_part(api, where.owner, where.project, upload_id, number, stream=body, length=length)
    received: UploadPart = yield from send(call, policy)
    checked = _checked(received, number, length, body.sha256, where.path, body.crc32c)
    state.saved(checked)
    return checked


def send_part(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    upload_id: str,
    number: int,
    data: bytes,
    progress: Progress | None = None,
    verify: Verify = True,
) -> Flow[UploadPart]:
    """Send part `number` of session `upload_id` from bytes, with its checksum (CRC32C, or
    sha256 with `verify="sha256"`, none with `verify=False`), which the server checks."""
    digest = _digest(verify)
    sha256 = _sha256(data) if digest == "sha256" else None
    crc32c = _crc32c(data) if digest == "crc32c" else None
    call = put_part(
        api,
        where.owner,
        where.project,
        upload_id,
        number,
        content=data,
        sha256=sha256,
        crc32c=crc32c,
    )
    received: UploadPart = yield from send(call, policy)
    if progress:
        progress(len(data))
    return _checked(received, number, len(data), sha256, where.path, crc32c)


def _complete(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    upload_id: str,
    parts: list[UploadPart],
    conditions: _Conditions,
    sha256: Callable[[], str | None],
) -> Flow[FileInfo]:
    # Retried, unlike the bare call: a completion sent again after the first consumed the
    # session answers 404 (never a second revision), which `settle_write` checks.
    call = complete_upload(api, where.owner, where.project, upload_id, parts)
    call = dataclasses.replace(call, idempotent=True)
    info: FileInfo = yield from send(call, policy, _settle(api, policy, where, conditions, sha256))
    return info


def _multipart_local(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    local: LocalFile,
    settings: UploadSettings,
    conditions: _Conditions,
    progress: Progress | None,
    on_multipart: OnMultipart | None,
    *,
    resume: bool,
) -> Flow[FileInfo]:
    """A local file in parts. Nothing here aborts the session: however this ends short of
    completion (an error, an interruption), what the server saved is kept for a re-run to
    resume (see `resume.py`)."""
    parts = _parts(local.size, settings.part_size)
    kept: dict[int, UploadPart] = {}
    session: Upload | None = None
    # A session carries the conditions it was created with; one created under other
    # conditions must not be completed in this upload's name, so conditions start afresh.
    if resume and not conditions.if_match and not conditions.if_none_match:
        session = yield from session_to_resume(api, policy, where)
    if session is not None:
        kept = kept_parts(session, local, parts, progress)
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
    state = MultipartUpload(
        upload_id,
        where.path,
        local.size,
        len(parts),
        kept=sum(part.size for part in kept.values()),
        kept_parts=len(kept),
        resumed=bool(kept),
    )
    if on_multipart:
        on_multipart(state)
    missing = [part for part in parts if part[0] not in kept]
    sent: list[UploadPart] = yield Gather(
        (
            _send_slice(
                api, policy, where, upload_id, local, part, progress, state, settings.digest
            )
            for part in missing
        ),
        limit=settings.concurrency,
    )
    for part in sent:
        kept[part.number] = part
    listed = [kept[number] for number, _, _ in parts]
    # The whole file's sha256 is read again only to settle a completion whose answer was
    # lost (rare): the parts were checked one by one.
    return (
        yield from _complete(
            api, policy, where, upload_id, listed, conditions, lambda: local.sha256(0, local.size)
        )
    )


def _abort(api: Api, policy: RetryPolicy, where: FileLocation, upload_id: str) -> Flow[None]:
    """Discard a session that cannot be completed, as far as the server can be reached."""
    try:
        yield from send(abort_upload(api, where.owner, where.project, upload_id), policy)
    except StorageError as exc:  # gone already, or unreachable: it expires on its own
        logger.info("could not abort the upload session %s of %s: %s", upload_id, where.path, exc)


def _multipart_stream(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    stream: Stream,
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
    # The whole content's sha256, computed on the way (a one-shot source cannot be read
    # again): the completed revision is checked against it, and a completion whose answer
    # was lost is settled with it.
    whole = Sha256()
    try:
        sent = yield from _stream_parts(
            api, policy, where, session.id, stream, settings, whole, progress
        )
        sha256 = whole.hexdigest()
        info = yield from _complete(
            api, policy, where, session.id, sent, conditions, lambda: sha256
        )
    except Exception:
        # Nothing can resume a session of a one-shot source: discard it and its parts. (A
        # flow closed from outside, by a cancelled task, leaves it to expire.)
        yield from _abort(api, policy, where, session.id)
        raise
    finally:
        whole.close()  # its thread, when the parts did not all go (else a no-op)
    if info.sha256 != sha256:
        raise ChecksumMismatch(
            f"checksum mismatch uploading {where.owner}/{where.project}/{where.path}: sent"
            f" sha256 {sha256}, the server stored {info.sha256} as revision {info.revision}",
            expected=sha256,
            actual=info.sha256,
        )
    return info


def _stream_parts(
    api: Api,
    policy: RetryPolicy,
    where: FileLocation,
    upload_id: str,
    stream: Stream,
    settings: UploadSettings,
    whole: Sha256,
    progress: Progress | None,
) -> Flow[list[UploadPart]]:
    """Send `stream` as parts of `settings.part_size`, in order, one read at a time.

    A sync iterator's next part is read once the part before it is sent, in the caller's
    thread: memory holds one part. An async iterator's is read while the part before it
    is sent (`Gather` of the two, on the event loop, so from one of the runner's tasks,
    never two at once): two parts at most.
    """
    overlap = 2 if stream.pulls else 1
    sent: list[UploadPart] = []
    data = yield from stream.read(settings.part_size)
    while data:
        number = len(sent) + 1
        if number > MAX_PARTS:
            raise ValueError(
                f"the source needs more than {MAX_PARTS} parts of {settings.part_size}"
                " bytes: raise part_size"
            )
        whole.update(data)
        part = send_part(api, policy, where, upload_id, number, data, progress, settings.verify)
        data = b""  # now held by the part's flow alone, released once it is sent
        received, data = yield Gather([part, stream.read(settings.part_size)], limit=overlap)
        sent.append(received)
    return sent
