"""Recording changes: the checks every write makes and the one function that writes a revision.

Every change, whatever its route (upload, metadata, copy, move, delete, multipart
completion), goes through `record` inside one `BEGIN IMMEDIATE` transaction, after
`check_file_path` (a file and a directory cannot share a path) and `check_conditions`
(`If-Match` / `If-None-Match`) have been made against the state inside that same
transaction, so no concurrent writer can slip in between the check and the write.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping

from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.database import Transaction
from anaconda_storage_server.errors import conflict, precondition_failed
from anaconda_storage_server.history import VERSION_SELECT, Version, is_directory
from anaconda_storage_server.names import parent_directories


def check_file_path(connection: sqlite3.Connection, project_id: str, path: str) -> None:
    """`409 conflict` if writing a file at `path` would clash with a directory or a file.

    A live file at a directory above `path` would have to become a directory; a live file
    below `path/` makes `path` a directory.
    """
    parents = parent_directories(path)
    if parents:
        placeholders = ", ".join("?" * len(parents))
        row = connection.execute(
            f"SELECT path FROM live WHERE project_id = ? AND path IN ({placeholders})"
            " ORDER BY length(path) LIMIT 1",
            (project_id, *parents),
        ).fetchone()
        if row is not None:
            raise conflict(f"{row['path']!r} is a file, so {path!r} cannot be below it")
    if is_directory(connection, project_id, path):
        raise conflict(f"{path!r} is a directory; a file cannot have its path")


def parse_etags(header: str) -> set[str]:
    """The entity tags of an `If-Match` / `If-None-Match` header, unquoted (`*` stays)."""
    tags = set()
    for item in header.split(","):
        tag = item.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if tag:
            tags.add(tag)
    return tags


def check_conditions(
    current: Version | None, *, if_match: str | None, if_none_match: str | None
) -> None:
    """`412 precondition_failed` unless the conditions hold for the current revision.

    Args:
        current: The current revision of the path, None if no live file.
        if_match: An `If-Match` value: the current revision (quoted or not), or `*`.
        if_none_match: An `If-None-Match` value: `*` (no live file) or revisions.
    """
    current_id = current.id if current is not None else None
    if if_match is not None:
        tags = parse_etags(if_match)
        if current is None or ("*" not in tags and current.id not in tags):
            raise precondition_failed(
                current_id, f"If-Match does not hold: the current revision is {current_id}"
            )
    if if_none_match is not None and current is not None:
        tags = parse_etags(if_none_match)
        if "*" in tags or current.id in tags:
            raise precondition_failed(
                current_id, f"If-None-Match does not hold: the current revision is {current_id}"
            )


def unchanged(current: Version | None, size: int, sha256: str) -> bool:
    """Whether writing this content onto `path` would change nothing (docs/api.md, PUT).

    The current revision already holds these bytes; a write carries its description and
    metadata over, so its attributes would be equal too. Such a write creates no revision
    and is answered with the current one: an unchanged upload (a sync, a re-run pipeline)
    does not pad the file's history.
    """
    return current is not None and current.size == size and current.sha256 == sha256


def record(
    transaction: Transaction,
    project_id: str,
    path: str,
    author: Owner,
    *,
    size: int = 0,
    sha256: str | None = None,
    description: str = "",
    metadata: Mapping[str, str] | None = None,
    deleted: bool = False,
) -> Version:
    """Write one revision of `path` (a deletion if `deleted`) and make it current."""
    cursor = transaction.execute(
        "INSERT INTO revisions (id, project_id, path, created_us, created_by, deleted, size,"
        " sha256, description, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            str(uuid.uuid4()),
            project_id,
            path,
            transaction.now_us,
            author.id,
            int(deleted),
            0 if deleted else size,
            None if deleted else sha256,
            "" if deleted else description,
            "{}" if deleted else json.dumps(dict(metadata or {}), ensure_ascii=False),
        ),
    )
    seq = cursor.lastrowid
    if deleted:
        transaction.execute(
            "DELETE FROM live WHERE project_id = ? AND path = ?", (project_id, path)
        )
    else:
        transaction.execute(
            "INSERT OR REPLACE INTO live (project_id, path, seq) VALUES (?, ?, ?)",
            (project_id, path, seq),
        )
    transaction.execute(
        "UPDATE projects SET updated_us = ? WHERE id = ?", (transaction.now_us, project_id)
    )
    row = transaction.execute(f"{VERSION_SELECT} WHERE r.seq = ?", (seq,)).fetchone()
    return Version.from_row(row)
