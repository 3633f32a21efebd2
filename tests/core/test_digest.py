"""The sha256 of a transfer, inline or on a helper thread, is the sha256 of its bytes."""

from __future__ import annotations

import hashlib
import threading

import pytest

from anaconda_storage_core.transfer import digest
from anaconda_storage_core.transfer.digest import Sha256

CHUNKS = [bytes([i % 251]) * (1000 + 7919 * i % 300_000) for i in range(200)]


@pytest.mark.parametrize("inline_limit", [0, 10_000, 2**62], ids=["thread", "both", "inline"])
def test_digest_of_chunks(monkeypatch: pytest.MonkeyPatch, inline_limit: int) -> None:
    monkeypatch.setattr(digest, "INLINE_LIMIT", inline_limit)
    monkeypatch.setattr(digest, "BATCH", 100_000)
    sha = Sha256()
    for chunk in CHUNKS:
        sha.update(chunk)
    assert sha.hexdigest() == hashlib.sha256(b"".join(CHUNKS)).hexdigest()
    assert sha.hexdigest() == sha.hexdigest()  # read twice: the same
    assert not any(t.name == "anaconda-storage-sha256" for t in threading.enumerate())


def test_close_stops_the_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest, "INLINE_LIMIT", 0)
    monkeypatch.setattr(digest, "BATCH", 1000)
    sha = Sha256()
    for chunk in CHUNKS[:50]:
        sha.update(chunk)
    sha.close()
    assert not any(t.name == "anaconda-storage-sha256" for t in threading.enumerate())
    Sha256().close()  # never started: nothing to stop


def test_a_large_piece_reaches_the_thread_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # An upload feeds whole parts: the thread's queue, bounded in batches, bounds memory
    # only if no batch holds more than about BATCH bytes.
    monkeypatch.setattr(digest, "INLINE_LIMIT", 0)
    monkeypatch.setattr(digest, "BATCH", 1000)
    handed: list[int] = []
    sha = Sha256()
    flush = sha._flush

    def recording_flush() -> None:
        handed.append(sum(len(piece) for piece in sha._batch))
        flush()

    monkeypatch.setattr(sha, "_flush", recording_flush)
    part = bytes(range(256)) * 40  # 10,240 bytes
    sha.update(part)
    assert sha.hexdigest() == hashlib.sha256(part).hexdigest()
    assert max(handed) <= 1000
    assert sum(handed) == len(part)
