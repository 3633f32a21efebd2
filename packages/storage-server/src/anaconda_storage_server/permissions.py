"""Permission routes: read a project's owner and grants, change them (chmod).

A POST applies a list of changes in one transaction: all of them or none (docs/api.md,
"Permissions"). `+r` grants read (an existing write grant stays), `+w` grants write, `-w`
lowers a write grant to read, `-r` removes the grant, `+o` transfers the project to an
organization the caller is a member of; `-o` does not exist (ownership is only transferred).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from anaconda_storage_server.access import Project, open_project
from anaconda_storage_server.accounts import Owner, find_owner, is_member
from anaconda_storage_server.context import Context, caller, context, json_body
from anaconda_storage_server.database import Transaction
from anaconda_storage_server.errors import conflict, forbidden, invalid, not_found

PRINCIPAL_TYPES = ("user", "org")


def permissions_json(connection: sqlite3.Connection, project: Project) -> dict[str, Any]:
    """`{"owner": Owner, "grants": [Grant]}`, grants sorted by principal name."""
    owner = connection.execute(
        "SELECT owners.* FROM projects JOIN owners ON owners.id = projects.owner_id"
        " WHERE projects.id = ?",
        (project.id,),
    ).fetchone()
    grants = connection.execute(
        "SELECT owners.*, grants.level FROM grants JOIN owners ON owners.id = grants.principal_id"
        " WHERE grants.project_id = ? ORDER BY owners.name",
        (project.id,),
    ).fetchall()
    return {
        "owner": Owner.from_row(owner).to_json(),
        "grants": [
            {"principal": Owner.from_row(row).to_json(), "level": row["level"]} for row in grants
        ],
    }


def _check_change(change: object, index: int) -> tuple[str, str, bool, str]:
    field = f"changes[{index}]"
    if not isinstance(change, dict):
        raise invalid(f"{field} must be an object", field=field)
    principal_type = change.get("principal_type")
    principal = change.get("principal")
    grant = change.get("grant")
    level = change.get("level")
    if principal_type not in PRINCIPAL_TYPES:
        raise invalid(f"{field}.principal_type must be user or org", field="principal_type")
    if not isinstance(principal, str) or not principal:
        raise invalid(f"{field}.principal must be a name or UUID", field="principal")
    if not isinstance(grant, bool):
        raise invalid(f"{field}.grant must be true or false", field="grant")
    if level not in ("r", "w", "o"):
        raise invalid(f"{field}.level must be r, w or o", field="level")
    return principal_type, principal, grant, level


def _transfer(transaction: Transaction, user: Owner, project: Project, org: Owner) -> None:
    if org.kind != "org" or not is_member(transaction.connection, org.id, user.id):
        raise forbidden(
            "owner", "a project can only be transferred to an organization you are a member of"
        )
    current_owner = transaction.execute(
        "SELECT owner_id FROM projects WHERE id = ?", (project.id,)
    ).fetchone()[0]
    if current_owner == org.id:
        return
    taken = transaction.execute(
        "SELECT 1 FROM projects WHERE owner_id = ? AND name = ?", (org.id, project.name)
    ).fetchone()
    if taken:
        raise conflict(f"{org.name} already has a project {project.name}")
    transaction.execute(
        "UPDATE projects SET owner_id = ?, updated_us = ? WHERE id = ?",
        (org.id, transaction.now_us, project.id),
    )


def _apply(
    transaction: Transaction, project_id: str, principal: Owner, grant: bool, level: str
) -> None:
    row = transaction.execute(
        "SELECT level FROM grants WHERE project_id = ? AND principal_id = ?",
        (project_id, principal.id),
    ).fetchone()
    existing = row[0] if row else None
    new: str | None
    if grant:
        new = "w" if level == "w" or existing == "w" else "r"
    elif level == "w":
        new = "r" if existing else None
    else:
        new = None
    if new == existing:
        return
    if new is None:
        transaction.execute(
            "DELETE FROM grants WHERE project_id = ? AND principal_id = ?",
            (project_id, principal.id),
        )
    else:
        transaction.execute(
            "INSERT OR REPLACE INTO grants (project_id, principal_id, level) VALUES (?, ?, ?)",
            (project_id, principal.id, new),
        )


def _change(
    state: Context, user: Owner, owner: str, name: str, changes: list[Any]
) -> dict[str, Any]:
    checked = [_check_change(change, index) for index, change in enumerate(changes)]
    with state.database.write() as transaction:
        connection = transaction.connection
        project = open_project(connection, user, owner, name, "owner")
        for principal_type, principal_name, grant, level in checked:
            principal = find_owner(connection, principal_name)
            if principal is None or principal.kind != principal_type:
                kind = "user" if principal_type == "user" else "organization"
                raise not_found("owner", f"no {kind} {principal_name!r}")
            if level == "o":
                if not grant:
                    raise invalid(
                        "ownership cannot be revoked, only transferred (+o)", field="level"
                    )
                _transfer(transaction, user, project, principal)
            else:
                _apply(transaction, project.id, principal, grant, level)
        return permissions_json(connection, project)


def _read(state: Context, user: Owner, owner: str, name: str) -> dict[str, Any]:
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        return permissions_json(connection, project)


async def get_permissions(request: Request) -> JSONResponse:
    user = await caller(request)
    state = context(request)
    params = request.path_params
    return JSONResponse(await state.run(_read, state, user, params["owner"], params["project"]))


async def change_permissions(request: Request) -> JSONResponse:
    user = await caller(request)
    body = await json_body(request)
    changes = body.get("changes")
    if not isinstance(changes, list):
        raise invalid("changes must be a list", field="changes")
    state = context(request)
    params = request.path_params
    answer = await state.run(_change, state, user, params["owner"], params["project"], changes)
    return JSONResponse(answer)


routes = [
    Route("/api/storage/projects/{owner}/{project}/permissions", get_permissions, methods=["GET"]),
    Route(
        "/api/storage/projects/{owner}/{project}/permissions",
        change_permissions,
        methods=["POST"],
    ),
]
