"""``AnacondaFile``: what ``fs.open`` returns, for reading (``rb``) or writing (``wb``,
``ab``, ``xb``).

A reader is pinned to the revision it opened: every range it fetches names that revision,
so a concurrent overwrite never mixes two versions into one read (and a file opened at a
checkpoint or a ``#-1`` reads exactly that revision).

A writer holds at most one block (``block_size``, 8 MiB by default) in memory. A file that
fits in one block is sent with one ``PUT`` when it is closed; a larger one goes through a
multipart upload session, one part per block, completed on close. An exception inside the
``with`` block, or :meth:`discard`, aborts the session: nothing is written. ``xb`` writes
only if the path holds no file (checked when opening, and again atomically when writing);
``ab`` rewrites the file as its old content followed by the new, only if nobody changed it
meanwhile.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from anaconda_storage_core.locations import writable
from anaconda_storage_core.models import UploadPart
from anaconda_storage_core.uri import StorageURI

if TYPE_CHECKING:
    from .content import Content

__all__ = ["AnacondaFile"]

MODES = ("rb", "wb", "ab", "xb")


class AnacondaFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """A file of Anaconda Cloud Storage opened by :meth:`AnacondaFileSystem.open`.

    Attributes:
        uri: What was opened (as given: maybe at a checkpoint or ``#-1``).
        revision: For a reader, the UUID of the revision it reads.
    """

    fs: Content
    buffer: io.BytesIO  # set by AbstractBufferedFile.__init__ in write modes

    def __init__(
        self,
        fs: Content,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not supported: use one of {', '.join(MODES)}")
        self.uri: StorageURI = fs._uri(path)
        self.revision: str | None = None
        self._session: str | None = None  # the multipart upload's id
        self._parts: list[UploadPart] = []
        self._pending: bytes | None = None  # a one-block file, sent at commit
        self._base: tuple[str, int] | None = None  # for "ab": the revision and size extended
        self._if_none_match: str | None = None
        if mode == "rb":
            details = details or fs._sync(fs._entry(self.uri))
            if details["type"] != "file":
                raise IsADirectoryError(f"{self.uri.fs_path} is a directory")
            self.revision = str(details["revision"])
            self.details = details
        else:
            writable(self.uri, "write to")  # ReadOnlyError at a checkpoint or revision
            self._prepare_write(fs, mode)
        # fsspec before 2024.12 knows no "xb": the exclusivity is ours (checked above and
        # sent as If-None-Match), the buffering fsspec's "wb"; `mode` then reads "wb".
        super().__init__(
            fs,
            self.uri.fs_path,
            mode="wb" if mode == "xb" else mode,
            block_size=block_size or fs.blocksize,
            autocommit=autocommit,
            cache_type=cache_type,
            cache_options=cache_options,
            size=details["size"] if details else None,
            **kwargs,
        )

    def _prepare_write(self, fs: Content, mode: str) -> None:
        if mode == "wb":
            return
        try:
            entry = fs._sync(fs._entry(self.uri))
        except FileNotFoundError:
            self._if_none_match = "*"  # created by this write, unless someone is faster
            return
        if mode == "xb" or entry["type"] != "file":
            raise FileExistsError(f"{self.uri.fs_path} exists")
        self._base = (str(entry["revision"]), int(entry["size"]))

    # -- reading ---------------------------------------------------------------------------

    @property
    def _pinned(self) -> StorageURI:
        """The revision this reader reads (a revision UUID is valid without checkpoint)."""
        return self.uri.with_checkpoint(None).with_revision(self.revision)

    def _fetch_range(self, start: int, end: int) -> bytes:
        data: bytes = self.fs._sync(self.fs._cat_file(self._pinned, start=start, end=end))
        return data

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

    # -- writing ---------------------------------------------------------------------------

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        base_size = self._base[1] if self._base else 0
        if final and self._session is None and base_size + len(data) <= self.blocksize:
            self._pending = data
            if self.autocommit:
                self.commit()
            return True
        if self._session is None:
            self._start_session()
        while len(data) >= self.blocksize or (final and data):
            self._send_part(data[: self.blocksize])
            data = data[self.blocksize :]
        if not final:
            # Keep what does not fill a part; fsspec then keeps its offset as it was.
            self.buffer = io.BytesIO()
            self.buffer.write(data)
            return False
        if self.autocommit:
            self.commit()
        return True

    def _start_session(self) -> None:
        fs = self.fs
        upload = fs._sync(
            fs._create_upload(
                self.uri,
                if_match=self._base[0] if self._base else None,
                if_none_match=self._if_none_match,
            )
        )
        self._session = upload.id
        if self._base is not None:
            # The old content first, a block at a time, read at the revision extended.
            revision, size = self._base
            old = self.uri.with_revision(revision)
            for start in range(0, size, self.blocksize):
                end = min(size, start + self.blocksize)
                self._send_part(fs._sync(fs._cat_file(old, start=start, end=end)))

    def _send_part(self, data: bytes) -> None:
        assert self._session is not None
        number = len(self._parts) + 1
        self._parts.append(self.fs._sync(self.fs._put_part(self.uri, self._session, number, data)))

    def commit(self) -> None:
        """Write what was buffered or uploaded as the file's new revision."""
        fs = self.fs
        if self._pending is not None:
            data, self._pending = self._pending, None
            if self._base is not None:
                data = fs._sync(fs._cat_file(self.uri.with_revision(self._base[0]))) + data
            fs._sync(
                fs._upload_bytes(
                    self.uri,
                    data,
                    if_match=self._base[0] if self._base else None,
                    if_none_match=self._if_none_match,
                )
            )
        elif self._session is not None:
            session, self._session = self._session, None
            fs._sync(fs._complete_upload(self.uri, session, self._parts))
        fs.invalidate_cache(self.uri.fs_path)

    def discard(self) -> None:
        """Throw away what was written: abort the upload session, send nothing."""
        self._pending = None
        session, self._session = self._session, None
        if session is not None:
            self.fs._sync(self.fs._abort_upload(self.uri, session))

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None and self.writable():
            # An error in the `with` block: the file must not be written half-done.
            try:
                self.discard()
            finally:
                self.closed = True
            return
        self.close()


def _reopen(
    fs: Content,
    path: str,
    details: dict[str, Any],
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
