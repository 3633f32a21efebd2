"""What a flow asks of the client that runs it: the whole I/O vocabulary of the core.

A *flow* is a generator that yields effects and receives their results, like the
`auth_flow` generators of httpx's `_auth.py`: retries, resumable downloads and multipart
uploads are each written once, as flows, and `StorageClient` (httpx.Client, threads) and
`AsyncStorageClient` (httpx.AsyncClient, asyncio) both run them. A flow does no network I/O
itself and never sleeps; the client performs each effect and sends back its result, or
throws the exception it raised into the flow (`httpx.TransportError`, `StorageError`).

Local file I/O (reading an upload's source, writing a download) happens inside flows, in
small blocking chunks, as fsspec's own async implementations do. An upload's source that
is an async iterable is read with `Pull`, which only the asyncio runner performs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

import httpx

__all__ = [
    "CLOSED_STREAM",
    "Attempt",
    "Close",
    "Effect",
    "Flow",
    "FlowRun",
    "Gather",
    "Held",
    "Pull",
    "Read",
    "ReadRest",
    "Sleep",
]

T = TypeVar("T")
Chunks = TypeVar("Chunks")  # how a runner reads an open response: Iterator or AsyncIterator


@dataclass(frozen=True, eq=False)
class Attempt:
    """Send `request` once (no retry). Answers the `httpx.Response`: read in full, unless
    `stream` and the status is below 400 (then open: read it with `Read`, end with `Close`).
    An error answer is always read in full, so its JSON body can be parsed. Raises
    `httpx.TransportError` into the flow when the exchange fails.

    `read_within` (with `stream`): a runner may answer a success whose `Content-Length` is
    above 0 and at most this many bytes read in full and closed (`is_closed`), as if not
    streamed. A small file's read then takes one effect, not two (issue 15: the client's
    CPU per small read). A body that breaks is answered open, its read raising the break,
    so the flow has the headers. A runner that does not read it in full answers it open,
    as for any `stream`, and the flow reads it with `ReadRest`."""

    request: httpx.Request
    stream: bool = False
    read_within: int = 0


@dataclass(frozen=True, eq=False)
class Read:
    """Answers the next chunk of an open response's body, or `b""` at its end. Raises
    `httpx.TransportError` into the flow when the connection breaks mid-body."""

    response: httpx.Response


@dataclass(frozen=True, eq=False)
class ReadRest:
    """Answers the rest of an open response's body at once (`b""` if none is left), and
    closes the response. Raises `httpx.TransportError` into the flow when the connection
    breaks mid-body (the response is closed then too, its bytes so far lost), and
    `httpx.RemoteProtocolError` when the body holds more than `limit` bytes (what is read
    stops there: a server sending more than it announced cannot fill the memory).

    For a body known to be small: one effect where `Read` takes one per chunk and one more
    for the end, and then `Close` (issue 15: the client's CPU per small read)."""

    response: httpx.Response
    limit: int


class Held:
    """The chunks a runner reads for a `ReadRest`: no more than its `limit` bytes."""

    __slots__ = ("_chunks", "_limit", "_size")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._chunks: list[bytes] = []

    def add(self, chunk: bytes) -> None:
        """Hold `chunk`.

        Raises:
            httpx.RemoteProtocolError: The body holds more than `limit` bytes.
        """
        self._size += len(chunk)
        if self._size > self._limit:
            raise httpx.RemoteProtocolError(
                f"the body holds more than the {self._limit} bytes announced"
            )
        self._chunks.append(chunk)

    def joined(self) -> bytes:
        """The chunks held, as one."""
        return b"".join(self._chunks)


@dataclass(frozen=True, eq=False)
class Close:
    """Close an open response (answers None)."""

    response: httpx.Response


@dataclass(frozen=True, eq=False)
class Pull:
    """Answers the next item of an async iterator: `await anext(source)`, so that its end
    (`StopAsyncIteration`) and any exception it raises are raised into the flow. How an
    upload reads a source given as an `AsyncIterable[bytes]`. Only the asyncio runner can
    perform it; the blocking one raises `TypeError` into the flow."""

    source: AsyncIterator[Any]


@dataclass(frozen=True)
class Sleep:
    """Wait `seconds` (answers None): the backoff between retries."""

    seconds: float


@dataclass(frozen=True, eq=False)
class Gather:
    """Run `flows` with at most `limit` at once; answers their results, in order.

    `flows` may be a lazy iterable: it is consumed as slots free up, so a flow that holds
    a buffer (a part of an upload read from an iterator) exists only while it runs. The
    first failure stops the rest and is raised into the flow.
    """

    flows: Iterable[Generator[Effect, Any, Any]]
    limit: int = 1


Effect: TypeAlias = Attempt | Read | ReadRest | Close | Pull | Sleep | Gather
Flow: TypeAlias = Generator[Effect, Any, T]
"""A generator that yields `Effect`s, is sent their results and returns a `T`."""


CLOSED_STREAM = httpx.ByteStream(b"")
"""What a runner puts in place of a response's stream once the response is read and
closed: httpx's own stream refers back to the response, a cycle that would be left to the
garbage collector for every request."""


class FlowRun(Generic[T, Chunks]):
    """One flow being run by a runner: what to send it next, the responses it holds open
    (each with the iterator its body is read from), and its result."""

    __slots__ = ("done", "error", "flow", "open", "result", "value")

    def __init__(self, flow: Flow[T]) -> None:
        self.flow = flow
        self.value: Any = None
        self.error: BaseException | None = None
        self.open: dict[int, tuple[httpx.Response, Chunks]] = {}
        self.done = False
        self.result: T | None = None
