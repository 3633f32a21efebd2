"""`OutgoingRequest`: the request httpx would have built, built only when read."""

from __future__ import annotations

import json
import pickle

import httpx
import pytest

from anaconda_storage_core.errors import scrubbed
from anaconda_storage_core.operations import files
from anaconda_storage_core.operations.call import Api
from anaconda_storage_core.outgoing import OutgoingRequest, Parts

API = Api(
    base_url="http://127.0.0.1:8765",
    headers={"Authorization": "Bearer secret", "Api-Version": "2023.11.28", "X-Trace": "1"},
)


def test_built_as_httpx_builds_it() -> None:
    outgoing = files.get_content(API, "alice", "sales", "a b/q1.csv", range="bytes=0-9").request
    assert type(outgoing) is OutgoingRequest
    assert outgoing.parts is not None  # nothing parsed yet
    assert outgoing.parts.url == (
        "http://127.0.0.1:8765/api/storage/projects/alice/sales/files/a%20b/q1.csv"
    )
    assert outgoing.parts.origin == "http://127.0.0.1:8765"
    assert "secret" not in repr(outgoing.parts)
    expected = httpx.Request("GET", outgoing.parts.url, headers=outgoing.parts.headers)
    assert outgoing.url == expected.url
    assert outgoing.parts is None  # built on the first read
    assert outgoing.headers.raw == expected.headers.raw
    assert outgoing.method == "GET"
    assert outgoing.headers["Range"] == "bytes=0-9"


def test_a_body_and_its_headers() -> None:
    put = files.put_file(API, "a", "p", "f", content=b"hello", if_match="r1").request
    assert isinstance(put, OutgoingRequest)
    assert put.parts is not None
    assert put.parts.content == b"hello"
    expected = httpx.Request("PUT", str(put.url), headers=dict(put.headers), content=b"hello")
    assert put.content == b"hello"
    assert put.headers["Content-Length"] == "5"
    assert put.headers["Host"] == "127.0.0.1:8765"
    assert "If-Match" in put.headers
    assert put.read() == expected.read()


def test_a_json_body_is_built_as_any_other_body() -> None:
    # Every request a client builds is an OutgoingRequest, a JSON one too (so the aiohttp
    # sender sends only its own headers with each): compact UTF-8, as httpx 0.28 encodes.
    body = {"name": "sälës", "attributes": {"n": 1}}
    request = API.request("POST", "/api/storage/projects/alice", json=body)
    assert type(request) is OutgoingRequest
    assert request.parts is not None
    assert request.parts.own == {"Content-Type": "application/json"}
    assert request.parts.content == '{"name":"sälës","attributes":{"n":1}}'.encode()
    assert json.loads(request.content) == body
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Content-Length"] == str(len(request.content))
    with pytest.raises(ValueError, match="JSON"):
        API.request("POST", "/api/storage/projects/alice", json={"n": float("nan")})


def test_a_request_header_replaces_the_clients_in_any_case() -> None:
    api = Api(base_url="http://h", headers={"Authorization": "Bearer k", "x-range": "client"})
    request = api.request("GET", "/api/storage/owners", headers={"X-Range": "mine"})
    assert isinstance(request, OutgoingRequest)
    assert request.parts is not None
    assert request.parts.headers == {"Authorization": "Bearer k", "X-Range": "mine"}
    assert request.headers.get_list("x-range") == ["mine"]


def test_extensions_set_before_the_build_stay() -> None:
    request = OutgoingRequest("get", Parts("http://h/x", "http://h", {"A": "1"}))
    request.extensions["timeout"] = {"read": 5.0}
    assert request.url == httpx.URL("http://h/x")
    assert request.method == "GET"
    assert request.extensions == {"timeout": {"read": 5.0}}


def test_pickled_and_scrubbed_as_an_httpx_request() -> None:
    request = files.get_content(API, "alice", "sales", "q1.csv").request
    error = scrubbed(httpx.ReadTimeout("timed out", request=request))
    assert error.request.headers["Authorization"] == "[hidden]"
    copy = pickle.loads(pickle.dumps(request))
    assert copy.url == request.url
    assert copy.headers["Authorization"] == "[hidden]"
    assert "secret" not in repr(copy.headers)


@pytest.mark.anyio
async def test_an_httpx_client_sends_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    request = files.get_content(API, "alice", "sales", "q1.csv").request
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        response = await client.send(request)
    assert response.content == b"ok"
    assert seen[0].url.path == "/api/storage/projects/alice/sales/files/q1.csv"
    assert seen[0].headers["Authorization"] == "Bearer secret"
