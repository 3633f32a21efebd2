"""Fixtures of the core client's tests.

End-to-end tests are written once, as async tests, and run against both clients: the
`client` fixture is an `AsyncStorageClient`, or a `StorageClient` seen through `AsyncView`
(each call made synchronously and handed back as an awaitable), on the real local server.

Every core test runs with a fresh, empty HOME and no ANACONDA_* variables, so neither the
developer's `anaconda login` nor their config file can leak into a test.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_core import AsyncStorageClient, StorageClient

_projects = itertools.count()


@pytest.fixture
def anyio_backend() -> str:
    """The async client runs on asyncio (its default transport is aiohttp)."""
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An empty HOME and no Anaconda settings in the environment."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.delenv("ANACONDA_CONFIG_TOML", raising=False)
    for name in list(os.environ):
        if name.startswith(("ANACONDA_CLOUD_", "ANACONDA_AUTH_")):
            monkeypatch.delenv(name)
    return home


class _Done:
    """An awaitable that is already done: a sync call's result, seen from async code."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Iterator[Any]:
        return self.value
        yield  # pragma: no cover - makes this a generator


async def _aiter(iterator: Iterator[Any]) -> AsyncIterator[Any]:
    for item in iterator:
        yield item


class _StreamView:
    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.info = stream.info

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _aiter(iter(self._stream))

    async def read(self) -> bytes:
        return bytes(self._stream.read())


class AsyncView:
    """A `StorageClient` with the `AsyncStorageClient` interface, for tests written once."""

    def __init__(self, client: StorageClient) -> None:
        self.sync = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.sync, name)
        if not callable(attribute):
            return attribute
        if name == "stream":
            return self._stream

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = attribute(*args, **kwargs)
            except Exception as exc:
                return _Raise(exc)
            if inspect.isgenerator(result):
                return _aiter(result)
            return _Done(result)

        return call

    @contextlib.asynccontextmanager
    async def _stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[_StreamView]:
        with self.sync.stream(*args, **kwargs) as stream:
            yield _StreamView(stream)

    async def aclose(self) -> None:
        self.sync.close()


class _Raise:
    """An awaitable that raises: a sync call's exception, raised where it is awaited."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __await__(self) -> Iterator[Any]:
        raise self.error
        yield  # pragma: no cover

    def __aiter__(self) -> Any:
        raise self.error


class Tap(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport around another that records requests and injects failures.

    Args:
        fail: Called with each request before it is sent; an exception it raises is what
            the client sees (as from the network), a response it returns is the answer.
        cut: Called with each request; a number N makes the answer's body break (ReadError)
            after N bytes.
    """

    def __init__(
        self,
        fail: Callable[[httpx.Request], httpx.Response | None] | None = None,
        cut: Callable[[httpx.Request], int | None] | None = None,
    ) -> None:
        self.fail = fail
        self.cut = cut
        self.requests: list[httpx.Request] = []
        self.inner: Any = None

    def around(self, inner: Any) -> Tap:
        self.inner = inner
        return self

    def routes(self, method: str | None = None) -> list[str]:
        """`METHOD path?query` of each request sent (of one method, if given)."""
        return [
            f"{r.method} {r.url.raw_path.decode()}"
            for r in self.requests
            if method is None or r.method == method
        ]

    def _before(self, request: httpx.Request) -> httpx.Response | None:
        self.requests.append(request)
        return self.fail(request) if self.fail else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._before(request)
        if answer is not None:
            return answer
        response = self.inner.handle_request(request)
        limit = self.cut(request) if self.cut else None
        if limit is None:
            return response
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Cut(response.stream, limit),
            extensions=response.extensions,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._before(request)
        if answer is not None:
            return answer
        response = await self.inner.handle_async_request(request)
        limit = self.cut(request) if self.cut else None
        if limit is None:
            return response
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Cut(response.stream, limit),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Cut(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks after `limit` bytes, as a reset connection would."""

    def __init__(self, inner: Any, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    def _take(self, chunk: bytes, sent: int) -> bytes:
        return chunk[: max(0, self.limit - sent)]

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            part = self._take(chunk, sent)
            if part:
                yield part
            sent += len(part)
            if sent >= self.limit:
                raise httpx.ReadError("connection reset by peer (injected)")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.inner:
            part = self._take(chunk, sent)
            if part:
                yield part
            sent += len(part)
            if sent >= self.limit:
                raise httpx.ReadError("connection reset by peer (injected)")

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def tap_class() -> type[Tap]:
    """The `Tap` class (test modules cannot import conftest)."""
    return Tap


@pytest.fixture(params=["sync", "async"])
async def make_client(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Any]]:
    """A factory of clients for an account (`make_client(user)`), of the kind under test.

    `make_client(user, tap=Tap(...))` sends through a `Tap` around httpx's own transport;
    other keyword arguments go to the client's constructor.
    """
    made: list[Any] = []

    def make(account: Any, tap: Tap | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", account.api_key)
        kwargs.setdefault("domain", account.url)
        if request.param == "async":
            if tap is not None:
                kwargs["transport"] = tap.around(httpx.AsyncHTTPTransport())
            client: Any = AsyncStorageClient(**kwargs)
        else:
            if tap is not None:
                kwargs["transport"] = tap.around(httpx.HTTPTransport())
            client = AsyncView(StorageClient(**kwargs))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def client(make_client: Callable[..., Any], user: Any) -> Any:
    """A client (sync through `AsyncView`, or async) of a new user."""
    return make_client(user)


@pytest.fixture
def project_name() -> str:
    """A project name unique in the session."""
    return f"p{next(_projects)}"


@pytest.fixture
async def project(client: Any, user: Any, project_name: str) -> str:
    """A new, empty project of `user`: its `owner/project` URI."""
    uri = f"{user.name}/{project_name}"
    await client.create_project(uri)
    return uri
