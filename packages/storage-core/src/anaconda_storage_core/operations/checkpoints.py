"""Checkpoints of a project: `/api/storage/projects/{o}/{p}/checkpoints`."""

from __future__ import annotations

from functools import partial

from ..models import Checkpoint, Page
from .call import Api, Call, parse_json, project_route, quote_segment

__all__ = ["create_checkpoint", "get_checkpoint", "list_checkpoints"]


def create_checkpoint(api: Api, owner: str, project: str, message: str = "") -> Call[Checkpoint]:
    """`POST .../checkpoints`: an ad-hoc checkpoint of the project as it is now. Not
    idempotent: a second send makes a second checkpoint."""
    target = f"{owner}/{project}"
    return Call(
        api.request(
            "POST",
            f"{project_route(owner, project)}/checkpoints",
            json={"message": message} if message else {},
        ),
        parse_json(Checkpoint.from_json, target),
        idempotent=False,
        target=target,
    )


def list_checkpoints(
    api: Api, owner: str, project: str, *, limit: int | None = None, cursor: str | None = None
) -> Call[Page[Checkpoint]]:
    """`GET .../checkpoints`: a page of the project's ad-hoc checkpoints, newest first."""
    target = f"{owner}/{project}"
    return Call(
        api.request(
            "GET",
            f"{project_route(owner, project)}/checkpoints",
            params={"limit": limit, "cursor": cursor},
        ),
        parse_json(partial(Page.from_json, item=Checkpoint.from_json), target),
        idempotent=True,
        target=target,
    )


def get_checkpoint(api: Api, owner: str, project: str, ref: str) -> Call[Checkpoint]:
    """`GET .../checkpoints/{ref}`: resolve `-N`, a UUID or a time point (the latter answers
    a `Checkpoint` whose `id` is None and `created_at` the instant)."""
    target = f"{owner}/{project}#{ref}"
    return Call(
        api.request("GET", f"{project_route(owner, project)}/checkpoints/{quote_segment(ref)}"),
        parse_json(Checkpoint.from_json, target),
        idempotent=True,
        target=target,
    )
