"""Listing a project's tree: `GET /api/storage/projects/{o}/{p}/tree`."""

from __future__ import annotations

from functools import partial

from ..models import Entry, Page, entry_from_json
from .call import Api, Call, parse_json, project_route

__all__ = ["list_tree"]


def list_tree(
    api: Api,
    owner: str,
    project: str,
    *,
    prefix: str | None = None,
    delimiter: str | None = None,
    checkpoint: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[Entry]]:
    """A page of files (and, with `delimiter="/"`, directories) sorted by path.

    Args:
        prefix: Only paths starting with it (a directory is `dir/`).
        delimiter: `/` groups everything below the next `/` into one directory entry;
            None lists every file recursively.
        checkpoint: List the project as it was at this checkpoint reference.

    `.keep` markers are included; clients decide whether to show them.
    """
    target = f"{owner}/{project}" + (f"#{checkpoint}" if checkpoint else "")
    params = {
        "prefix": prefix or None,
        "delimiter": delimiter,
        "checkpoint": checkpoint,
        "limit": limit,
        "cursor": cursor,
    }
    return Call(
        api.request("GET", f"{project_route(owner, project)}/tree", params=params),
        parse_json(partial(Page.from_json, item=entry_from_json), target),
        idempotent=True,
        target=target,
    )
