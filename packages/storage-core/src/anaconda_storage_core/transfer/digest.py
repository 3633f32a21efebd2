"""sha256 off the transfer's path: a digest fed in order, computed on a helper thread.

Hashing runs at a few hundred MiB/s on a CPU without SHA extensions, slower than loopback
HTTP, so hashing each chunk where it is sent or received would cap every transfer at the
hash's speed. `hashlib` releases the GIL while it hashes large buffers, so a helper thread
hashes while the transfer goes on. Small contents are hashed inline: a thread is started
only once `INLINE_LIMIT` bytes have been fed, so many small transfers cost no thread.
"""

from __future__ import annotations

import hashlib
import queue
import threading

__all__ = ["Sha256"]

BATCH = 1024 * 1024
"""Chunks are handed to the thread in batches of about this size (fewer wake-ups)."""
INLINE_LIMIT = 4 * BATCH
PENDING = 8
"""Batches the thread may lag behind; the feeder waits beyond (memory stays bounded)."""


class Sha256:
    """A sha256 digest, fed with `update` in order, read once with `hexdigest`."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._fed = 0
        self._batch: list[bytes] = []
        self._batched = 0
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        self._result: str | None = None

    def update(self, data: bytes) -> None:
        """Add `data` (after everything fed before)."""
        self._fed += len(data)
        if self._queue is None and self._fed <= INLINE_LIMIT:
            self._digest.update(data)
            return
        self._batch.append(data)
        self._batched += len(data)
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
        data = self._batch[0] if len(self._batch) == 1 else b"".join(self._batch)
        self._batch, self._batched = [], 0
        self._queue.put(data)

    def _run(self) -> None:
        assert self._queue is not None
        while (data := self._queue.get()) is not None:
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
