"""`NetworkProxy`: a slow, unreliable network between a client and the local server (a test aid).

```python
with LocalServer(tmp_path) as server, NetworkProxy(server.url, bandwidth=8 << 20) as proxy:
    StorageClient(api_key=key, domain=proxy.url).upload("alice/p/big.bin", path)
```

A TCP proxy on a free loopback port, run by its own event loop in a thread, that forwards
every connection to the server as it is (it knows nothing of HTTP), and can:

- `bandwidth`: limit what clients send, in bytes per second over all connections, so that a
  transfer is still in flight when a test acts (interrupts the client, kills the server);
- `cut_after` and `cuts`: abort the first `cuts` connections that carry more than
  `cut_after` bytes towards the server, both sides at once, as a dropped network does: with
  `cut_after` below a part's size that is mid-body, and the server never sees the rest.

It keeps forwarding to the same address when the server behind it is restarted (on the same
port), so a client keeps one URL across a crash of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["NetworkProxy"]

_CHUNK = 64 * 1024
_RECEIVE_BUFFER = 256 * 1024


class NetworkProxy:
    """A TCP proxy to `upstream` that can be slow and cut connections (module docstring).

    Args:
        upstream: The server's URL (`http://127.0.0.1:PORT`).
        bandwidth: Bytes per second that clients may send in all (None: unlimited).
        cut_after: A connection that has carried this many bytes towards the server is cut
            (while cuts are left).
        cuts: How many connections are cut at most.

    Attributes:
        url: The proxy's URL, to give clients in place of the server's.
        cut: How many connections were cut so far.
        forwarded: Bytes forwarded towards the server so far.
    """

    def __init__(
        self,
        upstream: str,
        *,
        bandwidth: float | None = None,
        cut_after: int | None = None,
        cuts: int = 0,
    ) -> None:
        address = urlsplit(upstream)
        if address.hostname is None or address.port is None:
            raise ValueError(f"the upstream needs a host and a port: {upstream!r}")
        self.upstream = (address.hostname, address.port)
        self.bandwidth = bandwidth
        self.cut_after = cut_after
        self.cuts_left = cuts
        self.cut = 0
        self.forwarded = 0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._lock = threading.Lock()
        self._next_send = 0.0  # when the shared bandwidth lets the next chunk through
        # Each open connection's task, and its two ends (aborted to end it).
        self._connections: dict[asyncio.Task[None], list[asyncio.StreamWriter]] = {}

    def start(self) -> None:
        """Listen on a free loopback port; `url` says where."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.url = future.result(10)

    def stop(self) -> None:
        """Close every connection and stop listening."""
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _listen(self) -> str:
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive buffer, as a real link's few round trips of data in flight: with
        # Linux's autotuning (up to tcp_rmem's 32 MiB) a throttled proxy would take in a
        # whole upload at once, and the client would believe it sent what the server has
        # not received yet. Set before listening: the TCP window scale is agreed at SYN.
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
        listening.bind(("127.0.0.1", 0))
        self._server = await asyncio.start_server(self._serve, sock=listening)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        # Ends aborted, not tasks cancelled: asyncio's streams report a cancelled
        # connection task as an error.
        for ends in list(self._connections.values()):
            for end in ends:
                end.transport.abort()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        ends = self._connections[task] = [client_out]
        try:
            try:
                server_in, server_out = await asyncio.open_connection(*self.upstream)
            except OSError:  # the server is down: so is the connection, as it would be
                return
            ends.append(server_out)
            await asyncio.gather(
                self._towards_server(client_in, server_out, client_out),
                self._towards_client(server_in, client_out),
            )
        finally:
            for end in ends:
                end.transport.abort()
            del self._connections[task]

    async def _towards_server(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
    ) -> None:
        carried = 0
        with contextlib.suppress(OSError):
            while chunk := await source.read(_CHUNK):
                if self.cut_after is not None and carried + len(chunk) > self.cut_after:
                    with self._lock:
                        cutting = self.cuts_left > 0
                        if cutting:
                            self.cuts_left -= 1
                            self.cut += 1
                    if cutting:
                        sink.write(chunk[: max(0, self.cut_after - carried)])
                        with contextlib.suppress(OSError):
                            await sink.drain()
                        # Both ends at once, with a reset: a dropped network, not a close.
                        sink.transport.abort()
                        client.transport.abort()
                        return
                await self._throttle(len(chunk))
                sink.write(chunk)
                await sink.drain()
                carried += len(chunk)
                with self._lock:
                    self.forwarded += len(chunk)
            if sink.can_write_eof():
                sink.write_eof()

    async def _towards_client(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(OSError):
            while chunk := await source.read(_CHUNK):
                sink.write(chunk)
                await sink.drain()
        sink.transport.abort()  # the server closed: so does the proxy, towards the client

    async def _throttle(self, size: int) -> None:
        if not self.bandwidth:
            return
        now = time.monotonic()
        with self._lock:
            start = max(now, self._next_send)
            self._next_send = start + size / self.bandwidth
        if start > now:
            await asyncio.sleep(start - now)

    def __enter__(self) -> NetworkProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
