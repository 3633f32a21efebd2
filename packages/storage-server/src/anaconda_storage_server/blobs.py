"""The content-addressed blob directory: every content once, named by its sha256.

Layout: `blobs/<first two hex digits>/<sha256>` and `blobs/tmp/` for content being received.
A stream is written to a temp file in `blobs/tmp/` (the same filesystem, so the final rename
is atomic), hashed as it arrives, fsynced, then renamed into place and the directory fsynced;
a crash at any point leaves either no blob or a whole one, never half of one. Every writer
renames inside the write transaction that references the blob (`Blobs.store`,
`Blobs.store_parts`), so garbage collection (in write transactions too) never sees a blob
between its rename and that commit. Uploads are placed a batch at a time
(`Blobs.place_all`, group_commit.py): renamed first, then made durable by one sync of the
filesystem before their commit (each file fsynced before its rename where there is no
syncfs); a power cut in between can leave a blob that no revision references, which
start-up recovery removes with the temp files a crash left.

Content that is stored already is not made durable twice: `BlobWriter.complete` skips the
fsync of a temp file whose digest is already a blob (it is then dropped at `store`, which
fsyncs it after all if garbage collection removed the stored copy in between).

A full disk (ENOSPC, EDQUOT) met while storing is answered `507 insufficient_storage`
(`errors.storing`), and the temp file goes at once: `discard` deletes it even when closing
it fails again (a full disk refuses the flush of the buffered tail a second time). Every
file is created 0600 and every directory 0700 (`data_dir.py`).

Memory never grows with the content: a stream is buffered up to `BUFFER_SIZE` bytes at a
time, written and hashed in a worker thread (hashlib releases the GIL on large buffers).
Each file's CRC32C, the transfer checksum (core's `checksum.py`), is computed beside its
sha256 in the same pass, at a tenth of sha256's cost; it is kept by the sha256 in the
database (`checksums.py`).

Composite blobs. A multipart upload is not rewritten into one file: its blob is a
*directory* `blobs/<ab>/<sha256>/` holding the parts, hard links to the part files named by
position (`000001`, `000002`, ...), so completion writes no content at all. A blob is
whatever is at its path, file or directory; `size`, `read_range` and `read_all` read
either. A composite is assembled in `blobs/tmp/`, its directory fsynced, then renamed into
place like a file (`Blobs.store_parts`, inside the completing transaction), so it too is
whole or absent. Removing one first renames it into `blobs/tmp/` (atomic), so a crash in
the middle of removing its parts never leaves a partial blob at a digest's path; the temp
sweep at start-up finishes the job. The digest is still the sha256 of the whole content.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread

from anaconda_storage_core import checksum
from anaconda_storage_server.data_dir import create_file, make_directory
from anaconda_storage_server.errors import ApiError, checksum_mismatch, storing

BUFFER_SIZE = 1024 * 1024
CHUNK_SIZE = 1024 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _load_syncfs() -> Callable[[int], int] | None:
    """Linux's `syncfs(2)` (not in `os`), or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_SYNCFS = _load_syncfs()


def sync_filesystem(directory: Path) -> None:
    """Make every change to the filesystem holding `directory` durable (Linux's syncfs).

    Since Linux 5.8 syncfs reports a writeback error (EIO) met since the descriptor was
    opened, as fsync does.

    Raises:
        OSError: The sync failed.
    """
    assert _SYNCFS is not None
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        if _SYNCFS(descriptor) != 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number), str(directory))
    finally:
        os.close(descriptor)


def crc32c_of_files(files: Iterable[Path]) -> int:
    """The CRC32C of the contents of `files` joined, read in chunks."""
    value = 0
    for path in files:
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK_SIZE):
                value = checksum.crc32c(chunk, value)
    return value


class BlobWriter:
    """A new file in `directory`, hashed as it is written; `finish` makes it durable.

    Attributes:
        sha256: The file's sha256 (hex), once finished.
        crc32c: The CRC32C of what was written so far.

    Args:
        directory: Where the file is created (the blob temp dir, or an upload's part dir).
        full_after: Test aid (`--fault-disk-full-after`): writing more than this many bytes
            fails as a full disk does (ENOSPC). None: no limit but the disk's.

    Raises:
        ApiError: 507 when the disk is full.
    """

    def __init__(self, directory: Path, *, full_after: int | None = None) -> None:
        self.path = directory / f"{uuid.uuid4().hex}.tmp"
        with storing("the content"):
            self._file: BinaryIO | None = os.fdopen(create_file(self.path), "wb")
        self._hash = hashlib.sha256()
        self.size = 0
        self.sha256 = ""
        self.crc32c = 0
        self.synced = False
        self.full_after = full_after

    def write(self, data: bytes) -> None:
        """Append `data` (ApiError 507 when the disk is full)."""
        assert self._file is not None
        with storing("the content"):
            if self.full_after is not None and self.size + len(data) > self.full_after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
            self._file.write(data)
        self._hash.update(data)
        self.crc32c = checksum.crc32c(data, self.crc32c)
        self.size += len(data)

    def finish(self, *, sync: bool = True) -> str:
        """Flush and (unless `sync` is false) fsync the file; returns its sha256.

        Without `sync` the file must go through `sync` before it is made visible;
        `Blobs.store` does that when the content is not stored already.
        """
        assert self._file is not None
        with storing("the content"):
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())
            self._file.close()
        self._file = None
        self.synced = sync
        self.sha256 = self._hash.hexdigest()
        return self.sha256

    def sync(self) -> None:
        """Make a finished file durable (once)."""
        if not self.synced:
            descriptor = os.open(self.path, os.O_RDONLY)
            try:
                with storing("the content"):
                    os.fsync(descriptor)
            finally:
                os.close(descriptor)
            self.synced = True

    def complete(
        self,
        tail: bytes,
        expected_sha256: str | None = None,
        *,
        expected_crc32c: int | None = None,
        blobs: Blobs | None = None,
        durable: bool = True,
    ) -> str:
        """Write the last bytes, make the file durable, check its digests; its sha256.

        With `blobs`, content already stored there is not fsynced (it is dropped at
        `Blobs.store`, which fsyncs it after all should the stored copy go meanwhile).
        With `durable` false the file is never fsynced here: `Blobs.place_all` makes a
        whole batch of small files durable at once (group_commit.py).

        Raises:
            ApiError: 400 `checksum_mismatch` when the content's CRC32C is not
                `expected_crc32c` or its sha256 not `expected_sha256`.
        """
        self.write(tail)
        sha256 = self.finish(sync=False)
        if expected_crc32c is not None and self.crc32c != expected_crc32c:
            raise checksum_mismatch(
                checksum.HEADER,
                f"the content received has CRC32C {checksum.encode(self.crc32c)}, not"
                f" {checksum.encode(expected_crc32c)} ({checksum.HEADER}): it was damaged"
                " on the way; nothing was stored",
            )
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise checksum_mismatch(
                "X-Storage-Sha256",
                f"the content's sha256 is {sha256}, not {expected_sha256} (X-Storage-Sha256);"
                " nothing was stored",
            )
        if durable and (blobs is None or not blobs.path(sha256).exists()):
            self.sync()
        return sha256

    def discard(self) -> None:
        """Close and remove the file (nothing of it stays), even when closing fails."""
        file, self._file = self._file, None
        try:
            if file is not None:
                # After a failed write, close() flushes the buffered tail again and fails
                # again on a full disk; it closes the descriptor all the same.
                with contextlib.suppress(OSError):
                    file.close()
        finally:
            self.path.unlink(missing_ok=True)


async def receive(
    writer: BlobWriter, chunks: AsyncIterator[bytes], *, limit: int | None = None
) -> bytes:
    """Write a stream of chunks to `writer`, buffered; return the tail not yet written.

    Full buffers are written and hashed in worker threads. The tail (under `BUFFER_SIZE`
    bytes: all of a small file) is returned for `BlobWriter.complete`, which the caller runs
    in the same thread hop as its commit, so a small upload costs one hop for its content.
    On any failure (a client that disconnects, a stream over `limit`) the file is removed
    and the exception propagates.
    """
    try:
        buffer = bytearray()
        async for chunk in chunks:
            buffer += chunk
            if limit is not None and writer.size + len(buffer) > limit:
                raise ApiError(413, f"the content is larger than {limit} bytes")
            if len(buffer) >= BUFFER_SIZE:
                data, buffer = bytes(buffer), bytearray()
                await anyio.to_thread.run_sync(writer.write, data)
    except BaseException:
        # Shielded: the request may be cancelled (client gone), the file must still go.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(writer.discard)
        raise
    return bytes(buffer)


class Blobs:
    """The blob directory of a data directory.

    Args:
        root: The `blobs` directory; created with its fan-out directories if absent.
        full_after: Test aid: the limit of each file written (`BlobWriter`), or None.
    """

    def __init__(self, root: Path, *, full_after: int | None = None) -> None:
        self.root = root
        self.temp = root / "tmp"
        self.full_after = full_after
        fresh = not self.temp.exists()
        make_directory(root, exist_ok=True)
        make_directory(self.temp, exist_ok=True)
        if fresh:
            for number in range(256):
                make_directory(root / f"{number:02x}", exist_ok=True)
            fsync_directory(root)

    def writer(self, directory: Path | None = None) -> BlobWriter:
        """A new `BlobWriter` in `directory` (default: the temp directory).

        Raises:
            ApiError: 507 when the disk is full.
        """
        return BlobWriter(directory or self.temp, full_after=self.full_after)

    def path(self, sha256: str) -> Path:
        """Where the blob of this digest lives (whether or not it exists)."""
        return self.root / sha256[:2] / sha256

    def store(self, writer: BlobWriter) -> None:
        """Move a finished temp file into place, or drop it if that content is stored already.

        Call this inside the write transaction that references the blob.
        """
        target = self.path(writer.sha256)
        if target.exists():
            writer.discard()
            return
        with storing("the content"):
            writer.sync()
            os.replace(writer.path, target)
            fsync_directory(target.parent)

    def place_all(self, writers: Sequence[BlobWriter]) -> list[bool]:
        """Move finished temp files into place, and make them durable all at once.

        For a group commit (group_commit.py): call inside the write transaction that
        references the blobs; the files need not have been fsynced. Content stored already
        is dropped. On Linux one `syncfs` makes every new blob and its directory entry
        durable (measured here, a tenth of the CPU of an fsync of each file and of each
        directory); elsewhere each file is fsynced before its rename, each directory once.
        On a failure the blobs placed by this call are removed again (nothing references
        them yet) and the exception passes (`507` for a full disk).

        Returns:
            For each writer, whether its blob is new.
        """
        new: list[bool] = []
        placed: list[Path] = []
        try:
            with storing("the content"):
                for writer in writers:
                    target = self.path(writer.sha256)
                    if target.exists():
                        writer.discard()
                        new.append(False)
                        continue
                    if _SYNCFS is None:
                        writer.sync()
                    os.replace(writer.path, target)
                    placed.append(target)
                    new.append(True)
                if placed:
                    if _SYNCFS is not None:
                        sync_filesystem(self.root)
                    else:
                        for directory in {target.parent for target in placed}:
                            fsync_directory(directory)
        except BaseException:
            for target in placed:
                target.unlink(missing_ok=True)
            raise
        return new

    def store_parts(self, sha256: str, parts: Sequence[Path]) -> None:
        """Make a composite blob of durable `parts` (hard-linked, never copied) at `sha256`.

        Call this inside the write transaction that references the blob. Nothing is done
        when that content is stored already.
        """
        target = self.path(sha256)
        if target.exists():
            return
        if len(parts) <= 1:  # no join: the part file itself (or empty content)
            if parts:
                with storing("the content"):
                    os.link(parts[0], target)
                    fsync_directory(target.parent)
            else:
                self.store_bytes(b"")
            return
        staging = self.temp / f"{uuid.uuid4().hex}.parts"
        with storing("the content"):
            make_directory(staging)
            try:
                for index, part in enumerate(parts, 1):
                    os.link(part, staging / f"{index:06d}")
                fsync_directory(staging)
                os.replace(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            fsync_directory(target.parent)

    def _remove(self, path: Path) -> None:
        if path.is_dir():  # a composite: out of sight at once, then its parts
            doomed = self.temp / f"{uuid.uuid4().hex}.gone"
            try:
                os.replace(path, doomed)
            except FileNotFoundError:
                return
            shutil.rmtree(doomed, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def _pieces(self, sha256: str) -> list[tuple[Path, int]]:
        """The files of a blob with their sizes, in order (one for a plain blob)."""
        path = self.path(sha256)
        try:
            return (
                [(path, path.stat().st_size)]
                if not path.is_dir()
                else [(entry, entry.stat().st_size) for entry in sorted(path.iterdir())]
            )
        except FileNotFoundError:
            raise FileNotFoundError(f"no blob {sha256}") from None

    def read_all(self, sha256: str) -> bytes:
        """The whole content of a blob (a small one).

        Raises:
            FileNotFoundError: when there is no such blob.
        """
        path = self.path(sha256)
        try:
            return path.read_bytes()
        except IsADirectoryError:
            return b"".join(piece.read_bytes() for piece, _ in self._pieces(sha256))

    def crc32c(self, sha256: str) -> int:
        """The CRC32C of a blob's content, read from disk.

        Raises:
            FileNotFoundError: when there is no such blob.
        """
        return crc32c_of_files([piece for piece, _ in self._pieces(sha256)])

    def iter_range(self, sha256: str, start: int, length: int) -> Generator[bytes, None, None]:
        """Bytes `start` to `start + length` of a blob in chunks of at most `CHUNK_SIZE`.

        Synchronous; the pieces are listed at once (FileNotFoundError if none).
        """
        return self._iter(self._pieces(sha256), sha256, start, length)

    @staticmethod
    def _iter(
        pieces: list[tuple[Path, int]], sha256: str, start: int, length: int
    ) -> Generator[bytes, None, None]:
        for piece, size in pieces:
            if length <= 0:
                break
            if start >= size:
                start -= size
                continue
            with open(piece, "rb") as file:
                file.seek(start)
                wanted = min(length, size - start)
                while wanted > 0:
                    chunk = file.read(min(CHUNK_SIZE, wanted))
                    if not chunk:
                        raise OSError(f"blob {sha256} is shorter than its recorded size")
                    wanted -= len(chunk)
                    length -= len(chunk)
                    yield chunk
            start = 0
        if length > 0:
            raise OSError(f"blob {sha256} is shorter than its recorded size")

    def store_bytes(self, data: bytes) -> str:
        """Store small content given in memory (e.g. an empty `.keep`); returns its sha256.

        Call this inside the write transaction that references the blob.
        """
        writer = self.writer()
        try:
            writer.write(data)
            writer.finish()
            self.store(writer)
        finally:
            writer.discard()
        return writer.sha256

    def remove_unreferenced(self, digests: Iterable[str], referenced: Iterable[str]) -> None:
        """Remove the blobs of `digests` that are not in `referenced`."""
        keep = set(referenced)
        for digest in set(digests) - keep:
            if SHA256.fullmatch(digest):
                self._remove(self.path(digest))

    def all_digests(self) -> set[str]:
        """The digest of every stored blob."""
        return {
            entry.name
            for directory in self.root.iterdir()
            if directory.is_dir() and directory != self.temp
            for entry in directory.iterdir()
            if SHA256.fullmatch(entry.name)
        }

    def sweep_temp(self) -> int:
        """Remove every temp file (left by a crash); returns how many. Only at start-up."""
        count = 0
        for entry in self.temp.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            count += 1
        return count

    def read_chunks(self, sha256: str, start: int, length: int) -> Iterable[bytes]:
        """The bytes `start` to `start + length` of a blob, in chunks (synchronous)."""
        return self.iter_range(sha256, start, length)
