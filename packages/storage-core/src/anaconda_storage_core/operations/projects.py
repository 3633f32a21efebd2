"""Projects: `/api/storage/projects/{owner}[/{project}]`."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from ..models import Page, Project, ProjectInfo
from .call import Api, Call, parse_json, parse_nothing, project_route, quote_segment

__all__ = ["create_project", "delete_project", "get_project", "list_projects", "update_project"]


def list_projects(
    api: Api,
    owner: str,
    *,
    include_hidden: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[Project]]:
    """`GET /api/storage/projects/{owner}`: a page of the owner's projects the caller can read."""
    params = {"include_hidden": True if include_hidden else None, "limit": limit, "cursor": cursor}
    return Call(
        api.request("GET", f"/api/storage/projects/{quote_segment(owner)}", params=params),
        parse_json(partial(Page.from_json, item=Project.from_json), owner),
        idempotent=True,
        target=owner,
    )


def create_project(
    api: Api, owner: str, name: str, attributes: Mapping[str, Any] | None = None
) -> Call[Project]:
    """`POST /api/storage/projects/{owner}`: a new project (`title`, `description`, `tags`,
    `hidden` optional in `attributes`). Not idempotent: a second send is a 409."""
    target = f"{owner}/{name}"
    return Call(
        api.request(
            "POST",
            f"/api/storage/projects/{quote_segment(owner)}",
            json={"name": name, **(attributes or {})},
        ),
        parse_json(Project.from_json, target),
        idempotent=False,
        target=target,
    )


def get_project(api: Api, owner: str, project: str) -> Call[ProjectInfo]:
    """`GET /api/storage/projects/{owner}/{project}`: with permissions and checkpoints."""
    target = f"{owner}/{project}"
    return Call(
        api.request("GET", project_route(owner, project)),
        parse_json(ProjectInfo.from_json, target),
        idempotent=True,
        target=target,
    )


def update_project(
    api: Api, owner: str, project: str, attributes: Mapping[str, Any]
) -> Call[Project]:
    """`PATCH /api/storage/projects/{owner}/{project}`: change name, title, description,
    tags or hidden. Setting attributes twice is setting them once, except a rename (the old
    name is gone after the first), so only a rename is not retried."""
    target = f"{owner}/{project}"
    return Call(
        api.request("PATCH", project_route(owner, project), json=dict(attributes)),
        parse_json(Project.from_json, target),
        idempotent="name" not in attributes,
        target=target,
    )


def delete_project(
    api: Api,
    owner: str,
    project: str,
    *,
    recursive: bool = False,
    discard_history: bool = False,
    purge: bool = False,
) -> Call[None]:
    """`DELETE /api/storage/projects/{owner}/{project}`: a project holding files only if
    `recursive`, one holding history (revisions, checkpoints) only if `recursive` or
    `discard_history` (else `Conflict`). It goes to its owner's trash, or with `purge`
    is deleted for good."""
    target = f"{owner}/{project}"
    params = {
        "recursive": True if recursive else None,
        "discard_history": True if discard_history else None,
        "purge": True if purge else None,
    }
    return Call(
        api.request("DELETE", project_route(owner, project), params=params),
        parse_nothing(target),
        idempotent=True,
        target=target,
    )
