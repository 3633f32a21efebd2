"""The caller and the server's health: `GET /api/account`, `GET /api/health`."""

from __future__ import annotations

from ..models import Account, Health
from .call import HEALTH_ROUTE, Api, Call, parse_json

__all__ = ["get_account", "get_health"]


def get_account(api: Api) -> Call[Account]:
    """`GET /api/account`: who the API key belongs to."""
    return Call(
        api.request("GET", "/api/account"),
        parse_json(Account.from_json, "account"),
        idempotent=True,
        target="account",
    )


def get_health(api: Api) -> Call[Health]:
    """`GET /api/health`: the server is up (no authentication needed)."""
    return Call(
        api.request("GET", HEALTH_ROUTE),
        parse_json(Health.from_json, "health"),
        idempotent=True,
        target="health",
    )
