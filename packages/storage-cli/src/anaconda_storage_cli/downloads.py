"""Downloads to local files, the small ones read together.

A ``GET`` per file costs the server more CPU than a small file's bytes do, so the files of
a ``download`` (and of ``sync`` to a local directory) whose size the listing
gave and that are at most :data:`SMALL_FILE` are read in batches through core's
``read_files`` (``POST .../read``, docs/api.md "Reading many files"): consecutive small
files, up to :data:`FILES_PER_BATCH` of them (and :data:`BYTES_PER_BATCH`) to a batch.

Each file is still its own :class:`~anaconda_storage_cli.transfers.Job`, so progress,
per-file failures, the summary and the exit code stay as they are. The first job of a
batch that runs reads the whole batch; the batch's other jobs wait for it, then each
writes its own file (atomically, as a download does: core's ``save_whole``). A file the
batch could not send (larger than it was listed, or a server without the route) is
downloaded on its own at the revision the batch named; a file the batch says is gone fails
alone; a batch that failed as a whole fails each of its files with that error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from anaconda_storage_cli.options import Verification
    from anaconda_storage_core import FileRead, StorageClient, StorageURI
    from anaconda_storage_core.models import ContentInfo

__all__ = ["BYTES_PER_BATCH", "FILES_PER_BATCH", "SMALL_FILE", "Downloads"]

Advance = Callable[[int], None]

SMALL_FILE = 256 * 1024
"""The largest file read in a batch; a larger one is downloaded on its own (streamed)."""

FILES_PER_BATCH = 1000
"""The most files the server reads in one request (docs/api.md), measured fastest."""

BYTES_PER_BATCH = 32 * 1024 * 1024
"""The most bytes of one batch, all held in memory until each job has written its file:
1,000 files of 4 KiB are one batch, 1,000 of 256 KiB are eight."""

# How long a job waiting for its batch sleeps between two looks at whether the run was
# interrupted (its `advance(0)` raises Cancelled then).
_WAIT = 0.05


class _Batch:
    """Small files read with one ``read_files`` call, by the first of their jobs to run."""

    def __init__(self, downloads: Downloads) -> None:
        self._downloads = downloads
        self.uris: list[StorageURI] = []
        self.size = 0
        self._lock = threading.Lock()
        self._led = False
        self._ready = threading.Event()
        self._reads: list[FileRead | None] = []
        self._error: BaseException | None = None

    def holds(self, size: int) -> bool:
        """Whether one more file of ``size`` bytes fits."""
        return len(self.uris) < FILES_PER_BATCH and self.size + size <= BYTES_PER_BATCH

    def add(self, uri: StorageURI, size: int) -> int:
        """Add a file; returns its index in the batch."""
        self.uris.append(uri)
        self.size += size
        return len(self.uris) - 1

    def take(self, index: int, advance: Advance) -> FileRead | None:
        """The read of file ``index``: read by this job if it is the batch's first to run,
        else waited for (calling ``advance(0)`` between looks, which raises ``Cancelled``
        once the run is interrupted). None when the file is to be downloaded on its own.

        Raises:
            Exception: The error of the batch's ``read_files`` call as a whole.
            Cancelled: The run was interrupted while this job waited.
        """
        with self._lock:
            leads, self._led = not self._led, True
        if leads:
            self._read()
        else:
            while not self._ready.wait(_WAIT):
                advance(0)
        error = self._error
        if isinstance(error, Exception):
            raise error
        if error is not None:
            # The reading job was stopped (an interruption): stop too if the run is
            # interrupted, else read this file on its own.
            advance(0)
            return None
        if index >= len(self._reads):
            return None
        read, self._reads[index] = self._reads[index], None  # its bytes go with the job
        return read

    def _read(self) -> None:
        try:
            self._reads = list(self._downloads.read_files(self.uris))
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            self._ready.set()  # never leave the batch's other jobs waiting


class Downloads:
    """Makes the ``run`` of each download job of one transfer, batching the small files.

    Build every job first (in the order they are submitted), then run them: a batch is
    complete once the jobs are built.

    Args:
        client: The client the files are read with (thread-safe).
        verify: How contents are checked (``--verify``), the same for both ways of reading.
    """

    def __init__(self, client: StorageClient, verify: Verification) -> None:
        from anaconda_storage_core.transfer.download import save_whole

        self._client = client
        self._verify = verify.verify
        self._save_whole = save_whole
        self._batch: _Batch | None = None

    def run(
        self, source: StorageURI, local: Path, size: int | None
    ) -> Callable[[Advance], ContentInfo]:
        """The ``run`` of a job that downloads ``source`` to ``local``.

        Args:
            source: The remote file (maybe at a revision or a checkpoint).
            local: Where it goes; its parent directories are made as needed.
            size: Its size from the listing; None when unknown (then read on its own).

        Returns:
            What a job runs: it reports the bytes written through ``advance`` and returns
            what the server said of the content downloaded (its revision, its sha256).
        """
        if size is None or size > SMALL_FILE:
            self._batch = None  # batches hold consecutive small files
            return lambda advance: self._alone(source, local, advance)
        batch = self._batch
        if batch is None or not batch.holds(size):
            batch = self._batch = _Batch(self)
        index = batch.add(source, size)
        return lambda advance: self._together(batch, index, source, local, advance)

    def read_files(self, uris: list[StorageURI]) -> list[FileRead]:
        """Read a batch (core's ``read_files``, sending what a batch holds inline)."""
        return list(self._client.read_files(uris, verify=self._verify, inline_limit=SMALL_FILE))

    def _alone(self, source: StorageURI, local: Path, advance: Advance) -> ContentInfo:
        local.parent.mkdir(parents=True, exist_ok=True)
        return self._client.download(source, local, progress=advance, verify=self._verify)

    def _together(
        self, batch: _Batch, index: int, source: StorageURI, local: Path, advance: Advance
    ) -> ContentInfo:
        if len(batch.uris) == 1:
            return self._alone(source, local, advance)  # a file alone is one GET
        read = batch.take(index, advance)
        if read is not None and read.error is not None:
            raise read.error
        if read is None or read.data is None or read.info is None:
            # Not sent inline (it grew past SMALL_FILE since it was listed), or a server
            # without the route: on its own, at the revision the batch named if it did.
            return self._alone(read.pinned if read is not None else source, local, advance)
        local.parent.mkdir(parents=True, exist_ok=True)
        self._save_whole(local, read.data, read.info.revision)
        advance(len(read.data))
        return read.info
