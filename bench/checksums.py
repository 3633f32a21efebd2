"""Which transfer checksum keeps up with the wire: single-core speed of each candidate
library on this machine, against sha256 (the content address) as the reference.

Issue 15 asks for a checksum that verifies at wire speed (GCS verifies with CRC32C, S3
defaults to CRC64NVME). Each candidate is run three ways, because a transfer feeds its
checksum the chunks it streams, not one buffer:

- `1 call`: one call over a 64 MiB buffer, the library's raw speed (GB/s);
- `1 MiB chunks`: incremental updates over the same bytes in 1 MiB chunks (separate
  `bytes` objects, as a stream delivers them), a download's or upload's chunk size;
- `4 KiB chunks`: the same in 4 KiB chunks, where the per-call overhead shows (µs/call).

Every figure is the median of `--rounds` rounds; each round runs every candidate once, in
turn, so a noisy neighbour on a shared machine hits all of them alike. Candidates that are
not installed are skipped (the dev environment has only the chosen one; install the others
in a scratch venv to compare). All candidates are checked against the reference check
values of their CRC model ("123456789") before they are timed.

    python bench/checksums.py               # the figures of issue 15
    python bench/checksums.py --rounds 3    # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import statistics
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024
CHECK_INPUT = b"123456789"
# Check values from the CRC catalogue (reveng): CRC-32/ISCSI (CRC32C) and CRC-64/NVME.
CRC32C_CHECK = 0xE3069283
CRC64NVME_CHECK = 0xAE8B14860A799888


class Running:
    """A running checksum over a stream of chunks: `update(chunk)`, then `value()`."""

    def __init__(self, step: Callable[[int, bytes], int]) -> None:
        self._step = step
        self._state = 0

    def update(self, chunk: bytes) -> None:
        self._state = self._step(self._state, chunk)

    def value(self) -> int:
        return self._state


class Wrapped:
    """A hashlib-style object (`update`, `digest`) seen as a running checksum."""

    def __init__(self, hasher: Any) -> None:
        self._hasher = hasher

    def update(self, chunk: bytes) -> None:
        self._hasher.update(chunk)

    def value(self) -> int:
        return int.from_bytes(self._hasher.digest(), "big")


@dataclass(frozen=True)
class Candidate:
    """One library's checksum; `start()` gives a fresh running checksum."""

    name: str
    algorithm: str
    start: Callable[[], Running | Wrapped]
    check: int | None  # expected value over CHECK_INPUT; None where no catalogue value applies


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _candidates() -> list[Candidate]:
    found = [
        Candidate("hashlib", "sha256", lambda: Wrapped(hashlib.sha256()), None),
        Candidate(
            "zlib", "crc32 (not C)", lambda: Running(lambda s, b: zlib.crc32(b, s)), 0xCBF43926
        ),
    ]
    if (g := _optional("google_crc32c")) is not None:
        found.append(Candidate("google-crc32c", "crc32c", lambda: Running(g.extend), CRC32C_CHECK))
    if (c := _optional("crc32c")) is not None:
        found.append(
            Candidate(
                "crc32c", "crc32c", lambda: Running(lambda s, b: c.crc32c(b, s)), CRC32C_CHECK
            )
        )
    if (a := _optional("awscrt.checksums")) is not None:
        found.append(
            Candidate(
                "awscrt", "crc32c", lambda: Running(lambda s, b: a.crc32c(b, s)), CRC32C_CHECK
            )
        )
        found.append(
            Candidate(
                "awscrt",
                "crc64nvme",
                lambda: Running(lambda s, b: a.crc64nvme(b, s)),
                CRC64NVME_CHECK,
            )
        )
    if (f := _optional("fastcrc")) is not None:
        found.append(
            Candidate(
                "fastcrc",
                "crc32c",
                lambda: Running(lambda s, b: f.crc32.iscsi(b, s)),
                CRC32C_CHECK,
            )
        )
    if (x := _optional("crc64fast")) is not None:
        found.append(
            Candidate("crc64fast", "crc64nvme", lambda: Wrapped(x.crc64fast()), CRC64NVME_CHECK)
        )
    if (r := _optional("anycrc")) is not None:
        # anycrc keeps the running value inside the model, so each run takes a new model.
        for model, algorithm, check in (
            ("CRC32-ISCSI", "crc32c", CRC32C_CHECK),
            ("CRC64-NVME", "crc64nvme", CRC64NVME_CHECK),
        ):
            found.append(
                Candidate(
                    "anycrc",
                    algorithm,
                    lambda model=model: _AnyCrc(r.Model(model)),  # type: ignore[misc]
                    check,
                )
            )
    if (h := _optional("xxhash")) is not None:
        found.append(Candidate("xxhash", "xxh3_64 (not a CRC)", lambda: Wrapped(h.xxh3_64()), None))
    return found


class _AnyCrc(Running):
    def __init__(self, model: Any) -> None:
        super().__init__(lambda s, b: int(model.calc(b, s)))
        self._state = model.calc(b"")  # the model's initial value, not 0


def _run(candidate: Candidate, chunks: list[bytes]) -> float:
    """Seconds to checksum `chunks` in incremental updates, one per chunk."""
    started = time.perf_counter()
    running = candidate.start()
    update = running.update
    for chunk in chunks:
        update(chunk)
    running.value()
    return time.perf_counter() - started


def _verify(candidate: Candidate) -> None:
    if candidate.check is None:
        return
    for split in (0, 4):  # one call, and two incremental calls
        running = candidate.start()
        running.update(CHECK_INPUT[:split])
        running.update(CHECK_INPUT[split:])
        if running.value() != candidate.check:
            raise SystemExit(f"{candidate.name} {candidate.algorithm}: wrong check value")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--size-mib", type=int, default=64)
    args = parser.parse_args()

    buffer = os.urandom(args.size_mib * MiB)
    candidates = _candidates()
    for candidate in candidates:
        _verify(candidate)
    modes = {"one call": len(buffer), "1 MiB chunks": MiB, "4 KiB chunks": 4096}
    # Split before timing: a transfer's chunks arrive as separate bytes objects.
    chunked = {
        mode: [buffer[offset : offset + size] for offset in range(0, len(buffer), size)]
        for mode, size in modes.items()
    }
    times: dict[tuple[int, str], list[float]] = {}
    for _ in range(args.rounds):
        for index, candidate in enumerate(candidates):
            for mode, chunks in chunked.items():
                times.setdefault((index, mode), []).append(_run(candidate, chunks))

    print(f"single core, median of {args.rounds} rounds over {args.size_mib} MiB of random bytes")
    columns = ("1 call GB/s", "1 MiB GB/s", "4 KiB GB/s", "µs/4 KiB call")
    header = f"{'library':<14} {'algorithm':<20} " + " ".join(f"{c:>13}" for c in columns)
    print(header)
    print("-" * len(header))
    for index, candidate in enumerate(candidates):
        cells = [
            f"{len(buffer) / statistics.median(times[index, mode]) / 1e9:.2f}" for mode in modes
        ]
        calls = len(buffer) / 4096
        per_call = f"{statistics.median(times[index, '4 KiB chunks']) / calls * 1e6:.2f}"
        row = " ".join(f"{c:>13}" for c in [*cells, per_call])
        print(f"{candidate.name:<14} {candidate.algorithm:<20} {row}")


if __name__ == "__main__":
    main()
