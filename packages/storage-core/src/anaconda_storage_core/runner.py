"""How `StorageClient` runs flows: each effect (see `effects.py`) performed with an
`httpx.Client`, blocking; `Gather` on a small thread pool (httpx.Client is thread-safe).

`async_runner.py` is its asyncio counterpart. The two are the only code that performs I/O
for the client, and they share no logic with each other beyond this vocabulary.
"""

from __future__ import annotations

import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeAlias, TypeVar

import httpx

from .config import StorageConfig
from .cookies import CookielessClient
from .effects import (
    CLOSED_STREAM,
    Attempt,
    Close,
    Effect,
    Flow,
    FlowRun,
    Gather,
    Held,
    Pull,
    Read,
    ReadRest,
    Sleep,
)
from .models import ContentInfo
from .urllib3_transport import Urllib3Transport

__all__ = ["ContentStream", "Delivering", "Runner", "default_http_client"]

T = TypeVar("T")


# The run of a flow by this runner: its open responses are read through Iterators.
Run: TypeAlias = FlowRun[T, Iterator[bytes]]


class Delivering(Generic[T]):
    """A flow given to `Runner.start_delivering`, and the items it delivers as it runs."""

    __slots__ = ("flow", "items")

    def __init__(self, flow: Flow[Any], items: deque[T]) -> None:
        self.flow = flow
        self.items = items


class Runner:
    """Runs flows with an `httpx.Client`.

    Args:
        http: The client that sends every request.
        timeout: Applied to each request (a built request carries no timeout of its own).
        max_workers: Threads for `Gather` effects (parts of an upload sent at once).
    """

    def __init__(self, http: httpx.Client, timeout: httpx.Timeout, max_workers: int = 8) -> None:
        self.http = http
        self.timeout = timeout.as_dict()
        self.max_workers = max_workers
        self.sleep = time.sleep  # replaceable, for tests of retry timing

    def run(self, flow: Flow[T]) -> T:
        """Run `flow` to its end and return its result (or raise its exception)."""
        run: Run[T] = FlowRun(flow)
        try:
            while not self.step(run):
                pass
        finally:
            self.close(run)
        return run.result  # type: ignore[return-value]

    def start(self, flow: Flow[T]) -> Flow[T]:
        """What `AsyncRunner.start` is for asyncio: here the flow is run by `finish` (a
        blocking listing asks for its next page when it needs it)."""
        return flow

    def finish(self, started: Flow[T]) -> T:
        """Run a flow given to `start`."""
        return self.run(started)

    def start_delivering(self, flow: Callable[..., Flow[Any]]) -> Delivering[Any]:
        """What `AsyncRunner.start_delivering` is for asyncio: here the flow
        `flow(deliver=...)` makes is run by `delivered`, which hands out its items as they
        come."""
        items: deque[Any] = deque()
        return Delivering(flow(deliver=items.append), items)

    def delivered(self, started: Delivering[T]) -> Iterator[T]:
        """Run a flow given to `start_delivering`, handing out its items as they come."""
        run: Run[Any] = FlowRun(started.flow)
        items = started.items
        try:
            while True:
                effect = self._advance(run)
                # Handed out before the next effect (the next chunk's read) is performed.
                while items:
                    yield items.popleft()
                if effect is None:
                    return
                self._perform_for(run, effect)
        finally:
            self.close(run)

    def abandon(self, started: Flow[Any] | Delivering[Any] | None) -> None:
        """Drop a flow given to `start` (or `start_delivering`) that was never run."""
        if isinstance(started, Delivering):
            started = started.flow
        if started is not None:
            started.close()

    def step(self, run: Run[Any]) -> bool:
        """Advance `run` by one effect; True once the flow has returned."""
        effect = self._advance(run)
        if effect is None:
            return True
        self._perform_for(run, effect)
        return False

    def _advance(self, run: Run[Any]) -> Effect | None:
        """The flow's next effect; None once it has returned (`run.done`)."""
        try:
            if run.error is not None:
                error, run.error = run.error, None
                effect = run.flow.throw(error)
            else:
                effect = run.flow.send(run.value)
        except StopIteration as stop:
            run.done, run.result = True, stop.value
            return None
        run.value = None
        return effect

    def _perform_for(self, run: Run[Any], effect: Effect) -> None:
        try:
            run.value = self.perform(effect, run)
        except Exception as exc:  # handed to the flow, which handles or re-raises it
            run.error = exc

    def close(self, run: Run[Any]) -> None:
        """End `run`: close its generator and the responses it holds open."""
        run.flow.close()
        while run.open:
            _, (response, _) = run.open.popitem()
            response.close()

    def perform(self, effect: Effect, run: Run[Any]) -> Any:
        """Do what `effect` asks and return its result."""
        if type(effect) is Read:  # the hot path of a download
            return next(run.open[id(effect.response)][1], b"")
        if isinstance(effect, Attempt):
            request = effect.request
            request.extensions.setdefault("timeout", self.timeout)
            response = self.http.send(request, stream=effect.stream)
            if effect.stream and response.status_code < 400:
                run.open[id(response)] = (response, response.iter_bytes())
                return response
            if effect.stream:
                try:
                    response.read()  # an error's JSON body, for its typed exception
                finally:
                    response.close()
            response.stream = CLOSED_STREAM  # read and closed: no cycle left (see effects)
            return response
        if type(effect) is ReadRest:
            response = effect.response
            opened = run.open.pop(id(response), None)
            try:
                return b"" if opened is None else _at_most(opened[1], effect.limit)
            finally:
                response.close()
                response.stream = CLOSED_STREAM  # no cycle left (see effects)
        if isinstance(effect, Close):
            run.open.pop(id(effect.response), None)
            effect.response.close()
            effect.response.stream = CLOSED_STREAM  # no cycle left (see effects)
            return None
        if isinstance(effect, Sleep):
            self.sleep(effect.seconds)
            return None
        if isinstance(effect, Gather):
            return self.gather(effect)
        if isinstance(effect, Pull):
            # Reading an async iterator needs an event loop: that of the caller, which a
            # blocking client does not have (running one here would leave the iterator
            # bound to a loop that is gone). Raised before any request is sent.
            raise TypeError(
                "StorageClient cannot read an async iterable: upload it with"
                " AsyncStorageClient, or give bytes, a path, a binary file or an iterable of"
                " bytes"
            )
        raise TypeError(f"not an effect: {effect!r}")

    def gather(self, effect: Gather) -> list[Any]:
        """Run the flows of `effect`, `limit` at a time on threads; results in order."""
        limit = min(effect.limit, self.max_workers)
        if limit <= 1:
            return [self.run(flow) for flow in effect.flows]
        results: dict[int, Any] = {}
        flows = enumerate(effect.flows)
        pending: set[Future[None]] = set()

        def run_one(index: int, flow: Flow[Any]) -> None:
            results[index] = self.run(flow)

        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="anaconda-storage") as pool:
            try:
                for index, flow in flows:
                    while len(pending) >= limit:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()  # the first failure stops the rest
                    pending.add(pool.submit(run_one, index, flow))
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        return [results[index] for index in range(len(results))]


class ContentStream:
    """An open read of a file's content: iterate it for its chunks.

    Made by `StorageClient.stream`. A read that breaks mid-body is resumed with a `Range`
    request at the same revision, transparently.

    Attributes:
        info: The answer's `ContentInfo` (size, revision, sha256), known on opening.
    """

    def __init__(
        self,
        runner: Runner,
        flow: Callable[[Callable[[bytes], object], Callable[[ContentInfo], None]], Flow[Any]],
    ) -> None:
        self._runner = runner
        self._chunks: deque[bytes] = deque()
        self.info: ContentInfo | None = None
        self._run: Run[Any] = FlowRun(flow(self._chunks.append, self._opened))

    def _opened(self, info: ContentInfo) -> None:
        self.info = info

    def open(self) -> None:
        """Send the request and read the answer's headers."""
        while self.info is None and not self._run.done:
            self._runner.step(self._run)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            while self._chunks:
                yield self._chunks.popleft()
            if self._run.done:
                return
            self._runner.step(self._run)

    def read(self) -> bytes:
        """The rest of the content, at once."""
        return b"".join(self)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._runner.close(self._run)


def default_http_client(
    config: StorageConfig,
    limits: httpx.Limits,
    transport: httpx.BaseTransport | None,
    trust_env: bool,
) -> httpx.Client:
    """The `httpx.Client` a `StorageClient` makes when none is given, without cookies (see
    cookies.py): on `transport` if given; else on urllib3 (`Urllib3Transport`: httpcore
    reads a large body at two thirds of the speed), unless the environment names a proxy
    (`HTTPS_PROXY`, `ALL_PROXY`...): then on httpx's own transports, which route each
    request through its proxy as httpx does (httpx reads no proxy from the environment for
    a client given a transport)."""
    verify = config.ssl_context()
    if transport is not None:
        return CookielessClient(transport=transport, trust_env=trust_env)
    if trust_env and _environment_proxies():
        return CookielessClient(verify=verify, limits=limits, trust_env=trust_env)
    return CookielessClient(
        transport=Urllib3Transport(verify=verify, limits=limits), trust_env=trust_env
    )


def _environment_proxies() -> bool:
    """Whether the environment names a proxy for HTTP or HTTPS (as urllib and httpx read it)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _at_most(chunks: Iterator[bytes], limit: int) -> bytes:
    """The chunks joined, if they hold at most `limit` bytes (see `ReadRest`)."""
    held = Held(limit)
    for chunk in chunks:
        held.add(chunk)
    return held.joined()
