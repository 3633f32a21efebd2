"""The files ``fs.open`` and ``await fs.open_async`` return, for reading (``rb``) or writing
(``wb``, ``ab``, ``xb``): :class:`AnacondaFile` (blocking) and :class:`AsyncAnacondaFile`.

A reader is pinned to the revision it opened: every range it fetches names that revision,
so a concurrent overwrite never mixes two versions into one read (and a file opened at a
checkpoint or a ``#-1`` reads exactly that revision).

A writer holds at most one block (``block_size``, 8 MiB by default) in memory. A file that
fits in one block is sent with one ``PUT`` when it is closed; a larger one goes through a
multipart upload session, one part per block, completed on close. An exception inside the
``with`` block, or :meth:`~AnacondaFile.discard`, aborts the session: nothing is written.
``xb`` writes only if the path holds no file (checked when opening, and again atomically
when writing); ``ab`` rewrites the file as its old content followed by the new, only if
nobody changed it meanwhile.

Both classes share one implementation, :class:`_Exchange`, written as coroutines: the
blocking file runs each on the filesystem's loop, the asynchronous one awaits it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fsspec.asyn import AbstractAsyncStreamedFile
from fsspec.spec import AbstractBufferedFile

from anaconda_storage_core.locations import writable
from anaconda_storage_core.models import UploadPart
from anaconda_storage_core.uri import StorageURI

if TYPE_CHECKING:
    from .content import Content

__all__ = ["AnacondaFile", "AsyncAnacondaFile"]

MODES = ("rb", "wb", "ab", "xb")

Info = dict[str, Any]


@dataclass(frozen=True)
class Opening:
    """What opening a file found out, before any byte moves.

    Attributes:
        details: For a reader, the file's entry (its ``revision`` is the one read).
        base: For ``ab`` on an existing file, the revision extended and its size.
        if_none_match: ``"*"`` when the write must create the file (``xb``, or ``ab``
            where there is no file yet).
    """

    details: Info | None = None
    base: tuple[str, int] | None = None
    if_none_match: str | None = None

    @classmethod
    async def look_up(cls, fs: Content, uri: StorageURI, mode: str) -> Opening:
        """What opening ``uri`` in ``mode`` needs: one request at most, none for ``wb``.

        Raises:
            FileNotFoundError: Reading a file that does not exist.
            IsADirectoryError: Reading a directory.
            ReadOnlyError: Writing at a checkpoint or a revision (a ``PermissionError``).
            FileExistsError: ``xb`` where a file exists; ``ab`` on a directory.
        """
        if mode == "rb":
            return cls.reader(uri, await fs._entry(uri))
        writable(uri, "write to")  # ReadOnlyError at a checkpoint or revision
        if mode == "wb":
            return cls()
        try:
            entry = await fs._entry(uri)
        except FileNotFoundError:
            return cls(if_none_match="*")  # created by this write, unless someone is faster
        if mode == "xb" or entry["type"] != "file":
            raise FileExistsError(f"{uri.fs_path} exists")
        return cls(base=(str(entry["revision"]), int(entry["size"])))

    @classmethod
    def reader(cls, uri: StorageURI, details: Info) -> Opening:
        """A reader of the file ``details`` describe (``IsADirectoryError`` if none)."""
        if details["type"] != "file":
            raise IsADirectoryError(f"{uri.fs_path} is a directory")
        return cls(details=details)


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not supported: use one of {', '.join(MODES)}")


class _Exchange:
    """What a file sends and receives, as coroutines of its filesystem: the one
    implementation behind :class:`AnacondaFile` and :class:`AsyncAnacondaFile`."""

    # Set by fsspec's AbstractBufferedFile.__init__ (buffer: in write modes).
    fs: Content
    blocksize: int
    size: int
    autocommit: bool
    buffer: io.BytesIO

    def _adopt(self, uri: StorageURI, found: Opening) -> None:
        self.uri: StorageURI = uri
        if found.details is not None:
            self.details = found.details  # fsspec's setter: size too
        self.revision: str | None = str(found.details["revision"]) if found.details else None
        self._base = found.base
        self._if_none_match = found.if_none_match
        self._session: str | None = None  # the multipart upload's id
        self._parts: list[UploadPart] = []
        self._pending: bytes | None = None  # a one-block file, sent at commit

    # -- reading ---------------------------------------------------------------------------

    @property
    def _pinned(self) -> StorageURI:
        """The revision this reader reads (a revision UUID is valid without checkpoint)."""
        return self.uri.with_checkpoint(None).with_revision(self.revision)

    async def _read_range(self, start: int, end: int) -> bytes:
        if start == 0 and end >= self.size:
            # The whole file in one read (a small file's first block, a read() of all):
            # asked without a range, so that it comes with its CRC32C and is checked.
            return await self.fs._cat_file(self._pinned)
        return await self.fs._cat_file(self._pinned, start=start, end=end)

    # -- writing ---------------------------------------------------------------------------

    async def _send(self, final: bool) -> bool:
        """Send what the buffer holds: whole blocks as parts, the rest kept (fsspec's
        ``_upload_chunk``); on ``final``, everything, then commit if ``autocommit``."""
        data = self.buffer.getvalue()
        base_size = self._base[1] if self._base else 0
        if final and self._session is None and base_size + len(data) <= self.blocksize:
            self._pending = data
            if self.autocommit:
                await self._commit()
            return True
        if self._session is None:
            await self._start_session()
        while len(data) >= self.blocksize or (final and data):
            await self._send_part(data[: self.blocksize])
            data = data[self.blocksize :]
        if not final:
            # Keep what does not fill a part; fsspec then keeps its offset as it was.
            self.buffer = io.BytesIO()
            self.buffer.write(data)
            return False
        if self.autocommit:
            await self._commit()
        return True

    async def _start_session(self) -> None:
        fs = self.fs
        upload = await fs._create_upload(
            self.uri,
            if_match=self._base[0] if self._base else None,
            if_none_match=self._if_none_match,
        )
        self._session = upload.id
        if self._base is not None:
            # The old content first, a block at a time, read at the revision extended.
            revision, size = self._base
            old = self.uri.with_revision(revision)
            for start in range(0, size, self.blocksize):
                end = min(size, start + self.blocksize)
                await self._send_part(await fs._cat_file(old, start=start, end=end))

    async def _send_part(self, data: bytes) -> None:
        assert self._session is not None
        number = len(self._parts) + 1
        self._parts.append(await self.fs._put_part(self.uri, self._session, number, data))

    async def _commit(self) -> None:
        fs = self.fs
        if self._pending is not None:
            data, self._pending = self._pending, None
            if self._base is not None:
                data = await fs._cat_file(self.uri.with_revision(self._base[0])) + data
            await fs._upload_bytes(
                self.uri,
                data,
                if_match=self._base[0] if self._base else None,
                if_none_match=self._if_none_match,
            )
        elif self._session is not None:
            session, self._session = self._session, None
            await fs._complete_upload(self.uri, session, self._parts)
        fs.invalidate_cache(self.uri.fs_path)

    async def _discard(self) -> None:
        self._pending = None
        session, self._session = self._session, None
        if session is not None:
            await self.fs._abort_upload(self.uri, session)


class AnacondaFile(_Exchange, AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """A file of Anaconda Cloud Storage opened by :meth:`AnacondaFileSystem.open`.

    Attributes:
        uri: What was opened (as given: maybe at a checkpoint or ``#-1``).
        revision: For a reader, the UUID of the revision it reads.
    """

    def __init__(
        self,
        fs: Content,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        details: Info | None = None,
        size: int | None = None,
        **kwargs: Any,
    ) -> None:
        # fsspec's caches (blockcache, filecache) pass the `size` they recorded, as they do
        # to s3fs; the look-up that pins the revision reads the size anyway, and the size
        # of the revision pinned is the one that holds (the file may have changed since).
        del size
        check_mode(mode)
        uri = fs._uri(path)
        if mode == "rb" and details:
            found = Opening.reader(uri, details)  # reopened after unpickling: no request
        else:
            found = fs._sync(Opening.look_up(fs, uri, mode))
        self._adopt(uri, found)
        # fsspec before 2024.12 knows no "xb": the exclusivity is ours (checked above and
        # sent as If-None-Match), the buffering fsspec's "wb"; `mode` then reads "wb".
        super().__init__(
            fs,
            uri.fs_path,
            mode="wb" if mode == "xb" else mode,
            block_size=block_size or fs.blocksize,
            autocommit=autocommit,
            cache_type=cache_type,
            cache_options=cache_options,
            size=found.details["size"] if found.details else None,
            **kwargs,
        )

    def _fetch_range(self, start: int, end: int) -> bytes:
        return self.fs._sync(self._read_range(start, end))

    def readable(self) -> bool:
        return self.mode == "rb" and not self.closed

    def writable(self) -> bool:
        return self.mode in ("wb", "ab") and not self.closed

    def __reduce__(self) -> tuple[Any, ...]:
        if self.mode != "rb":
            raise TypeError("a file open for writing cannot be pickled")
        return (
            _reopen,
            (self.fs, self.uri.fs_path, self.details, self.blocksize, self.loc, self.cache.name),
        )

    def _upload_chunk(self, final: bool = False) -> bool:
        return self.fs._sync(self._send(final))

    def commit(self) -> None:
        """Write what was buffered or uploaded as the file's new revision."""
        self.fs._sync(self._commit())

    def discard(self) -> None:
        """Throw away what was written: abort the upload session, send nothing."""
        self.fs._sync(self._discard())

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None and self.writable():
            # An error in the `with` block: the file must not be written half-done.
            try:
                self.discard()
            finally:
                self.closed = True
            return
        self.close()


class AsyncAnacondaFile(_Exchange, AbstractAsyncStreamedFile):  # type: ignore[misc]
    """A file opened by ``await fs.open_async(path, mode)``: the asynchronous
    :class:`AnacondaFile`, with the same pinning, blocks and abort on error.

    Use it with ``async with``; ``read``, ``write``, ``flush``, ``close``, ``commit`` and
    ``discard`` are coroutines, ``seek`` and ``tell`` are not (they move no byte). It is
    always committed when closed (there are no asynchronous transactions). A writer that
    is never closed writes nothing; the server drops its parts when the session expires.

    Attributes:
        uri: What was opened (as given: maybe at a checkpoint or ``#-1``).
        revision: For a reader, the UUID of the revision it reads.
    """

    def __init__(
        self,
        fs: Content,
        uri: StorageURI,
        mode: str,
        found: Opening,
        block_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        self._adopt(uri, found)
        kwargs.pop("cache_type", None)
        kwargs.pop("cache_options", None)
        kwargs.pop("size", None)  # the pinned revision's size holds, as in AnacondaFile
        super().__init__(
            fs,
            uri.fs_path,
            mode="wb" if mode == "xb" else mode,
            block_size=block_size or fs.blocksize,
            cache_type="none",  # read() fetches exactly what is asked: no cache to choose
            size=found.details["size"] if found.details else None,
            **kwargs,
        )

    @classmethod
    async def open(
        cls, fs: Content, path: str, mode: str = "rb", **kwargs: Any
    ) -> AsyncAnacondaFile:
        """Open ``path``: what :meth:`AnacondaFileSystem.open_async` does."""
        check_mode(mode)
        uri = fs._uri(path)
        return cls(fs, uri, mode, await Opening.look_up(fs, uri, mode), **kwargs)

    async def read(self, length: int = -1) -> bytes:
        """Up to ``length`` bytes from the position (all the rest if negative), one
        request; ``b""`` at the end."""
        if self.mode != "rb":
            raise ValueError("File not in read mode")
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        end = self.size if length is None or length < 0 else min(self.size, self.loc + length)
        if end <= self.loc:
            return b""
        data = await self._read_range(self.loc, end)
        self.loc += len(data)
        return data

    async def _fetch_range(self, start: int, end: int) -> bytes:
        return await self._read_range(start, end)

    async def _upload_chunk(self, final: bool = False) -> bool:
        return await self._send(final)

    async def commit(self) -> None:
        """Write what was buffered or uploaded as the file's new revision."""
        await self._commit()

    async def discard(self) -> None:
        """Throw away what was written: abort the upload session, send nothing."""
        await self._discard()

    def readable(self) -> bool:
        return self.mode == "rb" and not self.closed

    def writable(self) -> bool:
        return self.mode in ("wb", "ab") and not self.closed

    async def __aexit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None and self.writable():
            # An error in the `async with` block: the file must not be written half-done.
            try:
                await self.discard()
            finally:
                self.closed = True
            return
        await self.close()

    def __enter__(self) -> AsyncAnacondaFile:
        raise TypeError("an asynchronous file is used with `async with`")

    def __del__(self) -> None:
        # fsspec's __del__ would call close(), a coroutine here, never awaited; an
        # unclosed writer writes nothing (see the class docstring).
        pass

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("an asynchronous file cannot be pickled: pickle fs and the path")


def _reopen(
    fs: Content,
    path: str,
    details: Info,
    block_size: int,
    loc: int,
    cache_type: str,
) -> AnacondaFile:
    """A reader unpickled: the same revision, at the same position."""
    file = AnacondaFile(
        fs, path, "rb", block_size=block_size, cache_type=cache_type, details=details
    )
    file.seek(loc)
    return file
