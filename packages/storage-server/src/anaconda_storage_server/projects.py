"""Project routes: list, create, read, change attributes, delete (docs/api.md, "Projects")."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from anaconda_storage_core.attributes import InvalidAttribute, validate_project_attributes
from anaconda_storage_server import recovery, trash
from anaconda_storage_server.access import (
    PROJECT_SELECT,
    Project,
    is_member_or_self,
    open_project,
    owner_of_route,
    readable_projects,
)
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.checkpoints import checkpoint_json, recent_checkpoints
from anaconda_storage_server.context import Context, caller, context, json_body, query_bool
from anaconda_storage_server.errors import conflict, forbidden, invalid
from anaconda_storage_server.history import ReadPoint, checkpoint_instant, format_instant
from anaconda_storage_server.names import KEEP
from anaconda_storage_server.paging import Page, text_key
from anaconda_storage_server.permissions import permissions_json

PROJECT_ATTRIBUTES = ("name", "title", "description", "tags", "hidden")


def project_attributes(body: dict[str, Any]) -> dict[str, Any]:
    """The attributes of a create or PATCH body, checked by core's chattr rules."""
    unknown = sorted(set(body) - set(PROJECT_ATTRIBUTES))
    if unknown:
        raise invalid(f"unknown project attribute {unknown[0]!r}", field=unknown[0])
    try:
        return dict(validate_project_attributes(**body))
    except InvalidAttribute as exc:
        raise invalid(str(exc), field=exc.attribute) from exc


def _by_id(connection: sqlite3.Connection, user: Owner, project_id: str) -> Project:
    row = connection.execute(f"{PROJECT_SELECT} WHERE p.id = ?2", (user.id, project_id)).fetchone()
    return Project.from_row(row)


def _name_taken(connection: sqlite3.Connection, owner_id: str, name: str) -> bool:
    row = connection.execute(
        "SELECT 1 FROM projects WHERE owner_id = ? AND name = ?", (owner_id, name)
    ).fetchone()
    return row is not None


def detailed_json(connection: sqlite3.Connection, project: Project) -> dict[str, Any]:
    """A `Project` with its permissions and its 100 most recent checkpoints."""
    return {
        **project.to_json(connection),
        "permissions": permissions_json(connection, project),
        "checkpoints": [
            checkpoint_json(row) for row in recent_checkpoints(connection, project.id, limit=100)
        ],
    }


def _create(state: Context, user: Owner, owner_name: str, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("name") is None:
        raise invalid("a project needs a name", field="name")
    attributes = project_attributes(body)
    with state.database.write() as transaction:
        connection = transaction.connection
        owner = owner_of_route(connection, owner_name)
        if not is_member_or_self(connection, user, owner):
            raise forbidden(
                "owner", "you can create projects for yourself and your organizations only"
            )
        name = attributes["name"]
        if _name_taken(connection, owner.id, name):
            raise conflict(f"project {owner.name}/{name} exists already")
        project_id = str(uuid.uuid4())
        transaction.execute(
            "INSERT INTO projects (id, owner_id, name, title, description, tags, hidden,"
            " created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                project_id,
                owner.id,
                name,
                attributes.get("title", ""),
                attributes.get("description", ""),
                json.dumps(attributes.get("tags", [])),
                int(attributes.get("hidden", False)),
                transaction.now_us,
                transaction.now_us,
            ),
        )
        return _by_id(connection, user, project_id).to_json(connection)


def _update(
    state: Context, user: Owner, owner_name: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    attributes = project_attributes(body)
    with state.database.write() as transaction:
        connection = transaction.connection
        project = open_project(connection, user, owner_name, name, "owner")
        new_name = attributes.get("name", project.name)
        if new_name != project.name and _name_taken(connection, project.owner.id, new_name):
            raise conflict(f"project {project.owner.name}/{new_name} exists already")
        columns = {
            "name": new_name,
            "title": attributes.get("title", project.title),
            "description": attributes.get("description", project.description),
            "tags": json.dumps(attributes.get("tags", project.tags)),
            "hidden": int(attributes.get("hidden", project.hidden)),
        }
        transaction.execute(
            "UPDATE projects SET name = ?, title = ?, description = ?, tags = ?, hidden = ?,"
            " updated_us = ? WHERE id = ?",
            (*columns.values(), transaction.now_us, project.id),
        )
        return _by_id(connection, user, project.id).to_json(connection)


# A `.keep` marker is where a directory is, not content: neither its live copy nor its
# revisions make a project non-empty.
_NOT_A_MARKER = "path != ? AND substr(path, -6) != '/.keep'"


def _refuse_unless_empty(
    connection: sqlite3.Connection, project: Project, discard_history: bool
) -> None:
    """Refuse (409) to delete a project that holds files, or history unless told to drop it.

    History is what `#-N` and checkpoints read: a revision of any file (a deleted one
    included) or a checkpoint. Deleting the project loses it, so a client has to ask for
    that explicitly (issue 11: `rmdir` of a project silently destroyed its history).
    """
    name = f"{project.owner.name}/{project.name}"
    live = connection.execute(
        f"SELECT 1 FROM live WHERE project_id = ? AND {_NOT_A_MARKER} LIMIT 1",
        (project.id, KEEP),
    ).fetchone()
    if live is not None:
        raise conflict(f"project {name} is not empty (delete with recursive=true)")
    if discard_history:
        return
    history = connection.execute(
        f"SELECT 1 FROM revisions WHERE project_id = ? AND {_NOT_A_MARKER}"
        " UNION ALL SELECT 1 FROM checkpoints WHERE project_id = ? LIMIT 1",
        (project.id, KEEP, project.id),
    ).fetchone()
    if history is not None:
        raise conflict(
            f"project {name} holds history (revisions of deleted files or checkpoints),"
            " which deleting it would take away (delete with discard_history=true; the"
            " project then waits in the trash, where its owner can restore it)"
        )


def _delete(
    state: Context,
    user: Owner,
    owner_name: str,
    name: str,
    recursive: bool,
    discard_history: bool,
    purge: bool,
) -> None:
    with state.database.write() as transaction:
        connection = transaction.connection
        project = open_project(connection, user, owner_name, name, "owner")
        if not recursive:
            _refuse_unless_empty(connection, project, discard_history)
        if not purge:
            # Into the trash, whole (issue 13): its owner can restore it until it expires.
            uploads = trash.move_to_trash(transaction, project, user, state.retention_days)
        else:
            discarded = trash.destroy(transaction, project.id)
    if not purge:
        recovery.remove_upload_dirs(state, uploads)
        return
    trash.release(state, discarded)


def _detailed(
    state: Context, user: Owner, owner_name: str, name: str, point: ReadPoint
) -> tuple[dict[str, Any], int | None]:
    with state.database.read() as connection:
        project = open_project(connection, user, owner_name, name, "read")
        instant = None
        if point.checkpoint is not None:
            instant = checkpoint_instant(connection, project.id, point.checkpoint)
        return detailed_json(connection, project), instant


def _list(
    state: Context, user: Owner, owner_name: str, page: Page, include_hidden: bool
) -> list[dict[str, Any]]:
    with state.database.read() as connection:
        owner = owner_of_route(connection, owner_name)
        projects = readable_projects(
            connection,
            user,
            owner,
            after=page.after or "",
            include_hidden=include_hidden,
            limit=page.limit + 1,
        )
        return [project.to_json(connection) for project in projects]


async def list_projects(request: Request) -> JSONResponse:
    user = await caller(request)
    page = Page.from_request(request, key=text_key)
    include_hidden = query_bool(request, "include_hidden")
    state = context(request)
    owner = request.path_params["owner"]
    items = await state.run(_list, state, user, owner, page, include_hidden)
    return JSONResponse(page.answer(items, lambda item: item["name"]))


async def create_project(request: Request) -> JSONResponse:
    user = await caller(request)
    body = await json_body(request)
    state = context(request)
    project = await state.run(_create, state, user, request.path_params["owner"], body)
    return JSONResponse(project, status_code=201)


async def get_project(request: Request) -> JSONResponse:
    user = await caller(request)
    point = ReadPoint.from_request(request, revision=False)
    state = context(request)
    params = request.path_params
    project, instant = await state.run(
        _detailed, state, user, params["owner"], params["project"], point
    )
    headers = {} if instant is None else {"X-Storage-Checkpoint-At": format_instant(instant)}
    return JSONResponse(project, headers=headers)


async def update_project(request: Request) -> JSONResponse:
    user = await caller(request)
    body = await json_body(request)
    state = context(request)
    params = request.path_params
    project = await state.run(_update, state, user, params["owner"], params["project"], body)
    return JSONResponse(project)


async def delete_project(request: Request) -> Response:
    user = await caller(request)
    recursive = query_bool(request, "recursive")
    discard_history = query_bool(request, "discard_history")
    purge = query_bool(request, "purge")
    state = context(request)
    params = request.path_params
    await state.run(
        _delete,
        state,
        user,
        params["owner"],
        params["project"],
        recursive,
        discard_history,
        purge,
    )
    return Response(status_code=204)


routes = [
    Route("/api/storage/projects/{owner}", list_projects, methods=["GET"]),
    Route("/api/storage/projects/{owner}", create_project, methods=["POST"]),
    Route("/api/storage/projects/{owner}/{project}", get_project, methods=["GET"]),
    Route("/api/storage/projects/{owner}/{project}", update_project, methods=["PATCH"]),
    Route("/api/storage/projects/{owner}/{project}", delete_project, methods=["DELETE"]),
]
