"""The limits the server puts on connections, with their defaults (see `connections`).

Apart from `connections` so that the command line can show the defaults without
importing uvicorn (`users add` must start fast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Generous for a person on a slow link, short for a socket that sends nothing.
HEADER_TIMEOUT = 10.0
# As nginx's client_body_timeout: a minute without a byte is a stall, not a slow link.
BODY_TIMEOUT = 60.0
# Longer than clients keep idle connections (aiohttp 15 s, httpx 5 s): with uvicorn's
# default of 5 s, a client reusing a connection the server is closing at that moment fails
# its request with a broken pipe (seen with fsspec's HTTPFileSystem, which does not retry).
# A server should never be first to close.
KEEP_ALIVE_TIMEOUT = 75.0
# Well below the usual `ulimit -n` of 1024, which the database and blobs share.
MAX_CONNECTIONS = 512


@dataclass(frozen=True)
class ConnectionLimits:
    """The time limits and the cap of the server's connections (see `connections`).

    Args:
        header_timeout: Seconds a request's headers may take to arrive.
        body_timeout: Seconds a request's body may stall (no byte arriving).
        keep_alive_timeout: Seconds an idle kept-alive connection stays open.
        max_connections: Connections open at once, at most.
    """

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "keep_alive_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} is a number of seconds above 0, not {value}")
        if self.max_connections < 1:
            raise ValueError(f"max_connections is at least 1, not {self.max_connections}")
