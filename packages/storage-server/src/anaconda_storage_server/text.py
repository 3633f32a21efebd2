"""Text from clients: strict UTF-8 in the URL, valid Unicode in JSON, ASCII numbers.

docs/api.md, "Names and paths" and "Errors". Every rule here answers `400 invalid` for input
that Python would otherwise decode leniently, or choke on:

- The URL's path and query are percent-decoded by the ASGI server and by Starlette with
  `errors="replace"`, so `a%FFb` and `a%FEb` would both arrive as `a\\ufffdb` and name the
  same file. `StrictUrl` decodes the raw bytes strictly first and refuses invalid UTF-8.
- JSON may carry a lone surrogate (`"\\ud800"`): valid JSON, but no valid Unicode, and
  SQLite cannot store it. `refuse_surrogates` refuses it anywhere in a body.
- `str.isdigit()` is true for superscripts (U+00B2), on which `int()` then fails, and
  `int()` reads Arabic-Indic (U+0661) and fullwidth (U+FF11) digits as numbers and refuses
  more than 4,300 digits. `ascii_integer` accepts only `[0-9]`, and a bounded count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from anaconda_storage_server.errors import ApiError, error_response, invalid

# Enough for any count the API takes (limits, part numbers, sizes, byte offsets) and for a
# signed 64-bit integer, which is what SQLite stores.
MAX_DIGITS = 18
_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


def ascii_integer(text: str, *, max_digits: int = MAX_DIGITS) -> int | None:
    """`text` as a non-negative integer if it is 1 to `max_digits` ASCII digits, else None.

    Leading zeros count towards the length, so the work stays bounded whatever is sent.
    """
    if len(text) > max_digits or not _ASCII_DIGITS.fullmatch(text):
        return None
    return int(text)


def surrogate_in(text: str) -> str | None:
    """The first lone surrogate in `text`, or None."""
    found = _SURROGATE.search(text)
    return found.group() if found else None


def refuse_surrogates(value: Any) -> None:
    """Refuse a JSON value holding a lone surrogate in any string, key or value.

    Raises:
        ApiError: 400 naming the top-level field it was found under.
    """
    pending: list[tuple[str | None, Any]] = [(None, value)]
    while pending:
        field, item = pending.pop()
        strings: Iterable[str] = ()
        if isinstance(item, str):
            strings = (item,)
        elif isinstance(item, dict):
            strings = item.keys()
            pending.extend((field or key, child) for key, child in item.items())
        elif isinstance(item, list):
            pending.extend((field, child) for child in item)
        for text in strings:
            char = surrogate_in(text)
            if char is not None:
                where = f"in {field!r}" if field else "in a key"
                message = f"lone surrogate U+{ord(char):04X} {where} is not valid Unicode"
                raise invalid(message, field=field)


def _decode_strictly(raw: bytes) -> str:
    return unquote_to_bytes(raw).decode("utf-8")


def url_problem(raw_path: bytes, query_string: bytes) -> ApiError | None:
    """Why the raw path or query does not percent-decode to UTF-8, or None."""
    try:
        _decode_strictly(raw_path)
    except UnicodeDecodeError:
        return invalid("the path's percent escapes are not UTF-8", field="path")
    for pair in query_string.split(b"&"):
        name, _, value = pair.replace(b"+", b" ").partition(b"=")
        try:
            _decode_strictly(name)
            _decode_strictly(value)
        except UnicodeDecodeError:
            field = name.decode("ascii", "replace") if name.isascii() else None
            return invalid("the query's percent escapes are not UTF-8", field=field)
    return None


class StrictUrl:
    """ASGI middleware: `400 invalid` for a URL whose escapes are not UTF-8.

    The servers below decode `%`-escapes with `errors="replace"`; this checks the raw bytes
    before any route sees the lenient text, so the text it sees is exact.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            problem = url_problem(raw_path, scope.get("query_string", b""))
            if problem is not None:
                await error_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
