"""Paths stored before the API normalized names to NFC, renamed to NFC at start-up.

docs/api.md, "Names and paths": every path the server receives is normalized to NFC, so a
file stored earlier under a decomposed name (`cafe\\u0301.txt`, as macOS spells file names)
could no longer be named by any request. `normalize_stored_paths` gives each such path its
NFC name, history included, before the server accepts requests, so nothing stored becomes
unreachable.

When both forms were stored (two files then, one now), their histories are merged in the
order they were written: the newest revision is the current one and the other file's
content stays in the history, as if both had been written to one name. A path with only
ASCII characters is always NFC, so only the others are looked at.
"""

from __future__ import annotations

import logging
import unicodedata

from anaconda_storage_server.context import Context
from anaconda_storage_server.database import Transaction

logger = logging.getLogger("anaconda_storage_server")

# SQLite GLOB: a path holding a character outside printable ASCII (controls are never stored).
_NOT_ASCII = "*[^ -~]*"


def normalize_stored_paths(state: Context) -> int:
    """Rename every stored path that is not NFC to its NFC form; how many were renamed."""
    with state.database.read() as connection:
        stored = connection.execute(
            "SELECT DISTINCT project_id, path FROM revisions WHERE path GLOB ?", (_NOT_ASCII,)
        ).fetchall()
        uploads = connection.execute(
            "SELECT id, path FROM uploads WHERE path GLOB ?", (_NOT_ASCII,)
        ).fetchall()
    stale = [(project, path) for project, path in stored if _not_nfc(path)]
    stale_uploads = [(upload, path) for upload, path in uploads if _not_nfc(path)]
    if not stale and not stale_uploads:
        return 0
    with state.database.write() as transaction:
        for project_id, path in stale:
            _rename(transaction, project_id, path, unicodedata.normalize("NFC", path))
        for upload_id, path in stale_uploads:
            transaction.execute(
                "UPDATE uploads SET path = ? WHERE id = ?",
                (unicodedata.normalize("NFC", path), upload_id),
            )
    logger.info("renamed %d stored path(s) to their NFC form (docs/api.md)", len(stale))
    return len(stale)


def _not_nfc(path: str) -> bool:
    return not unicodedata.is_normalized("NFC", path)


def _rename(transaction: Transaction, project_id: str, old: str, new: str) -> None:
    """Give `old`'s history to `new`, then point `live` at the newest revision of `new`."""
    transaction.execute(
        "UPDATE revisions SET path = ? WHERE project_id = ? AND path = ?", (new, project_id, old)
    )
    transaction.execute(
        "DELETE FROM live WHERE project_id = ? AND path IN (?, ?)", (project_id, old, new)
    )
    newest = transaction.execute(
        "SELECT seq, deleted FROM revisions WHERE project_id = ? AND path = ?"
        " ORDER BY seq DESC LIMIT 1",
        (project_id, new),
    ).fetchone()
    if newest is not None and not newest[1]:
        transaction.execute(
            "INSERT INTO live (project_id, path, seq) VALUES (?, ?, ?)",
            (project_id, new, newest[0]),
        )
