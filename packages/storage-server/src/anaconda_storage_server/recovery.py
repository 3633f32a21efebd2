"""Keeping the data directory clean: recovery at start-up, and removal of unused files.

A crash (even SIGKILL mid-upload) leaves the database consistent (SQLite rolls back the
unfinished transaction when it next opens it) and can leave only files nobody references:
temp files of uploads in flight, part files of a part upload that never committed, a blob
renamed into place whose revision never committed, directories of removed upload sessions.
`recover` removes them all before the server accepts requests; nothing of them was ever
visible through the API.

Blobs are shared (content addressing: a copy points at the same blob), so a blob is removed
only once no revision references it, checked in a write transaction: uploads move their
blob into place inside theirs (`Blobs.store`), so the two never interleave.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable

from anaconda_storage_server import checksums
from anaconda_storage_server.context import Context
from anaconda_storage_server.normal_forms import normalize_stored_paths

logger = logging.getLogger("anaconda_storage_server")
_BATCH = 500


def recover(state: Context) -> None:
    """Remove what a crash may have left behind (call before serving), and compute the
    transfer checksums that blobs stored before they existed lack (`checksums.backfill`).

    Paths stored before names were normalized are renamed to NFC first (normal_forms.py).
    """
    normalize_stored_paths(state)
    temp_files = state.blobs.sweep_temp()
    with state.database.read() as connection:
        sessions = {row[0] for row in connection.execute("SELECT id FROM uploads")}
        part_files = {
            (row[0], row[1])
            for row in connection.execute("SELECT upload_id, file FROM upload_parts")
        }
    stray = 0
    for directory in state.uploads_dir.iterdir():
        if directory.name not in sessions:
            shutil.rmtree(directory, ignore_errors=True)
            stray += 1
            continue
        for entry in directory.iterdir():
            if (directory.name, entry.name) not in part_files:
                entry.unlink(missing_ok=True)
                stray += 1
    collect_blobs(state, state.blobs.all_digests())
    checksums.backfill(state.database, state.blobs)
    if temp_files or stray:
        logger.info("recovery removed %d temp file(s), %d stray upload file(s)", temp_files, stray)


def remove_upload_dirs(state: Context, upload_ids: Iterable[str]) -> None:
    """Remove the part files of upload sessions that are gone from the database."""
    for upload_id in upload_ids:
        shutil.rmtree(state.uploads_dir / upload_id, ignore_errors=True)


def collect_blobs(state: Context, digests: Iterable[str]) -> None:
    """Remove the blobs among `digests` that no revision references any more."""
    candidates = sorted(set(digests))
    for start in range(0, len(candidates), _BATCH):
        batch = candidates[start : start + _BATCH]
        placeholders = ", ".join("?" * len(batch))
        with state.database.write() as transaction:
            referenced = {
                row[0]
                for row in transaction.execute(
                    f"SELECT DISTINCT sha256 FROM revisions WHERE sha256 IN ({placeholders})",
                    tuple(batch),
                )
            }
            state.blobs.remove_unreferenced(batch, referenced)
