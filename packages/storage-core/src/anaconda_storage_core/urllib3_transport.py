"""The blocking client's transport: `httpx.Client` on urllib3's connection pools.

`StorageClient` stays an `httpx.Client` (DESIGN.md; its `http_client=` and `transport=`
seams are httpx's), but what moves its bytes is urllib3 (on the standard library's
`http.client`) instead of httpcore. Measured on loopback (`bench/core_transfer.py`, a
512 MiB body read in 1 MiB pieces): httpx on httpcore reads about 1,200 MiB/s, since
httpcore receives 64 KiB at a time and h11 copies each piece twice; urllib3 reads about
1,700 MiB/s, as fast as raw aiohttp, because `http.client` reads into buffers of the size
asked. For a blocking client that is the difference between 0.65 and about 1.0 of raw
aiohttp on a large download.

What it keeps from httpx's own transport:

- Connection pools per origin, up to `max_connections` idle connections kept, each
  checked before it is reused (a connection the server closed while idle is dropped,
  not sent on); requests beyond the limit open connections that are not kept.
- TLS from the client's `verify` (an `ssl.SSLContext`, True or False).
- Timeouts from each request's `timeout` extension: `connect`, then `read` for every
  wait on the socket.
- Errors: urllib3's exceptions become the `httpx.TransportError` subclasses the retry
  policy reads, raised without urllib3's exception attached.
- Bodies as sent: no decoding here (httpx's `Response` decodes an encoded answer), no
  redirects, no retries (the flows retry), no cookies.

Proxies are not its business: where the environment names one (`HTTPS_PROXY`,
`ALL_PROXY`...), `runner.default_http_client` makes the client on httpx's own transports
instead, which send each request through its proxy (or not, by `NO_PROXY`) as before.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import urllib3
from urllib3 import exceptions as errors

from .outgoing import OutgoingRequest
from .transports import READ_SIZE

__all__ = ["Urllib3Transport"]


class Urllib3Transport(httpx.BaseTransport):
    """An httpx transport that sends through a `urllib3.PoolManager`.

    Args:
        verify: TLS verification: True, False or an `ssl.SSLContext`.
        limits: `max_connections` is how many idle connections each origin keeps.
    """

    def __init__(self, *, verify: bool | ssl.SSLContext, limits: httpx.Limits) -> None:
        options: dict[str, Any] = {
            "maxsize": limits.max_connections or 100,
            "block": False,
            "retries": False,
        }
        if isinstance(verify, ssl.SSLContext):
            options["ssl_context"] = verify
        elif not verify:
            options["cert_reqs"] = "CERT_NONE"
            options["assert_hostname"] = False
        self._pools = urllib3.PoolManager(num_pools=32, **options)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; its answer, open (httpx reads it through the stream)."""
        url, headers, body, chunked = _outgoing(request)
        try:
            answer = self._pools.urlopen(
                request.method,
                url,
                body=body,
                headers=headers,
                chunked=chunked,
                timeout=_timeout(request),
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
            )
        except Exception as exc:
            error = _transport_error(exc, request)
            if error is None:
                raise
        else:
            return httpx.Response(
                answer.status,
                headers=list(answer.headers.items()),
                stream=_Body(answer, request),
                extensions={"http_version": b"HTTP/1.1"},
            )
        # Raised here, outside the handler: urllib3's exception is neither the cause nor
        # the context (some carry the request's URL with its query, which may hold a key).
        raise error

    def close(self) -> None:
        """Close every pooled connection."""
        self._pools.clear()


def _outgoing(request: httpx.Request) -> tuple[str, dict[str, str], Any, bool]:
    """The URL, headers and body to send, and whether the body goes chunked."""
    parts = request.parts if type(request) is OutgoingRequest else None
    if parts is not None:  # as built: nothing parsed (see outgoing.py)
        url, headers = parts.url, dict(parts.headers)
        body: Any = parts.content if parts.content is not None else parts.stream
    else:
        url = str(request.url)
        headers = {}
        for name, value in request.headers.multi_items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        stream = request.stream
        body = request.content if isinstance(stream, httpx.ByteStream) else stream
    # urllib3 frames the body itself: httpx's `Transfer-Encoding` would be sent twice.
    chunked = False
    for name in [n for n in headers if n.lower() == "transfer-encoding"]:
        chunked = "chunked" in headers.pop(name).lower()
    if body is not None and not isinstance(body, bytes):
        has_length = any(n.lower() == "content-length" for n in headers)
        chunked = chunked or not has_length
    return url, headers, body or None, chunked


def _timeout(request: httpx.Request) -> urllib3.Timeout:
    timeout = request.extensions.get("timeout", {})
    return urllib3.Timeout(connect=timeout.get("connect"), read=timeout.get("read"))


class _Body(httpx.SyncByteStream):
    """An open answer's body, read up to `READ_SIZE` at a time; `close` gives its
    connection back to the pool once read to its end, and closes it otherwise."""

    def __init__(self, answer: urllib3.BaseHTTPResponse, request: httpx.Request) -> None:
        self._answer = answer
        self._request = request
        self._ended = False

    def __iter__(self) -> Iterator[bytes]:
        read = self._answer.read
        while True:
            error: httpx.TransportError | None = None
            try:
                chunk = read(READ_SIZE)
            except Exception as exc:
                error = _transport_error(exc, self._request)
                if error is None:
                    raise
            if error is not None:
                raise error
            if not chunk:
                self._ended = True
                return
            yield chunk

    def close(self) -> None:
        answer = self._answer
        if not self._ended:
            answer.close()  # a body not read to its end: its connection cannot be reused
        answer.release_conn()


def _transport_error(exc: Exception, request: httpx.Request) -> httpx.TransportError | None:
    """The httpx error the retry policy reads for a urllib3 failure, None if not one."""
    if isinstance(exc, errors.NewConnectionError):  # before its base, ConnectTimeoutError
        kind: type[httpx.TransportError] = httpx.ConnectError  # nothing was sent
    elif isinstance(exc, errors.ConnectTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, (errors.ReadTimeoutError, TimeoutError)):
        kind = httpx.ReadTimeout
    elif isinstance(exc, errors.ProxyError):
        kind = httpx.ProxyError
    elif isinstance(exc, errors.SSLError):
        kind = httpx.ConnectError
    elif isinstance(exc, (errors.LocationParseError, errors.URLSchemeUnknown)):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, errors.ProtocolError):
        kind = httpx.RemoteProtocolError  # the connection broke, or the answer was cut short
    elif isinstance(exc, (errors.HTTPError, OSError)):
        kind = httpx.ReadError
    else:
        return None
    return kind(_message(exc), request=request)


def _message(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
