"""Pages of every list: `limit`, an opaque `cursor`, `{"items", "next_cursor"}`.

docs/api.md, "Paging".

A cursor carries `[query, key]`: `key` is the sort key of the last item served (keyset
paging, so a page never skips or repeats items because of a concurrent insert before it),
and `query` a short digest of the route and its other parameters, which binds the cursor to
its query: replaying it against another query is `400 invalid`.

A cursor is signed: the URL-safe base64 of a 16-byte HMAC-SHA256 tag followed by the JSON
text, keyed by a random secret kept in the data directory (`cursor.key`, made on first
start, mode 0600). Without the signature anyone could recompute the query digest and send
any JSON as the key (`{}`, `10**30`, a lone surrogate), which would reach SQLite. A cursor
that is not one this data directory made is `400 invalid`. As a second line of defence,
each list says the shape of its key and a cursor whose key has another shape is refused too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request

from anaconda_storage_server.errors import invalid
from anaconda_storage_server.text import ascii_integer, surrogate_in

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR = 8192  # characters; a real cursor holds at most a path and a few numbers
SECRET_FILE = "cursor.key"
SECRET_BYTES = 32
TAG_BYTES = 16
T = TypeVar("T")


def load_secret(data_dir: Path) -> bytes:
    """The data directory's cursor secret, made (mode 0600) if it does not exist yet.

    A new secret is written to a temporary file and hard-linked into place, so two servers
    starting on one directory at once agree on one secret and never read a partial one.
    """
    path = data_dir / SECRET_FILE
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        secret = b""
    if len(secret) >= TAG_BYTES:
        return secret
    temporary = data_dir / f".{SECRET_FILE}.{uuid.uuid4().hex}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(secrets.token_bytes(SECRET_BYTES))
            file.flush()
            os.fsync(file.fileno())
        if secret:  # too short to be ours: replace it
            os.replace(temporary, path)
        else:
            # If another process made it first, use theirs.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_bytes()


# The shapes of sort keys. A list passes its own to `Page.from_request`.


def text_key(value: object) -> bool:
    """A name or path (or `dir/` key): a string of valid Unicode."""
    return isinstance(value, str) and len(value) <= 4096 and surrogate_in(value) is None


def count_key(value: object) -> bool:
    """A sequence number or instant: a non-negative 64-bit integer."""
    return type(value) is int and 0 <= value < 2**63


def count_and_text_key(value: object) -> bool:
    """An instant and an id: `[count, text]`."""
    return (
        isinstance(value, list) and len(value) == 2 and count_key(value[0]) and text_key(value[1])
    )


def _query_digest(request: Request) -> str:
    parameters = sorted(
        (name, value)
        for name, value in request.query_params.multi_items()
        if name not in ("cursor", "limit")
    )
    text = json.dumps([request.url.path, parameters])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _tag(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:TAG_BYTES]


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.context.cursor_secret
    return secret


@dataclass(frozen=True)
class Page:
    """The page a list request asks for: `after` is the sort key to continue after, if any."""

    limit: int
    after: Any
    query: str
    secret: bytes

    @classmethod
    def from_request(cls, request: Request, *, key: Callable[[object], bool]) -> Page:
        """Read `limit` and `cursor` from the query string.

        Args:
            request: The list request.
            key: Whether a value has the shape of this list's sort keys.

        Raises:
            ApiError: 400 for a limit outside 1..1000 or a malformed, forged or foreign cursor.
        """
        raw_limit = request.query_params.get("limit")
        limit = DEFAULT_LIMIT
        if raw_limit is not None:
            number = ascii_integer(raw_limit, max_digits=4)
            if number is None or not 1 <= number <= MAX_LIMIT:
                raise invalid(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
            limit = number
        query = _query_digest(request)
        secret = _secret(request)
        cursor = request.query_params.get("cursor")
        after = None
        if cursor:
            after = _read_cursor(cursor, secret, query)
            if not key(after):
                raise invalid("the cursor's position has the wrong shape", field="cursor")
        return cls(limit=limit, after=after, query=query, secret=secret)

    def cursor(self, key: object) -> str:
        """The signed cursor that continues after the item of sort key `key`."""
        payload = json.dumps([self.query, key], separators=(",", ":")).encode()
        token = base64.urlsafe_b64encode(_tag(self.secret, payload) + payload)
        return token.decode("ascii").rstrip("=")

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


def _read_cursor(cursor: str, secret: bytes, query: str) -> object:
    """The sort key a cursor continues after, once its signature and query are checked."""
    if len(cursor) > MAX_CURSOR:
        raise invalid("malformed cursor: too long", field="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        token = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
    except (ValueError, binascii.Error, UnicodeError):
        raise invalid("malformed cursor: not a cursor this server made", field="cursor") from None
    tag, payload = token[:TAG_BYTES], token[TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(secret, payload)):
        raise invalid("the cursor was not made by this server (or was altered)", field="cursor")
    try:
        bound_query, after = json.loads(payload)
    except (ValueError, TypeError):  # signed by us, so only if the format changes
        raise invalid("malformed cursor", field="cursor") from None
    if bound_query != query or after is None:
        raise invalid("the cursor belongs to another query", field="cursor")
    return after
