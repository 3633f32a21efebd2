"""Restore: make a file, a directory or a whole project as it was (docs/api.md, "Restore").

Everything happens in one write transaction and on the server: a restored file's new
revision points at the blob its old revision already holds, so no content moves. The past
state is named as a read names it: a file at `revision=` (`-N` or a UUID; a deletion
revision restores the file's absence), or a scope (`path`: a file, a directory, `""` the
whole project) at `checkpoint=`.

A restore from a checkpoint looks only at the paths that changed since its instant (the
`revisions_by_time` index): for each, the state then against the state now. A path whose
content, description and metadata are already as they were is left alone, so restoring
twice changes nothing the second time. Deletions are made before writes, so a directory
that was a file then (or the reverse) swaps within the one transaction; a restored file
that would still clash with a live file or directory outside the scope is `409`, and
nothing is changed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from anaconda_storage_core.uri import CheckpointRef, RevisionRef, TimePoint
from anaconda_storage_server import origins
from anaconda_storage_server.access import open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.changes import check_file_path, record
from anaconda_storage_server.context import Context, body_field, caller, context, json_body
from anaconda_storage_server.database import Transaction
from anaconda_storage_server.errors import invalid
from anaconda_storage_server.history import (
    Version,
    checkpoint_instant,
    current_version,
    format_instant,
    revision_of,
    version_at,
)
from anaconda_storage_server.names import parse_checkpoint, parse_revision
from anaconda_storage_server.past import Scope

CHANGED_SINCE = f"""SELECT DISTINCT r.path FROM revisions r
WHERE r.project_id = :project AND r.created_us > :instant AND {Scope.sql} ORDER BY r.path"""


def state_json(version: Version | None) -> dict[str, Any] | None:
    """A `FileState`: a file's revision, size and digest (None: no file)."""
    if version is None:
        return None
    return {"revision": version.id, "size": version.size, "sha256": version.sha256}


def same_file(a: Version | None, b: Version | None) -> bool:
    """Whether two states hold the same file: content, description and metadata."""
    if a is None or b is None:
        return a is b
    return (a.sha256, a.description, a.metadata) == (b.sha256, b.description, b.metadata)


@dataclass(frozen=True)
class Change:
    """One path a restore changes: from `now` (None: absent) back to `then` (None: absent)."""

    path: str
    now: Version | None
    then: Version | None

    @property
    def kind(self) -> str:
        if self.then is None:
            return "deleted"
        return "added" if self.now is None else "modified"

    def to_json(self, revision: str | None) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": self.kind,
            "before": state_json(self.now),
            "after": state_json(self.then),
            "revision": revision,
        }


@dataclass(frozen=True)
class RestoreRequest:
    """A checked restore body."""

    path: str
    revision: RevisionRef | None
    checkpoint: CheckpointRef | None
    dry_run: bool

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> RestoreRequest:
        unknown = sorted(set(body) - {"path", "revision", "checkpoint", "dry_run"})
        if unknown:
            raise invalid(f"unknown field {unknown[0]!r}", field=unknown[0])
        path = body_field(body, "path", str) or ""
        revision = body_field(body, "revision", str)
        checkpoint = body_field(body, "checkpoint", str)
        dry_run = bool(body_field(body, "dry_run", bool))
        if (revision is None) == (checkpoint is None):
            raise invalid(
                "name the past state to restore: a revision of a file, or a checkpoint",
                field="revision" if revision is not None else "checkpoint",
            )
        scope = Scope(path)
        if revision is not None and not scope.path:
            raise invalid("a revision is a file's: give its path", field="path")
        return cls(
            path=scope.path,
            revision=parse_revision(revision) if revision is not None else None,
            checkpoint=parse_checkpoint(checkpoint) if checkpoint is not None else None,
            dry_run=dry_run,
        )


@dataclass(frozen=True)
class Plan:
    """What a restore changes, with where the past state came from."""

    changes: list[Change]
    at: int
    source_checkpoint: str | None
    from_checkpoint: bool


def plan(connection: sqlite3.Connection, project_id: str, request: RestoreRequest) -> Plan:
    """The changes that make the scope as it was (nothing is written)."""
    if request.revision is not None:
        old = revision_of(connection, project_id, request.path, request.revision)
        then = None if old.deleted else old
        now = current_version(connection, project_id, request.path)
        changes = [] if same_file(now, then) else [Change(request.path, now, then)]
        return Plan(changes, old.created_us, None, from_checkpoint=False)
    assert request.checkpoint is not None
    instant = checkpoint_instant(connection, project_id, request.checkpoint)
    scope = Scope(request.path)
    changes = []
    for row in connection.execute(
        CHANGED_SINCE, {"project": project_id, "instant": instant, **scope.parameters}
    ).fetchall():
        path = row["path"]
        now = current_version(connection, project_id, path)
        then = version_at(connection, project_id, path, instant)
        if not same_file(now, then):
            changes.append(Change(path, now, then))
    return Plan(
        changes,
        instant,
        _checkpoint_id(connection, project_id, request.checkpoint, instant),
        from_checkpoint=True,
    )


def _checkpoint_id(
    connection: sqlite3.Connection, project_id: str, ref: CheckpointRef, instant: int
) -> str | None:
    if isinstance(ref, TimePoint):
        return None
    row = connection.execute(
        "SELECT id FROM checkpoints WHERE project_id = ? AND created_us = ?",
        (project_id, instant),
    ).fetchone()
    return str(row[0]) if row else None


def apply(transaction: Transaction, project_id: str, user: Owner, restore: Plan) -> list[str]:
    """Write the plan's revisions (deletions first); the new revision ids, by change."""
    made: dict[str, str] = {}

    def note(version: Version, change: Change) -> None:
        source = change.then
        origins.note(
            transaction,
            version.seq,
            origins.RESTORED,
            source_path=change.path,
            source_revision=source.id if source is not None else None,
            source_checkpoint=restore.source_checkpoint,
            source_us=restore.at if restore.from_checkpoint else None,
        )
        made[change.path] = version.id

    for change in restore.changes:
        if change.then is None:
            note(record(transaction, project_id, change.path, user, deleted=True), change)
    for change in restore.changes:
        then = change.then
        if then is None:
            continue
        if change.now is None:
            check_file_path(transaction.connection, project_id, change.path)
        version = record(
            transaction,
            project_id,
            change.path,
            user,
            size=then.size,
            sha256=then.sha256,
            description=then.description,
            metadata=then.metadata,
        )
        note(version, change)
    return [made[change.path] for change in restore.changes]


def _restore(
    state: Context, user: Owner, owner: str, name: str, request: RestoreRequest
) -> dict[str, Any]:
    if request.dry_run:
        with state.database.read() as connection:
            project = open_project(connection, user, owner, name, "write")
            restore = plan(connection, project.id, request)
            revisions: list[str | None] = [None] * len(restore.changes)
    else:
        with state.database.write() as transaction:
            project = open_project(transaction.connection, user, owner, name, "write")
            restore = plan(transaction.connection, project.id, request)
            revisions = list(apply(transaction, project.id, user, restore))
    return {
        "changes": [c.to_json(r) for c, r in zip(restore.changes, revisions, strict=True)],
        "dry_run": request.dry_run,
        "at": format_instant(restore.at),
    }


async def restore_route(request: Request) -> JSONResponse:
    user = await caller(request)
    checked = RestoreRequest.from_body(await json_body(request))
    state = context(request)
    params = request.path_params
    answer = await state.run(_restore, state, user, params["owner"], params["project"], checked)
    return JSONResponse(answer)


routes = [
    Route("/api/storage/projects/{owner}/{project}/restore", restore_route, methods=["POST"]),
]
