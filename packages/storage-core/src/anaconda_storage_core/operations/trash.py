"""Deleted projects: `/api/storage/trash/{owner}[/{project}[/restore]]` (docs/api.md,
"Trash")."""

from __future__ import annotations

from functools import partial

from ..history import DeletedProject
from ..models import Page, Project
from .call import Api, Call, parse_json, parse_nothing, quote_segment

__all__ = ["list_trash", "purge_project", "restore_project"]


def _route(owner: str, project: str | None = None) -> str:
    route = f"/api/storage/trash/{quote_segment(owner)}"
    return f"{route}/{quote_segment(project)}" if project is not None else route


def list_trash(
    api: Api, owner: str, *, limit: int | None = None, cursor: str | None = None
) -> Call[Page[DeletedProject]]:
    """`GET /api/storage/trash/{owner}`: a page of the owner's deleted projects, newest
    deletion first (owner level)."""
    return Call(
        api.request("GET", _route(owner), params={"limit": limit, "cursor": cursor}),
        parse_json(partial(Page.from_json, item=DeletedProject.from_json), owner),
        idempotent=True,
        target=owner,
    )


def restore_project(
    api: Api, owner: str, project: str, *, name: str | None = None
) -> Call[Project]:
    """`POST .../trash/{owner}/{project}/restore`: bring a deleted project (by name or id)
    back, under `name` if given. Not idempotent: a second send finds it gone (404)."""
    target = f"{owner}/{project}"
    return Call(
        api.request(
            "POST", f"{_route(owner, project)}/restore", json={"name": name} if name else {}
        ),
        parse_json(Project.from_json, target),
        idempotent=False,
        target=target,
    )


def purge_project(api: Api, owner: str, project: str) -> Call[None]:
    """`DELETE .../trash/{owner}/{project}`: delete a deleted project for good."""
    target = f"{owner}/{project}"
    return Call(
        api.request("DELETE", _route(owner, project)),
        parse_nothing(target),
        idempotent=False,
        target=target,
    )
