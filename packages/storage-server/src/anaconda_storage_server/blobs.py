"""The content-addressed blob directory: every content once, named by its sha256.

Layout: `blobs/<first two hex digits>/<sha256>` and `blobs/tmp/` for content being received.
A stream is written to a temp file in `blobs/tmp/` (the same filesystem, so the final rename
is atomic), hashed as it arrives, fsynced, then renamed into place and the directory fsynced;
a crash at any point leaves either no blob or a whole one, never half of one. The rename is
done inside the write transaction that records the revision (`Blobs.store`), so blob garbage
collection, which runs in write transactions too, can never remove a blob between its rename
and the commit that references it. Temp files left by a crash are removed at start-up.

Memory never grows with the content: a stream is buffered up to `BUFFER_SIZE` bytes at a
time, written and hashed in a worker thread (hashlib releases the GIL on large buffers).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread

from anaconda_storage_server.errors import ApiError

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


class BlobWriter:
    """A new file in `directory`, hashed as it is written; `finish` makes it durable.

    Args:
        directory: Where the file is created (the blob temp dir, or an upload's part dir).
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{uuid.uuid4().hex}.tmp"
        self._file: BinaryIO | None = open(self.path, "xb")  # noqa: SIM115 - closed in finish
        self._hash = hashlib.sha256()
        self.size = 0
        self.sha256 = ""

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    def finish(self) -> str:
        """Flush and fsync the file; returns its sha256."""
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        self.sha256 = self._hash.hexdigest()
        return self.sha256

    def complete(self, tail: bytes, expected_sha256: str | None = None) -> str:
        """Write the last bytes, make the file durable, check its digest; its sha256.

        Raises:
            ApiError: 400 when the content's sha256 is not `expected_sha256`.
        """
        self.write(tail)
        sha256 = self.finish()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise ApiError(
                400,
                f"the content's sha256 is {sha256}, not {expected_sha256} (X-Storage-Sha256)",
                field="X-Storage-Sha256",
            )
        return sha256

    def discard(self) -> None:
        """Close and remove the file (nothing of it stays)."""
        if self._file is not None:
            self._file.close()
            self._file = None
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
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp = root / "tmp"
        fresh = not self.temp.exists()
        self.temp.mkdir(parents=True, exist_ok=True)
        if fresh:
            for number in range(256):
                (root / f"{number:02x}").mkdir(exist_ok=True)
            fsync_directory(root)

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
        os.replace(writer.path, target)
        fsync_directory(target.parent)

    def store_bytes(self, data: bytes) -> str:
        """Store small content given in memory (e.g. an empty `.keep`); returns its sha256.

        Call this inside the write transaction that references the blob.
        """
        writer = BlobWriter(self.temp)
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
                self.path(digest).unlink(missing_ok=True)

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
            entry.unlink(missing_ok=True)
            count += 1
        return count

    def read_chunks(self, sha256: str, start: int, length: int) -> Iterable[bytes]:
        """The bytes `start` to `start + length` of a blob, in chunks (synchronous)."""
        with open(self.path(sha256), "rb") as file:
            file.seek(start)
            while length > 0:
                chunk = file.read(min(CHUNK_SIZE, length))
                if not chunk:
                    raise OSError(f"blob {sha256} is shorter than its recorded size")
                length -= len(chunk)
                yield chunk
