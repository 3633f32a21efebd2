"""`OutgoingRequest`: a built request that httpx parses only if httpx is what sends it.

The sans-IO operations build `httpx.Request`s (DESIGN.md, "one definition of each API
call"), and building one parses and checks its URL character by character, normalizes
every header and encodes the body: about 40 us of CPU for a small read, a fifth of the
client's share of it (issue 15, `bench/client_layers.py`). The async client's default
sender (`AiohttpSender`) needs none of it: aiohttp takes the URL string, the headers and
the body as they are. So an `OutgoingRequest` keeps what it was built from (`parts`) and
becomes an ordinary `httpx.Request` the first time anything reads its `url`, `headers`
or `stream` (the blocking client, an `httpx.AsyncClient` given as the seam for tests, a
log line, an error's message): exactly the request `httpx.Request(...)` would have made
from the same arguments. What sends it never has to know which kind it got.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["OutgoingRequest", "Parts"]


class Parts:
    """What a request was built from, as a sender that is not httpx takes it.

    Attributes:
        url: The whole URL, quoted, with its query.
        origin: `scheme://host[:port]` (the key of per-host settings: proxies).
        base: The client's headers (`Api.headers`): the same object in every request of a
            client, so a sender can make them its defaults and send only `own` with each.
        own: This request's headers (None: none); each replaces a client's header of the
            same name, in any case.
        content: A bytes body (None: none, or `stream`).
        stream: A streamed body (`transfer.bodies`).
    """

    __slots__ = ("base", "content", "origin", "own", "stream", "url")

    def __init__(
        self,
        url: str,
        origin: str,
        base: Mapping[str, str],
        own: Mapping[str, str] | None = None,
        content: bytes | None = None,
        stream: httpx.SyncByteStream | httpx.AsyncByteStream | None = None,
    ) -> None:
        # A plain class, not a frozen dataclass: one is made per request (issue 15).
        self.url = url
        self.origin = origin
        self.base = base
        self.own = own
        self.content = content
        self.stream = stream

    def __repr__(self) -> str:  # never the headers: the API key is one of them
        return f"Parts(url={self.url!r}, origin={self.origin!r})"

    @property
    def headers(self) -> dict[str, str]:
        """Every header: the client's, then this request's (`merged`)."""
        return merged(self.base, self.own)


def merged(base: Mapping[str, str], own: Mapping[str, str] | None) -> dict[str, str]:
    """The client's headers, then a request's: one of the same name as a client's, in any
    case, replaces it (as `httpx.Headers.update` does)."""
    headers = dict(base)
    if own:
        names = {name.lower() for name in own}
        for name in [name for name in headers if name.lower() in names]:
            del headers[name]
        headers.update(own)
    return headers


class OutgoingRequest(httpx.Request):
    """An `httpx.Request` made from `parts` when first read (see the module docstring).

    Args:
        method: The HTTP method (upper case).
        parts: The URL, headers and body.
    """

    def __init__(self, method: str, parts: Parts) -> None:
        # httpx.Request.__init__ is deferred to `_build`: only what needs no parsing is set.
        self.method = method.upper()
        self.extensions: dict[str, Any] = {}
        self.parts: Parts | None = parts

    def _build(self) -> None:
        parts, self.parts = self.parts, None
        assert parts is not None
        extensions = self.extensions  # a timeout set before the build stays
        httpx.Request.__init__(
            self,
            self.method,
            parts.url,
            headers=parts.headers,
            content=parts.content,
            stream=parts.stream,
        )
        self.extensions.update(extensions)

    # The attributes httpx.Request.__init__ sets, read through properties so that the first
    # read builds them. While building, `parts` is None and they are read as stored.

    @property
    def url(self) -> httpx.URL:
        if self.parts is not None:
            self._build()
        return self.__dict__["_url"]  # type: ignore[no-any-return]

    @url.setter
    def url(self, value: httpx.URL) -> None:
        self.__dict__["_url"] = value

    @property
    def headers(self) -> httpx.Headers:
        if self.parts is not None:
            self._build()
        return self.__dict__["_headers"]  # type: ignore[no-any-return]

    @headers.setter
    def headers(self, value: httpx.Headers) -> None:
        self.__dict__["_headers"] = value

    @property
    def stream(self) -> httpx.SyncByteStream | httpx.AsyncByteStream:
        if self.parts is not None:
            self._build()
        return self.__dict__["_stream"]  # type: ignore[no-any-return]

    @stream.setter
    def stream(self, value: httpx.SyncByteStream | httpx.AsyncByteStream) -> None:
        self.__dict__["_stream"] = value

    @property
    def content(self) -> bytes:
        if self.parts is not None:
            self._build()
        return super().content

    def __getstate__(self) -> dict[str, Any]:
        if self.parts is not None:
            self._build()
        return super().__getstate__()
