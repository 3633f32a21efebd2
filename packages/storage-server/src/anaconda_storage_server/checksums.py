"""The transfer checksum on the server: CRC32C, kept by blob, checked on writes, served on reads.

sha256 names a blob; CRC32C (core's `checksum.py`, docs/api.md "Checksums") is what a
transfer is checked with at wire speed. `BlobWriter` computes both in one pass as content
arrives. The CRC is kept in `blob_checksums`, keyed by the blob's sha256, written in the
transaction that records the first revision of that content (`remember`): a copy, a move or
a restore of the same content shares it, as it shares the blob. A multipart upload's CRC
is combined from its parts' CRCs (`combined`): no byte is read again.

A data directory written before the checksum existed (schema 1) has blobs without one.
They get it at start-up (`backfill`, from `recovery.recover`), not lazily on first read: a
`GET` sends its headers before its body, so a lazy CRC would mean reading the whole blob
before answering, or answering without the checksum. Start-up reads each old blob once,
at disk speed (CRC32C runs faster than any disk here); each batch is committed, so an
interrupted start-up resumes where it stopped. It costs one indexed query when nothing is
missing, and it heals any revision whose content lacks a CRC for whatever reason.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anaconda_storage_core import checksum
from anaconda_storage_server.blobs import Blobs, crc32c_of_files
from anaconda_storage_server.database import Database, Transaction
from anaconda_storage_server.errors import invalid

if TYPE_CHECKING:  # starlette only to serve: `users add` stores without it (errors.py)
    from starlette.requests import Request

logger = logging.getLogger("anaconda_storage_server")
_BATCH = 100


def expected_crc32c(request: Request) -> int | None:
    """The `X-Storage-Crc32c` header of a write (base64 of 4 bytes), or None.

    Raises:
        ApiError: 400 `invalid` for a header that is not a CRC32C.
    """
    value = request.headers.get(checksum.HEADER)
    if value is None:
        return None
    try:
        return checksum.decode(value)
    except ValueError:
        raise invalid(
            f"{checksum.HEADER} must be the base64 of 4 bytes (the CRC32C, big-endian)",
            field=checksum.HEADER,
        ) from None


def remember(transaction: Transaction, sha256: str, crc32c: int) -> None:
    """Keep the CRC32C of the content `sha256` (before the revision that uses it)."""
    transaction.execute(
        "INSERT OR IGNORE INTO blob_checksums (sha256, crc32c) VALUES (?, ?)", (sha256, crc32c)
    )


def combined(directory: Path, parts: Sequence[sqlite3.Row]) -> int:
    """The CRC32C of upload parts joined in order, from each part's own.

    A part saved before the schema had CRCs (its `crc32c` NULL) is read from its file.

    Raises:
        FileNotFoundError: such a part's file is gone.
    """
    value = 0
    for part in parts:
        crc = part["crc32c"]
        if crc is None:
            crc = crc32c_of_files([directory / part["file"]])
        value = checksum.combine(value, crc, part["size"])
    return value


def backfill(database: Database, blobs: Blobs) -> int:
    """Compute and keep the CRC32C of every stored content that has none; how many.

    Call at start-up, before serving (see the module docstring).
    """
    with database.read() as connection:
        missing = [
            row[0]
            for row in connection.execute(
                "SELECT DISTINCT sha256 FROM revisions r WHERE sha256 IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM blob_checksums c WHERE c.sha256 = r.sha256)"
            )
        ]
    done = 0
    for start in range(0, len(missing), _BATCH):
        found: list[tuple[str, int]] = []
        for sha256 in missing[start : start + _BATCH]:
            try:
                found.append((sha256, blobs.crc32c(sha256)))
            except FileNotFoundError:  # nothing to serve either; the read answers 404
                logger.warning("the blob %s of a revision is missing", sha256)
        with database.write() as transaction:
            transaction.connection.executemany(
                "INSERT OR IGNORE INTO blob_checksums (sha256, crc32c) VALUES (?, ?)", found
            )
        done += len(found)
    if done:
        logger.info("computed the CRC32C of %d stored content(s)", done)
    return done
