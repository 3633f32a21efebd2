"""Acting on history: `.../log`, `.../diff`, `.../restore` (docs/api.md, "Log", "Diff",
"Restore")."""

from __future__ import annotations

from functools import partial

from ..history import DiffEntry, LogEntry, Restoration
from ..models import Page
from .call import Api, Call, location, parse_json, project_route

__all__ = ["get_diff", "get_log", "restore"]


def get_log(
    api: Api,
    owner: str,
    project: str,
    path: str = "",
    *,
    since: str | None = None,
    until: str | None = None,
    checkpoints: bool = True,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[LogEntry]]:
    """`GET .../log`: a page of the changes to `path` (a file, or a directory and what is
    below it; `""` the whole project), newest first; `since` / `until` are checkpoint
    references (time points, `-N`, UUIDs)."""
    target = location(owner, project, path)
    params = {
        "path": path or None,
        "since": since,
        "until": until,
        "checkpoints": None if checkpoints else False,
        "limit": limit,
        "cursor": cursor,
    }
    return Call(
        api.request("GET", f"{project_route(owner, project)}/log", params=params),
        parse_json(partial(Page.from_json, item=LogEntry.from_json), target),
        idempotent=True,
        target=target,
    )


def get_diff(
    api: Api,
    owner: str,
    project: str,
    path: str = "",
    *,
    since: str,
    until: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[DiffEntry]]:
    """`GET .../diff`: a page of the paths below `path` that differ between the state at
    checkpoint reference `since` and the one at `until` (None: now), by path."""
    target = location(owner, project, path, checkpoint=since)
    params = {
        "path": path or None,
        "from": since,
        "to": until,
        "limit": limit,
        "cursor": cursor,
    }
    return Call(
        api.request("GET", f"{project_route(owner, project)}/diff", params=params),
        parse_json(partial(Page.from_json, item=DiffEntry.from_json), target),
        idempotent=True,
        target=target,
    )


def restore(
    api: Api,
    owner: str,
    project: str,
    path: str = "",
    *,
    revision: str | None = None,
    checkpoint: str | None = None,
    dry_run: bool = False,
) -> Call[Restoration]:
    """`POST .../restore`: make `path` (a file at `revision`; a file, directory or the whole
    project at `checkpoint`) as it was, server-side, as new revisions.

    A path already as it was is left alone, so sending it again changes nothing, unless
    `revision` is relative (`-2` counts back from the current revision, which the first
    send changed): such a call is not retried.
    """
    target = location(owner, project, path, checkpoint=checkpoint, revision=revision)
    body = {"path": path, "revision": revision, "checkpoint": checkpoint, "dry_run": dry_run}
    return Call(
        api.request("POST", f"{project_route(owner, project)}/restore", json=body),
        parse_json(Restoration.from_json, target),
        idempotent=not (revision or "").startswith("-"),
        target=target,
    )
