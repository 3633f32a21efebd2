"""The log of a project: its changes across all paths, newest first (docs/api.md, "Log").

One entry per revision (what changed, by whom, when) and one per ad-hoc checkpoint (with
its message), in the order they were made. Instants are strictly increasing per
transaction and the revisions of one transaction share its instant, so `(instant, seq)`
orders every revision, and a checkpoint (a transaction of its own, `seq` 0 here) falls
between them. That pair is the page key, read off the `revisions_by_time` index: a page
costs the changes it reads past (with a `path`, those to other paths too), never the size
of the project.

The action of a revision is noted when a restore or a move made it (`origins.py`), and
otherwise read off the revision and the one before it on the same path: `deleted`,
`created` (no earlier revision, or a deletion before it), `attributes` (same content,
other description or metadata) or `modified`.
"""

from __future__ import annotations

import json
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
from anaconda_storage_server.history import checkpoint_instant, format_instant
from anaconda_storage_server.origins import ORIGIN_COLUMNS, source_json
from anaconda_storage_server.paging import Page, count_key
from anaconda_storage_server.past import Scope, parse_reference, start_of

_NEVER = 2**62


def instant_and_seq_key(value: object) -> bool:
    """A log position: `[instant, seq]`."""
    return isinstance(value, list) and len(value) == 2 and all(count_key(v) for v in value)


_REVISIONS = f"""
SELECT r.seq, r.id, r.path, r.created_us, r.deleted, r.size, r.sha256, r.description,
    r.metadata, a.id AS author_id, a.name AS author_name, a.kind AS author_kind,
    {ORIGIN_COLUMNS}, before.deleted AS before_deleted, before.sha256 AS before_sha256,
    before.description AS before_description, before.metadata AS before_metadata
FROM revisions r
JOIN owners a ON a.id = r.created_by
LEFT JOIN revision_origins o ON o.seq = r.seq
LEFT JOIN revisions before ON before.seq = (SELECT max(q.seq) FROM revisions q
    WHERE q.project_id = r.project_id AND q.path = r.path AND q.seq < r.seq)
WHERE r.project_id = :project AND (r.created_us, r.seq) < (:at, :seq)
    AND r.created_us >= :since AND r.created_us <= :until AND {Scope.sql}
ORDER BY r.created_us DESC, r.seq DESC LIMIT :limit"""

_CHECKPOINTS = """
SELECT c.id, c.created_us, c.message, a.id AS author_id, a.name AS author_name,
    a.kind AS author_kind
FROM checkpoints c JOIN owners a ON a.id = c.created_by
WHERE c.project_id = :project AND c.created_us < :at
    AND c.created_us >= :since AND c.created_us <= :until
ORDER BY c.created_us DESC LIMIT :limit"""


def action_of(row: sqlite3.Row) -> str:
    """What a revision did: restored, moved, deleted, created, attributes or modified."""
    if row["origin"] is not None:
        return str(row["origin"])
    if row["deleted"]:
        return "deleted"
    if row["before_deleted"] is None or row["before_deleted"]:
        return "created"
    same_content = row["before_sha256"] == row["sha256"]
    same_attributes = (row["before_description"], json.loads(row["before_metadata"])) == (
        row["description"],
        json.loads(row["metadata"]),
    )
    return "attributes" if same_content and not same_attributes else "modified"


def _author(row: sqlite3.Row) -> dict[str, str]:
    return Owner(row["author_id"], row["author_name"], row["author_kind"]).to_json()


def revision_entry(row: sqlite3.Row) -> dict[str, Any]:
    """The `LogEntry` of a revision."""
    return {
        "type": "revision",
        "created_at": format_instant(row["created_us"]),
        "created_by": _author(row),
        "action": action_of(row),
        "path": row["path"],
        "deleted": bool(row["deleted"]),
        "size": row["size"],
        "sha256": row["sha256"],
        "revision": row["id"],
        "source": source_json(row),
        "checkpoint": None,
        "message": None,
    }


def checkpoint_entry(row: sqlite3.Row) -> dict[str, Any]:
    """The `LogEntry` of an ad-hoc checkpoint."""
    return {
        "type": "checkpoint",
        "created_at": format_instant(row["created_us"]),
        "created_by": _author(row),
        "action": "checkpoint",
        "path": None,
        "deleted": False,
        "size": None,
        "sha256": None,
        "revision": None,
        "source": None,
        "checkpoint": row["id"],
        "message": row["message"],
    }


@dataclass(frozen=True)
class LogQuery:
    """A checked log request."""

    scope: Scope
    since: CheckpointRef | None
    until: CheckpointRef | None
    checkpoints: bool

    @classmethod
    def from_request(cls, request: Request) -> LogQuery:
        params = request.query_params
        since, until = params.get("since"), params.get("until")
        checkpoints = params.get("checkpoints", "true").lower()
        if checkpoints not in ("true", "false", "1", "0"):
            raise invalid("checkpoints must be true or false", field="checkpoints")
        return cls(
            scope=Scope(params.get("path", "")),
            since=parse_reference(since, field="since") if since else None,
            until=parse_reference(until, field="until") if until else None,
            checkpoints=checkpoints in ("true", "1"),
        )


Entry = tuple[int, int, dict[str, Any]]


def read_log(
    connection: sqlite3.Connection, project_id: str, query: LogQuery, page: Page
) -> list[Entry]:
    """Up to `page.limit + 1` entries, newest first, each with its `(instant, seq)` key."""
    at, seq = page.after if page.after is not None else (_NEVER, _NEVER)
    since = start_of(connection, project_id, query.since) if query.since else 0
    until = checkpoint_instant(connection, project_id, query.until) if query.until else _NEVER
    parameters = {
        "project": project_id,
        "at": at,
        "seq": seq,
        "since": since,
        "until": until,
        "limit": page.limit + 1,
        **query.scope.parameters,
    }
    entries: list[Entry] = [
        (row["created_us"], row["seq"], revision_entry(row))
        for row in connection.execute(_REVISIONS, parameters)
    ]
    if query.checkpoints:
        # A checkpoint's key is (instant, 0): after a page that ended on one, only earlier
        # instants; after a revision at `at`, no checkpoint shares its instant.
        entries += [
            (row["created_us"], 0, checkpoint_entry(row))
            for row in connection.execute(_CHECKPOINTS, parameters)
        ]
    entries.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return entries[: page.limit + 1]


def _log(
    state: Context, user: Owner, owner: str, name: str, query: LogQuery, page: Page
) -> list[Entry]:
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        return read_log(connection, project.id, query, page)


async def get_log(request: Request) -> JSONResponse:
    user = await caller(request)
    query = LogQuery.from_request(request)
    page = Page.from_request(request, key=instant_and_seq_key)
    state = context(request)
    params = request.path_params
    entries = await state.run(_log, state, user, params["owner"], params["project"], query, page)
    return JSONResponse(
        page.answer(entries, lambda entry: [entry[0], entry[1]], lambda entry: entry[2])
    )


routes = [Route("/api/storage/projects/{owner}/{project}/log", get_log, methods=["GET"])]
