"""How `AsyncStorageClient` runs flows: each effect (see `effects.py`) performed on asyncio,
requests sent by an `AiohttpSender` (the default) or an `httpx.AsyncClient` (one given
with `http_client=` or `transport=`: the seam for tests); `Gather` as a few worker tasks.

`runner.py` is its blocking counterpart. The two are the only code that performs I/O for
the client, and they share no logic with each other beyond this vocabulary.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

import httpx

from .aiohttp_sender import AiohttpSender, body_chunks, body_rest
from .config import StorageConfig
from .cookies import cookieless_async_client
from .effects import (
    CLOSED_STREAM,
    Attempt,
    Close,
    Effect,
    Flow,
    FlowRun,
    Gather,
    Pull,
    Read,
    ReadRest,
    Sleep,
)
from .models import ContentInfo
from .workers import in_workers

__all__ = ["AsyncContentStream", "AsyncRunner", "Delivering", "Sender", "default_http_client"]

T = TypeVar("T")


# The run of a flow by this runner: its open responses are read through AsyncIterators.
# (None until the first `Read` of it: a body read whole by `ReadRest` needs none.)
Run: TypeAlias = FlowRun[T, AsyncIterator[bytes] | None]


class Sender(Protocol):
    """What sends a built request: an `httpx.AsyncClient` (given by the caller, the seam
    for tests), or an `AiohttpSender` (the default)."""

    @property
    def is_closed(self) -> bool: ...

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response: ...

    async def aclose(self) -> None: ...


class Delivering(Generic[T]):
    """A flow started by `AsyncRunner.start_delivering`: what it delivered, not yet taken.

    Attributes:
        task: The flow's run.
    """

    __slots__ = ("_event", "_items", "task")

    task: asyncio.Future[Any]

    def __init__(self) -> None:
        self._items: list[T] = []
        self._event = asyncio.Event()

    def put(self, item: T) -> None:
        """Take an item from the flow (its `deliver`)."""
        self._items.append(item)
        self._event.set()

    def wake(self, _: object = None) -> None:
        """Wake whoever waits (the flow has returned)."""
        self._event.set()

    def take(self) -> list[T]:
        """The items delivered since the last `take`."""
        items, self._items = self._items, []
        self._event.clear()
        return items

    async def wait(self) -> None:
        """Until an item is delivered, or the flow returns."""
        await self._event.wait()


class AsyncRunner:
    """Runs flows, sending their requests with an `httpx.AsyncClient` or an `AiohttpSender`.

    Args:
        http: What sends every request (see `Sender`).
        timeout: Applied to each request (a built request carries no timeout of its own).
        max_workers: The most flows of one `Gather` run at once.
    """

    def __init__(self, http: Sender, timeout: httpx.Timeout, max_workers: int = 8) -> None:
        self.http = http
        # Only the default sender reads a small streamed answer in full (`Attempt.read_within`).
        self._aiohttp = http if isinstance(http, AiohttpSender) else None
        self.timeout = timeout.as_dict()
        self.max_workers = max_workers
        self.sleep = asyncio.sleep  # replaceable, for tests of retry timing

    async def run(self, flow: Flow[T]) -> T:
        """Run `flow` to its end and return its result (or raise its exception)."""
        run: Run[T] = FlowRun(flow)
        try:
            while not await self.step(run):
                pass
        finally:
            await self.close(run)
        return run.result  # type: ignore[return-value]

    def start(self, flow: Flow[T]) -> asyncio.Future[T]:
        """Start running `flow` in the background (a listing's next page, fetched while
        the caller reads the current one); `finish` gives its result."""
        return asyncio.ensure_future(self.run(flow))

    async def finish(self, started: asyncio.Future[T]) -> T:
        """The result of a flow given to `start` (or its exception)."""
        return await started

    def start_delivering(self, flow: Callable[..., Flow[Any]]) -> Delivering[Any]:
        """Start, in the background, the flow `flow(deliver=...)` makes: one that hands
        out what it has (a batch's reads as their frames complete) as it goes, to
        `deliver`; `delivered` gives those items as they come."""
        delivering: Delivering[Any] = Delivering()
        delivering.task = self.start(flow(deliver=delivering.put))
        delivering.task.add_done_callback(delivering.wake)
        return delivering

    async def delivered(self, started: Delivering[T]) -> AsyncIterator[T]:
        """The items of a flow given to `start_delivering`, as they come, until it has
        returned (its exception raised once the items before it are out)."""
        task = started.task
        while True:
            finished = task.done()
            for item in started.take():
                yield item
            if finished:
                break
            await started.wait()
        await task

    async def abandon(self, started: asyncio.Future[Any] | Delivering[Any] | None) -> None:
        """Stop a flow given to `start` (or `start_delivering`) whose result is no longer
        wanted."""
        if isinstance(started, Delivering):
            started = started.task
        if started is None:
            return
        if not started.done():
            started.cancel()
            await asyncio.wait([started])  # its connection released before going on
        if not started.cancelled():
            started.exception()  # retrieved, so that asyncio logs no unretrieved exception

    async def step(self, run: Run[Any]) -> bool:
        """Advance `run` by one effect; True once the flow has returned."""
        try:
            if run.error is not None:
                error, run.error = run.error, None
                effect = run.flow.throw(error)
            else:
                effect = run.flow.send(run.value)
        except StopIteration as stop:
            run.done, run.result = True, stop.value
            return True
        run.value = None
        try:
            run.value = await self.perform(effect, run)
        except Exception as exc:  # handed to the flow, which handles or re-raises it
            run.error = exc
        return False

    async def close(self, run: Run[Any]) -> None:
        """End `run`: close its generator and the responses it holds open."""
        run.flow.close()
        while run.open:
            _, (response, _) = run.open.popitem()
            await response.aclose()

    async def perform(self, effect: Effect, run: Run[Any]) -> Any:
        """Do what `effect` asks and return its result."""
        if type(effect) is Read:  # the hot path of a download
            response = effect.response
            chunks = run.open[id(response)][1]
            if chunks is None:
                chunks = body_chunks(response)
                run.open[id(response)] = (response, chunks)
            return await anext(chunks, b"")
        if isinstance(effect, Attempt):
            request = effect.request
            request.extensions.setdefault("timeout", self.timeout)
            if effect.read_within and self._aiohttp is not None:
                response = await self._aiohttp.send(
                    request, stream=effect.stream, read_within=effect.read_within
                )
                if response.is_closed:  # read in full, as `read_within` allows
                    return response
            else:
                response = await self.http.send(request, stream=effect.stream)
            if effect.stream and response.status_code < 400:
                run.open[id(response)] = (response, None)
                return response
            if effect.stream:
                try:
                    await response.aread()  # an error's JSON body, for its typed exception
                finally:
                    await response.aclose()
            response.stream = CLOSED_STREAM  # read and closed: no cycle left (see effects)
            return response
        if type(effect) is ReadRest:
            response = effect.response
            opened = run.open.pop(id(response), None)
            try:
                if opened is None:
                    return b""
                return await body_rest(response, opened[1], effect.limit)
            finally:
                if not response.is_closed:  # `body_rest` closes what aiohttp read whole
                    await response.aclose()
                response.stream = CLOSED_STREAM  # no cycle left (see effects)
        if isinstance(effect, Close):
            run.open.pop(id(effect.response), None)
            await effect.response.aclose()
            effect.response.stream = CLOSED_STREAM  # no cycle left (see effects)
            return None
        if isinstance(effect, Sleep):
            await self.sleep(effect.seconds)
            return None
        if isinstance(effect, Gather):
            return await self.gather(effect)
        if isinstance(effect, Pull):
            return await anext(effect.source)
        raise TypeError(f"not an effect: {effect!r}")

    async def gather(self, effect: Gather) -> list[Any]:
        """Run the flows of `effect`, `limit` at a time; results in order."""
        limit = min(effect.limit, self.max_workers)
        if limit <= 1:
            return [await self.run(flow) for flow in effect.flows]
        results: dict[int, Any] = {}

        async def one(item: tuple[int, Flow[Any]]) -> None:
            index, flow = item
            results[index] = await self.run(flow)

        # A lazy iterable of flows is read only as fast as flows finish (see workers.py).
        await in_workers(enumerate(effect.flows), one, limit)
        return [results[index] for index in range(len(results))]


class AsyncContentStream:
    """An open read of a file's content: iterate it (`async for`) for its chunks.

    Made by `AsyncStorageClient.stream`. A read that breaks mid-body is resumed with a
    `Range` request at the same revision, transparently.

    Attributes:
        info: The answer's `ContentInfo` (size, revision, sha256), known on opening.
    """

    def __init__(
        self,
        runner: AsyncRunner,
        flow: Callable[[Callable[[bytes], object], Callable[[ContentInfo], None]], Flow[Any]],
    ) -> None:
        self._runner = runner
        self._chunks: deque[bytes] = deque()
        self.info: ContentInfo | None = None
        self._run: Run[Any] = FlowRun(flow(self._chunks.append, self._opened))

    def _opened(self, info: ContentInfo) -> None:
        self.info = info

    async def open(self) -> None:
        """Send the request and read the answer's headers."""
        while self.info is None and not self._run.done:
            await self._runner.step(self._run)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            while self._chunks:
                yield self._chunks.popleft()
            if self._run.done:
                return
            await self._runner.step(self._run)

    async def read(self) -> bytes:
        """The rest of the content, at once."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await self._runner.close(self._run)


def default_http_client(
    config: StorageConfig,
    limits: httpx.Limits,
    transport: httpx.AsyncBaseTransport | None,
    trust_env: bool,
) -> Sender:
    """What an `AsyncStorageClient` sends with when given no `http_client`.

    With a `transport` (a test's `httpx.MockTransport`, a proxy's): an `httpx.AsyncClient`
    on it, without cookies. Without one, the default: an `AiohttpSender`, each request
    straight to an aiohttp session (aiohttp_sender.py: httpx's client machinery cost
    about 150 us of CPU per small request), proxies from the environment included.
    """
    if transport is not None:
        client_class = cookieless_async_client()  # the API sets no cookies (see cookies.py)
        return client_class(transport=transport, trust_env=trust_env)
    return AiohttpSender(verify=config.ssl_context(), limits=limits, trust_env=trust_env)
