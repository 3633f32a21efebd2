"""The async client's default way to send: each built `httpx.Request` straight to aiohttp.

The sans-IO operations build `httpx.Request`s and read `httpx.Response`s (DESIGN.md, "one
definition of each API call"); what sends them is the runner's business. httpx's request
machinery around a transport (the client's `send`: auth and redirect flows, hooks, mounts,
timers, response wrappers) cost about 150 us of client CPU per small request over raw
aiohttp, measured by `bench/client_layers.py`, which is what a many-small-files workload
waits on. `AiohttpSender` does only what the runner needs: it sends the request's method,
URL, headers and body through one aiohttp session and answers an `httpx.Response`
(read in full, or open with a stream that reads aiohttp's body in pieces of up to
`READ_SIZE`), so flows, parsers and typed errors are the same whatever sends. A request
the operations built (an `OutgoingRequest`, see outgoing.py) is sent from the parts it was
built from, never parsed by httpx; an open answer's chunks come straight from aiohttp
(`body_chunks`) unless it is content-encoded.

The seam for tests stays httpx's: an `AsyncStorageClient` given `http_client=` or
`transport=` (an `httpx.MockTransport`, a proxy's) sends through that httpx client, as
before; only a client left to its defaults uses this module.

What it keeps from the httpx path:

- Errors: aiohttp's exceptions become the `httpx.TransportError` subclasses the retry
  policy reads (`ConnectError` for a connection never made, `ReadTimeout`,
  `RemoteProtocolError` for an answer cut short...), raised without aiohttp's exception
  attached (some of those hold the request's headers, and with them the API key).
- No cookies: the session's jar is aiohttp's `DummyCookieJar` (see `cookies.py`).
- Headers as the client's `Api` merges them: the client's own are the session's defaults
  (aiohttp merges each header of a request into them, one by one), each request passes only
  its own. So a sender serves the one client it was made for, and refuses any other
  request (see `send`).
- Bodies as sent: `auto_decompress=False`, so an encoded answer is decoded by httpx's
  `Response`, as with httpx-aiohttp.
- The environment (`trust_env`): proxies from `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` (as
  urllib reads them); TLS from the client's `verify`.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .effects import Held
from .outgoing import OutgoingRequest
from .received import full_response, headers_of
from .transports import READ_SIZE

if TYPE_CHECKING:
    import ssl

    import aiohttp

__all__ = ["AiohttpSender", "body_chunks", "body_rest"]


class AiohttpSender:
    """Sends `httpx.Request`s through one aiohttp session (opened on first use).

    Args:
        verify: TLS verification: True, False or an `ssl.SSLContext`.
        limits: `max_connections` and `keepalive_expiry` of the connection pool.
        trust_env: Whether proxies are read from the environment.
    """

    def __init__(
        self, *, verify: bool | ssl.SSLContext, limits: httpx.Limits, trust_env: bool
    ) -> None:
        self._verify = verify
        self._limits = limits
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._proxies: dict[str, str | None] = {}
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}
        # The session's defaults, taken from its first request (see `_open`).
        self._base: Mapping[str, str] | None = None
        self._origin = ""
        self._timeout_default: aiohttp.ClientTimeout | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(closed={self._closed})"

    @property
    def is_closed(self) -> bool:
        """Whether `aclose` was called."""
        return self._closed

    def _open(self, request: httpx.Request) -> aiohttp.ClientSession:
        # Made in the running loop (aiohttp binds a session to it), on the first request.
        # Its defaults are that request's timeout and, for one the client built (its
        # `parts`), the client's headers (`Parts.base`): every request of a client shares
        # them, and aiohttp merges each request's headers into its defaults one by one,
        # so they are passed once, here, and each request passes only its own.
        import aiohttp

        parts = request.parts if type(request) is OutgoingRequest else None
        if parts is not None:
            self._base, self._origin = parts.base, parts.origin
        self._timeout_default = self._timeout(request)

        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,  # httpx's None (no limit) is aiohttp's 0
            keepalive_timeout=self._limits.keepalive_expiry,
            ssl=self._verify,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers=self._base,
            timeout=self._timeout_default,
            # Not aiohttp's `trust_env`: it reads the environment and ~/.netrc again for
            # every request (a third of the client's CPU for a small one); `_proxy`
            # reads the proxies once per host.
            trust_env=False,
            auto_decompress=False,
        )
        return self._session

    async def send(
        self, request: httpx.Request, *, stream: bool = False, read_within: int = 0
    ) -> httpx.Response:
        """Send `request`; its answer, read in full unless `stream` (then read it with
        `aiter_bytes` and end it with `aclose`, as an httpx response).

        Args:
            read_within: With `stream`: a success that is not content-encoded and
                announces a `Content-Length` above 0 and at most this is read in full all
                the same (see `effects.Attempt`); aiohttp reads no further than that length.
                If that body breaks, the answer is open, its read raising the break: the
                flow has its headers (the revision a read again is pinned to).

        Raises:
            httpx.TransportError: The exchange failed (the subclass says how).
            RuntimeError: The sender is closed; or the request is not one of the client's
                it was made for (another's, or to another origin): the session's default
                headers, the API key among them, would go with it.
        """
        if self._closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        session = self._session or self._open(request)
        error: httpx.TransportError | None = None
        parts = request.parts if type(request) is OutgoingRequest else None
        headers: Mapping[str, str] | list[tuple[str, str]] | None
        if parts is not None:  # as built: nothing parsed (see outgoing.py)
            url, origin, data = parts.url, parts.origin, parts.content or parts.stream
            # The session's defaults are the client's headers, or none (see `_open`).
            headers = parts.own if parts.base is self._base else parts.headers
            if self._base is not None and parts.base is not self._base:
                raise RuntimeError("a sender serves the requests of the one client it was made for")
        else:
            url, origin, data = str(request.url), _origin(request.url), _body(request)
            headers = _headers(request)
        if self._base is not None and origin != self._origin:
            # Never: a client builds every request for its one origin. Were one built for
            # another, the session's defaults (the API key among them) would go with it.
            raise RuntimeError(f"a request to {origin}, not to the client's {self._origin}")
        timeout, proxy = self._timeout(request), self._proxy(origin)
        whole = not stream
        answer = None
        try:
            if data is None and proxy is None and timeout is self._timeout_default:
                # aiohttp's defaults: each keyword given is one more for it to go through.
                answer = await session.request(
                    request.method, url, headers=headers, allow_redirects=False
                )
            else:
                answer = await session.request(
                    request.method,
                    url,
                    headers=headers,
                    data=data,
                    allow_redirects=False,
                    timeout=timeout,
                    proxy=proxy,
                )
            encoded = "Content-Encoding" in answer.headers
            if stream and read_within and answer.status < 400 and not encoded:
                length = answer.content_length
                whole = length is not None and 0 < length <= read_within
            if whole:
                try:
                    content = await answer.read()
                finally:
                    answer.release()
        except Exception as exc:
            error = _transport_error(exc, request)
            if error is None:
                raise
        body: httpx.AsyncByteStream
        if error is not None:
            if not stream or answer is None:
                # Raised here, outside the handler: aiohttp's exception is neither the
                # cause nor the context (some hold the request's headers, the API key).
                raise error
            body = _Broken(error)  # a small body broke: see `read_within`
        else:
            assert answer is not None
            if whole:
                return full_response(
                    answer.status, headers_of(answer.raw_headers), content, request, encoded=encoded
                )
            body = _Body(answer, request)
        return httpx.Response(
            answer.status, headers=headers_of(answer.raw_headers), stream=body, request=request
        )

    def _proxy(self, origin: str) -> str | None:
        """The proxy for `origin` (`scheme://host[:port]`) from the environment
        (`HTTPS_PROXY`, `NO_PROXY`...), if `trust_env`; looked up once per origin."""
        try:
            return self._proxies[origin]
        except KeyError:
            pass
        proxy = None
        if self._trust_env:
            url = httpx.URL(origin)
            proxies = urllib.request.getproxies()
            candidate = proxies.get(url.scheme) or proxies.get("all")
            if candidate and not urllib.request.proxy_bypass(url.host):
                proxy = candidate if "://" in candidate else f"http://{candidate}"
        self._proxies[origin] = proxy
        return proxy

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        """aiohttp's form of the request's timeouts, made once per set of values."""
        timeout = request.extensions.get("timeout", {})
        key = (timeout.get("pool"), timeout.get("connect"), timeout.get("read"))
        try:
            return self._timeouts[key]
        except KeyError:
            pass
        import aiohttp

        made = self._timeouts[key] = aiohttp.ClientTimeout(
            total=None,
            connect=key[0],  # a free connection from the pool, connecting included
            sock_connect=key[1],
            sock_read=key[2],
        )
        return made

    async def aclose(self) -> None:
        """Close the session and its connections."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The chunks of an open answer's body, decoded: straight from aiohttp for an answer
    of this sender's that is not content-encoded (httpx's `aiter_bytes` wraps each chunk
    in two more generators, a decoder and a chunker, a tenth of a small read's CPU);
    through `aiter_bytes` for any other. End it with the response's `aclose`, as always.
    """
    stream = response.stream
    if type(stream) is _Body and stream.plain:
        return stream.__aiter__()
    return response.aiter_bytes()


async def body_rest(
    response: httpx.Response, chunks: AsyncIterator[bytes] | None, limit: int
) -> bytes:
    """The rest of an open answer's body, at once, if it holds at most `limit` bytes (see
    `effects.ReadRest`): one read of aiohttp's for an answer of this sender's that is not
    content-encoded and announces a length within the limit (aiohttp reads no further:
    it refuses an answer that also says it is chunked), the response closed then; the
    `chunks` from `body_chunks` (made here if not given) joined for any other, no further
    than the limit. End it with the response's `aclose`, as always."""
    stream = response.stream
    if type(stream) is _Body and stream.plain and stream.length_within(limit):
        try:
            return await stream.read_rest()
        finally:
            # Closed here, as the response's `aclose` would (which then does nothing):
            # its `request_context`, a contextlib manager, costs 8 Python calls a read.
            response.is_closed = True
            await stream.aclose()
    held = Held(limit)
    async for chunk in chunks or body_chunks(response):
        held.add(chunk)
    return held.joined()


class _Body(httpx.AsyncByteStream):
    """An open answer's body, read up to `READ_SIZE` at a time; `aclose` releases it."""

    def __init__(self, answer: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._answer = answer
        self._request = request
        self.plain = "Content-Encoding" not in answer.headers

    async def __aiter__(self) -> AsyncIterator[bytes]:
        error: httpx.TransportError | None = None
        try:
            async for chunk in self._answer.content.iter_chunked(READ_SIZE):
                yield chunk
        except Exception as exc:
            error = _transport_error(exc, self._request)
            if error is None:
                raise
        if error is not None:
            raise error

    def length_within(self, limit: int) -> bool:
        """Whether the answer announces a length of at most `limit` bytes."""
        length = self._answer.content_length
        return length is not None and length <= limit

    async def read_rest(self) -> bytes:
        """The rest of the body (see `body_rest`)."""
        error: httpx.TransportError | None = None
        try:
            return await self._answer.read()
        except Exception as exc:
            error = _transport_error(exc, self._request)
            if error is None:
                raise
        raise error

    async def aclose(self) -> None:
        # Releases the connection to the pool once the body was read to its end;
        # closes it otherwise (an abandoned download).
        self._answer.release()


class _Broken(httpx.AsyncByteStream):
    """The body of an answer whose read broke (`AiohttpSender.send`'s `read_within`): its
    read raises that break."""

    def __init__(self, error: httpx.TransportError) -> None:
        self._error = error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        nothing: tuple[bytes, ...] = ()  # the loop only makes this an async generator
        for chunk in nothing:
            yield chunk
        raise self._error


def _headers(request: httpx.Request) -> list[tuple[str, str]]:
    # aiohttp frames the body itself (chunked or Content-Length): a Transfer-Encoding
    # header of httpx's would be sent twice.
    return [
        (name, value)
        for name, value in request.headers.multi_items()
        if name.lower() != "transfer-encoding"
    ]


def _body(request: httpx.Request) -> bytes | httpx.AsyncByteStream | None:
    if isinstance(request.stream, httpx.ByteStream):
        return request.content or None
    # A streamed body (`transfer.bodies`): read again from its start at each send.
    assert isinstance(request.stream, httpx.AsyncByteStream)
    return request.stream


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def _transport_error(exc: Exception, request: httpx.Request) -> httpx.TransportError | None:
    """The httpx error the retry policy reads for an aiohttp failure, None if not one."""
    import aiohttp

    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, asyncio.TimeoutError):  # aiohttp's read timeouts are ones too
        kind = httpx.ReadTimeout
    elif isinstance(exc, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        kind = httpx.ProxyError
    elif isinstance(exc, aiohttp.ClientConnectorError):  # nothing was sent
        kind = httpx.ConnectError
    elif isinstance(
        exc,
        (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError),
    ):
        kind = httpx.RemoteProtocolError  # the answer cut short or malformed
    elif isinstance(exc, aiohttp.InvalidURL):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, (aiohttp.ClientError, OSError)):
        kind = httpx.ReadError  # a connection reset or broken while in use
    else:
        return None
    return kind(message, request=request)
