"""The API key never shows: not in a repr, a message, an exception (or its chain), a
pickled exception, nor a log record, whatever fails."""

from __future__ import annotations

import logging
import pickle
import re
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from anaconda_storage_core import (
    ApiKeyDomainMismatch,
    AsyncStorageClient,
    RetryPolicy,
    StorageClient,
    StorageError,
    parse_uri,
)

if TYPE_CHECKING:
    from tests.conftest import RawServer

pytestmark = pytest.mark.anyio

KEY = "sk-VERY-SECRET-0123456789"
HEADER_SECRET = "hdr-ALSO-SECRET-987"


def failures(request: httpx.Request) -> httpx.Response:
    """A server that fails in every way the client handles."""
    path = request.url.path
    if path.endswith("/account"):
        return httpx.Response(
            401, json={"error": {"code": "auth_required", "message": "unknown key"}}
        )
    if "/owners/" in path:
        return httpx.Response(404, json={"error": {"code": "not_found", "missing": "owner"}})
    if path.endswith("/projects/alice"):
        return httpx.Response(503, json={"error": {"code": "unavailable", "message": "down"}})
    if "/files/" in path and request.method == "GET":
        return httpx.Response(
            200, content=b"x", headers={"ETag": '"r"', "X-Storage-Sha256": "0" * 64}
        )
    if "/files/" in path:
        return httpx.Response(
            403, json={"error": {"code": "permission_denied", "required": "write"}}
        )
    raise httpx.ConnectError("refused")


async def exercise(client: Any, tmp_path: Path, awaiting: bool) -> list[BaseException]:
    async def run(call: Any) -> Any:
        return await call if awaiting else call

    errors: list[BaseException] = []
    calls = [
        lambda: client.account(),
        lambda: client.get_owner("ghost"),
        lambda: client.create_project("alice/sales"),
        lambda: client.download("alice/sales/f.bin", tmp_path / "f.bin"),
        lambda: client.upload("alice/sales/f.bin", b"data"),
        lambda: client.get_project("alice/sales"),
        lambda: client.upload("alice/sales/f.bin#-1", b"data"),
    ]
    for call in calls:
        try:
            await run(call())
        except StorageError as exc:
            errors.append(exc)
    return errors


def assert_hidden(text: str) -> None:
    assert KEY not in text
    assert HEADER_SECRET not in text


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_key_never_shows(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    options = {"extra_headers": f'{{"X-Token": "{HEADER_SECRET}"}}'}
    common: dict[str, Any] = {
        "api_key": KEY,
        "domain": "https://storage.example",
        "options": options,
        "retry": RetryPolicy(attempts=2, backoff=0.001),
    }
    if kind == "sync":
        client: Any = StorageClient(transport=httpx.MockTransport(failures), **common)
        errors = await exercise(client, tmp_path, awaiting=False)
        client.close()
    else:
        client = AsyncStorageClient(transport=httpx.MockTransport(failures), **common)
        errors = await exercise(client, tmp_path, awaiting=True)
        await client.aclose()
    assert len(errors) == 7
    assert_hidden(repr(client))
    assert_hidden(repr(client.config))
    assert_hidden(repr(client._api))
    for error in errors:
        assert_hidden(str(error))
        assert_hidden(repr(error))
        assert_hidden("".join(traceback.format_exception(error)))
        assert_hidden(repr(pickle.dumps(error)))
        assert_hidden(repr(vars(error)))
    assert caplog.records, "the retries are logged"
    for record in caplog.records:
        assert_hidden(record.getMessage())
        assert_hidden(repr(record.args))


def test_uri_options_stay_secret() -> None:
    uri = parse_uri(f"anaconda://alice/sales/f.csv?api_key={KEY}&domain=http://127.0.0.1:1")
    assert_hidden(repr(uri))
    assert_hidden(str(uri))
    client = StorageClient.from_uri(uri)
    try:
        assert client.config.api_key == KEY
        assert_hidden(repr(client))
        assert_hidden(repr(client.config))
    finally:
        client.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_key_never_ships_with_tblib(kind: str, tmp_path: Path) -> None:
    """Dask workers pickle exceptions with tblib, causes and their httpx requests included."""
    pickling_support = pytest.importorskip("tblib.pickling_support")
    common: dict[str, Any] = {
        "api_key": KEY,
        "domain": "https://storage.example",
        "options": {"extra_headers": f'{{"X-Token": "{HEADER_SECRET}"}}'},
        "retry": RetryPolicy(attempts=2, backoff=0.001),
    }
    if kind == "sync":
        client: Any = StorageClient(transport=httpx.MockTransport(failures), **common)
        errors = await exercise(client, tmp_path, awaiting=False)
        client.close()
    else:
        client = AsyncStorageClient(transport=httpx.MockTransport(failures), **common)
        errors = await exercise(client, tmp_path, awaiting=True)
        await client.aclose()
    chained = [error for error in errors if error.__cause__ is not None]
    assert chained, "some errors keep their httpx cause for diagnosis"
    for error in errors:
        pickling_support.install(error)
        assert_hidden(repr(pickle.dumps(error)))


@pytest.fixture
def listener(raw_server: Callable[..., RawServer]) -> RawServer:
    """A host the API key must never reach: it records what it is sent, and answers nothing."""
    return raw_server()


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("named_by", ["uri", "argument"])
async def test_an_environment_key_never_reaches_a_domain_named_elsewhere(
    kind: str, named_by: str, listener: RawServer, monkeypatch: pytest.MonkeyPatch, user: Any
) -> None:
    # Issue 11, 2.1: the environment's key was sent to any host a URI's ?domain= named.
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", KEY)
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", user.url)
    uri = f"anaconda://{user.name}/p/f.csv"
    cls: Any = StorageClient if kind == "sync" else AsyncStorageClient
    retry = RetryPolicy(attempts=1)

    async def attempt() -> None:
        if named_by == "uri":
            client = cls.from_uri(f"{uri}?domain={listener.url}", retry=retry)
        else:
            client = cls(domain=listener.url, retry=retry)
        try:  # what would have happened: the first request carries the key
            if kind == "sync":
                client.account()
            else:
                await client.account()
        finally:
            client.close() if kind == "sync" else await client.aclose()

    with pytest.raises(ApiKeyDomainMismatch, match=re.escape(listener.url)) as caught:
        await attempt()
    assert_hidden(str(caught.value))
    assert listener.received == []


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_environment_key_still_reaches_its_own_domain(
    kind: str, monkeypatch: pytest.MonkeyPatch, user: Any
) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", user.api_key)
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", user.url)
    uri = f"anaconda://{user.name}/p/f.csv?domain={user.url}"
    if kind == "sync":
        with StorageClient.from_uri(uri) as client:
            assert client.account().name == user.name
        with StorageClient() as client:
            assert client.account().name == user.name
    else:
        async with AsyncStorageClient.from_uri(uri) as aclient:
            assert (await aclient.account()).name == user.name
        async with AsyncStorageClient() as aclient:
            assert (await aclient.account()).name == user.name


async def test_a_key_given_with_another_domain_goes_there(
    monkeypatch: pytest.MonkeyPatch, user: Any
) -> None:
    # The environment points elsewhere; key and domain given together (in the URI, or in
    # the call) reach the local server.
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", KEY)
    both = f"anaconda://{user.name}/p?api_key={user.api_key}&domain={user.url}"
    with StorageClient.from_uri(both) as client:
        assert client.account().name == user.name
    async with AsyncStorageClient(api_key=user.api_key, domain=user.url) as aclient:
        assert (await aclient.account()).name == user.name
    with StorageClient.from_uri(
        f"anaconda://{user.name}/p?domain={user.url}", api_key=user.api_key
    ) as client:
        assert client.account().name == user.name
