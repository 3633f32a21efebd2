"""What every route works with: the data directory, the caller, JSON bodies, parameters.

Blocking work (SQLite, files) runs in worker threads through `Context.run`, so the event loop
only ever waits on sockets and timers: a slow commit or a `--latency` sleep never holds up
another request.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request

from anaconda_storage_server.accounts import Owner, authenticate, hash_key
from anaconda_storage_server.blobs import Blobs
from anaconda_storage_server.database import Database
from anaconda_storage_server.errors import ApiError, invalid
from anaconda_storage_server.group_commit import GroupCommit
from anaconda_storage_server.paging import load_secret
from anaconda_storage_server.text import ascii_integer, refuse_surrogates

T = TypeVar("T")


class _FilePathConvertor(Convertor[str]):
    # Starlette's `path` convertor is `.*`, which stops at a newline: a path holding a
    # control character would then be "no route" (404) instead of `400 invalid`.
    regex = "[\\s\\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("filepath", _FilePathConvertor())
# The `{path}` of file, metadata, revision and directory routes: any text, checked later.
FILE_PATH = "{path:filepath}"

MAX_JSON_BODY = 1024 * 1024
logger = logging.getLogger("anaconda_storage_server")


@dataclass
class Context:
    """The state of a running server, shared by every request."""

    data_dir: Path
    database: Database
    blobs: Blobs
    uploads_dir: Path
    upload_expiry: float
    # API key hash -> user. Keys are never revoked, so a hit stays valid; misses are not
    # cached, so a user added by the `users add` command is seen at once.
    known_keys: dict[str, Owner] = field(default_factory=dict)
    # Upload session id -> the running sha256 of its parts received in order (uploads.py).
    upload_prefixes: dict[str, Any] = field(default_factory=dict)
    # How long a deleted project stays in its owner's trash (trash.py), in days.
    retention_days: float = 30.0
    # The key that signs page cursors (paging.py), kept in the data directory.
    cursor_secret: bytes = field(init=False, repr=False)
    # Uploads commit in batches through this (group_commit.py).
    commits: GroupCommit = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.cursor_secret = load_secret(self.data_dir)
        self.commits = GroupCommit(self.database, self.blobs)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking `function(*args)` in a worker thread."""
        return await anyio.to_thread.run_sync(functools.partial(function, *args))

    def read(self, function: Callable[..., T], *args: Any) -> T:
        """`function(connection, *args)` inside one read transaction (call from a thread)."""
        with self.database.read() as connection:
            return function(connection, *args)


def context(request: Request) -> Context:
    """The server state of a request."""
    state: Context = request.app.state.context
    return state


async def caller(request: Request) -> Owner:
    """The user the request's bearer key belongs to.

    Raises:
        ApiError: 401 when the key is absent or unknown.
    """
    header = request.headers.get("authorization", "")
    scheme, _, api_key = header.partition(" ")
    api_key = api_key.strip()
    if scheme.lower() != "bearer" or not api_key:
        raise ApiError(
            401, "an API key is required (Authorization: Bearer <key>)", headers=_CHALLENGE
        )
    state = context(request)
    key_hash = hash_key(api_key)
    user = state.known_keys.get(key_hash)
    if user is None:
        user = await state.run(state.read, authenticate, api_key)
        if user is None:
            raise ApiError(401, "unknown API key", headers=_CHALLENGE)
        state.known_keys[key_hash] = user
    return user


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object body (at most 1 MiB).

    Args:
        request: The request.
        optional: An empty body means `{}` instead of an error.

    Raises:
        ApiError: 413 over 1 MiB; 400 when it is not a JSON object, or a string in it holds
            a lone surrogate (`"\\ud800"`: valid JSON, but not Unicode).
    """
    length = ascii_integer(request.headers.get("content-length", ""))
    if length is not None and length > MAX_JSON_BODY:
        raise ApiError(413, "a JSON body is limited to 1 MiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise ApiError(413, "a JSON body is limited to 1 MiB")
    if not body.strip():
        if optional:
            return {}
        raise invalid("a JSON object body is required")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise invalid(f"malformed JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise invalid("the body must be a JSON object")
    refuse_surrogates(value)
    return value


def query_bool(request: Request, name: str) -> bool:
    """A boolean query parameter (`true`/`false`/`1`/`0`, absent is false)."""
    value = request.query_params.get(name)
    if value is None or value.lower() in ("false", "0", ""):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise invalid(f"{name} must be true or false", field=name)


def body_field(
    body: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = False
) -> Any:
    """A field of a JSON body, checked for its type (None when absent and optional)."""
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"{name} is required", field=name)
        return None
    # bool is an int in Python; never accept true where a number is wanted.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
        raise invalid(f"{name} has the wrong type", field=name)
    return value


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
