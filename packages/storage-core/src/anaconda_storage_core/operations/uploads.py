"""Multipart upload sessions: `/api/storage/projects/{o}/{p}/uploads`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import httpx

from ..models import FileInfo, Page, Upload, UploadPart
from .call import Api, Call, parse_json, parse_nothing, project_route, quote_segment

__all__ = [
    "MAX_PARTS",
    "abort_upload",
    "complete_upload",
    "create_upload",
    "get_upload",
    "list_uploads",
    "put_part",
]

MAX_PARTS = 10_000


def _route(owner: str, project: str, upload_id: str | None = None) -> str:
    route = f"{project_route(owner, project)}/uploads"
    return f"{route}/{quote_segment(upload_id)}" if upload_id else route


def create_upload(
    api: Api,
    owner: str,
    project: str,
    path: str,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> Call[Upload]:
    """`POST .../uploads`: a new session for `path`; the conditions are checked again at
    completion. Retried like an idempotent call: a session a lost answer leaves behind
    holds no part and expires on its own."""
    body: dict[str, Any] = {"path": path}
    if if_match:
        body["if_match"] = if_match.removeprefix("W/").strip('"')
    if if_none_match:
        body["if_none_match"] = if_none_match
    target = f"{owner}/{project}/{path}"
    return Call(
        api.request("POST", _route(owner, project), json=body),
        parse_json(Upload.from_json, target),
        idempotent=True,
        target=target,
    )


def list_uploads(
    api: Api,
    owner: str,
    project: str,
    *,
    path: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[Upload]]:
    """`GET .../uploads`: a page of sessions in progress (newest first, without parts)."""
    target = f"{owner}/{project}" + (f"/{path}" if path else "")
    return Call(
        api.request(
            "GET",
            _route(owner, project),
            params={"path": path, "limit": limit, "cursor": cursor},
        ),
        parse_json(partial(Page.from_json, item=Upload.from_json), target),
        idempotent=True,
        target=target,
    )


def get_upload(api: Api, owner: str, project: str, upload_id: str) -> Call[Upload]:
    """`GET .../uploads/{id}`: the session with its parts: what a client resumes from."""
    target = f"{owner}/{project} upload {upload_id}"
    return Call(
        api.request("GET", _route(owner, project, upload_id)),
        parse_json(Upload.from_json, target),
        idempotent=True,
        target=target,
    )


def put_part(
    api: Api,
    owner: str,
    project: str,
    upload_id: str,
    number: int,
    *,
    content: bytes | None = None,
    stream: httpx.SyncByteStream | httpx.AsyncByteStream | None = None,
    length: int | None = None,
    sha256: str | None = None,
    crc32c: str | None = None,
) -> Call[UploadPart]:
    """`PUT .../uploads/{id}/parts/{n}`: part `n` (1 to 10,000); sent again, it replaces the
    earlier one, so it is retried.

    Args:
        content: The part's bytes; or `stream`, a replayable stream of `length` bytes.
        sha256: Checked by the server.
        crc32c: The part's CRC32C (base64), checked by the server.
    """
    if not 1 <= number <= MAX_PARTS:
        raise ValueError(f"part numbers go from 1 to {MAX_PARTS}, not {number}")
    headers = {"Content-Type": "application/octet-stream"}
    if stream is not None and length is not None:
        headers["Content-Length"] = str(length)
    if sha256:
        headers["X-Storage-Sha256"] = sha256
    if crc32c:
        headers["X-Storage-Crc32c"] = crc32c
    target = f"{owner}/{project} upload {upload_id} part {number}"
    return Call(
        api.request(
            "PUT",
            f"{_route(owner, project, upload_id)}/parts/{number}",
            content=content if stream is None else None,
            stream=stream,
            headers=headers,
        ),
        parse_json(UploadPart.from_json, target),
        idempotent=True,
        target=target,
    )


def complete_upload(
    api: Api,
    owner: str,
    project: str,
    upload_id: str,
    parts: Sequence[UploadPart | tuple[int, str | None]] | None = None,
) -> Call[FileInfo]:
    """`POST .../uploads/{id}/complete`: the parts, in the order given, become one revision.

    Args:
        parts: The parts by number (with their sha256, which the server checks); None:
            every uploaded part, by number.

    Not retried once sent: the session is gone after the first completion.
    """
    body: dict[str, Any] | None = None
    if parts is not None:
        listed = []
        for part in parts:
            number, sha256 = (part.number, part.sha256) if isinstance(part, UploadPart) else part
            listed.append({"number": number, **({"sha256": sha256} if sha256 else {})})
        body = {"parts": listed}
    target = f"{owner}/{project} upload {upload_id}"
    return Call(
        api.request("POST", f"{_route(owner, project, upload_id)}/complete", json=body),
        parse_json(FileInfo.from_json, target),
        idempotent=False,
        target=target,
    )


def abort_upload(api: Api, owner: str, project: str, upload_id: str) -> Call[None]:
    """`DELETE .../uploads/{id}`: discard the session and its parts."""
    target = f"{owner}/{project} upload {upload_id}"
    return Call(
        api.request("DELETE", _route(owner, project, upload_id)),
        parse_nothing(target),
        idempotent=True,
        target=target,
    )
