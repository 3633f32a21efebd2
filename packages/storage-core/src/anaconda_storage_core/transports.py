"""The async client's transports: httpx-aiohttp's (DESIGN.md), adapted in two ways.

- Its aiohttp session keeps no cookies: the Storage API sets none (`cookies.py`), and
  aiohttp would otherwise parse and store every `Set-Cookie` in a jar of its own.
- Its responses are read up to `READ_SIZE` at a time (`_LargeReads`).

`adapt` does both to each transport the async client class makes (`cookies.py`); a
transport handed in (`transport=`, `http_client=`) is left as it is.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, cast

import httpx

if TYPE_CHECKING:
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

__all__ = ["READ_SIZE", "adapt"]

READ_SIZE = 1024 * 1024
"""How much of a body the async client's transport reads at a time, at most."""


def adapt(transport: Any) -> httpx.AsyncBaseTransport:
    """`transport`, if httpx-aiohttp's: with a cookieless session, reading large pieces."""
    from httpx_aiohttp import AiohttpTransport

    if not isinstance(transport, AiohttpTransport):
        return cast(httpx.AsyncBaseTransport, transport)
    if transport.client is None:
        transport.client = functools.partial(_session, transport)
    return _LargeReads(transport)


def _session(transport: AiohttpTransport) -> aiohttp.ClientSession:
    # What `AiohttpTransport.get_client` opens (httpx-aiohttp 0.2.x), with a jar that
    # keeps nothing. The transport calls this once and keeps the session.
    import aiohttp

    limit = transport.limits.max_connections
    connector = aiohttp.TCPConnector(
        limit=limit or 0,  # httpx's None (no limit) is aiohttp's 0
        keepalive_timeout=transport.limits.keepalive_expiry,
        ssl=transport.ssl_context,
    )
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


class _LargeReads(httpx.AsyncBaseTransport):
    """An httpx-aiohttp transport whose responses are read up to `READ_SIZE` at a time.

    httpx-aiohttp (0.2.x) reads bodies with aiohttp's `iter_chunked` in pieces of
    its stream class's `CHUNK_SIZE`, 16 KiB: each piece then crosses httpx and the runner
    and is hashed and written on its own, which made a 512 MiB download 32,000 file
    writes and 0.35x the speed of raw aiohttp. `iter_chunked` returns what has arrived,
    up to that size, without waiting for more, so a larger size delays nothing. It is
    set on each response's stream here, where the stream is still the transport's own
    (the client wraps it afterwards), never on the class: other users of httpx-aiohttp in
    the process keep theirs. (httpx-aiohttp 0.1 handed httpx its stream as `content=`,
    which httpx wraps at once: there it could not be set, hence the floor of 0.2.0.)
    """

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.transport.handle_async_request(request)
        stream: Any = response.stream
        if isinstance(getattr(stream, "CHUNK_SIZE", None), int):
            stream.CHUNK_SIZE = READ_SIZE
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()
