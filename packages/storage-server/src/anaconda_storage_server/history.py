"""History: revisions of files, checkpoints of projects, and reading the store as it was.

Every change to a file is a row of `revisions` (deletions included); `live` points at the
current revision of each file that is not deleted. Nothing is ever updated in place, so the
state of a project at any instant is, for each path, its latest revision at or before that
instant, unless that revision is a deletion (docs/api.md, "History").

References (parsed by core's grammar in `names.py`):

- `checkpoint=`: a time point `T` resolves to the last microsecond of its second (inclusive
  to the second: every change made at or before `T` counts); `-N` to the N-th most recent
  ad-hoc checkpoint; a UUID to that checkpoint. Instants are strictly increasing per change
  (`database.Transaction.now_us`), so an ad-hoc checkpoint sees exactly the changes
  committed before it.
- `revision=`: `-N` is N steps back from the current revision (a deletion counts), a UUID
  is that revision of that path.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request

from anaconda_storage_core.checksum import encode
from anaconda_storage_core.uri import CheckpointRef, Relative, RevisionRef, TimePoint
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.errors import invalid, not_found
from anaconda_storage_server.names import parse_checkpoint, parse_revision, prefix_bounds


def encoded_crc32c(crc32c: int | None) -> str | None:
    """The wire form of a stored CRC32C (base64); None where none is known."""
    return None if crc32c is None else encode(crc32c)


def format_instant(us: int) -> str:
    """RFC 3339 in UTC with microseconds: `2024-05-01T12:00:00.123456Z`."""
    seconds, micro = divmod(us, 1_000_000)
    return f"{_format_second(seconds)}.{micro:06d}Z"


@functools.lru_cache(maxsize=1024)
def _format_second(seconds: int) -> str:
    # Remembered: the files of a listing were mostly written within a few seconds of each
    # other, and formatting a datetime was a sixth of a listing page's server CPU.
    return f"{datetime.fromtimestamp(seconds, tz=timezone.utc):%Y-%m-%dT%H:%M:%S}"


# The columns of a `Version`, from `revisions r` joined with its author `a`. `born_us` is the
# first revision of the path's life that `r` belongs to (after its last earlier deletion);
# `crc32c` the content's transfer checksum (checksums.py), NULL where none is known.
# INDEXED BY: left to itself, SQLite answers min(created_us) by walking the project's
# revisions in time order until one has the path, which costs each row the whole project's
# history (a listing page of 1,000 files took 0.12 s more for every 1,000 files before it).
VERSION_SELECT = """
SELECT r.seq, r.id, r.path, r.created_us, r.deleted, r.size, r.sha256, r.description,
    r.metadata, a.id AS author_id, a.name AS author_name, a.kind AS author_kind,
    (SELECT min(b.created_us) FROM revisions b INDEXED BY revisions_by_path
        WHERE b.project_id = r.project_id AND b.path = r.path AND b.seq <= r.seq
        AND b.seq > coalesce((SELECT max(d.seq) FROM revisions d
            WHERE d.project_id = r.project_id AND d.path = r.path AND d.deleted = 1
            AND d.seq < r.seq), 0)) AS born_us,
    (SELECT c.crc32c FROM blob_checksums c WHERE c.sha256 = r.sha256) AS crc32c
FROM revisions r JOIN owners a ON a.id = r.created_by
"""
VERSION_SELECT_BY_PATH = VERSION_SELECT.replace(
    "FROM revisions r JOIN", "FROM revisions r INDEXED BY revisions_by_path JOIN"
)


@dataclass(frozen=True)
class Version:
    """One revision of a file, with its author and the start of its file's life."""

    seq: int
    id: str
    path: str
    created_us: int
    author: Owner
    deleted: bool
    size: int
    sha256: str | None
    description: str
    metadata: dict[str, str]
    born_us: int
    crc32c: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Version:
        return cls(
            seq=row["seq"],
            id=row["id"],
            path=row["path"],
            created_us=row["created_us"],
            author=Owner(row["author_id"], row["author_name"], row["author_kind"]),
            deleted=bool(row["deleted"]),
            size=row["size"],
            sha256=row["sha256"],
            description=row["description"],
            metadata={} if row["metadata"] == "{}" else json.loads(row["metadata"]),
            born_us=row["born_us"] if row["born_us"] is not None else row["created_us"],
            # Selects other than VERSION_SELECT may lack it (`in` on a Row tests values).
            crc32c=row["crc32c"] if "crc32c" in row.keys() else None,  # noqa: SIM118
        )

    def file_json(self) -> dict[str, Any]:
        """The `File` object of docs/api.md."""
        return {
            "type": "file",
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "crc32c": encoded_crc32c(self.crc32c),
            "revision": self.id,
            "modified": format_instant(self.created_us),
            "created_at": format_instant(self.born_us),
            "modified_by": self.author.to_json(),
            "description": self.description,
            "metadata": self.metadata,
        }

    def revision_json(self, index: int) -> dict[str, Any]:
        """The `Revision` object of docs/api.md; `index` 0 is current, -1 the one before."""
        return {
            "id": self.id,
            "created_at": format_instant(self.created_us),
            "created_by": self.author.to_json(),
            "deleted": self.deleted,
            "size": self.size,
            "sha256": self.sha256,
            "crc32c": encoded_crc32c(self.crc32c),
            "description": self.description,
            "metadata": self.metadata,
            "index": index,
        }


def directory_json(path: str) -> dict[str, str]:
    """The `Directory` object of docs/api.md."""
    return {"type": "directory", "path": path}


@dataclass(frozen=True)
class ReadPoint:
    """Which state a read route reads: the current one, a checkpoint's or a revision."""

    checkpoint: CheckpointRef | None = None
    revision: RevisionRef | None = None

    @classmethod
    def from_request(cls, request: Request, *, revision: bool = True) -> ReadPoint:
        """Read `checkpoint=` and (if the route takes it) `revision=`; both at once is 400."""
        checkpoint = request.query_params.get("checkpoint")
        revision_text = request.query_params.get("revision")
        if revision_text is not None and not revision:
            raise invalid("this route takes no revision", field="revision")
        if checkpoint is not None and revision_text is not None:
            raise invalid("give a checkpoint or a revision, not both", field="revision")
        if checkpoint is not None:
            return cls(checkpoint=parse_checkpoint(checkpoint))
        if revision_text is not None:
            return cls(revision=parse_revision(revision_text))
        return cls()


def checkpoint_instant(connection: sqlite3.Connection, project_id: str, ref: CheckpointRef) -> int:
    """The instant (µs) a checkpoint reference resolves to in a project.

    Raises:
        ApiError: 404 `missing=checkpoint` for an unknown `-N` or UUID.
    """
    if isinstance(ref, TimePoint):
        return int(ref.at.timestamp()) * 1_000_000 + 999_999
    if isinstance(ref, Relative):
        row = connection.execute(
            "SELECT created_us FROM checkpoints WHERE project_id = ?"
            " ORDER BY created_us DESC LIMIT 1 OFFSET ?",
            (project_id, min(ref.steps - 1, 2**62)),
        ).fetchone()
    else:
        row = connection.execute(
            "SELECT created_us FROM checkpoints WHERE project_id = ? AND id = ?",
            (project_id, str(ref.uuid)),
        ).fetchone()
    if row is None:
        raise not_found("checkpoint", f"no checkpoint {ref} in this project")
    return int(row[0])


def current_version(connection: sqlite3.Connection, project_id: str, path: str) -> Version | None:
    """The current revision of a live file, or None."""
    row = connection.execute(
        f"{VERSION_SELECT} JOIN live ON live.seq = r.seq"
        " WHERE live.project_id = ? AND live.path = ?",
        (project_id, path),
    ).fetchone()
    return Version.from_row(row) if row else None


def version_at(
    connection: sqlite3.Connection, project_id: str, path: str, instant: int
) -> Version | None:
    """The revision of a path at an instant, or None if it did not exist or was deleted."""
    # INDEXED BY, as in `content_at`: left to itself, SQLite walks every revision of the
    # project up to the instant (`revisions_by_time`) and sorts them.
    row = connection.execute(
        f"{VERSION_SELECT_BY_PATH} WHERE r.project_id = ? AND r.path = ? AND r.created_us <= ?"
        " ORDER BY r.seq DESC LIMIT 1",
        (project_id, path, instant),
    ).fetchone()
    if row is None or row["deleted"]:
        return None
    return Version.from_row(row)


def revision_of(
    connection: sqlite3.Connection, project_id: str, path: str, ref: RevisionRef
) -> Version:
    """A revision of a path, deletion revisions included.

    Raises:
        ApiError: 404 `missing=path` if the path never existed, `missing=revision` if it
            has no such revision.
    """
    if isinstance(ref, Relative):
        row = connection.execute(
            f"{VERSION_SELECT} WHERE r.project_id = ? AND r.path = ?"
            " ORDER BY r.seq DESC LIMIT 1 OFFSET ?",
            (project_id, path, min(ref.steps, 2**62)),
        ).fetchone()
    else:
        row = connection.execute(
            f"{VERSION_SELECT} WHERE r.project_id = ? AND r.path = ? AND r.id = ?",
            (project_id, path, str(ref.uuid)),
        ).fetchone()
    if row is None:
        if not has_history(connection, project_id, path):
            raise not_found("path", f"{path!r} never existed")
        raise not_found("revision", f"{path!r} has no revision {ref}")
    return Version.from_row(row)


def has_history(connection: sqlite3.Connection, project_id: str, path: str) -> bool:
    """Whether a path has ever had a revision."""
    row = connection.execute(
        "SELECT 1 FROM revisions WHERE project_id = ? AND path = ? LIMIT 1", (project_id, path)
    ).fetchone()
    return row is not None


def live_paths(instant: int | None, *, bounded: bool) -> str:
    """SQL of `(path, seq)` for the live files with `:start <= path` (`< :high` if bounded).

    `:project`: the project id, `:instant`: the instant when `instant` is not None (the
    current state otherwise). Rows come by path, from an index walked in order, so a caller
    that stops early reads no more rows than it took (SQLite steps a statement only as its
    cursor is iterated).
    """
    # Two statements rather than `(:high IS NULL OR path < :high)`: with that OR, SQLite's
    # plan for a one-row seek reads on past the range (230 µs a seek against 5 µs, measured).
    bound = "AND path < :high" if bounded else ""
    if instant is None:
        return f"""SELECT path, seq FROM live WHERE project_id = :project AND path >= :start
            {bound} ORDER BY path"""
    # SQLite takes the bare column `deleted` from the row that max() picked: the newest
    # revision of each path at the instant, live unless it is a deletion.
    return f"""SELECT path, seq FROM (SELECT path, max(seq) AS seq, deleted FROM revisions
            WHERE project_id = :project AND path >= :start {bound} AND created_us <= :instant
            GROUP BY path ORDER BY path) WHERE deleted = 0"""


def ordered_paths(
    connection: sqlite3.Connection,
    project_id: str,
    start: str,
    high: str | None,
    instant: int | None = None,
) -> Iterator[tuple[str, int]]:
    """The live `(path, seq)` from `start` (inclusive) below `high` (None: no bound), by path,
    read lazily, at `instant` if given."""
    cursor = connection.execute(
        live_paths(instant, bounded=high is not None),
        {"project": project_id, "start": start, "high": high, "instant": instant},
    )
    return ((row[0], row[1]) for row in cursor)


def versions_by_seq(connection: sqlite3.Connection, seqs: list[int]) -> dict[int, Version]:
    """The revisions of these sequence numbers."""
    found: dict[int, Version] = {}
    for start in range(0, len(seqs), 500):
        batch = seqs[start : start + 500]
        rows = connection.execute(
            f"{VERSION_SELECT} WHERE r.seq IN ({', '.join('?' * len(batch))})", tuple(batch)
        ).fetchall()
        found.update((row["seq"], Version.from_row(row)) for row in rows)
    return found


def versions(
    connection: sqlite3.Connection,
    project_id: str,
    *,
    prefix: str = "",
    start: str = "",
    instant: int | None = None,
    limit: int = -1,
) -> list[Version]:
    """The live files whose path starts with `prefix`, from path `start` on, by path.

    Args:
        connection: A connection in a transaction.
        project_id: The project.
        prefix: Only paths starting with it.
        start: Only paths >= it (keyset paging).
        instant: The state at that instant (µs) instead of the current one.
        limit: At most that many (-1: all).
    """
    low, high = prefix_bounds(prefix)
    rows = connection.execute(
        f"WITH paths(path, seq) AS ({live_paths(instant, bounded=high is not None)})"
        f" {VERSION_SELECT} JOIN paths ON paths.seq = r.seq ORDER BY paths.path LIMIT :limit",
        {
            "project": project_id,
            "start": max(low, start),
            "high": high,
            "instant": instant,
            "limit": limit,
        },
    ).fetchall()
    return [Version.from_row(row) for row in rows if row["path"].startswith(prefix)]


def is_directory(
    connection: sqlite3.Connection, project_id: str, path: str, instant: int | None = None
) -> bool:
    """Whether some live file (at `instant`, if given) lies below `path/`."""
    low, high = prefix_bounds(f"{path}/")
    return next(ordered_paths(connection, project_id, low, high, instant), None) is not None


def revision_list(
    connection: sqlite3.Connection,
    project_id: str,
    path: str,
    *,
    before_seq: int | None,
    instant: int | None,
    limit: int,
) -> list[tuple[Version, int]]:
    """Revisions of a path, newest first, each with its index (0 current, -1 before, ...).

    Args:
        connection: A connection in a transaction.
        project_id: The project.
        path: The path.
        before_seq: Only revisions older than this one (keyset paging).
        instant: Only revisions made at or before that instant (µs).
        limit: At most that many.
    """
    rows = connection.execute(
        f"{VERSION_SELECT} WHERE r.project_id = ? AND r.path = ? AND r.seq < ?"
        " AND r.created_us <= ? ORDER BY r.seq DESC LIMIT ?",
        (project_id, path, before_seq or _NEVER, _NEVER if instant is None else instant, limit),
    ).fetchall()
    if not rows:
        return []
    # The index counts every later revision, also those a checkpoint leaves out.
    newer = connection.execute(
        "SELECT count(*) FROM revisions WHERE project_id = ? AND path = ? AND seq > ?",
        (project_id, path, rows[0]["seq"]),
    ).fetchone()[0]
    return [(Version.from_row(row), -(newer + offset)) for offset, row in enumerate(rows)]


_NEVER = 2**62  # later than any seq or instant


@dataclass(frozen=True)
class RevisionContent:
    """A revision that holds content, as reading it needs it: no author, attributes or life."""

    id: str
    size: int
    sha256: str
    crc32c: int | None
    created_us: int

    @classmethod
    def of(cls, version: Version) -> RevisionContent:
        """The content of a revision that is not a deletion."""
        assert version.sha256 is not None
        return cls(version.id, version.size, version.sha256, version.crc32c, version.created_us)


# The columns of a `RevisionContent`: what a content read needs, without VERSION_SELECT's
# author join and `born_us` subquery (measured on a project of 1,000 files: 4.8 µs a
# look-up against `current_version`'s 12 µs; POST .../read's server CPU went from ~55 to
# ~42 µs a 4 KiB file).
CONTENT_SELECT = """
SELECT r.id, r.size, r.sha256, r.created_us, r.deleted,
    (SELECT c.crc32c FROM blob_checksums c WHERE c.sha256 = r.sha256) AS crc32c
FROM revisions r
"""


def _content(row: sqlite3.Row | None) -> RevisionContent | None:
    if row is None or row[4]:
        return None
    return RevisionContent(row[0], row[1], row[2], row[5], row[3])


def current_content(
    connection: sqlite3.Connection, project_id: str, path: str
) -> RevisionContent | None:
    """The content of a live file's current revision, or None (`current_version`, leaner)."""
    row = connection.execute(
        f"{CONTENT_SELECT} JOIN live ON live.seq = r.seq"
        " WHERE live.project_id = ? AND live.path = ?",
        (project_id, path),
    ).fetchone()
    return _content(row)


def content_at(
    connection: sqlite3.Connection, project_id: str, path: str, instant: int
) -> RevisionContent | None:
    """The content of a path at an instant, or None if it did not exist or was deleted
    (`version_at`, leaner)."""
    # INDEXED BY: left to itself, SQLite walks `revisions_by_time`, every revision of the
    # project up to the instant, and sorts them (measured: 116 µs a look-up in a project of
    # 1,000 files, against 4.5 µs, and growing with the project; `version_at` has that plan
    # too).
    row = connection.execute(
        f"{CONTENT_SELECT} INDEXED BY revisions_by_path WHERE r.project_id = ? AND r.path = ?"
        " AND r.created_us <= ? ORDER BY r.seq DESC LIMIT 1",
        (project_id, path, instant),
    ).fetchone()
    return _content(row)
