"""Checkpoint routes: list, create, resolve a reference (docs/api.md, "Checkpoints").

An ad-hoc checkpoint is a row naming an instant of its project; reading at it reads the
history as it was then (`history.py`). A time point needs no row at all.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from anaconda_storage_core.uri import TimePoint
from anaconda_storage_server.access import open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.context import Context, body_field, caller, context, json_body
from anaconda_storage_server.errors import invalid, not_found
from anaconda_storage_server.history import checkpoint_instant, format_instant
from anaconda_storage_server.names import parse_checkpoint
from anaconda_storage_server.paging import Page, count_key

MAX_MESSAGE = 1024
CHECKPOINT_SELECT = """SELECT c.id, c.created_us, c.message, a.id AS author_id,
    a.name AS author_name, a.kind AS author_kind
FROM checkpoints c JOIN owners a ON a.id = c.created_by"""


def checkpoint_json(row: sqlite3.Row) -> dict[str, Any]:
    """The `Checkpoint` object of docs/api.md."""
    author = Owner(row["author_id"], row["author_name"], row["author_kind"])
    return {
        "id": row["id"],
        "created_at": format_instant(row["created_us"]),
        "created_by": author.to_json(),
        "message": row["message"],
    }


def recent_checkpoints(
    connection: sqlite3.Connection, project_id: str, *, before_us: int | None = None, limit: int
) -> list[sqlite3.Row]:
    """A project's checkpoints, newest first, made before `before_us` if given."""
    return connection.execute(
        f"{CHECKPOINT_SELECT} WHERE c.project_id = ? AND c.created_us < ?"
        " ORDER BY c.created_us DESC LIMIT ?",
        (project_id, before_us if isinstance(before_us, int) else 2**62, limit),
    ).fetchall()


def _list(state: Context, user: Owner, owner: str, name: str, page: Page) -> list[sqlite3.Row]:
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        return recent_checkpoints(
            connection, project.id, before_us=page.after, limit=page.limit + 1
        )


def _create(state: Context, user: Owner, owner: str, name: str, message: str) -> dict[str, Any]:
    with state.database.write() as transaction:
        project = open_project(transaction.connection, user, owner, name, "write")
        checkpoint_id = str(uuid.uuid4())
        transaction.execute(
            "INSERT INTO checkpoints (id, project_id, created_us, created_by, message)"
            " VALUES (?, ?, ?, ?, ?)",
            (checkpoint_id, project.id, transaction.now_us, user.id, message),
        )
        row = transaction.execute(
            f"{CHECKPOINT_SELECT} WHERE c.id = ?", (checkpoint_id,)
        ).fetchone()
        return checkpoint_json(row)


def _resolve(state: Context, user: Owner, owner: str, name: str, token: str) -> dict[str, Any]:
    ref = parse_checkpoint(token)
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        instant = checkpoint_instant(connection, project.id, ref)
        if isinstance(ref, TimePoint):
            return {"id": None, "created_at": format_instant(instant)}
        row = connection.execute(
            f"{CHECKPOINT_SELECT} WHERE c.project_id = ? AND c.created_us = ?",
            (project.id, instant),
        ).fetchone()
        if row is None:  # pragma: no cover - checkpoint_instant found it in this snapshot
            raise not_found("checkpoint", f"no checkpoint {token}")
        return checkpoint_json(row)


async def list_checkpoints(request: Request) -> JSONResponse:
    user = await caller(request)
    page = Page.from_request(request, key=count_key)
    state = context(request)
    params = request.path_params
    rows = await state.run(_list, state, user, params["owner"], params["project"], page)
    return JSONResponse(page.answer(rows, lambda row: row["created_us"], checkpoint_json))


async def create_checkpoint(request: Request) -> JSONResponse:
    user = await caller(request)
    body = await json_body(request, optional=True)
    message = body_field(body, "message", str) or ""
    if len(message) > MAX_MESSAGE:
        raise invalid(f"a message is at most {MAX_MESSAGE} characters", field="message")
    state = context(request)
    params = request.path_params
    checkpoint = await state.run(_create, state, user, params["owner"], params["project"], message)
    return JSONResponse(checkpoint, status_code=201)


async def get_checkpoint(request: Request) -> JSONResponse:
    user = await caller(request)
    state = context(request)
    params = request.path_params
    checkpoint = await state.run(
        _resolve, state, user, params["owner"], params["project"], params["ref"]
    )
    return JSONResponse(checkpoint)


routes = [
    Route("/api/storage/projects/{owner}/{project}/checkpoints", list_checkpoints, methods=["GET"]),
    Route(
        "/api/storage/projects/{owner}/{project}/checkpoints", create_checkpoint, methods=["POST"]
    ),
    Route(
        "/api/storage/projects/{owner}/{project}/checkpoints/{ref}",
        get_checkpoint,
        methods=["GET"],
    ),
]
