"""The trash: deleted projects, kept for a retention period (docs/api.md, "Trash").

Deleting a project moves its row from `projects` to `trash`; everything keyed by the
project's id (revisions, live files, checkpoints, grants) stays where it is. Every route
reads projects through `projects`, so a deleted project is at once invisible (`404` for
everyone, its name free for a new project) and whole again when restored: the row goes
back, under its name or another, with its history, checkpoints and permissions. Upload
sessions in progress are discarded at deletion: they are not history.

A purge (`DELETE` of a trashed project, `purge=true` on a project, or the retention period
running out) deletes the rows for good and then the blobs no revision references any more.
Only the owner level of the owner (the user, or a member of the organization) sees the
trash.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from anaconda_storage_server import recovery
from anaconda_storage_server.access import Project, is_member_or_self, owner_of_route
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.context import Context, body_field, caller, context, json_body
from anaconda_storage_server.database import Transaction, wall_us
from anaconda_storage_server.errors import conflict, forbidden, invalid, not_found
from anaconda_storage_server.history import format_instant
from anaconda_storage_server.names import check_project_name
from anaconda_storage_server.paging import Page, count_and_text_key

DAY_US = 86_400_000_000

_SELECT = """SELECT t.*, o.name AS owner_name, o.kind AS owner_kind,
    d.id AS by_id, d.name AS by_name, d.kind AS by_kind
FROM trash t JOIN owners o ON o.id = t.owner_id LEFT JOIN owners d ON d.id = t.deleted_by"""


@dataclass(frozen=True)
class Discarded:
    """What a purge released: blobs to collect and upload sessions' part directories."""

    digests: list[str]
    uploads: list[str]


def _project_of(row: sqlite3.Row) -> Project:
    kept = json.loads(row["project"])
    return Project(
        id=row["project_id"],
        owner=Owner(row["owner_id"], row["owner_name"], row["owner_kind"]),
        name=row["name"],
        title=kept["title"],
        description=kept["description"],
        tags=kept["tags"],
        hidden=kept["hidden"],
        created_us=kept["created_us"],
        updated_us=kept["updated_us"],
        access="owner",
    )


def deleted_json(connection: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    """The `DeletedProject` object of docs/api.md."""
    by = Owner(row["by_id"], row["by_name"], row["by_kind"]) if row["by_id"] else None
    return {
        "project": _project_of(row).to_json(connection),
        "deleted_at": format_instant(row["deleted_us"]),
        "deleted_by": by.to_json() if by else None,
        "purge_at": format_instant(row["purge_us"]),
    }


def drop_uploads(transaction: Transaction, project_id: str) -> list[str]:
    """Delete a project's upload sessions; their ids (remove their parts after commit)."""
    uploads = [
        row[0]
        for row in transaction.execute("SELECT id FROM uploads WHERE project_id = ?", (project_id,))
    ]
    for upload_id in uploads:
        transaction.execute("DELETE FROM upload_parts WHERE upload_id = ?", (upload_id,))
    transaction.execute("DELETE FROM uploads WHERE project_id = ?", (project_id,))
    return uploads


def move_to_trash(
    transaction: Transaction, project: Project, user: Owner, retention_days: float
) -> list[str]:
    """Move a project to its owner's trash; the upload sessions dropped."""
    kept = {
        "title": project.title,
        "description": project.description,
        "tags": project.tags,
        "hidden": project.hidden,
        "created_us": project.created_us,
        "updated_us": project.updated_us,
    }
    now = transaction.now_us
    transaction.execute(
        "INSERT INTO trash (project_id, owner_id, name, project, deleted_us, deleted_by,"
        " purge_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            project.id,
            project.owner.id,
            project.name,
            json.dumps(kept),
            now,
            user.id,
            now + int(retention_days * DAY_US),
        ),
    )
    transaction.execute("DELETE FROM projects WHERE id = ?", (project.id,))
    return drop_uploads(transaction, project.id)


def destroy(transaction: Transaction, project_id: str) -> Discarded:
    """Delete a project (live or trashed) and its whole history for good."""
    digests = [
        row[0]
        for row in transaction.execute(
            "SELECT DISTINCT sha256 FROM revisions WHERE project_id = ? AND sha256 IS NOT NULL",
            (project_id,),
        )
    ]
    uploads = drop_uploads(transaction, project_id)
    transaction.execute(
        "DELETE FROM revision_origins WHERE seq IN"
        " (SELECT seq FROM revisions WHERE project_id = ?)",
        (project_id,),
    )
    for table in ("revisions", "live", "checkpoints", "grants"):
        transaction.execute(f"DELETE FROM {table} WHERE project_id = ?", (project_id,))
    transaction.execute("DELETE FROM projects WHERE id = ?", (project_id,))
    transaction.execute("DELETE FROM trash WHERE project_id = ?", (project_id,))
    return Discarded(digests, uploads)


def release(state: Context, discarded: Discarded) -> None:
    """After a purge's commit: remove the part files and the blobs nothing references."""
    recovery.remove_upload_dirs(state, discarded.uploads)
    recovery.collect_blobs(state, discarded.digests)


def purge_expired(state: Context) -> int:
    """Purge every trashed project whose retention period is over; how many."""
    with state.database.read() as connection:
        expired = [
            row[0]
            for row in connection.execute(
                "SELECT project_id FROM trash WHERE purge_us <= ?", (wall_us(),)
            )
        ]
    for project_id in expired:
        with state.database.write() as transaction:
            discarded = destroy(transaction, project_id)
        release(state, discarded)
    return len(expired)


def _owned(connection: sqlite3.Connection, user: Owner, owner_name: str) -> Owner:
    owner = owner_of_route(connection, owner_name)
    if not is_member_or_self(connection, user, owner):
        raise forbidden("owner", f"only the owner of {owner.name}'s projects sees their trash")
    return owner


def _find(connection: sqlite3.Connection, user: Owner, owner_name: str, name: str) -> sqlite3.Row:
    """A trashed project by name (the latest deleted of that name) or by id.

    Raises:
        ApiError: 404 `missing=project` if there is none, or the caller is not its owner
            (a deleted project is no one else's business).
    """
    owner = owner_of_route(connection, owner_name)
    check_project_name(name)
    row: sqlite3.Row | None = None
    if is_member_or_self(connection, user, owner):
        row = connection.execute(
            f"{_SELECT} WHERE t.owner_id = ? AND (t.project_id = ? OR t.name = ?)"
            " ORDER BY t.project_id = ? DESC, t.deleted_us DESC LIMIT 1",
            (owner.id, name, name, name),
        ).fetchone()
    if row is None:
        raise not_found("project", f"no deleted project {owner.name}/{name} in the trash")
    return row


def _list(state: Context, user: Owner, owner_name: str, page: Page) -> list[dict[str, Any]]:
    after = page.after or [2**62, ""]
    with state.database.read() as connection:
        owner = _owned(connection, user, owner_name)
        rows = connection.execute(
            f"{_SELECT} WHERE t.owner_id = ? AND (t.deleted_us, t.project_id) < (?, ?)"
            " ORDER BY t.deleted_us DESC, t.project_id DESC LIMIT ?",
            (owner.id, after[0], after[1], page.limit + 1),
        ).fetchall()
        return [
            {"key": [row["deleted_us"], row["project_id"]], **deleted_json(connection, row)}
            for row in rows
        ]


def _restore(
    state: Context, user: Owner, owner_name: str, name: str, new_name: str | None
) -> dict[str, Any]:
    with state.database.write() as transaction:
        connection = transaction.connection
        row = _find(connection, user, owner_name, name)
        project = _project_of(row)
        restored_name = new_name or project.name
        taken = connection.execute(
            "SELECT 1 FROM projects WHERE owner_id = ? AND name = ?",
            (project.owner.id, restored_name),
        ).fetchone()
        if taken:
            raise conflict(
                f"project {project.owner.name}/{restored_name} exists: restore the deleted one"
                " under another name (name=...)"
            )
        transaction.execute(
            "INSERT INTO projects (id, owner_id, name, title, description, tags, hidden,"
            " created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                project.id,
                project.owner.id,
                restored_name,
                project.title,
                project.description,
                json.dumps(project.tags),
                int(project.hidden),
                project.created_us,
                transaction.now_us,
            ),
        )
        transaction.execute("DELETE FROM trash WHERE project_id = ?", (project.id,))
        return replace(project, name=restored_name).to_json(connection)


def _purge(state: Context, user: Owner, owner_name: str, name: str) -> None:
    with state.database.write() as transaction:
        row = _find(transaction.connection, user, owner_name, name)
        discarded = destroy(transaction, row["project_id"])
    release(state, discarded)


async def list_trash(request: Request) -> JSONResponse:
    user = await caller(request)
    page = Page.from_request(request, key=count_and_text_key)
    state = context(request)
    items = await state.run(_list, state, user, request.path_params["owner"], page)
    return JSONResponse(
        page.answer(
            items,
            lambda item: item["key"],
            lambda item: {k: v for k, v in item.items() if k != "key"},
        )
    )


async def restore_project(request: Request) -> JSONResponse:
    user = await caller(request)
    body = await json_body(request, optional=True)
    unknown = sorted(set(body) - {"name"})
    if unknown:
        raise invalid(f"unknown field {unknown[0]!r}", field=unknown[0])
    new_name = body_field(body, "name", str)
    if new_name is not None:
        check_project_name(new_name, field="name")
    state = context(request)
    params = request.path_params
    project = await state.run(_restore, state, user, params["owner"], params["project"], new_name)
    return JSONResponse(project)


async def purge_project(request: Request) -> Response:
    user = await caller(request)
    state = context(request)
    params = request.path_params
    await state.run(_purge, state, user, params["owner"], params["project"])
    return Response(status_code=204)


routes = [
    Route("/api/storage/trash/{owner}", list_trash, methods=["GET"]),
    Route("/api/storage/trash/{owner}/{project}", purge_project, methods=["DELETE"]),
    Route("/api/storage/trash/{owner}/{project}/restore", restore_project, methods=["POST"]),
]
