"""Pages of every list: `limit`, an opaque `cursor`, `{"items", "next_cursor"}`.

docs/api.md, "Paging".

A cursor is the URL-safe base64 of `[query, key]`: `key` is the sort key of the last item
served (keyset paging, so a page never skips or repeats items because of a concurrent
insert before it), and `query` a short digest of the route and its other parameters, which
binds the cursor to its query: replaying it against another query is `400 invalid`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request

from anaconda_storage_server.errors import invalid

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
T = TypeVar("T")


def _query_digest(request: Request) -> str:
    parameters = sorted(
        (name, value)
        for name, value in request.query_params.multi_items()
        if name not in ("cursor", "limit")
    )
    text = json.dumps([request.url.path, parameters])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dataclass(frozen=True)
class Page:
    """The page a list request asks for: `after` is the sort key to continue after, if any."""

    limit: int
    after: Any
    query: str

    @classmethod
    def from_request(cls, request: Request) -> Page:
        """Read `limit` and `cursor` from the query string.

        Raises:
            ApiError: 400 for a limit outside 1..1000 or a malformed or foreign cursor.
        """
        raw_limit = request.query_params.get("limit")
        limit = DEFAULT_LIMIT
        if raw_limit is not None:
            if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
                raise invalid(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
            limit = int(raw_limit)
        query = _query_digest(request)
        cursor = request.query_params.get("cursor")
        after = None
        if cursor:
            try:
                padded = cursor + "=" * (-len(cursor) % 4)
                bound_query, after = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
                raise invalid("malformed cursor", field="cursor") from exc
            if bound_query != query or after is None:
                raise invalid("the cursor belongs to another query", field="cursor")
        return cls(limit=limit, after=after, query=query)

    def cursor(self, key: object) -> str:
        """The cursor that continues after the item of sort key `key`."""
        text = json.dumps([self.query, key], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")

    def answer(
        self,
        items: Sequence[T],
        key: Callable[[T], object],
        render: Callable[[T], object] | None = None,
    ) -> dict[str, object]:
        """The page body for `items` fetched with `limit + 1` rows (the extra one says more).

        Args:
            items: Up to `limit + 1` items in order.
            key: The sort key of an item, which a cursor continues after.
            render: How an item appears in the answer (default: as it is).
        """
        more = len(items) > self.limit
        served = list(items[: self.limit])
        next_cursor = self.cursor(key(served[-1])) if more and served else None
        shown = [render(item) for item in served] if render else served
        return {"items": shown, "next_cursor": next_cursor}
