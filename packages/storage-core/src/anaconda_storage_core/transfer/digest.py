"""sha256 off the transfer's path: a digest fed in order, computed on a helper thread.

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

__all__ = ["Sha256"]

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
