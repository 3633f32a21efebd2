"""What a flow asks of the client that runs it: the whole I/O vocabulary of the core.

A *flow* is a generator that yields effects and receives their results, like the
`auth_flow` generators of httpx's `_auth.py`: retries, resumable downloads and multipart
uploads are each written once, as flows, and `StorageClient` (httpx.Client, threads) and
`AsyncStorageClient` (httpx.AsyncClient, asyncio) both run them. A flow does no network I/O
itself and never sleeps; the client performs each effect and sends back its result, or
throws the exception it raised into the flow (`httpx.TransportError`, `StorageError`).

Local file I/O (reading an upload's source, writing a download) happens inside flows, in
small blocking chunks, as fsspec's own async implementations do.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import httpx

__all__ = ["Attempt", "Close", "Effect", "Flow", "Gather", "Read", "Sleep"]

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Attempt:
    """Send `request` once (no retry). Answers the `httpx.Response`: read in full, unless
    `stream` and the status is below 400 (then open: read it with `Read`, end with `Close`).
    An error answer is always read in full, so its JSON body can be parsed. Raises
    `httpx.TransportError` into the flow when the exchange fails."""

    request: httpx.Request
    stream: bool = False


@dataclass(frozen=True, eq=False)
class Read:
    """Answers the next chunk of an open response's body, or `b""` at its end. Raises
    `httpx.TransportError` into the flow when the connection breaks mid-body."""

    response: httpx.Response


@dataclass(frozen=True, eq=False)
class Close:
    """Close an open response (answers None)."""

    response: httpx.Response


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


Effect: TypeAlias = Attempt | Read | Close | Sleep | Gather
Flow: TypeAlias = Generator[Effect, Any, T]
"""A generator that yields `Effect`s, is sent their results and returns a `T`."""
