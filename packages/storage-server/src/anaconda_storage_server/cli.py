"""The command line: `serve`, `users add`, `orgs add`.

```
anaconda-storage-server serve --data DIR [--host 127.0.0.1] [--port 8765]
    [--header-timeout 10] [--body-timeout 60] [--keep-alive-timeout 75] [--max-connections 512]
anaconda-storage-server users add NAME --data DIR    # the API key, alone on stdout's last line
anaconda-storage-server orgs add NAME --member USER [--member USER ...] --data DIR
```

`users add` and `orgs add` only touch the database, so they import neither Starlette nor
uvicorn (the test fixtures run `users add` once per test; it must start fast), and they work
while a server is serving the same directory (SQLite WAL, see `database.py`).
"""

from __future__ import annotations

import argparse
import math
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anaconda_storage_server import __version__
from anaconda_storage_server.connection_limits import ConnectionLimits
from anaconda_storage_server.options import (
    CONNECTION_FLAGS,
    FAULT_STATUSES,
    SERVE_FLAGS,
    ServerOptions,
)

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _parser() -> argparse.ArgumentParser:
    # Each option of `ServerOptions` is stored under its field's name, with its default.
    defaults = ServerOptions()
    limits_default = defaults.connections
    parser = argparse.ArgumentParser(
        prog="anaconda-storage-server",
        description="A local server speaking the Anaconda Cloud Storage API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve a data directory over HTTP")
    serve.add_argument("--data", type=Path, required=True, help="the data directory")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    serve.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="logging threshold (stderr)"
    )
    serve.add_argument(
        "--retention-days",
        type=_retention,
        default=defaults.retention_days,
        metavar="DAYS",
        help="keep deleted projects in their owner's trash this long, then purge them"
        " (default: %(default)g; fractions allowed)",
    )
    limits = serve.add_argument_group("connections")
    limits.add_argument(
        "--header-timeout",
        type=_seconds,
        default=limits_default.header_timeout,
        metavar="SECONDS",
        help="close a connection whose request headers take longer (default: %(default)g)",
    )
    limits.add_argument(
        "--body-timeout",
        type=_seconds,
        default=limits_default.body_timeout,
        metavar="SECONDS",
        help="close a connection whose request body stalls for longer (default: %(default)g)",
    )
    limits.add_argument(
        "--keep-alive-timeout",
        type=_seconds,
        default=limits_default.keep_alive_timeout,
        metavar="SECONDS",
        help="close a connection idle between requests for longer (default: %(default)g)",
    )
    limits.add_argument(
        "--max-connections",
        type=_positive,
        default=limits_default.max_connections,
        metavar="N",
        help="connections open at once; one more closes the longest idle one, "
        "or is answered 503 when all are busy (default: %(default)d)",
    )
    aids = serve.add_argument_group("test aids (off by default)")
    aids.add_argument(
        "--latency",
        dest="latency_ms",
        type=_milliseconds,
        default=defaults.latency_ms,
        metavar="MS",
        help="add MS milliseconds to requests",
    )
    aids.add_argument(
        "--bandwidth",
        type=_rate,
        default=defaults.bandwidth,
        metavar="BYTES_PER_S",
        help="send response bodies and read request bodies at most this many bytes per "
        "second, shared by all connections (a link of that speed)",
    )
    aids.add_argument(
        "--fault-rate",
        type=_fraction,
        default=defaults.fault_rate,
        metavar="F",
        help="answer this fraction of requests --fault-status (Retry-After: 0)",
    )
    aids.add_argument(
        "--fault-status",
        type=int,
        choices=FAULT_STATUSES,
        default=defaults.fault_status,
        help="the status of --fault-rate's answers: 503 unavailable or 429 too_many_requests",
    )
    aids.add_argument(
        "--cut-rate",
        type=_fraction,
        default=defaults.cut_rate,
        metavar="F",
        help="cut this fraction of content responses off after half of their body",
    )
    aids.add_argument(
        "--lose-rate",
        type=_fraction,
        default=defaults.lose_rate,
        metavar="F",
        help="make this fraction of changes (not GET/HEAD), then answer 502 instead",
    )
    aids.add_argument(
        "--fault-disk-full-after",
        type=_size,
        default=defaults.fault_disk_full_after,
        metavar="BYTES",
        help="fail writing any file of content past BYTES as a full disk does (507)",
    )
    aids.add_argument(
        "--upload-expiry",
        type=_seconds,
        default=defaults.upload_expiry,
        metavar="SECONDS",
        help="remove multipart upload sessions idle for longer (default: %(default)g)",
    )

    users = commands.add_parser("users", help="manage users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add_user = users.add_parser("add", help="create a user; prints its new API key")
    add_user.add_argument("name")
    add_user.add_argument("--data", type=Path, required=True, help="the data directory")

    orgs = commands.add_parser("orgs", help="manage organizations").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add_org = orgs.add_parser("add", help="create an organization")
    add_org.add_argument("name")
    add_org.add_argument(
        "--member", action="append", required=True, metavar="USER", help="a member (repeat)"
    )
    add_org.add_argument("--data", type=Path, required=True, help="the data directory")
    return parser


def _number(
    convert: Callable[[str], float], name: str, what: str, *, least: float, strict: bool
) -> Callable[[str], float]:
    """An argparse type: `what`, finite, from `least` (above it, if `strict`)."""

    def parse(text: str) -> float:
        value = convert(text)
        if not (math.isfinite(value) and (value > least if strict else value >= least)):
            bound = f" above {least:g}" if strict else f", {least:g} or more"
            raise argparse.ArgumentTypeError(f"{text} is not {what}{bound}")
        return value

    parse.__name__ = name  # argparse names the type in "invalid <name> value"
    return parse


_rate = _number(float, "rate", "a number of bytes per second", least=0, strict=True)
_milliseconds = _number(float, "milliseconds", "a number of milliseconds", least=0, strict=False)
_size = _number(int, "size", "a number of bytes", least=0, strict=False)
_seconds = _number(float, "seconds", "a number of seconds", least=0, strict=True)
_positive = _number(int, "count", "a whole number", least=0, strict=True)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction from 0 to 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "serve":
        try:
            options = serve_options(arguments)
        except ValueError as exc:  # each flag's type checks it: a safety net
            parser.error(str(exc))
        return _serve(arguments, options)
    from anaconda_storage_server.accounts import AccountError, create_org, create_user
    from anaconda_storage_server.data_dir import open_data_dir
    from anaconda_storage_server.database import Database

    open_data_dir(arguments.data)
    database = Database(arguments.data / "storage.db")
    try:
        if arguments.command == "users":
            user, api_key = create_user(database, arguments.name)
            print(f"created user {user.name} ({user.id}); its API key:", file=sys.stderr)
            print(api_key, flush=True)
        else:
            org = create_org(database, arguments.name, arguments.member)
            print(f"created organization {org.name} ({org.id})", flush=True)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        database.close()
    return 0


def serve_options(arguments: argparse.Namespace) -> ServerOptions:
    """The options that `serve`'s parsed arguments give the server.

    Raises:
        ValueError: An option is out of its range.
    """
    connections = ConnectionLimits(**{name: getattr(arguments, name) for name in CONNECTION_FLAGS})
    fields = {name: getattr(arguments, name) for name in SERVE_FLAGS}
    return ServerOptions(connections=connections, **fields)


def _serve(arguments: argparse.Namespace, options: ServerOptions) -> int:
    import logging

    import uvicorn

    from anaconda_storage_server.app import create_app
    from anaconda_storage_server.faults import quiet_cut_logs

    logging.basicConfig(
        stream=sys.stderr,
        level=arguments.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if options.cut_rate > 0:
        quiet_cut_logs()
    app = create_app(arguments.data, options)
    family = socket.AF_INET6 if ":" in arguments.host else socket.AF_INET
    try:
        sock = _listening_socket(family, arguments.host, arguments.port)
    except OSError as exc:
        print(f"error: cannot listen on {arguments.host}:{arguments.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    host = f"[{arguments.host}]" if family == socket.AF_INET6 else arguments.host
    limits = options.connections
    _make_room_for(limits.max_connections)
    config = uvicorn_config(app, limits, arguments.log_level)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                print(f"anaconda-storage-server listening on http://{host}:{port}", flush=True)

    server = Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else 1


def uvicorn_config(app: ASGIApp, limits: ConnectionLimits, log_level: str) -> uvicorn.Config:
    """uvicorn's settings for the application: `serve`'s, and `ThreadedServer`'s."""
    import uvicorn

    from anaconda_storage_server.connections import protocol_class

    return uvicorn.Config(
        app,
        # The protocol applies all of `limits`, the keep-alive timeout included (why its
        # default is 75 s, not uvicorn's 5 s: see `connection_limits`).
        http=protocol_class(limits),
        log_config=None,
        log_level=log_level,
        access_log=log_level == "debug",
        timeout_graceful_shutdown=5,
        lifespan="on",
    )


def _make_room_for(connections: int) -> None:
    """Raise the soft limit of open files to fit the connections, or warn that it is short."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows has no such limit
        return
    # Each connection is a descriptor; the database, its journal and blob reads need more.
    wanted = connections + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    if hard == resource.RLIM_INFINITY or hard >= wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return
    print(
        f"warning: --max-connections {connections} needs about {wanted} open files, "
        f"and this process may open {soft} (ulimit -n)",
        file=sys.stderr,
    )


def _listening_socket(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    # Bound here rather than by uvicorn so that `--port 0` can print the port it got. The
    # protocol must be IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on sockets that
    # say so, and without it every keep-alive response waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _retention(text: str) -> float:
    """`--retention-days`: a finite number of days, 0 or more."""
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 0 <= days < 100_000:
        raise argparse.ArgumentTypeError(f"days must be from 0 to 100000, not {text}")
    return days
