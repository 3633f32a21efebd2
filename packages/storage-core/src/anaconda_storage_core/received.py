"""Headers as received, made into `httpx.Headers` and read without httpx's per-header work.

The sans-IO operations read `httpx.Response`s, whatever sent the request (effects.py). An
answer's headers arrive as bytes (aiohttp's `raw_headers`), and `httpx.Headers` checks,
encodes and lowers each name and value again, one function call after another: for a
small file's read, about a tenth of the calls the client makes (`bench/client_layers.py`,
issue 15). httpx keeps each header as `(name, lowered name, value)` in `Headers._list`;
where it does (probed once, at import: every httpx this project supports), these
functions make and read that list directly, and fall back to the public API otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

__all__ = ["headers_of", "lowered"]


def _probe() -> bool:
    try:
        probe = httpx.Headers([(b"X-A", b"b")])
        return probe._list == [(b"X-A", b"x-a", b"b")]
    except Exception:  # an httpx without that layout: the public API, below
        return False


_LAYOUT = _probe()


def headers_of(raw: Iterable[tuple[bytes, bytes]]) -> httpx.Headers:
    """`httpx.Headers` of headers as received: `(name, value)` bytes pairs, in order."""
    if not _LAYOUT:
        return httpx.Headers(list(raw))
    headers = httpx.Headers()
    headers._list = [(name, name.lower(), value) for name, value in raw]
    return headers


def lowered(headers: httpx.Headers) -> dict[bytes, bytes]:
    """Each header's value by its lower-case name (the last, for a repeated one)."""
    if _LAYOUT:
        return {name: value for _, name, value in headers._list}
    return {name.lower(): value for name, value in headers.raw}
