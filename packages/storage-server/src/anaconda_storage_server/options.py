"""`ServerOptions`: how a local server runs, its test aids included, said once.

`anaconda-storage-server serve` builds them from its command line, `ThreadedServer` hands
them to `create_app`, `LocalServer` turns them back into `serve`'s arguments
(`serve_arguments`), and the pytest plugin reads them from its settings and markers. So an
option added here reaches all four; `tests/server/test_options.py` checks that `serve`
reads back every option `serve_arguments` writes.

Only the standard library is imported: the pytest plugin loads this module in every
session, and `users add` must start fast.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TypedDict

from anaconda_storage_server.connection_limits import ConnectionLimits

DEFAULT_UPLOAD_EXPIRY = 86400.0
DEFAULT_RETENTION_DAYS = 30.0
# `serve`'s spelling of each option (its parser stores each under the field's name).
SERVE_FLAGS = {
    "latency_ms": "--latency",
    "bandwidth": "--bandwidth",
    "fault_rate": "--fault-rate",
    "fault_status": "--fault-status",
    "cut_rate": "--cut-rate",
    "lose_rate": "--lose-rate",
    "fault_disk_full_after": "--fault-disk-full-after",
    "upload_expiry": "--upload-expiry",
    "retention_days": "--retention-days",
}
CONNECTION_FLAGS = {
    "header_timeout": "--header-timeout",
    "body_timeout": "--body-timeout",
    "keep_alive_timeout": "--keep-alive-timeout",
    "max_connections": "--max-connections",
}
FAULT_STATUSES = (503, 429)


@dataclass(frozen=True)
class ServerOptions:
    """How a local server runs: its test aids (all off by default), expiries and limits.

    Raises:
        ValueError: An option is out of its range (each field says its range).
    """

    latency_ms: float = 0.0
    """Test aid: milliseconds every request waits first (others are served meanwhile)."""

    bandwidth: float | None = None
    """Test aid: bytes per second of one link that every connection's response bodies sent
    and request bodies read share (`200e6`: a 200 MB/s link); None: no limit."""

    fault_rate: float = 0.0
    """Test aid: the fraction (0 to 1) of requests answered `fault_status` with
    `Retry-After: 0`, before the application sees them (`/api/health` excepted)."""

    fault_status: int = 503
    """Test aid: the status of `fault_rate`'s answers: 503 `unavailable` or 429
    `too_many_requests`."""

    cut_rate: float = 0.0
    """Test aid: the fraction (0 to 1) of content downloads that send their headers and half
    their body, then drop the connection."""

    lose_rate: float = 0.0
    """Test aid: the fraction (0 to 1) of changes (any method but GET and HEAD) made, then,
    if they succeeded, answered `502 bad_gateway`: a lost answer."""

    fault_disk_full_after: int | None = None
    """Test aid: writing any file of content (a blob or an upload part) past this many bytes
    fails as a full disk does (`507 insufficient_storage`); None: never."""

    upload_expiry: float = DEFAULT_UPLOAD_EXPIRY
    """Seconds (above 0) after which an untouched multipart upload session is removed."""

    retention_days: float = DEFAULT_RETENTION_DAYS
    """Days (0 to 100,000, fractions allowed) a deleted project stays in its owner's trash
    before it is purged; 0 purges it at the next sweep of the trash, at once."""

    connections: ConnectionLimits = field(default_factory=ConnectionLimits)
    """The time limits and the cap of the server's connections."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latency_ms) and self.latency_ms >= 0):
            raise ValueError(f"latency_ms is 0 or more, not {self.latency_ms}")
        if self.bandwidth is not None and not (
            math.isfinite(self.bandwidth) and self.bandwidth > 0
        ):
            raise ValueError(
                f"bandwidth is a number of bytes per second above 0, not {self.bandwidth}"
            )
        for name in ("fault_rate", "cut_rate", "lose_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a fraction from 0 to 1, not {value}")
        if self.fault_status not in FAULT_STATUSES:
            raise ValueError(f"fault_status is 503 or 429, not {self.fault_status}")
        if self.fault_disk_full_after is not None and self.fault_disk_full_after < 0:
            raise ValueError(
                f"fault_disk_full_after is 0 bytes or more, not {self.fault_disk_full_after}"
            )
        if not (math.isfinite(self.upload_expiry) and self.upload_expiry > 0):
            raise ValueError(
                f"upload_expiry is a number of seconds above 0, not {self.upload_expiry}"
            )
        if not 0 <= self.retention_days < 100_000:
            raise ValueError(f"retention_days is from 0 to 100000, not {self.retention_days}")

    def serve_arguments(self) -> list[str]:
        """The arguments of `anaconda-storage-server serve` that give a server these options
        (only those that differ from the defaults)."""
        arguments: list[str] = []
        defaults = ServerOptions()
        for name, flag in SERVE_FLAGS.items():
            value = getattr(self, name)
            if value != getattr(defaults, name):
                arguments += [flag, repr(value)]
        for name, flag in CONNECTION_FLAGS.items():
            value = getattr(self.connections, name)
            if value != getattr(defaults.connections, name):
                arguments += [flag, repr(value)]
        return arguments


class ServerOptionsKeywords(TypedDict, total=False):
    """`ServerOptions`' fields as keyword arguments: `ThreadedServer(data, latency_ms=20)`."""

    latency_ms: float
    bandwidth: float | None
    fault_rate: float
    fault_status: int
    cut_rate: float
    lose_rate: float
    fault_disk_full_after: int | None
    upload_expiry: float
    retention_days: float
    connections: ConnectionLimits


def server_options(options: ServerOptions | None, keywords: ServerOptionsKeywords) -> ServerOptions:
    """`options` (or the defaults) with the fields `keywords` name replaced.

    Raises:
        TypeError: A keyword is not an option.
        ValueError: An option is out of its range.
    """
    base = options if options is not None else ServerOptions()
    return dataclasses.replace(base, **keywords) if keywords else base


__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_UPLOAD_EXPIRY",
    "ServerOptions",
    "ServerOptionsKeywords",
    "server_options",
]
