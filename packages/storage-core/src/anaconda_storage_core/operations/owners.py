"""Owners (users and organizations): `/api/storage/owners`."""

from __future__ import annotations

from functools import partial

from ..models import Owner, Page
from .call import Api, Call, parse_json, quote_segment

__all__ = ["get_owner", "list_owners"]


def list_owners(
    api: Api, *, limit: int | None = None, cursor: str | None = None
) -> Call[Page[Owner]]:
    """`GET /api/storage/owners`: one page of the owners the caller can see, by name."""
    return Call(
        api.request("GET", "/api/storage/owners", params={"limit": limit, "cursor": cursor}),
        parse_json(partial(Page.from_json, item=Owner.from_json), "owners"),
        idempotent=True,
        target="owners",
    )


def get_owner(api: Api, owner: str) -> Call[Owner]:
    """`GET /api/storage/owners/{owner}`: a user or organization by name or UUID."""
    return Call(
        api.request("GET", f"/api/storage/owners/{quote_segment(owner)}"),
        parse_json(Owner.from_json, owner),
        idempotent=True,
        target=owner,
    )
