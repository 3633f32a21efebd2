"""Reading many files in one request: `POST .../read` (docs/api.md, "Reading many files").

The request is built here and its answer's status and headers are read here; its body,
one frame per file, is read by the flow of `transfer/reading.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ..errors import NotFound, StorageError, error_from_response, raise_for_response
from ..models import parse_timestamp
from .call import Api, Call, location, project_route

__all__ = [
    "FILES_TYPE",
    "MAX_FILES",
    "MAX_INLINE_LIMIT",
    "FilesAnswer",
    "WantedFile",
    "file_error",
    "read_files",
]

MAX_FILES = 1000
"""The most files one `POST .../read` takes."""

MAX_INLINE_LIMIT = 1024 * 1024 * 1024
"""The largest `inline_limit` the server takes: 1 GiB."""

FILES_TYPE = "application/x-storage-files"
"""The media type of the framed answer."""


@dataclass(frozen=True)
class WantedFile:
    """One file of the request: its path (plain, NFC) and the revision it is read at."""

    path: str
    revision: str | None = None


@dataclass(frozen=True)
class FilesAnswer:
    """What the status and headers of a `200` answer say; the frames follow in its body.

    Attributes:
        checkpoint_at: The instant the checkpoint resolved to, when read at one.
    """

    checkpoint_at: datetime | None = None


def read_files(
    api: Api,
    owner: str,
    project: str,
    files: Sequence[WantedFile],
    *,
    checkpoint: str | None = None,
    inline_limit: int | None = None,
) -> Call[FilesAnswer | None]:
    """`POST .../read`, streamed: the contents of up to 1,000 files of one project.

    Safe to retry although a POST: it changes nothing.

    Args:
        files: The files, in the order their frames are wanted (a path may repeat).
        checkpoint: Read every file at this checkpoint (no file then names a revision).
        inline_limit: The largest content sent in the answer (server default 1 MiB).

    Returns:
        A call whose parse answers the `FilesAnswer` of a `200`, or None from a server
        that has no such route (`404` without `missing`, or `405`): it cannot read many
        files at once, and the caller reads them one by one. Any other error answer raises
        its typed error.
    """
    if not 1 <= len(files) <= MAX_FILES:
        raise ValueError(f"1 to {MAX_FILES} files per request, not {len(files)}")
    body: dict[str, Any] = {
        "files": [
            {"path": wanted.path}
            if wanted.revision is None
            else {"path": wanted.path, "revision": wanted.revision}
            for wanted in files
        ]
    }
    if checkpoint is not None:
        body["checkpoint"] = checkpoint
    if inline_limit is not None:
        body["inline_limit"] = inline_limit
    target = location(owner, project, checkpoint=checkpoint)
    # Encoded here, not by httpx (`json=`): the request is then an `OutgoingRequest`, which
    # the async client's aiohttp sender sends without building an `httpx.Request`.
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Call(
        api.request(
            "POST",
            f"{project_route(owner, project)}/read",
            content=content,
            headers={"Content-Type": "application/json"},
        ),
        _parse_answer(target),
        idempotent=True,
        target=target,
        stream=True,
    )


def _parse_answer(target: str) -> Callable[[httpx.Response], FilesAnswer | None]:
    def parse(response: httpx.Response) -> FilesAnswer | None:
        if response.status_code in (404, 405):
            error = error_from_response(response, target)
            # An unknown route (an older server) is a 404 that names nothing missing; a
            # project or checkpoint that is not there names what.
            if response.status_code == 405 or (
                isinstance(error, NotFound) and error.missing is None
            ):
                return None
        raise_for_response(response, target)
        return FilesAnswer(
            checkpoint_at=parse_timestamp(response.headers.get("X-Storage-Checkpoint-At"))
        )

    return parse


# The status a `GET` of the file alone answers with each error code (docs/api.md, "Errors"):
# what `error_from_response` reads to pick the exception.
_STATUS_OF_CODE = {
    "invalid": 400,
    "checksum_mismatch": 400,
    "auth_required": 401,
    "permission_denied": 403,
    "not_found": 404,
    "conflict": 409,
    "precondition_failed": 412,
    "too_large": 413,
    "range_not_satisfiable": 416,
}


def file_error(error: dict[str, Any], target: str) -> StorageError:
    """The typed error of one frame's `error` object (`{"code", "message", "missing"}`):
    the exception a `GET` of that file alone would raise (`NotFound` for `not_found`).

    A code the contract does not name is a `ServerError` of that file only.

    Args:
        error: The frame's error, already checked to be an object with a string `code`.
        target: The file as asked (`alice/sales/q1.csv`), named in the message.
    """
    status = _STATUS_OF_CODE.get(error["code"], 500)
    # The one place answers become exceptions reads a response: hand it one.
    answer = httpx.Response(status, content=json.dumps({"error": error}).encode())
    return error_from_response(answer, target)
