"""Checking a transfer: by CRC32C at wire speed (the default), or by sha256 on request.

`Verify` says how a transfer is checked, `ContentCheck` checks a downloaded content against
what its first answer announced: its CRC32C (`X-Storage-Crc32c`, core's `checksum.py`)
when the server sent one and the caller did not ask for sha256, else its sha256.

sha256 off the transfer's path: a digest fed in order, computed on a helper thread.

sha256 runs at about 1 GiB/s per core with SHA extensions and a few hundred MiB/s
without, not much faster than loopback HTTP, so hashing each chunk where it is sent or
received slows a transfer down by as much. `hashlib` releases the GIL while it hashes
large buffers, so a helper thread hashes while the transfer goes on. Small contents are
hashed inline: a thread is started only once `INLINE_LIMIT` bytes have been fed, so many
small transfers cost no thread.

With fewer than four CPUs there is no core to spare for it (the transfer's own thread, the
kernel's network work and, against a local server, the server share them), and the
hand-over only adds work: measured on 2 CPUs against the local server, a 512 MiB download
ran at about 330 MiB/s hashing on a thread and 400 MiB/s hashing inline. So there,
everything is hashed inline.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from typing import Literal, TypeAlias

from .. import checksum
from ..errors import ChecksumMismatch

__all__ = ["ContentCheck", "Sha256", "Verify", "check_verify", "content_check"]

Verify: TypeAlias = bool | Literal["crc32c", "sha256"]
"""How a transfer is checked. `True` or `"crc32c"` (the default): by the CRC32C the server
sends (at wire speed), or by sha256 where it sends none; `"sha256"`: by sha256, a full
cryptographic check (at sha256's speed, about 1 GB/s a core); `False`: not at all."""


def check_verify(verify: object) -> Verify:
    """`verify` if it is one of `Verify`'s values.

    Raises:
        ValueError: Any other value.
    """
    if isinstance(verify, bool) or verify in ("crc32c", "sha256"):
        return verify
    raise ValueError(f"verify is True, False, 'crc32c' or 'sha256', not {verify!r}")


BATCH = 1024 * 1024
"""Chunks are handed to the thread in batches of about this size (fewer wake-ups)."""


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers)
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


INLINE_LIMIT = 4 * BATCH if _cpus() >= 4 else 2**62
PENDING = 8
"""Batches the thread may lag behind; the feeder waits beyond (memory stays bounded)."""


class Sha256:
    """A sha256 digest, fed with `update` in order, read once with `hexdigest`."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._fed = 0
        self._batch: list[bytes] = []
        self._batched = 0
        self._queue: queue.Queue[list[bytes] | None] | None = None
        self._thread: threading.Thread | None = None
        self._result: str | None = None

    def update(self, data: bytes) -> None:
        """Add `data` (after everything fed before)."""
        self._fed += len(data)
        if self._queue is None and self._fed <= INLINE_LIMIT:
            self._digest.update(data)
            return
        # A large piece (a whole part) goes to the thread in slices of a batch, so that
        # the queue's bound (PENDING batches) bounds the memory the thread holds.
        for start in range(0, len(data), BATCH):
            piece = data if len(data) <= BATCH else data[start : start + BATCH]
            self._batch.append(piece)
            self._batched += len(piece)
            if self._batched >= BATCH:
                self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        if self._queue is None:
            self._queue = queue.Queue(PENDING)
            self._thread = threading.Thread(
                target=self._run, name="anaconda-storage-sha256", daemon=True
            )
            self._thread.start()
        batch, self._batch, self._batched = self._batch, [], 0
        self._queue.put(batch)

    def _run(self) -> None:
        assert self._queue is not None
        while (batch := self._queue.get()) is not None:
            for data in batch:
                self._digest.update(data)

    def hexdigest(self) -> str:
        """The digest of everything fed (waits for the thread to catch up)."""
        if self._result is None:
            self._flush()
            if self._queue is not None and self._thread is not None:
                self._queue.put(None)
                self._thread.join()
            self._result = self._digest.hexdigest()
        return self._result

    def close(self) -> None:
        """Stop the thread without a result (a transfer abandoned midway)."""
        if self._queue is not None and self._thread is not None and self._result is None:
            self._batch = []
            self._queue.put(None)
            self._thread.join()
            self._result = ""


class ContentCheck:
    """A content's check against the digest its first answer announced.

    Attributes:
        algorithm: `"crc32c"` or `"sha256"`.
        expected: The announced digest (base64 CRC32C, or hex sha256), canonical.

    Raises:
        ValueError: A CRC32C expected that is not base64 of 4 bytes.
    """

    def __init__(self, algorithm: Literal["crc32c", "sha256"], expected: str) -> None:
        self.algorithm = algorithm
        self._crc = checksum.Crc32c() if algorithm == "crc32c" else None
        self._sha = Sha256() if algorithm == "sha256" else None
        # A CRC32C is compared as a number: its base64 form is made for a message only.
        self._expected_crc = checksum.decode(expected) if self._crc is not None else None
        self._expected_sha = expected.lower()

    @property
    def expected(self) -> str:
        if self._expected_crc is not None:
            return checksum.encode(self._expected_crc)
        return self._expected_sha

    def update(self, data: bytes) -> None:
        """Add `data` (after everything fed before)."""
        if self._crc is not None:
            self._crc.update(data)
        else:
            assert self._sha is not None
            self._sha.update(data)

    def actual(self) -> str:
        """The digest of everything fed, in the announced one's form."""
        if self._crc is not None:
            return self._crc.text()
        assert self._sha is not None
        return self._sha.hexdigest()

    def close(self) -> None:
        """Stop sha256's helper thread (a transfer abandoned midway)."""
        if self._sha is not None:
            self._sha.close()

    def verify(self, what: str) -> None:
        """Check the content fed against the announced digest.

        Args:
            what: What was transferred, for the message (`downloading alice/sales/q1.csv`).

        Raises:
            ChecksumMismatch: They differ.
        """
        if self._crc is not None and self._crc.value == self._expected_crc:
            return
        actual = self.actual()
        if actual != self.expected:
            name = "CRC32C" if self.algorithm == "crc32c" else "sha256"
            raise ChecksumMismatch(
                f"checksum mismatch {what}: the server announced {name} {self.expected},"
                f" the content received has {actual}",
                expected=self.expected,
                actual=actual,
            )


def content_check(verify: Verify, crc32c: str | None, sha256: str | None) -> ContentCheck | None:
    """How a content announced with these digests is checked; None: not at all.

    Args:
        verify: What the caller asked for (see `Verify`).
        crc32c: The announced CRC32C (`X-Storage-Crc32c`), if any.
        sha256: The announced sha256 (`X-Storage-Sha256`), if any.
    """
    if verify is False:
        return None
    if verify != "sha256" and crc32c:
        try:
            return ContentCheck("crc32c", crc32c)
        except ValueError:
            pass  # not a CRC32C: checked by sha256 instead
    if sha256:
        return ContentCheck("sha256", sha256)
    return None
