"""From what users write to the addresses the driver works with, and back.

fsspec hands the driver paths in many shapes: with or without ``anaconda://``, with a
connection query (``?api_key=...``), with a trailing ``/``, or as glob patterns. The grammar
of an address is core's (:mod:`anaconda_storage_core.uri`); this module only decides which
part of a string is the address, and keeps one canonical spelling of it:

- the *fs path* is the canonical URI without its scheme, ``owner/project[#checkpoint]/path
  [#revision]`` (``""`` is the root). Every name the driver returns is one, so equal
  addresses are equal strings, which the listings cache and UPath rely on.
- a query is split off only when it is one: ``key=value`` options with the grammar's option
  names. ``data/fil?1.csv`` stays a glob pattern, because ``?`` is also a wildcard.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl

from anaconda_storage_core.uri import OPTION_NAMES, InvalidURI, StorageURI, parse_uri

__all__ = [
    "PROTOCOL",
    "fs_path",
    "query_options",
    "split_query",
    "strip_protocol",
    "to_uri",
]

PROTOCOL = "anaconda"

# The scheme as fsspec writes it ("anaconda://"), or as a chained URL's link ("anaconda::").
_SCHEME = re.compile(r"anaconda(://|::)", re.IGNORECASE)
# The seed spells domain `api_domain` in its examples; it is accepted in a query too.
_QUERY_KEYS = OPTION_NAMES | {"api_domain"}


def _is_query(text: str) -> bool:
    """Whether ``text`` (what follows a ``?``) is a connection query, not a glob's rest."""
    items = [item for item in text.split("&") if item]
    if not items:
        return False
    for item in items:
        key, equals, _ = item.partition("=")
        if not equals or key not in _QUERY_KEYS:
            return False
    return True


def split_query(text: str) -> tuple[str, str | None]:
    """Split a connection query off a URI.

    Args:
        text: A URI or fs path as written, e.g. ``anaconda://o/p/f.csv?api_key=...``.

    Returns:
        The text before the query and the query (without ``?``), or the text unchanged and
        None when it has no connection query (a ``?`` may be a glob wildcard).
    """
    location, question, query = text.partition("?")
    if question and _is_query(query):
        return location, query
    return text, None


def query_options(text: str) -> dict[str, str]:
    """The connection options in a URI's query (``{}`` if it has none).

    ``api_domain`` (the seed's spelling) is read as ``domain``.

    Raises:
        InvalidURI: An option is given twice (the message shows no value).
    """
    _, query = split_query(text)
    if query is None:
        return {}
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        name = "domain" if key == "api_domain" else key
        if name in options:
            raise InvalidURI(text, f"query option {name!r} is given twice")
        options[name] = value
    return options


@lru_cache(maxsize=8192)
def _canonical(location: str) -> str:
    try:
        return parse_uri(location).fs_path
    except InvalidURI:
        # A glob pattern or an invalid address: kept as written, so that the operation
        # using it reports the problem (or matches the pattern) itself.
        return location


def strip_protocol(path: str) -> str:
    """The fs path of a URI: no scheme, no query, no leading or trailing ``/``, canonical.

    Args:
        path: ``anaconda://owner/project/a.csv?api_key=...``, ``owner/project/a.csv/``, ...

    Returns:
        ``owner/project/a.csv``; ``""`` for the root. A string that is no valid address
        (a glob pattern such as ``o/p/fil?1``) keeps its spelling, minus scheme and slashes.
    """
    location, _ = split_query(path)
    scheme = _SCHEME.match(location)
    if scheme:
        location = location[scheme.end() :]
    return _canonical(location.strip("/"))


def to_uri(path: str | StorageURI) -> StorageURI:
    """Parse a path as given to the driver into a :class:`StorageURI` (without options).

    Raises:
        InvalidURI: The path is no valid address (a ``ValueError``).
    """
    if isinstance(path, StorageURI):
        return path
    return _parsed(strip_protocol(path))


@lru_cache(maxsize=8192)
def _parsed(fs_path: str) -> StorageURI:
    # StorageURI is immutable: one parse per path, however many calls name it (a batch of
    # 1,000 files names each path several times on its way to the client).
    return parse_uri(fs_path)


def fs_path(uri: StorageURI) -> str:
    """The fs path of a URI: its canonical text without scheme and options."""
    return uri.fs_path
