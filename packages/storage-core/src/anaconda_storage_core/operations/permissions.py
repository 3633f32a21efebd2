"""A project's permissions: `/api/storage/projects/{o}/{p}/permissions`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models import Permissions
from .call import Api, Call, parse_json, project_route

__all__ = ["change_permissions", "get_permissions"]


def get_permissions(api: Api, owner: str, project: str) -> Call[Permissions]:
    """`GET .../permissions`: the owner and the grants."""
    target = f"{owner}/{project}"
    return Call(
        api.request("GET", f"{project_route(owner, project)}/permissions"),
        parse_json(Permissions.from_json, target),
        idempotent=True,
        target=target,
    )


def change_permissions(
    api: Api, owner: str, project: str, changes: Sequence[Mapping[str, Any]]
) -> Call[Permissions]:
    """`POST .../permissions`: apply all changes or none.

    Args:
        changes: The contract's change objects: `{"principal_type": "user" | "org",
            "principal": name or UUID, "grant": bool, "level": "r" | "w" | "o"}`.

    Not idempotent: an ownership transfer moves the project, so a second send is a 404.
    """
    target = f"{owner}/{project}"
    return Call(
        api.request(
            "POST", f"{project_route(owner, project)}/permissions", json={"changes": list(changes)}
        ),
        parse_json(Permissions.from_json, target),
        idempotent=False,
        target=target,
    )
