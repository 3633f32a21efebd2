"""The sans-IO unit of the client: a `Call` is a built request and the function that reads
its answer.

Operation modules (one per resource of docs/api.md) only build `Call`s; no module of
`operations` does I/O. `StorageClient` and `AsyncStorageClient` send `call.request` and
hand the response to `call.parse`, which returns a model or raises the typed error (the
shape of h11 and of httpx's `_auth.py`: one definition of each API call, two senders).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from json import dumps
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

import httpx

from ..config import StorageConfig
from ..errors import LOGIN_HINT, AuthenticationRequired, raise_for_response
from ..outgoing import OutgoingRequest, Parts
from ..transfer.bodies import CHUNK_SIZE, BytesBody
from ..uri import InvalidURI, StorageURI

__all__ = [
    "Api",
    "Call",
    "location",
    "parse_json",
    "parse_nothing",
    "project_route",
    "quote_path",
    "quote_segment",
]

T = TypeVar("T")

JSONObject = Mapping[str, Any]


# What `quote` leaves as it is (RFC 3986 unreserved characters): most names, which then
# need no encoding, found by one regex match instead of a pass of `quote` per character.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
_UNRESERVED_PATH = re.compile(r"[A-Za-z0-9_.~/-]*")


def quote_segment(name: str) -> str:
    """Percent-encode one URL path segment (an owner, a project, a reference): even `/`."""
    return name if _UNRESERVED.fullmatch(name) else quote(name, safe="")


def quote_path(path: str) -> str:
    """Percent-encode a file path for the URL: everything but `/` (docs/api.md, "Names and
    paths"), so `#`, `?`, `%` and spaces are always encoded."""
    return path if _UNRESERVED_PATH.fullmatch(path) else quote(path, safe="/")


def location(
    owner: str,
    project: str,
    path: str = "",
    *,
    checkpoint: str | None = None,
    revision: str | None = None,
) -> str:
    """What a request is about, as the URI a user writes (`alice/sales#-1/q1.csv`): the
    canonical form of `StorageURI.format`, for messages (issue 11, 3.2: a checkpoint
    printed as a revision).

    Built on every call, so the common case (no reserved character in a name) is a string
    join; a name with `#`, `?` or `%` goes through the grammar's own formatter.
    """
    text = f"{owner}/{project}#{checkpoint}" if checkpoint else f"{owner}/{project}"
    if path:
        if "%" in path or "#" in path or "?" in path:
            try:
                path = StorageURI(owner, project, None, path).format(scheme=False)
                path = path.split("/", 2)[2]
            except InvalidURI:
                pass  # not a path the grammar allows: shown as it was given
        text += f"/{path}"
        if revision:
            text += f"#{revision}"
    return text


# The one route that needs no API key.
HEALTH_ROUTE = "/api/health"


@dataclass(frozen=True)
class Api:
    """Where requests go and the headers they carry: the part of a client's configuration
    an operation needs to build a request."""

    base_url: str
    headers: Mapping[str, str]
    _headers: httpx.Headers = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _origin: str = field(init=False, repr=False, compare=False)
    _host: str = field(init=False, repr=False, compare=False)
    _authorized: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Worked out once per client, not per request (each costs CPU that a workload of
        # many small files waits on: issue 15).
        headers = httpx.Headers(self.headers)
        base = httpx.URL(self.base_url)
        object.__setattr__(self, "_headers", headers)
        object.__setattr__(self, "_names", frozenset(name.lower() for name in self.headers))
        object.__setattr__(self, "_origin", f"{base.scheme}://{base.netloc.decode('ascii')}")
        object.__setattr__(self, "_host", base.netloc.decode("ascii"))
        object.__setattr__(self, "_authorized", "Authorization" in headers)

    @classmethod
    def from_config(cls, config: StorageConfig) -> Api:
        """The `Api` of a resolved configuration."""
        return cls(base_url=config.base_url, headers=config.headers)

    def __repr__(self) -> str:  # the headers hold the API key
        return f"Api(base_url={self.base_url!r})"

    def url(self, route: str) -> str:
        """The absolute URL of `route` (already quoted, starting with `/api/`)."""
        return f"{self.base_url}{route}"

    def request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, str | int | bool | None] | None = None,
        json: Any = None,
        content: bytes | None = None,
        stream: httpx.SyncByteStream | httpx.AsyncByteStream | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """Build a request to `route` with the client's headers.

        Args:
            method: The HTTP method.
            route: The quoted route, e.g. `/api/storage/owners`.
            params: Query parameters; None values are left out, booleans sent as
                `true`/`false`.
            json: A JSON body.
            content: A bytes body.
            stream: A streamed body (sync and async; see `transfer.bodies`).
            headers: Headers of this request only.
        """
        query = (
            {
                k: ("true" if v else "false") if isinstance(v, bool) else str(v)
                for k, v in params.items()
                if v is not None
            }
            if params
            else {}
        )
        if route != HEALTH_ROUTE and not self._authorized:
            # Every route but the health check needs a key (docs/api.md): say so now,
            # rather than send a request bound to fail (or to fail to connect, when the
            # default domain is unreachable) and report that instead.
            raise AuthenticationRequired(f"not logged in: {LOGIN_HINT}")
        # Routes are quoted already, so the query is the only part left to encode.
        url = f"{self.url(route)}?{urlencode(query)}" if query else self.url(route)
        own = headers
        if json is not None:
            # As httpx encodes it (compact UTF-8, NaN refused), then sent as any bytes body:
            # every request a client builds is an OutgoingRequest (see `AiohttpSender`).
            text = dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            content = text.encode("utf-8")
            own = {**(own or {}), "Content-Type": "application/json"}
        if content is not None and len(content) > CHUNK_SIZE:
            stream, content = BytesBody(content), None
            own = {**(own or {}), "Content-Length": str(len(stream.data))}
        if stream is not None and "host" not in self._names:
            # httpx adds no header to a request made with `stream=` (not even Host).
            own = {"Host": self._host, **(own or {})}
        # Parsed by httpx only if httpx sends it (see `outgoing.py`).
        return OutgoingRequest(method, Parts(url, self._origin, self.headers, own, content, stream))


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and how to read its answer.

    Attributes:
        request: The request to send.
        parse: Reads the response (its body already read, unless `stream`): returns the
            result or raises a `StorageError`.
        idempotent: Whether sending it twice does what sending it once does, so that a
            failure after it was sent (a reset connection, a 503) may be retried.
        target: What it is about (`alice/sales/q1.csv`), for messages and logs.
        stream: Whether the answer's body is streamed (file content) rather than read.
    """

    request: httpx.Request
    parse: Callable[[httpx.Response], T]
    idempotent: bool
    target: str = ""
    stream: bool = False


def parse_json(read: Callable[[JSONObject], T], target: str) -> Callable[[httpx.Response], T]:
    """A parser that raises the typed error of an error answer, else reads its JSON body."""

    def parse(response: httpx.Response) -> T:
        raise_for_response(response, target)
        return read(response.json())

    return parse


def parse_nothing(target: str) -> Callable[[httpx.Response], None]:
    """A parser for answers without a body (`204`): raises the typed error of an error."""

    def parse(response: httpx.Response) -> None:
        raise_for_response(response, target)

    return parse


@lru_cache(maxsize=256)  # a workload names few projects, over and over (issue 15)
def project_route(owner: str, project: str) -> str:
    """The route of a project: `/api/storage/projects/{owner}/{project}`, quoted."""
    return f"/api/storage/projects/{quote_segment(owner)}/{quote_segment(project)}"
