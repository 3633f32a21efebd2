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
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import fsspec.asyn
from fsspec.asyn import AsyncFileSystem, get_loop
from fsspec.utils import stringify_path

from anaconda_storage_core import AsyncStorageClient, StorageConfig, resolve_config
from anaconda_storage_core.transfer.digest import Verify, check_verify
from anaconda_storage_core.uri import Relative, StorageURI, TimePoint, VersionId

from .addresses import PROTOCOL, query_options, strip_protocol, to_uri

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_BLOCK_SIZE", "FileSystemBase"]


DEFAULT_BLOCK_SIZE = 8 * 2**20
"""Bytes per read-ahead block and per part of a file written with ``open``: at least the
5 MiB a multipart part needs (docs/api.md), small enough to bound a writer's memory."""

DEFAULT_BATCH_SIZE = 100
"""How many requests ``cat``, ``get``, ``put``, ``rm`` and ``cp`` of many files keep in
flight (fsspec's ``batch_size``), chosen from bench/fsspec_throughput.py's measurements."""

# A time point names a fixed state once it is in the past by more than the clocks of
# client and server may disagree; only then is a listing at it cached.
_SETTLED = timedelta(minutes=5)

Info = dict[str, Any]


def checksum_option(value: object) -> Verify:
    """The ``checksum`` option as core's ``verify``: ``"crc32c"`` (or True, the default),
    ``"sha256"``, or ``"none"`` (or False, None).

    Raises:
        ValueError: Any other value.
    """
    if value is None or value == "none":
        return False
    try:
        return check_verify(value)
    except ValueError:
        raise ValueError(
            f"checksum is 'crc32c', 'sha256' or 'none' (True, False), not {value!r}"
        ) from None


# Clients a forked child inherited from its parent: never used or closed there (their
# sockets are the parent's), only kept from garbage collection, whose warnings about
# unclosed sessions would be noise.
_inherited: list[AsyncStorageClient] = []


async def _close_at_shutdown(
    sessions: weakref.ref[_Sessions], loop: asyncio.AbstractEventLoop
) -> AsyncGenerator[None, None]:
    """Close the client of ``loop`` as the loop shuts down (issue 11, 3.5).

    A filesystem made with ``asynchronous=True`` and used under ``asyncio.run`` outlives
    its loop, and aiohttp then reports the session and connector unclosed at exit. An
    event loop has no "on close" callback, but it closes every async generator it
    started before it closes (``loop.shutdown_asyncgens()``, which ``asyncio.run`` and
    ``asyncio.Runner`` call): this one, started when the client is made and never
    resumed, runs its ``finally`` there, with the loop still running.
    """
    try:
        yield
    finally:
        owner = sessions()
        client = None
        if owner is not None:
            owner.closers.pop(loop, None)
            client = owner.pop(loop)
        if client is not None:
            await client.aclose()


class _Sessions:
    """The clients of one filesystem: one per event loop, in the process that made them."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.clients: dict[asyncio.AbstractEventLoop, AsyncStorageClient] = {}
        self.closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self.lock = threading.Lock()

    def _forked(self) -> bool:
        if self.pid == os.getpid():
            return False
        _inherited.extend(self.clients.values())
        self.clients = {}
        self.closers = {}
        self.lock = threading.Lock()  # the parent's may have been held by another thread
        self.pid = os.getpid()
        return True

    async def client(self, config: StorageConfig) -> AsyncStorageClient:
        """The client of the running loop, made on first use and closed with the loop."""
        self._forked()
        loop = asyncio.get_running_loop()
        with self.lock:
            client = self.clients.get(loop)
            if client is not None:
                return client
            client = self.clients[loop] = AsyncStorageClient(config=config)
            closer = self.closers.get(loop)
            if closer is None:
                closer = self.closers[loop] = _close_at_shutdown(weakref.ref(self), loop)
            else:
                closer = None  # this loop's closer already waits
        if closer is not None:
            await closer.asend(None)  # started: the loop now knows it (see _close_at_shutdown)
        return client

    def pop(self, loop: asyncio.AbstractEventLoop) -> AsyncStorageClient | None:
        self._forked()
        with self.lock:
            return self.clients.pop(loop, None)

    def close_all(self) -> None:
        """Close every client on the loop it belongs to (those loops that still run)."""
        if self._forked():
            return
        for loop in list(self.clients):
            client = self.pop(loop)
            if client is None or loop.is_closed() or not loop.is_running():
                continue  # nothing runs there any more
            closing = client.aclose()
            try:
                if asyncio.get_running_loop() is loop:
                    loop.create_task(closing)  # inside that loop: it runs when we yield
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

    # Set by fsspec's AsyncFileSystem.__init__.
    _pid: int
    _loop: asyncio.AbstractEventLoop | None

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
        checksum: bool | str | None = True,
        batch_size: int | None = None,
        asynchronous: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        **kwargs: Any,
    ) -> None:
        # The seed writes `fsspec.open(url, storage_options={...})`: fsspec hands that dict
        # on as one option named storage_options, so its entries are read as arguments.
        nested = dict(kwargs.pop("storage_options", None) or {})
        api_key = api_key if api_key is not None else nested.pop("api_key", None)
        domain = domain if domain is not None else nested.pop("domain", None)
        api_domain = api_domain if api_domain is not None else nested.pop("api_domain", None)
        api_version = api_version if api_version is not None else nested.pop("api_version", None)
        if extra_headers is None:
            extra_headers = nested.pop("extra_headers", None)
        checksum = nested.pop("checksum", checksum)
        kwargs = {**nested, **kwargs}
        super().__init__(
            asynchronous=asynchronous,
            loop=loop,
            batch_size=batch_size or DEFAULT_BATCH_SIZE,
            **kwargs,
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
        # How downloads and whole-file reads are checked (core's `verify`; not TLS's). Not
        # `self.checksum`: that is fsspec's method (a file's checksum, which Dask calls).
        self.download_check: Verify = checksum_option(checksum)
        self._sessions = _Sessions()
        weakref.finalize(self, self._sessions.close_all)
        # Cached listings by entry name, for the `info` and `isdir` of one path at a time
        # (namespace.py, `_named`).
        self._names: dict[str, tuple[list[Info], dict[str, Info]]] = {}

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
            # A forked child: fsspec's I/O thread did not survive the fork. fsspec 2024.12
            # and later reset its loop in the child; before, its reset_lock does.
            self._pid = os.getpid()
            if not self.asynchronous:
                thread = fsspec.asyn.iothread[0]
                if thread is not None and not thread.is_alive():
                    fsspec.asyn.reset_lock()
                self._loop = get_loop()
        return self._loop

    async def _client(self) -> AsyncStorageClient:
        """The client for the running loop in this process, made on first use."""
        return await self._sessions.client(self.config)

    async def _close(self) -> None:
        """Close this filesystem's connections on the running loop."""
        client = self._sessions.pop(asyncio.get_running_loop())
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        """Close this filesystem's connections (it reconnects if used again)."""
        self._sessions.close_all()

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
        if path is None or not self.dircache:
            # Nothing cached, nothing to forget: a `put` of many files into directories
            # never listed skips the walk up the parents for each file.
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
