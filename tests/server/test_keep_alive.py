"""Idle keep-alive connections stay open longer than clients keep them (aiohttp: 15 s)."""

from __future__ import annotations

import http.client
import time

from anaconda_storage_server.testing import LocalServer


def test_an_idle_connection_is_still_usable_after_uvicorns_default_timeout(
    storage_server: LocalServer,
) -> None:
    host, port = storage_server.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/api/health")
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        socket_used = connection.sock
        time.sleep(6)  # past uvicorn's default keep-alive timeout of 5 s
        connection.request("GET", "/api/health")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock is socket_used, "the same connection carried both requests"
    finally:
        connection.close()
