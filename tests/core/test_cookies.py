"""The clients core makes keep no cookies: an answer's `Set-Cookie` is neither stored nor
sent back (see `anaconda_storage_core/cookies.py`), on httpx's own transport and on
httpx-aiohttp's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from anaconda_storage_core import AsyncStorageClient, StorageClient
from anaconda_storage_core.cookies import NoCookies, cookieless_async_client


class _CookieServer(ThreadingHTTPServer):
    cookies_seen: list[str | None]


class _SetsCookies(BaseHTTPRequestHandler):
    server: _CookieServer

    def do_GET(self) -> None:
        self.server.cookies_seen.append(self.headers.get("Cookie"))
        body = b'{"status": "ok", "version": "test"}'
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def cookie_server() -> Iterator[_CookieServer]:
    server = _CookieServer(("127.0.0.1", 0), _SetsCookies)
    server.cookies_seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _domain(server: _CookieServer) -> str:
    # A host name, not an IP address: aiohttp's jar ignores cookies of IP addresses.
    return f"http://localhost:{server.server_address[1]}"


def test_sync_client_neither_stores_nor_sends_cookies(cookie_server: _CookieServer) -> None:
    with StorageClient(api_key="k", domain=_domain(cookie_server), trust_env=False) as client:
        client.health()
        client.health()
        client.http.get(f"{_domain(cookie_server)}/api/health")
        assert len(client.http.cookies) == 0
    assert cookie_server.cookies_seen == [None, None, None]


@pytest.mark.anyio
async def test_async_client_neither_stores_nor_sends_cookies(
    cookie_server: _CookieServer,
) -> None:
    async with AsyncStorageClient(
        api_key="k", domain=_domain(cookie_server), trust_env=False
    ) as client:
        await client.health()
        await client.health()
        await client.health()
    # aiohttp's jar (the session the default client sends through) kept no cookie.
    assert cookie_server.cookies_seen == [None, None, None]


@pytest.mark.anyio
async def test_cookieless_httpx_async_client_neither_stores_nor_sends_cookies(
    cookie_server: _CookieServer,
) -> None:
    # The httpx path (a client given with http_client=): httpx's jar and aiohttp's (the
    # httpx-aiohttp transport's session) keep nothing either.
    async with cookieless_async_client()(trust_env=False) as http:
        client = AsyncStorageClient(api_key="k", domain=_domain(cookie_server), http_client=http)
        await client.health()
        await client.health()
        await http.get(f"{_domain(cookie_server)}/api/health")
        assert len(http.cookies) == 0
    assert cookie_server.cookies_seen == [None, None, None]


def test_no_cookies_ignores_what_it_is_given() -> None:
    cookies = NoCookies()
    request = httpx.Request("GET", "http://example.com/")
    response = httpx.Response(200, headers={"Set-Cookie": "a=b"}, request=request)
    cookies.extract_cookies(response)
    cookies.set("c", "d")
    cookies["e"] = "f"
    cookies.set_cookie_header(request)
    assert "Cookie" not in request.headers
    assert len(cookies) == 0


def test_an_injected_client_is_left_as_it_is() -> None:
    http = httpx.Client()
    client = StorageClient(api_key="k", domain="http://127.0.0.1:1", http_client=http)
    assert client.http.cookies is http.cookies
    assert not isinstance(http.cookies, NoCookies)
    http.close()
