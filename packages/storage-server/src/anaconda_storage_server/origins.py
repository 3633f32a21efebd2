"""Where a revision came from, when it was not written by hand: a restore or a move.

Most actions a log shows are read off the revisions themselves (a deletion, a first
revision, a change of content or only of attributes, `log.py`). A restore and a move look
like any other write, so the transaction that makes one notes it in `revision_origins`,
keyed by the revision's `seq`: the action, and the state it came from (a path and revision,
and for a restore from a checkpoint, that checkpoint and the instant it resolved to).
"""

from __future__ import annotations

from typing import Any

from anaconda_storage_server.database import Transaction
from anaconda_storage_server.history import format_instant

RESTORED = "restored"
MOVED = "moved"

# The columns `source_json` reads, from `revision_origins o` joined on the revision.
ORIGIN_COLUMNS = """o.action AS origin, o.source_path, o.source_revision, o.source_checkpoint,
    o.source_us"""


def note(
    transaction: Transaction,
    seq: int,
    action: str,
    *,
    source_path: str | None = None,
    source_revision: str | None = None,
    source_checkpoint: str | None = None,
    source_us: int | None = None,
) -> None:
    """Record that revision `seq` was made by a restore or a move, and from what."""
    transaction.execute(
        "INSERT INTO revision_origins (seq, action, source_path, source_revision,"
        " source_checkpoint, source_us) VALUES (?, ?, ?, ?, ?, ?)",
        (seq, action, source_path, source_revision, source_checkpoint, source_us),
    )


def source_json(row: Any) -> dict[str, Any] | None:
    """The `source` of a log entry: the state a restore or move took the revision from."""
    if row["origin"] is None:
        return None
    at = row["source_us"]
    return {
        "path": row["source_path"],
        "revision": row["source_revision"],
        "checkpoint": row["source_checkpoint"],
        "at": format_instant(at) if at is not None else None,
    }
