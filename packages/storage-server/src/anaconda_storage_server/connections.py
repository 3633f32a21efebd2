"""How the server treats connections: time limits, a cap, and one way to frame a body.

uvicorn on its own closes a kept-alive connection after an idle spell, and nothing else: a
connection that never completes a request (opened and left idle, or slowloris: a header
byte now and then) stays open for ever, and connections are not counted. Each costs a file
descriptor, so a thousand of them starve a server running under `ulimit -n 1024` (issue
11). `GuardedH11Protocol` is uvicorn's h11 protocol with these additions:

- Header timeout: a request's headers must be complete `header_timeout` seconds after the
  connection opened, or after the first byte of a later request on a kept-alive connection
  (nginx's `client_header_timeout`, Go's `ReadHeaderTimeout`). Otherwise the connection is
  closed without an answer: there is no request to answer.
- Body timeout: a request's body may not stall (no byte arriving while the application
  waits for one) for longer than `body_timeout` seconds (nginx's `client_body_timeout`); an
  upload may take any time, as long as it moves. The connection is closed; the application
  sees the client gone.
- Keep-alive timeout: uvicorn's own timer, set to `keep_alive_timeout`.
- A cap of `max_connections` open connections. The connection one over the cap closes the
  one that has waited longest for a request (first those that never sent one, then idle
  kept-alive ones), so a flood of idle or slowloris sockets cannot lock a legitimate client
  out; when every connection is busy with a request, the newcomer gets `503 unavailable`
  and is closed.
- Framing: a request with both `Content-Length` and `Transfer-Encoding` is refused `400
  invalid` and its connection closed (RFC 9112, 6.1: a proxy in front may have framed the
  body by the other header, so what follows could be a smuggled request). h11 on its own
  reads such a body as chunked and keeps the connection.
- Every 400 uvicorn sends for a malformed request carries the API's JSON error body.

The server always speaks h11 (uvicorn would pick httptools when it is installed): one HTTP
implementation, one behaviour to test.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, ClassVar

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from anaconda_storage_server.app import API_VERSION
from anaconda_storage_server.connection_limits import ConnectionLimits

# How often, at most, the cap is reported in the log while it is being hit.
_REPORT_INTERVAL = 60.0

logger = logging.getLogger("anaconda_storage_server.connections")


def protocol_class(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """The protocol class to give `uvicorn.Config(http=...)`, counting its own connections."""

    class Bound(GuardedH11Protocol):
        registry = _Registry(limits)

    return Bound


def error_body(code: str, message: str) -> bytes:
    """The API's error body (docs/api.md, "Errors")."""
    error = {"error": {"code": code, "message": message}}
    return json.dumps(error, separators=(",", ":")).encode()


class _StrictConnection(h11.Connection):
    """An h11 server connection that refuses ambiguous framing and remembers why it refused."""

    refusal = ""

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            self.refusal = str(exc)
            raise
        if isinstance(event, h11.Request):
            names = {name for name, _ in event.headers}  # h11 lowercases them
            if b"content-length" in names and b"transfer-encoding" in names:
                self.refusal = (
                    "a request must not carry both Content-Length and Transfer-Encoding "
                    "(RFC 9112, 6.1)"
                )
                raise h11.RemoteProtocolError(self.refusal)
        return event


class _Registry:
    """The open connections of one server, in the order they opened."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open: dict[GuardedH11Protocol, None] = {}
        self._reported_at = -math.inf

    def admit(self, newcomer: GuardedH11Protocol) -> bool:
        """Count a new connection; False if it must be refused (every other one is busy)."""
        self.open[newcomer] = None
        if len(self.open) <= self.limits.max_connections:
            return True
        waiting = [each for each in self.open if each is not newcomer and each.waiting]
        self._report(newcomer, bool(waiting))
        if waiting:
            oldest = min(waiting, key=lambda each: (each.proven, each.waiting_since))
            oldest.close("closed to make room under --max-connections")
            return True
        self.discard(newcomer)
        return False

    def discard(self, protocol: GuardedH11Protocol) -> None:
        self.open.pop(protocol, None)

    def _report(self, newcomer: GuardedH11Protocol, evicting: bool) -> None:
        now = newcomer.loop.time()
        if now - self._reported_at < _REPORT_INTERVAL:
            return
        self._reported_at = now
        logger.warning(
            "%d connections open, the limit (--max-connections): %s",
            self.limits.max_connections,
            "closing the ones that wait longest without a request"
            if evicting
            else "every one is busy, refusing new ones with 503",
        )


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout, a connection cap and strict framing.

    Made by `protocol_class`, which binds the limits and the count of open connections.
    """

    registry: ClassVar[_Registry]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = self.registry.limits
        size = config.h11_max_incomplete_event_size
        self.conn = (
            _StrictConnection(h11.SERVER)
            if size is None
            else _StrictConnection(h11.SERVER, max_incomplete_event_size=size)
        )
        self.timeout_keep_alive = limits.keep_alive_timeout  # type: ignore[assignment]
        self.read_timer: asyncio.TimerHandle | None = None
        self.read_timer_for = ""  # "headers" or "body": what the client owes
        self.last_read = 0.0
        self.proven = False  # one request answered at least
        self.waiting_since = 0.0

    @property
    def waiting(self) -> bool:
        """Open and waiting for a request (no request in progress)."""
        return (
            self.conn.their_state is h11.IDLE
            and self.conn.our_state is h11.IDLE
            and not self.transport.is_closing()
        )

    def close(self, why: str) -> None:
        """Close the connection at once (a request in progress sees the client gone)."""
        self.registry.discard(self)
        self._disarm()
        if not self.transport.is_closing():
            if self.client and logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s:%d - %s", *self.client, why)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting_since = self.loop.time()
        if not self.registry.admit(self):
            body = error_body("unavailable", "too many connections; try again later")
            transport.write(_raw_response(503, b"Service Unavailable", body, b"retry-after: 1"))
            transport.close()
            return
        self._arm("headers")

    def data_received(self, data: bytes) -> None:
        self.last_read = self.loop.time()
        super().data_received(data)
        if self.waiting:
            self._arm("headers")  # (on a kept-alive connection: a request's first bytes)
        elif self.conn.their_state is h11.SEND_BODY:
            self._arm("body")
        else:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.proven = True
        self.waiting_since = self.loop.time()
        if self.waiting:
            if self.conn.trailing_data[0]:
                self._arm("headers")  # part of a pipelined request is in already
            else:
                self._disarm()  # uvicorn's keep-alive timer takes over
        elif self.conn.their_state is h11.SEND_BODY:
            # Answered before the body was all in: uvicorn reads and drops the rest.
            self._arm("body")

    def connection_lost(self, exc: Exception | None) -> None:
        self.registry.discard(self)
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own answer is text/plain; the API's errors are JSON.
        why = (self.conn.refusal if isinstance(self.conn, _StrictConnection) else "") or msg
        body = error_body("invalid", f"malformed HTTP request: {why}")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"api-version", API_VERSION.encode()),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

    def _arm(self, owed: str) -> None:
        """Start timing what the client owes, unless that is being timed already."""
        if self.read_timer_for == owed or self.transport.is_closing():
            return
        self._disarm()
        limits = self.registry.limits
        if owed == "headers":
            self.read_timer = self.loop.call_later(limits.header_timeout, self._headers_late)
        else:
            self.read_timer = self.loop.call_later(limits.body_timeout, self._body_stalled)
        self.read_timer_for = owed

    def _disarm(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
        self.read_timer = None
        self.read_timer_for = ""

    def _headers_late(self) -> None:
        self.read_timer, self.read_timer_for = None, ""
        if self.waiting:
            self.close("no complete request headers within --header-timeout")

    def _body_stalled(self) -> None:
        # Armed once per body, not per read: each read only notes its time, and the timer
        # looks at the last one when it fires.
        self.read_timer, self.read_timer_for = None, ""
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:  # the application is not reading: no stall of the client's
            self.last_read = now
        left = self.last_read + self.registry.limits.body_timeout - now
        if left > 0:
            self.read_timer = self.loop.call_later(left, self._body_stalled)
            self.read_timer_for = "body"
        else:
            self.close("no byte of the request body within --body-timeout")


def _raw_response(status: int, reason: bytes, body: bytes, *extra: bytes) -> bytes:
    """A whole response, written before any request was read (h11 has no state for that)."""
    lines = [
        b"HTTP/1.1 %d %s" % (status, reason),
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"connection: close",
        b"api-version: " + API_VERSION.encode(),
        *extra,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
