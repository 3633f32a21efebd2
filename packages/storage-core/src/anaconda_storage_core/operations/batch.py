"""Server-side operations on many files: deleting by paths or prefix, copy and move."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models import CopyResult, DeleteResult
from .call import Api, Call, location, parse_json, project_route

__all__ = ["MAX_DELETE_PATHS", "copy_files", "delete_files", "move_files"]

MAX_DELETE_PATHS = 1000
"""The most paths one `POST .../delete` takes (docs/api.md, "Deleting many files")."""


def delete_files(
    api: Api,
    owner: str,
    project: str,
    *,
    paths: Sequence[str] | None = None,
    prefix: str | None = None,
) -> Call[DeleteResult]:
    """`POST .../delete`: one deletion revision per file, in one transaction.

    Args:
        paths: At most 1,000 paths; or
        prefix: everything below it (`dir/`), markers included.

    Safe to retry although a POST: sending it again deletes nothing more (what the first
    deleted is then reported `missing`).
    """
    if (paths is None) == (prefix is None):
        raise ValueError("give either paths or a prefix")
    if paths is not None and len(paths) > MAX_DELETE_PATHS:
        raise ValueError(f"at most {MAX_DELETE_PATHS} paths per request")
    body: dict[str, Any] = {"paths": list(paths)} if paths is not None else {"prefix": prefix}
    target = f"{owner}/{project}"
    return Call(
        api.request("POST", f"{project_route(owner, project)}/delete", json=body),
        parse_json(DeleteResult.from_json, target),
        idempotent=True,
        target=target,
    )


def _endpoint(
    owner: str, project: str, path: str, revision: str | None, checkpoint: str | None
) -> dict[str, Any]:
    return {
        "owner": owner,
        "project": project,
        "path": path,
        "revision": revision,
        "checkpoint": checkpoint,
    }


def _transfer(
    api: Api,
    verb: str,
    source: dict[str, Any],
    destination: dict[str, Any],
    recursive: bool,
    overwrite: bool,
) -> Call[CopyResult]:
    target = location(
        source["owner"],
        source["project"],
        source["path"],
        checkpoint=source.get("checkpoint"),
        revision=source.get("revision"),
    )
    body = {
        "source": source,
        "destination": destination,
        "recursive": recursive,
        "overwrite": overwrite,
    }
    return Call(
        api.request("POST", f"/api/storage/{verb}", json=body),
        parse_json(CopyResult.from_json, target),
        idempotent=False,
        target=target,
    )


def copy_files(
    api: Api,
    source: tuple[str, str, str],
    destination: tuple[str, str, str],
    *,
    revision: str | None = None,
    checkpoint: str | None = None,
    recursive: bool = False,
    overwrite: bool = True,
) -> Call[CopyResult]:
    """`POST /api/storage/copy`: no content is sent again.

    Args:
        source: `(owner, project, path)`; with `recursive`, a directory (`""`: the project).
        destination: `(owner, project, path)`.
        revision: Copy the source as it was at this revision; or
        checkpoint: as it was at this checkpoint.
        recursive: Copy everything below `source`, keeping relative paths.
        overwrite: False makes an existing destination file a `Conflict`.

    Not retried after a failure once sent: each copy writes a revision.
    """
    src = _endpoint(*source, revision, checkpoint)
    dst = {"owner": destination[0], "project": destination[1], "path": destination[2]}
    return _transfer(api, "copy", src, dst, recursive, overwrite)


def move_files(
    api: Api,
    source: tuple[str, str, str],
    destination: tuple[str, str, str],
    *,
    recursive: bool = False,
    overwrite: bool = True,
) -> Call[CopyResult]:
    """`POST /api/storage/move`: a copy that deletes its sources in the same transaction.

    Not retried after a failure once sent: the sources are gone after the first.
    """
    src = _endpoint(*source, None, None)
    del src["revision"], src["checkpoint"]
    dst = {"owner": destination[0], "project": destination[1], "path": destination[2]}
    return _transfer(api, "move", src, dst, recursive, overwrite)
