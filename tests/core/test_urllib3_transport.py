"""The blocking client's default transport (urllib3 under `httpx.Client`): the same typed
errors, retries, secrecy, decoding and proxies as httpx's own transport gave it."""

from __future__ import annotations

import gzip
import pickle
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from anaconda_storage_core import (
    NotFound,
    RetryPolicy,
    StorageClient,
    StorageConnectionError,
)
from anaconda_storage_core.urllib3_transport import Urllib3Transport
from anaconda_storage_server.connection_limits import ConnectionLimits
from anaconda_storage_server.testing import LocalServer

if TYPE_CHECKING:
    from tests.conftest import RawServer

KEY = "sk-TRANSPORT-SECRET-0123456789"
RETRY = RetryPolicy(attempts=3, backoff=0.001)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_default_sends_through_urllib3_and_a_given_transport_through_it(user: Any) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(404, json={"error": {"code": "not_found", "missing": "owner"}})

    with StorageClient(api_key=user.api_key, domain=user.url) as client:
        assert isinstance(client.http._transport, Urllib3Transport)
        client.create_project(f"{user.name}/p")
        client.upload(f"{user.name}/p/f.bin", b"content")
        assert client.read_bytes(f"{user.name}/p/f.bin") == b"content"
        with pytest.raises(NotFound):
            client.read_bytes(f"{user.name}/p/missing.bin")
    mocked = StorageClient(
        api_key="k", domain="http://storage.test", transport=httpx.MockTransport(handler)
    )
    with mocked, pytest.raises(NotFound):
        mocked.get_owner("ghost")
    assert seen == ["/api/storage/owners/ghost"]


def test_large_bodies_stream_both_ways(user: Any, tmp_path: Path) -> None:
    data = bytes(range(256)) * (12 * 1024 + 7)  # 3 MiB and a bit: several reads
    pieces = [data[i : i + 100_000] for i in range(0, len(data), 100_000)]
    with StorageClient(api_key=user.api_key, domain=user.url) as client:
        client.create_project(f"{user.name}/big")
        # An iterator has no length: the body goes chunked.
        info = client.upload(f"{user.name}/big/f.bin", iter(pieces))
        assert info.size == len(data)
        client.download(f"{user.name}/big/f.bin", tmp_path / "f.bin")
        assert (tmp_path / "f.bin").read_bytes() == data
        # A body left unread closes its connection; the next request gets another.
        with client.stream(f"{user.name}/big/f.bin") as content:
            assert next(iter(content))
        assert client.read_bytes(f"{user.name}/big/f.bin", 0, 10) == data[:10]


def test_a_cut_answer_is_retried_when_idempotent_only(
    raw_server: Callable[..., RawServer],
) -> None:
    cut = raw_server()  # reads a request, closes the connection unanswered
    with StorageClient(api_key=KEY, domain=cut.url, retry=RETRY) as client:
        with pytest.raises(StorageConnectionError) as caught:
            client.get_owner("alice")  # a GET: sent three times
        assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
        assert cut.requests == 3
        with pytest.raises(StorageConnectionError):
            client.create_project("alice/p")  # a POST: the answer lost, not resent
        assert cut.requests == 4
    errors: list[BaseException] = [caught.value]
    with StorageClient(api_key=KEY, domain=f"http://127.0.0.1:{_free_port()}", retry=RETRY) as c:
        with pytest.raises(StorageConnectionError) as caught:
            c.create_project("alice/p")  # never connected: safe to resend
        assert isinstance(caught.value.__cause__, httpx.ConnectError)
    errors.append(caught.value)
    for error in errors:  # no urllib3 exception in the chain, the key nowhere
        assert error.__cause__ is not None
        assert error.__cause__.__cause__ is None
        assert error.__cause__.__context__ is None
        for text in (str(error), repr(error), "".join(traceback.format_exception(error))):
            assert KEY not in text
        assert KEY not in repr(pickle.dumps(error))


def test_a_server_that_does_not_answer_is_a_read_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connects (backlog), never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        retry = RetryPolicy(attempts=1)
        client = StorageClient(api_key=KEY, domain=url, retry=retry, timeout=0.2)
        with client, pytest.raises(StorageConnectionError) as caught:
            client.get_owner("alice")
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_a_body_cut_short_is_a_protocol_error(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
    transport = Urllib3Transport(verify=True, limits=httpx.Limits(max_connections=2))
    with httpx.Client(transport=transport) as client:
        response = client.send(client.build_request("GET", server.url), stream=True)
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
        response.close()


def test_an_encoded_body_is_decoded_as_httpx_decodes_it(
    raw_server: Callable[..., RawServer],
) -> None:
    content = b"a,b\n1,2\n" * 1000
    body = gzip.compress(content)
    head = (
        "HTTP/1.1 200 OK\r\n"
        'ETag: "5f0c6ad4-0000-4000-8000-000000000001"\r\n'
        "Content-Encoding: gzip\r\n"
        "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    server = raw_server(head.encode("ascii") + body)
    transport = Urllib3Transport(verify=True, limits=httpx.Limits(max_connections=2))
    with httpx.Client(transport=transport) as plain:
        answer = plain.get(server.url)
        with plain.stream("GET", server.url) as streamed:
            chunks = list(streamed.iter_bytes())
    assert answer.content == content  # urllib3 hands the bytes as sent; httpx decodes
    assert b"".join(chunks) == content
    assert answer.headers.get_list("set-cookie") == ["a=1", "b=2"]  # repeated, kept apart


@pytest.fixture
def brief_keep_alive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    limits = ConnectionLimits(keep_alive_timeout=0.2)
    with LocalServer(tmp_path_factory.mktemp("keep-alive"), connections=limits) as server:
        yield server


def test_a_connection_the_server_closed_while_idle_is_not_sent_on(
    brief_keep_alive: LocalServer,
) -> None:
    key = brief_keep_alive.add_user("idle")
    once = RetryPolicy(attempts=1)  # a request sent on a dead connection would fail here
    with StorageClient(api_key=key, domain=brief_keep_alive.url, retry=once) as client:
        client.create_project("idle/a")
        time.sleep(0.6)  # the server closes the idle connection meanwhile
        client.create_project("idle/b")  # a POST: never resent, so it must find a live one
        assert [p.name for p in client.list_projects("idle")] == ["a", "b"]


def test_proxies_from_the_environment_go_through_httpx(
    raw_server: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = raw_server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "")
    with StorageClient(api_key=KEY, domain="http://storage.test", retry=RETRY) as client:
        assert isinstance(client.http._transport, httpx.HTTPTransport)
        with pytest.raises(NotFound):
            client.get_owner("alice")
    # The proxy was asked for the absolute URL: the request went through it.
    assert proxy.received[0].startswith(b"GET http://storage.test/api/storage/owners/alice ")
    # Told not to read the environment, the client goes direct, on urllib3.
    with StorageClient(api_key=KEY, domain=proxy.url, retry=RETRY, trust_env=False) as direct:
        assert isinstance(direct.http._transport, Urllib3Transport)
        with pytest.raises(NotFound):
            direct.get_owner("bob")
    assert proxy.received[1].startswith(b"GET /api/storage/owners/bob ")
