"""Answers as received, made into httpx's models without httpx's per-header and per-body
work.

The sans-IO operations read `httpx.Response`s, whatever sent the request (effects.py). An
answer's headers arrive as bytes (aiohttp's `raw_headers`), and `httpx.Headers` checks,
encodes and lowers each name and value again, one function call after another: for a
small file's read, about a tenth of the calls the client makes (`bench/client_layers.py`,
issue 15). httpx keeps each header as `(name, lowered name, value)` in `Headers._list`;
where it does (probed once, at import: every httpx this project supports), these
functions make and read that list directly, and fall back to the public API otherwise.

Likewise an answer read in full (a JSON answer: each upload's, each listing page's):
`httpx.Response(content=...)` passes the bytes through httpx's stream, decoder and chunker
generators to set them as its content, about 25 us of CPU for a small PUT's answer. Where
httpx keeps the content in `Response._content` (probed the same way), `full_response` sets
it directly for an answer that is not content-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from .effects import CLOSED_STREAM

__all__ = ["full_response", "headers_of", "lowered"]


def _probe() -> bool:
    try:
        probe = httpx.Headers([(b"X-A", b"b")])
        return probe._list == [(b"X-A", b"x-a", b"b")] and vars(probe).keys() == {
            "_list",
            "_encoding",
        }
    except Exception:  # an httpx without that layout: the public API, below
        return False


_LAYOUT = _probe()


def _set_content(response: httpx.Response, content: bytes) -> None:
    response._content = content
    response.stream = CLOSED_STREAM
    response.is_stream_consumed = True
    response.is_closed = True


def _probe_content() -> bool:
    try:
        made = httpx.Response(200, request=httpx.Request("GET", "http://probe.invalid/"))
        _set_content(made, b'{"a": 1}')
        return (
            made.content == b'{"a": 1}'
            and made.json() == {"a": 1}
            and made.text == '{"a": 1}'
            and made.is_closed
            and made.read() == b'{"a": 1}'
        )
    except Exception:  # an httpx that keeps its content otherwise: the public API, below
        return False


_CONTENT = _probe_content()


def headers_of(raw: Iterable[tuple[bytes, bytes]]) -> httpx.Headers:
    """`httpx.Headers` of headers as received: `(name, value)` bytes pairs, in order."""
    if not _LAYOUT:
        return httpx.Headers(list(raw))
    # Not through `__init__`, whose checks of its argument (against abstract classes) cost
    # a third of this for an empty one.
    headers = httpx.Headers.__new__(httpx.Headers)
    headers._list = [(name, name.lower(), value) for name, value in raw]
    headers._encoding = None
    return headers


def full_response(
    status: int,
    headers: httpx.Headers,
    content: bytes,
    request: httpx.Request,
    *,
    encoded: bool,
) -> httpx.Response:
    """The `httpx.Response` of an answer read in full: the one
    `httpx.Response(status, headers=headers, content=content, request=request)` makes.

    Args:
        encoded: Whether the answer has a `Content-Encoding` (told by the caller, who
            read the headers already: asking `headers` would decode every value).
    """
    if not _CONTENT or encoded:
        # httpx decodes an encoded body as it reads it (the sender never does).
        return httpx.Response(status, headers=headers, content=content, request=request)
    response = httpx.Response(status, headers=headers, request=request, stream=CLOSED_STREAM)
    _set_content(response, content)
    return response


def lowered(headers: httpx.Headers) -> dict[bytes, str]:
    """Each header's value as text by its lower-case name (the last, for a repeated one):
    UTF-8 where every value is valid UTF-8 (ours are ASCII), else each value as httpx
    decodes it (UTF-8, or Latin-1 where that is not valid)."""
    try:
        if _LAYOUT:
            return {name: value.decode("utf-8") for _, name, value in headers._list}
        return {name.lower(): value.decode("utf-8") for name, value in headers.raw}
    except UnicodeDecodeError:  # rare: each value on its own
        return {name.lower(): _text(value) for name, value in headers.raw}


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("iso-8859-1")
