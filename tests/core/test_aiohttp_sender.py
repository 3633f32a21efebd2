"""The async client's default sender (aiohttp) and its seam: httpx when given a client or
a transport; the same typed errors, retries and secrecy on both paths."""

from __future__ import annotations

import pickle
import socket
import traceback
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from anaconda_storage_core import (
    AsyncStorageClient,
    NotFound,
    RetryPolicy,
    StorageClient,
    StorageConnectionError,
)
from anaconda_storage_core.aiohttp_sender import AiohttpSender

if TYPE_CHECKING:
    from tests.conftest import RawServer

pytestmark = pytest.mark.anyio

KEY = "sk-SENDER-SECRET-0123456789"


async def test_the_default_sends_through_aiohttp_and_a_given_transport_through_httpx(
    user: Any,
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(404, json={"error": {"code": "not_found", "missing": "owner"}})

    async with AsyncStorageClient(api_key=user.api_key, domain=user.url) as client:
        assert isinstance(client.http, AiohttpSender)
        assert (await client.account()).name == user.name
        await client.create_project(f"{user.name}/p")
        await client.upload(f"{user.name}/p/f.bin", b"content")
        assert await client.read_bytes(f"{user.name}/p/f.bin") == b"content"
        with pytest.raises(NotFound):
            await client.read_bytes(f"{user.name}/p/missing.bin")
    assert client.http.is_closed
    mocked = AsyncStorageClient(
        api_key="k", domain="http://storage.test", transport=httpx.MockTransport(handler)
    )
    async with mocked:
        assert isinstance(mocked.http, httpx.AsyncClient)
        with pytest.raises(NotFound):
            await mocked.get_owner("ghost")
    assert seen == ["/api/storage/owners/ghost"]


@pytest.fixture
def cut_server(raw_server: Callable[..., RawServer]) -> RawServer:
    """A loopback server that reads a request, then closes the connection unanswered."""
    return raw_server()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_cut_answer_is_retried_when_idempotent_only(cut_server: RawServer) -> None:
    retry = RetryPolicy(attempts=3, backoff=0.001)
    async with AsyncStorageClient(api_key=KEY, domain=cut_server.url, retry=retry) as client:
        with pytest.raises(StorageConnectionError) as caught:
            await client.get_owner("alice")  # a GET: sent three times
        assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
        # Three attempts; aiohttp itself also sends an idempotent request once more on a
        # connection closed unanswered (as it did under httpx-aiohttp).
        sent = cut_server.requests
        assert sent in (3, 6)
        with pytest.raises(StorageConnectionError):
            await client.create_project("alice/p")  # a POST: the answer lost, not resent
        assert cut_server.requests == sent + 1
    errors: list[BaseException] = [caught.value]
    refused = f"http://127.0.0.1:{_free_port()}"
    async with AsyncStorageClient(api_key=KEY, domain=refused, retry=retry) as client:
        with pytest.raises(StorageConnectionError) as caught:
            await client.create_project("alice/p")  # never connected: safe to resend
        assert isinstance(caught.value.__cause__, httpx.ConnectError)
    errors.append(caught.value)
    for error in errors:  # no aiohttp exception (they hold the headers) in the chain
        assert error.__cause__ is not None
        assert error.__cause__.__cause__ is None
        assert error.__cause__.__context__ is None
        for text in (
            str(error),
            repr(error),
            "".join(traceback.format_exception(error)),
            repr(pickle.dumps(error)),
        ):
            assert KEY not in text


async def test_the_key_never_ships_with_tblib_from_the_aiohttp_path(cut_server: RawServer) -> None:
    pickling_support = pytest.importorskip("tblib.pickling_support")
    retry = RetryPolicy(attempts=2, backoff=0.001)
    async with AsyncStorageClient(api_key=KEY, domain=cut_server.url, retry=retry) as client:
        with pytest.raises(StorageConnectionError) as caught:
            await client.account()
    pickling_support.install(caught.value)
    assert KEY not in repr(pickle.dumps(caught.value))


async def test_a_small_body_cut_short_is_read_again_then_a_typed_error(
    raw_server: Callable[..., RawServer],
) -> None:
    # A small content is read whole with its answer (Attempt's read_within): a body that
    # ends before its Content-Length is aiohttp's payload error, raised into the flow by
    # the read of the answer it has the headers of: it reads the file again, pinned to the
    # revision, until its attempts run out.
    revision = "5f0c6ad4-0000-4000-8000-000000000001"
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        + f'Content-Length: 10000\r\nETag: "{revision}"\r\n\r\n'.encode()
        + b"x" * 4000
    )
    retry = RetryPolicy(attempts=3, backoff=0.001)
    async with AsyncStorageClient(api_key=KEY, domain=server.url, retry=retry) as client:
        with pytest.raises(StorageConnectionError) as caught:
            await client.read_bytes("alice/sales/q1.csv")
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert KEY not in "".join(traceback.format_exception(caught.value))
    assert server.requests == 3
    again = [request.split(b"\r\n")[0] for request in server.received[1:]]
    assert all(f"revision={revision}".encode() in line for line in again)
    assert all(b"range:" not in request.lower() for request in server.received)


async def test_an_answer_both_sized_and_chunked_is_refused_by_either_client(
    raw_server: Callable[..., RawServer],
) -> None:
    # A hostile answer: 10 bytes announced, then 4 MiB sent chunked. Neither client reads
    # past the announced length into memory; both end with a typed error.
    chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n"
        b'Transfer-Encoding: chunked\r\nETag: "5f0c6ad4-0000-4000-8000-000000000001"\r\n\r\n'
        + chunk * 64
        + b"0\r\n\r\n"
    )
    retry = RetryPolicy(attempts=2, backoff=0.001)
    async with AsyncStorageClient(api_key=KEY, domain=server.url, retry=retry) as client:
        with pytest.raises(StorageConnectionError):
            await client.read_bytes("alice/sales/q1.csv")  # aiohttp refuses such an answer
    blocking = StorageClient(api_key=KEY, domain=server.url, retry=retry)
    with blocking, pytest.raises(StorageConnectionError, match="more than the 10 bytes"):
        blocking.read_bytes("alice/sales/q1.csv")


async def test_proxies_come_from_the_environment_once_per_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    limits = httpx.Limits(max_connections=10)
    sender = AiohttpSender(verify=True, limits=limits, trust_env=True)
    assert sender._proxy("https://anaconda.com") == "http://proxy.example:3128"
    assert sender._proxy("https://internal.example") is None
    monkeypatch.delenv("HTTPS_PROXY")
    # Read once per origin (scheme, host, port): a client keeps the proxy it started with.
    assert sender._proxy("https://anaconda.com") == "http://proxy.example:3128"
    untrusting = AiohttpSender(verify=True, limits=limits, trust_env=False)
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    assert untrusting._proxy("https://anaconda.com") is None


def gzip_answer(content: bytes) -> bytes:
    """An HTTP answer carrying one file content, gzip-encoded."""
    import gzip

    from anaconda_storage_core import checksum

    body = gzip.compress(content)
    head = (
        "HTTP/1.1 200 OK\r\n"
        'ETag: "5f0c6ad4-0000-4000-8000-000000000001"\r\n'
        f"X-Storage-Crc32c: {checksum.encode(checksum.crc32c(content))}\r\n"
        "Content-Encoding: gzip\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


@pytest.fixture
async def sender() -> AsyncIterator[AiohttpSender]:
    """A sender of its own that reads no proxy from the environment, closed after the test."""
    made = AiohttpSender(verify=True, limits=httpx.Limits(max_connections=2), trust_env=False)
    yield made
    await made.aclose()


async def test_an_encoded_body_is_decoded_as_httpx_decodes_it(
    sender: AiohttpSender,
    raw_server: Callable[..., RawServer],
) -> None:
    # Open bodies come straight from aiohttp (auto_decompress off) unless content-encoded:
    # then through httpx's decoders, as before.
    from anaconda_storage_core.aiohttp_sender import body_chunks

    content = b"a,b\n1,2\n" * 1000
    server = raw_server(gzip_answer(content))
    response = await sender.send(httpx.Request("GET", server.url), stream=True)
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"".join([chunk async for chunk in body_chunks(response)]) == content
    await response.aclose()


@pytest.mark.parametrize(
    ("answer", "read_within", "whole"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 5, True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 4, False),  # too long
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, False),  # not asked
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", 10, False),  # no length
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 10, False),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nhello", 10, False),
        (gzip_answer(b"hello"), 1 << 20, False),  # decoded by httpx, as any encoded body
    ],
)
async def test_a_small_streamed_answer_is_read_in_full_when_asked(
    sender: AiohttpSender,
    raw_server: Callable[..., RawServer],
    answer: bytes,
    read_within: int,
    whole: bool,
) -> None:
    from anaconda_storage_core.aiohttp_sender import body_chunks

    server = raw_server(answer)
    request = httpx.Request("GET", server.url)
    response = await sender.send(request, stream=True, read_within=read_within)
    assert response.is_closed is whole
    if whole:
        assert response.content == b"hello"
    else:
        body = b"".join([chunk async for chunk in body_chunks(response)])
        assert body == (b"" if b"Content-Length: 0" in answer else b"hello")
        await response.aclose()


async def test_a_small_answer_that_breaks_is_answered_open_its_read_raising(
    sender: AiohttpSender,
    raw_server: Callable[..., RawServer],
) -> None:
    # The headers arrived: the flow gets them (the revision to pin a read again to), and
    # the break when it reads the body, never a body shorter than announced.
    server = raw_server(b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: "r1"\r\n\r\nhello')
    response = await sender.send(httpx.Request("GET", server.url), stream=True, read_within=10)
    assert not response.is_closed
    assert response.headers["ETag"] == '"r1"'
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        await response.aread()
    assert caught.value.__context__ is None  # no aiohttp exception (it holds headers)
    await response.aclose()


async def test_the_clients_headers_go_once_to_the_session_and_a_requests_own_win(
    sender: AiohttpSender,
    raw_server: Callable[..., RawServer],
) -> None:
    # The session's defaults are the client's headers (Parts.base); each request passes
    # only its own, which replace a client's header of the same name in any case, as the
    # merged headers (what httpx sends) do.
    from anaconda_storage_core.operations.call import Api

    server = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    api = Api(base_url=server.url, headers={"Authorization": f"Bearer {KEY}", "x-mine": "a"})
    for own in (None, {"X-Mine": "b"}):
        response = await sender.send(api.request("GET", "/api/storage/owners", headers=own))
        assert response.content == b"ok"
    # The defaults (the key among them) never go with a request the client did not
    # build, nor to another origin: refused, never sent.
    other = Api(base_url=server.url, headers={})
    with pytest.raises(RuntimeError, match="one client"):
        await sender.send(other.request("GET", "/api/health"))
    elsewhere = Api(base_url="http://127.0.0.1:9", headers=api.headers)
    with pytest.raises(RuntimeError, match="not to the client's"):
        await sender.send(elsewhere.request("GET", "/api/storage/owners"))
    first, second = (request.lower() for request in server.received)
    assert f"authorization: bearer {KEY}\r\n".lower().encode() in first
    assert b"x-mine: a\r\n" in first
    assert b"x-mine: b\r\n" in second
    assert b"x-mine: a" not in second
    assert second.count(b"authorization:") == 1


async def test_content_is_asked_for_as_stored_never_compressed(
    raw_server: Callable[..., RawServer],
) -> None:
    # aiohttp offers gzip by default; a proxy that took it up would change the bytes that
    # Content-Length, Range and the CRC32C describe.
    server = raw_server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    async with AsyncStorageClient(api_key=KEY, domain=server.url) as client:
        with pytest.raises(NotFound):
            await client.read_bytes("alice/p/f.csv")
        with pytest.raises(NotFound):
            await client.read_bytes("alice/p/f.csv", 5, 10)
    for request in server.received:
        headers = request.lower()
        assert b"\r\naccept-encoding: identity\r\n" in headers
        assert b"gzip" not in headers


def test_headers_as_received_are_the_headers_httpx_makes() -> None:
    from anaconda_storage_core.received import headers_of, lowered

    raw = [(b"ETag", b'"r1"'), (b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"X-N", b"\xe9")]
    made, reference = headers_of(raw), httpx.Headers(raw)
    assert made.raw == reference.raw
    assert made.multi_items() == reference.multi_items()
    assert made.get_list("set-cookie") == ["a=1", "b=2"]
    assert made["etag"] == reference["ETag"] == '"r1"'
    # Text as httpx decodes it: UTF-8 where valid, else Latin-1 for that value.
    assert lowered(made) == {b"etag": '"r1"', b"set-cookie": "b=2", b"x-n": "\xe9"}
    assert lowered(headers_of([(b"X-U", "é".encode())])) == {b"x-u": "é"}
    assert made["x-n"] == reference["x-n"] == "\xe9"


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_an_answer_read_in_full_is_the_response_httpx_makes(encoding: str | None) -> None:
    import gzip

    from anaconda_storage_core.received import full_response, headers_of

    body = b'{"name": "q1.csv", "size": 3}'
    sent = body if encoding is None else gzip.compress(body)
    raw = [(b"Content-Type", b"application/json"), (b"Content-Length", str(len(sent)).encode())]
    if encoding:
        raw.append((b"Content-Encoding", encoding.encode()))
    request = httpx.Request("PUT", "http://storage.test/f")
    made = full_response(201, headers_of(raw), sent, request, encoded=encoding is not None)
    reference = httpx.Response(201, headers=raw, content=sent, request=request)
    assert made.content == reference.content == body  # an encoded body decoded, as httpx does
    assert made.json() == reference.json() == {"name": "q1.csv", "size": 3}
    assert made.text == reference.text
    assert made.headers.multi_items() == reference.headers.multi_items()
    assert (made.status_code, made.request, made.is_closed) == (201, request, True)
    assert made.read() == body  # read again: the same bytes, no stream left to consume
