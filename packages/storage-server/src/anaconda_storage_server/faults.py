"""Test aids, off by default: latency, a bandwidth limit, injected 503s and connections cut
mid-body.

`Faults` is a pure ASGI middleware around the whole application:

- `latency_ms`: every request first sleeps that long (`anyio.sleep`: the event loop serves
  other requests meanwhile, so 100 concurrent requests take one latency, not 100).
- `bandwidth`: bytes per second of one link shared by every connection: response bodies
  sent and request bodies read wait their turn on it (a running schedule of when the link is
  next free, so concurrent transfers share it rather than each getting the full rate, and
  one stream gets all of it: see `_Link`).
- `fault_rate`: that fraction of requests is answered `503 unavailable` (or, with
  `fault_status=429`, `429 too_many_requests`) with `Retry-After: 0` before reaching the
  application (so nothing changes). `/api/health` is exempt, so readiness checks stay
  reliable.
- `lose_rate`: that fraction of requests that change something (any method but GET and
  HEAD) is handled by the application, and when it succeeded (2xx: the change is made)
  its answer is replaced by `502 bad_gateway`: a gateway losing the answer of a request
  that took effect. A client that retries must cope with finding its own change made.
  Answers of changes refused (4xx) go through, so such a retry can tell.
- `cut_rate`: that fraction of content responses (200/206 with
  `application/octet-stream`) sends its headers with the full `Content-Length`, then half
  the body, then the connection is closed: what a client sees when a network drops.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What uvicorn logs when a response is abandoned on purpose; `quiet_cut_logs` hides it.
INCOMPLETE_RESPONSE = "ASGI callable returned without completing response."


class _Cut(BaseException):
    """Raised from `send` to abandon a response half-way.

    A BaseException, so that the application's handler of unexpected errors (which catches
    Exception, and logs it) lets it through to `Faults`, which stops it.
    """


def _is_cut(exc: BaseException) -> bool:
    # A response streamed from a task group raises its _Cut inside an exception group.
    inner = getattr(exc, "exceptions", None)
    if inner is not None:
        return all(_is_cut(each) for each in inner)
    return isinstance(exc, _Cut)


class _Link:
    """One link of `rate` bytes per second, shared by every connection.

    A virtual clock: `free_at` is when the link has carried every byte given to it so far.
    Each chunk starts crossing when the link is free (or when it arrives, if the link is
    idle), and is handed on when its last byte has crossed, so over all connections the
    bytes go at `rate`.

    A sender is never idle on a real link while it writes its next chunk: the socket's
    buffer holds that chunk while the previous one crosses. Here the next chunk only
    arrives after the previous one was handed on and the server did its own work (a read,
    a write, a late timer); counting its crossing from its arrival would add that time to
    every chunk (one stream got 120 of the 191 MiB/s of a 200e6 link so). So a chunk that
    arrives late starts crossing as if it had waited in such a buffer, up to `BURST`
    seconds back: the schedule catches up instead of slipping. Over any stretch of T
    seconds at most `rate * (T + BURST)` bytes cross: the link stays a ceiling.
    """

    # Longer than the server's own time per chunk (a read of up to 1 MiB in a worker
    # thread, a write, a timer firing a millisecond late), short enough that a burst after
    # an idle spell is small: 2 MB on a 200 MB/s link.
    BURST = 0.01

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"bandwidth is a number of bytes per second above 0, not {rate}")
        self.rate = rate
        self.free_at = -math.inf
        self._clock = clock
        self._sleep = sleep

    async def cross(self, size: int) -> None:
        """Wait until `size` bytes, given to the link now, have crossed it."""
        if size <= 0:
            return
        now = self._clock()
        # Reserved before sleeping, so concurrent chunks queue behind one another.
        self.free_at = max(self.free_at, now - self.BURST) + size / self.rate
        if self.free_at > now:
            await self._sleep(self.free_at - now)

    def sending(self, send: Send) -> Send:
        async def throttled(message: Message) -> None:
            if message["type"] == "http.response.body":
                await self.cross(len(message.get("body", b"")))
            await send(message)

        return throttled

    def receiving(self, receive: Receive) -> Receive:
        async def throttled() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                await self.cross(len(message.get("body", b"")))
            return message

        return throttled


class Faults:
    """Latency, fault and cut injection around `app` (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        latency_ms: float = 0,
        bandwidth: float | None = None,
        fault_rate: float = 0.0,
        fault_status: int = 503,
        cut_rate: float = 0.0,
        lose_rate: float = 0.0,
        chance: Callable[[], float] = random.random,
    ) -> None:
        if fault_status not in FAULTS:
            raise ValueError(f"fault_status is one of {sorted(FAULTS)}, not {fault_status}")
        self.app = app
        self.latency = latency_ms / 1000
        self.link = _Link(bandwidth) if bandwidth is not None else None
        self.fault_rate = fault_rate
        self.fault_status = fault_status
        self.cut_rate = cut_rate
        self.lose_rate = lose_rate
        self.chance = chance

    async def _lose_if_changed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; if it succeeded (2xx), answer 502 instead of its answer. An
        answer that changed nothing (a 4xx) goes through: only a success is lost."""
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        if answer and 200 <= answer[0]["status"] < 300:
            await _fail(send, 502, "--lose-rate: the change was made, its answer lost")
            return
        for message in answer:
            await send(message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.latency > 0:
            await anyio.sleep(self.latency)
        if self.link is not None:
            send = self.link.sending(send)
            receive = self.link.receiving(receive)
        if (
            self.fault_rate > 0
            and scope["path"] != "/api/health"
            and self.chance() < self.fault_rate
        ):
            await _fail(send, self.fault_status, "--fault-rate")
            return
        if (
            self.lose_rate > 0
            and scope["method"] not in ("GET", "HEAD")
            and self.chance() < self.lose_rate
        ):
            await self._lose_if_changed(scope, receive, send)
            return
        if self.cut_rate > 0 and scope["method"] == "GET":
            send = _Cutter(send, self.cut_rate, self.chance)
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                if not _is_cut(exc):
                    raise
                # Returning with the response incomplete: uvicorn closes the connection.
        else:
            await self.app(scope, receive, send)


# The injected answers: status -> error code (docs/api.md, "Errors").
FAULTS = {429: "too_many_requests", 502: "bad_gateway", 503: "unavailable"}


async def _fail(send: Send, status: int, why: str) -> None:
    body = json.dumps(
        {"error": {"code": FAULTS[status], "message": f"injected fault ({why})"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _Cutter:
    """A `send` that may let only half of a content response's body through."""

    def __init__(self, send: Send, rate: float, chance: Callable[[], float]) -> None:
        self.send = send
        self.rate = rate
        self.chance = chance
        self.budget: int | None = None  # bytes still allowed through, once cutting

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            length = headers.get(b"content-length", b"")
            if (
                message["status"] in (200, 206)
                and headers.get(b"content-type") == b"application/octet-stream"
                and length.isdigit()
                and int(length) > 0
                and self.chance() < self.rate
            ):
                self.budget = int(length) // 2
        elif message["type"] == "http.response.body" and self.budget is not None:
            body: bytes = message.get("body", b"")
            if len(body) >= self.budget:
                if self.budget:
                    await self.send(
                        {
                            "type": "http.response.body",
                            "body": body[: self.budget],
                            "more_body": True,
                        }
                    )
                raise _Cut
            self.budget -= len(body)
        await self.send(message)


class _QuietCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != INCOMPLETE_RESPONSE


def quiet_cut_logs() -> None:
    """Stop uvicorn logging an error for each connection cut on purpose."""
    logging.getLogger("uvicorn.error").addFilter(_QuietCuts())
