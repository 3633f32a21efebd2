"""Routes of the caller and of owners: `/api/account`, `/api/storage/owners[/{owner}]`."""

from __future__ import annotations

import sqlite3

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from anaconda_storage_server.accounts import Owner, find_owner, organizations_of
from anaconda_storage_server.context import caller, context
from anaconda_storage_server.errors import not_found
from anaconda_storage_server.paging import Page, text_key


def visible_owners(connection: sqlite3.Connection, user: Owner, page: Page) -> list[Owner]:
    """The caller, its organizations and the owners of projects shared with it, by name."""
    rows = connection.execute(
        """
        WITH principals(id) AS (SELECT ?1 UNION SELECT org_id FROM members WHERE user_id = ?1),
        visible(id) AS (
            SELECT id FROM principals
            UNION SELECT projects.owner_id FROM grants
                JOIN projects ON projects.id = grants.project_id
                WHERE grants.principal_id IN (SELECT id FROM principals)
        )
        SELECT owners.* FROM owners JOIN visible ON visible.id = owners.id
        WHERE owners.name > ?2 ORDER BY owners.name LIMIT ?3
        """,
        (user.id, page.after or "", page.limit + 1),
    ).fetchall()
    return [Owner.from_row(row) for row in rows]


async def account(request: Request) -> JSONResponse:
    user = await caller(request)
    state = context(request)
    organizations = await state.run(state.read, organizations_of, user.id)
    body = user.to_json()
    body["kind"] = "user"
    return JSONResponse({**body, "organizations": [org.to_json() for org in organizations]})


async def list_owners(request: Request) -> JSONResponse:
    user = await caller(request)
    page = Page.from_request(request, key=text_key)
    state = context(request)
    owners = await state.run(state.read, visible_owners, user, page)
    return JSONResponse(page.answer([owner.to_json() for owner in owners], lambda o: o["name"]))


async def get_owner(request: Request) -> JSONResponse:
    await caller(request)
    name = request.path_params["owner"]
    state = context(request)
    owner = await state.run(state.read, find_owner, name)
    if owner is None:
        raise not_found("owner", f"no user or organization {name!r}")
    return JSONResponse(owner.to_json())


routes = [
    Route("/api/account", account, methods=["GET"]),
    Route("/api/storage/owners", list_owners, methods=["GET"]),
    Route("/api/storage/owners/{owner}", get_owner, methods=["GET"]),
]
