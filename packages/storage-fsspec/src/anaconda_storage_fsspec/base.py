"""What every part of the filesystem shares: options, sessions, addresses, the cache.

The filesystem is one class, :class:`~anaconda_storage_fsspec.AnacondaFileSystem`, written
in layers, one module each: this base (connection and bookkeeping), ``namespace`` (what
exists: ``ls``, ``info``, ``find``), ``content`` (bytes in and out: ``cat``, ``pipe``,
``get``, ``put``, ``open``) and ``filesystem`` (changes: ``rm``, ``cp``, ``mv``, ``mkdir``
and the seed's special methods).

It holds no HTTP code: each call goes to an :class:`AsyncStorageClient` of core, made
lazily, one per process and event loop (an ``aiohttp`` session belongs to the loop that
made it, and a forked child must not share its parent's sockets). Pickling sends the
storage options only, so the copy in a Dask worker makes its own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from fsspec.asyn import AsyncFileSystem, get_loop
from fsspec.utils import stringify_path

from anaconda_storage_core import AsyncStorageClient, StorageConfig, resolve_config
from anaconda_storage_core.uri import Relative, StorageURI, TimePoint, VersionId

from .addresses import PROTOCOL, query_options, strip_protocol, to_uri

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_BLOCK_SIZE", "FileSystemBase"]

logger = logging.getLogger("anaconda_storage_fsspec")

DEFAULT_BLOCK_SIZE = 8 * 2**20
"""Bytes per read-ahead block and per part of a file written with ``open``: at least the
5 MiB a multipart part needs (docs/api.md), small enough to bound a writer's memory."""

DEFAULT_BATCH_SIZE = 64
"""How many requests ``cat``, ``get``, ``put``, ``rm`` and ``cp`` of many files keep in
flight (fsspec's ``batch_size``), chosen from bench/fsspec_throughput.py's measurements."""

# A time point names a fixed state once it is in the past by more than the clocks of
# client and server may disagree; only then is a listing at it cached.
_SETTLED = timedelta(minutes=5)

Info = dict[str, Any]


def _close_clients(clients: dict[Any, AsyncStorageClient]) -> None:
    """Close the clients of a filesystem being collected, on the loops they belong to."""
    for loop, client in list(clients.items()):
        clients.pop(loop, None)
        if loop.is_closed() or not loop.is_running():
            continue  # nothing can run there any more; the process is ending or forked
        closing = client.aclose()
        try:
            if asyncio.get_running_loop() is loop:
                loop.create_task(closing)  # not awaited: we are inside that loop
                continue
        except RuntimeError:
            pass
        future = asyncio.run_coroutine_threadsafe(closing, loop)
        with contextlib.suppress(Exception):
            future.result(timeout=5)


class FileSystemBase(AsyncFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """Options, sessions, addresses and cache keys of the ``anaconda://`` filesystem."""

    protocol = PROTOCOL
    root_marker = ""
    sep = "/"
    async_impl = True
    blocksize = DEFAULT_BLOCK_SIZE

    def __init__(
        self,
        api_key: str | None = None,
        domain: str | None = None,
        api_version: str | None = None,
        extra_headers: Mapping[str, str] | str | None = None,
        *,
        api_domain: str | None = None,
        uri_options: Mapping[str, str] | None = None,
        verify: bool | str | None = None,
        batch_size: int | None = None,
        asynchronous: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        **storage_options: Any,
    ) -> None:
        super().__init__(
            asynchronous=asynchronous,
            loop=loop,
            batch_size=batch_size or DEFAULT_BATCH_SIZE,
            **storage_options,
        )
        if api_domain is not None:
            if domain is not None and domain != api_domain:
                raise ValueError("give domain or api_domain (the same option), not both")
            domain = api_domain
        self.config: StorageConfig = resolve_config(
            api_key=api_key,
            domain=domain,
            api_version=api_version,
            extra_headers=extra_headers,
            verify=verify,
            options=uri_options,
        )
        self._clients: dict[asyncio.AbstractEventLoop, AsyncStorageClient] = {}
        self._clients_pid = os.getpid()
        self._clients_lock = threading.Lock()
        weakref.finalize(self, _close_clients, self._clients)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(domain={self.config.domain!r})"

    __str__ = __repr__

    # -- addresses -------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, (list, tuple)):
            return [cls._strip_protocol(p) for p in path]
        return strip_protocol(stringify_path(path))

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        # Under one key, not as api_key=... beside the storage options: fsspec merges the
        # two with dict(**a, **b), and an explicit option must win over the URL's
        # (explicit > URL query > environment, DESIGN.md), not collide with it.
        options = query_options(stringify_path(path))
        return {"uri_options": options} if options else {}

    def unstrip_protocol(self, name: str) -> str:
        return f"{PROTOCOL}://{strip_protocol(name)}"

    @staticmethod
    def _uri(path: Any) -> StorageURI:
        """The address of ``path`` (``InvalidURI``, a ``ValueError``, if it is none)."""
        if isinstance(path, StorageURI):
            return path
        return to_uri(stringify_path(path))

    # -- sessions --------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        if self._pid != os.getpid():
            # A forked child: fsspec's I/O thread did not survive the fork; use the
            # child's own (fsspec.asyn.reset_after_fork cleared the parent's).
            self._pid = os.getpid()
            if not self.asynchronous:
                self._loop = get_loop()
        return self._loop  # type: ignore[no-any-return]

    async def _client(self) -> AsyncStorageClient:
        """The client for the running loop in this process, made on first use."""
        loop = asyncio.get_running_loop()
        with self._clients_lock:
            if self._clients_pid != os.getpid():
                # Forked: the parent's connections are not ours to use or to close.
                self._clients.clear()
                self._clients_pid = os.getpid()
            client = self._clients.get(loop)
            if client is None:
                client = self._clients[loop] = AsyncStorageClient(config=self.config)
        return client

    async def _close(self) -> None:
        """Close this filesystem's connections on the running loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        """Close this filesystem's connections (it reconnects if used again)."""
        _close_clients(self._clients)

    # -- the listings cache ----------------------------------------------------------------

    async def _cache_base(self, uri: StorageURI) -> StorageURI | None:
        """The project ``uri`` lies in, with a checkpoint that stays meaning the same state:
        the key its listings are cached under, or None if they must not be cached.

        The current state (no checkpoint) is cached and invalidated by every change made
        through this filesystem. ``-N`` is resolved to the checkpoint's UUID first (the
        next checkpoint would make ``-1`` another one); a time point is cached once it is
        settled in the past; a UUID always (history does not change).
        """
        ref = uri.checkpoint_ref
        base = uri.project_uri
        if ref is None or isinstance(ref, VersionId):
            return base
        if isinstance(ref, Relative):
            checkpoint = await (await self._client()).get_checkpoint(base)
            return base.with_checkpoint(checkpoint.id) if checkpoint.id else None
        assert isinstance(ref, TimePoint)
        if ref.at < datetime.now(timezone.utc) - _SETTLED:
            return base
        return None

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget cached listings: all of them, or those of ``path`` and its parents."""
        if path is None:
            self.dircache.clear()
            return
        key = self._strip_protocol(path)
        while True:
            self.dircache.pop(key, None)
            if not key:
                return
            key = self._parent(key)

    def _invalidate_tree(self, path: str) -> None:
        """Forget the listings of ``path``, everything below it, and its parents."""
        key = self._strip_protocol(path)
        for cached in list(self.dircache):
            if cached.startswith(key + "/"):
                self.dircache.pop(cached, None)
        self.invalidate_cache(key)
