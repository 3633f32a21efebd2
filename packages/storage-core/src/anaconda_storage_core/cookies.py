"""Clients that keep no cookies: the Storage API sets none (docs/api.md, bearer auth).

httpx reads every answer's `Set-Cookie` headers into its cookie jar, through urllib's
`http.cookiejar` and an `email.message.Message` of all the answer's headers: about a tenth
of the client's CPU for a small download, spent on nothing. The clients core makes use
`CookielessClient` / `cookieless_async_client()`, whose `cookies` is a `NoCookies`: nothing is
read from an answer, stored, or sent. A client handed in (`http_client=`) is left as it is.

The `cookies` property is httpx's public attribute (the same on httpx 0.27 and 0.28), so
the override needs none of httpx's private names.

The async client class is also where its httpx-aiohttp transports are made, so each is
wrapped here too, to read bodies in pieces of up to `READ_SIZE` (`_LargeReads`).
"""

from __future__ import annotations

import functools
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, cast

import httpx

__all__ = ["CookielessClient", "NoCookies", "cookieless_async_client"]


class NoCookies(httpx.Cookies):
    """A cookie store that takes nothing from answers and adds nothing to requests."""

    def __init__(self) -> None:
        # A jar whose policy refuses every domain: even a cookie set by hand through the
        # jar (`jar.set_cookie` bypasses the policy) is never returned for a request.
        super().__init__(CookieJar(DefaultCookiePolicy(allowed_domains=[])))

    def extract_cookies(self, response: httpx.Response) -> None:
        """Ignore the answer's `Set-Cookie` headers."""

    def set_cookie_header(self, request: httpx.Request) -> None:
        """Add no `Cookie` header."""

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Store nothing."""


class _Cookieless:
    _no_cookies: NoCookies

    @property
    def cookies(self) -> httpx.Cookies:
        try:
            return self._no_cookies
        except AttributeError:  # asked during httpx's __init__
            self._no_cookies = NoCookies()
            return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._no_cookies = NoCookies()


class CookielessClient(_Cookieless, httpx.Client):
    """An `httpx.Client` without cookies (see the module docstring)."""


@functools.cache
def cookieless_async_client() -> type[httpx.AsyncClient]:
    """The `httpx.AsyncClient` class without cookies, on the httpx-aiohttp transport unless
    given another `transport`. Made on first use: importing aiohttp takes a while, and the
    blocking client never needs it.

    aiohttp keeps cookies of its own, in its session's jar: the transports this client
    makes (direct, and one per proxy) open their session with aiohttp's `DummyCookieJar`.
    """
    import aiohttp
    from httpx_aiohttp import AiohttpTransport, HttpxAiohttpClient

    def session(transport: AiohttpTransport) -> aiohttp.ClientSession:
        # What `AiohttpTransport.get_client` opens (httpx-aiohttp 0.2.x), with a
        # jar that keeps nothing. The transport calls this once and keeps the session.
        limit = transport.limits.max_connections
        connector = aiohttp.TCPConnector(
            limit=limit or 0,  # httpx's None (no limit) is aiohttp's 0
            keepalive_timeout=transport.limits.keepalive_expiry,
            ssl=transport.ssl_context,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    def cookieless(transport: Any) -> httpx.AsyncBaseTransport:
        if isinstance(transport, AiohttpTransport):
            if transport.client is None:
                transport.client = functools.partial(session, transport)
            return _LargeReads(transport)
        return cast(httpx.AsyncBaseTransport, transport)

    class CookielessAsyncClient(_Cookieless, HttpxAiohttpClient):
        """An `httpx.AsyncClient` without cookies (see `cookies.py`)."""

        # httpx's hooks for the transports a client makes, which httpx-aiohttp overrides.
        def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
            return cookieless(super()._init_transport(*args, **kwargs))

        def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
            return cookieless(super()._init_proxy_transport(*args, **kwargs))

    return CookielessAsyncClient


READ_SIZE = 1024 * 1024
"""How much of a body the async client's transport reads at a time, at most."""


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
