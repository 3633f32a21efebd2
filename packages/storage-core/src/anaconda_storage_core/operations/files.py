"""Files: metadata (`/meta`), history (`/revisions`) and content (`/files`) of a path."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import httpx

from ..errors import raise_for_response
from ..models import ContentInfo, Entry, FileInfo, Page, Revision, entry_from_json, parse_timestamp
from ..received import lowered
from .call import Api, Call, location, parse_json, parse_nothing, project_route, quote_path

__all__ = [
    "byte_range",
    "delete_file",
    "get_content",
    "get_file_info",
    "head_content",
    "list_revisions",
    "put_file",
    "quote_etag",
    "read_content_info",
    "update_file",
]


def _route(owner: str, project: str, kind: str, path: str) -> str:
    return f"{project_route(owner, project)}/{kind}/{quote_path(path)}"


def _target(
    owner: str, project: str, path: str, revision: str | None = None, checkpoint: str | None = None
) -> str:
    return location(owner, project, path, checkpoint=checkpoint, revision=revision)


def _history(revision: str | None, checkpoint: str | None) -> dict[str, str | None] | None:
    if revision is None and checkpoint is None:  # the most common: no query to build
        return None
    return {"revision": revision, "checkpoint": checkpoint}


def quote_etag(revision: str) -> str:
    """A revision as an entity tag: `"<revision>"` (an already quoted one is kept)."""
    return revision if revision.startswith(('"', "W/")) else f'"{revision}"'


def _unquote_etag(etag: str) -> str:
    return etag.removeprefix("W/").strip('"')


def get_file_info(
    api: Api,
    owner: str,
    project: str,
    path: str,
    *,
    revision: str | None = None,
    checkpoint: str | None = None,
) -> Call[Entry]:
    """`GET .../meta/{path}`: a file's metadata, or a `DirectoryInfo` for a virtual
    directory (at a revision or a checkpoint: as it was)."""
    target = _target(owner, project, path, revision, checkpoint)
    return Call(
        api.request(
            "GET", _route(owner, project, "meta", path), params=_history(revision, checkpoint)
        ),
        parse_json(entry_from_json, target),
        idempotent=True,
        target=target,
    )


def update_file(
    api: Api,
    owner: str,
    project: str,
    path: str,
    attributes: Mapping[str, Any],
    *,
    if_match: str | None = None,
) -> Call[FileInfo]:
    """`PATCH .../meta/{path}`: new `description` and/or `metadata`, as a new revision with
    the same content. Not idempotent (each send is a revision)."""
    target = _target(owner, project, path)
    headers = {"If-Match": quote_etag(if_match)} if if_match else None
    return Call(
        api.request(
            "PATCH", _route(owner, project, "meta", path), json=dict(attributes), headers=headers
        ),
        parse_json(FileInfo.from_json, target),
        idempotent=False,
        target=target,
    )


def list_revisions(
    api: Api,
    owner: str,
    project: str,
    path: str,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[Revision]]:
    """`GET .../revisions/{path}`: a page of the path's revisions, newest first, deletions
    included."""
    target = _target(owner, project, path)
    return Call(
        api.request(
            "GET",
            _route(owner, project, "revisions", path),
            params={"limit": limit, "cursor": cursor},
        ),
        parse_json(partial(Page.from_json, item=Revision.from_json), target),
        idempotent=True,
        target=target,
    )


def read_content_info(response: httpx.Response) -> ContentInfo:
    """The `ContentInfo` of a content answer's headers (200, 206 or a HEAD)."""
    # Read in one pass (names in lower case), not a look-up per field: each of httpx's
    # scans and decodes every header, and a read of a small file is mostly such work
    # (issue 15).
    header = lowered(response.headers).get
    revision = header(b"x-storage-revision") or _unquote_etag(header(b"etag") or "")
    length = int(header(b"content-length") or 0)
    start, size = 0, length
    content_range = header(b"content-range") or ""
    if response.status_code == 206 and content_range.startswith("bytes "):
        span, _, total = content_range[6:].partition("/")
        first, _, _ = span.partition("-")
        start = int(first)
        size = int(total) if total.isdigit() else start + length
    return ContentInfo(
        size=size,
        revision=revision,
        sha256=header(b"x-storage-sha256"),
        crc32c=header(b"x-storage-crc32c"),
        last_modified=header(b"last-modified"),
        start=start,
        length=length,
        checkpoint_at=parse_timestamp(header(b"x-storage-checkpoint-at")),
    )


def _parse_content(target: str) -> Any:
    def parse(response: httpx.Response) -> ContentInfo:
        raise_for_response(response, target)
        return read_content_info(response)

    return parse


def byte_range(start: int | None, end: int | None) -> str | None:
    """The `Range` header for Python-slice bounds `[start, end)`.

    Args:
        start: First byte (None: 0); negative: that many bytes before the end (only
            without `end`).
        end: Byte after the last (None: to the end); must be non-negative here.

    Raises:
        ValueError: For bounds a single range header cannot express (resolve negative
            bounds against the size first).
    """
    if (end is not None and end < 0) or (start is not None and start < 0 and end is not None):
        raise ValueError("negative bounds need the content's size; resolve them first")
    if start is not None and start < 0:
        return f"bytes=-{-start}"
    if end is None:
        return f"bytes={start}-" if start else None
    return f"bytes={start or 0}-{end - 1}"


_IDENTITY = {"Accept-Encoding": "identity"}


def get_content(
    api: Api,
    owner: str,
    project: str,
    path: str,
    *,
    revision: str | None = None,
    checkpoint: str | None = None,
    range: str | None = None,
) -> Call[ContentInfo]:
    """`GET .../files/{path}`, streamed: the content (or the `Range` of it) at the current
    revision, a revision or a checkpoint. The parse reads the headers only; the caller
    reads the body."""
    target = _target(owner, project, path, revision, checkpoint)
    # `identity`: the bytes as stored, never compressed on the way by a proxy (aiohttp would
    # otherwise offer gzip): a `Range`, the `Content-Length` and the checksums are all of
    # the content itself.
    headers = {"Accept-Encoding": "identity", "Range": range} if range else _IDENTITY
    return Call(
        api.request(
            "GET",
            _route(owner, project, "files", path),
            params=_history(revision, checkpoint),
            headers=headers,
        ),
        _parse_content(target),
        idempotent=True,
        target=target,
        stream=True,
    )


def head_content(
    api: Api,
    owner: str,
    project: str,
    path: str,
    *,
    revision: str | None = None,
    checkpoint: str | None = None,
) -> Call[ContentInfo]:
    """`HEAD .../files/{path}`: the content's headers without the content."""
    target = _target(owner, project, path, revision, checkpoint)
    return Call(
        api.request(
            "HEAD", _route(owner, project, "files", path), params=_history(revision, checkpoint)
        ),
        _parse_content(target),
        idempotent=True,
        target=target,
    )


def put_file(
    api: Api,
    owner: str,
    project: str,
    path: str,
    *,
    content: bytes | None = None,
    stream: httpx.SyncByteStream | httpx.AsyncByteStream | None = None,
    length: int | None = None,
    sha256: str | None = None,
    if_match: str | None = None,
    if_none_match: str | None = None,
    replayable: bool = True,
    crc32c: str | None = None,
) -> Call[FileInfo]:
    """`PUT .../files/{path}`: the body becomes the path's new revision.

    Args:
        content: The whole body; or `stream`, a streamed one of `length` bytes (chunked
            when the length is unknown).
        sha256: Checked by the server, which keeps nothing on a mismatch.
        crc32c: The body's CRC32C (base64), checked the same way, at a tenth of the cost.
        if_match: Only if this is the current revision (`PreconditionFailed` otherwise).
        if_none_match: `*`: only if the path holds no live file.
        replayable: Whether the body can be sent again; a one-shot stream is never retried.
    """
    target = _target(owner, project, path)
    headers: dict[str, str] = {"Content-Type": "application/octet-stream"}
    if stream is not None and length is not None:
        headers["Content-Length"] = str(length)
    if sha256:
        headers["X-Storage-Sha256"] = sha256
    if crc32c:
        headers["X-Storage-Crc32c"] = crc32c
    if if_match:
        headers["If-Match"] = quote_etag(if_match)
    if if_none_match:
        headers["If-None-Match"] = if_none_match
    request = api.request(
        "PUT",
        _route(owner, project, "files", path),
        content=content if stream is None else None,
        stream=stream,
        headers=headers,
    )
    return Call(
        request, parse_json(FileInfo.from_json, target), idempotent=replayable, target=target
    )


def delete_file(
    api: Api, owner: str, project: str, path: str, *, if_match: str | None = None
) -> Call[None]:
    """`DELETE .../files/{path}`: a deletion revision (`NotFound` if no live file)."""
    target = _target(owner, project, path)
    headers = {"If-Match": quote_etag(if_match)} if if_match else None
    return Call(
        api.request("DELETE", _route(owner, project, "files", path), headers=headers),
        parse_nothing(target),
        idempotent=True,
        target=target,
    )
