"""Diff: what changed in a project or directory between two states (docs/api.md, "Diff").

The two states are instants of the project (`from=` and `to=`, checkpoint references; no
`to` is now). Only a path with a revision between the two instants can differ, so the
candidates come from the `revisions_by_time` index, and each is compared at both instants
(`history.version_at`, one indexed look-up per side): the cost grows with the changes
between the states, not with the size of the project. A path changed and changed back
(same content, description and metadata) is not listed. A move is its source `deleted` and
its destination `added`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from anaconda_storage_core.uri import CheckpointRef
from anaconda_storage_server.access import open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.context import Context, caller, context
from anaconda_storage_server.errors import invalid
from anaconda_storage_server.history import checkpoint_instant, version_at
from anaconda_storage_server.paging import Page, text_key
from anaconda_storage_server.past import Scope, parse_reference
from anaconda_storage_server.restore import same_file, state_json

_NOW = 2**62  # later than any instant: `version_at` then reads the current state
_BATCH = 500

_CANDIDATES = f"""SELECT DISTINCT r.path FROM revisions r
WHERE r.project_id = :project AND r.created_us > :low AND r.created_us <= :high
    AND r.path > :after AND {Scope.sql}
ORDER BY r.path LIMIT :batch"""


@dataclass(frozen=True)
class DiffQuery:
    """A checked diff request."""

    scope: Scope
    since: CheckpointRef
    until: CheckpointRef | None

    @classmethod
    def from_request(cls, request: Request) -> DiffQuery:
        params = request.query_params
        since, until = params.get("from"), params.get("to")
        if not since:
            raise invalid("a diff needs from=<checkpoint> (and to=, default now)", field="from")
        return cls(
            scope=Scope(params.get("path", "")),
            since=parse_reference(since, field="from"),
            until=parse_reference(until, field="to") if until else None,
        )


def read_diff(
    connection: sqlite3.Connection, project_id: str, query: DiffQuery, page: Page
) -> list[dict[str, Any]]:
    """Up to `page.limit + 1` `DiffEntry`s by path, after the page's cursor."""
    first = checkpoint_instant(connection, project_id, query.since)
    second = checkpoint_instant(connection, project_id, query.until) if query.until else _NOW
    parameters = {
        "project": project_id,
        "low": min(first, second),
        "high": max(first, second),
        "after": page.after or "",
        "batch": _BATCH,
        **query.scope.parameters,
    }
    entries: list[dict[str, Any]] = []
    while len(entries) <= page.limit:
        paths = [row[0] for row in connection.execute(_CANDIDATES, parameters)]
        for path in paths:
            before = version_at(connection, project_id, path, first)
            after = version_at(connection, project_id, path, second)
            if same_file(before, after):
                continue
            change = "added" if before is None else "deleted" if after is None else "modified"
            entries.append(
                {
                    "path": path,
                    "change": change,
                    "before": state_json(before),
                    "after": state_json(after),
                }
            )
            if len(entries) > page.limit:
                break
        if len(paths) < _BATCH:
            break
        parameters["after"] = paths[-1]
    return entries


def _diff(
    state: Context, user: Owner, owner: str, name: str, query: DiffQuery, page: Page
) -> list[dict[str, Any]]:
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        return read_diff(connection, project.id, query, page)


async def get_diff(request: Request) -> JSONResponse:
    user = await caller(request)
    query = DiffQuery.from_request(request)
    page = Page.from_request(request, key=text_key)
    state = context(request)
    params = request.path_params
    entries = await state.run(_diff, state, user, params["owner"], params["project"], query, page)
    return JSONResponse(page.answer(entries, lambda entry: entry["path"]))


routes = [Route("/api/storage/projects/{owner}/{project}/diff", get_diff, methods=["GET"])]
