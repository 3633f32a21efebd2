"""Clients that keep no cookies: the Storage API sets none (docs/api.md, bearer auth).

httpx reads every answer's `Set-Cookie` headers into its cookie jar, through urllib's
`http.cookiejar` and an `email.message.Message` of all the answer's headers: about a tenth
of the client's CPU for a small download, spent on nothing. The clients core makes use
`CookielessClient` / `cookieless_async_client()`, whose `cookies` is a `NoCookies`: nothing is
read from an answer, stored, or sent. A client handed in (`http_client=`) is left as it is.

The `cookies` property is httpx's public attribute (the same on httpx 0.27 and 0.28), so
the override needs none of httpx's private names.

The async client class is also where its httpx-aiohttp transports are made: each is
adapted there (`transports.py`), its aiohttp session given a jar that keeps nothing.
"""

from __future__ import annotations

import functools
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

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
    makes (direct, and one per proxy) are adapted by `transports.adapt`, which opens their
    session with aiohttp's `DummyCookieJar`.
    """
    from httpx_aiohttp import HttpxAiohttpClient

    from .transports import adapt

    class CookielessAsyncClient(_Cookieless, HttpxAiohttpClient):
        """An `httpx.AsyncClient` without cookies (see `cookies.py`)."""

        # httpx's hooks for the transports a client makes, which httpx-aiohttp overrides.
        def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
            return adapt(super()._init_transport(*args, **kwargs))

        def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
            return adapt(super()._init_proxy_transport(*args, **kwargs))

    return CookielessAsyncClient
