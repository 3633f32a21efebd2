"""The objects of the history routes (docs/api.md, "Log", "Diff", "Restore", "Trash").

Frozen dataclasses read from the contract's JSON, as in `models`: unknown fields are
ignored, timestamps are aware datetimes in UTC, and every model pickles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .models import Owner, Project, _owner_or_none, _required_timestamp, parse_timestamp

__all__ = [
    "DeletedProject",
    "DiffEntry",
    "FileState",
    "LogEntry",
    "LogSource",
    "Restoration",
    "RestoreChange",
]

JSON = Mapping[str, Any]


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class LogSource:
    """Where a restored or moved revision came from.

    Attributes:
        path: The path it was restored or moved from.
        revision: The revision whose content and attributes it took.
        checkpoint: The ad-hoc checkpoint a restore named, if any.
        at: The instant a restore from a checkpoint or time point read the past at.
    """

    path: str | None = None
    revision: str | None = None
    checkpoint: str | None = None
    at: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> LogSource | None:
        """Read a log entry's `source` (None stays None)."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            path=_text_or_none(data.get("path")),
            revision=_text_or_none(data.get("revision")),
            checkpoint=_text_or_none(data.get("checkpoint")),
            at=parse_timestamp(data.get("at")),
        )


@dataclass(frozen=True)
class LogEntry:
    """One change of a project's log: a revision of a path, or an ad-hoc checkpoint.

    Attributes:
        type: `revision` or `checkpoint`.
        action: `created`, `modified`, `attributes`, `deleted`, `restored`, `moved`, or
            `checkpoint`.
        path: The path a revision changed (None for a checkpoint).
        deleted: Whether the revision deleted the file (a restore may).
        size: The size of the revision (None for a checkpoint).
        revision: The revision's UUID (None for a checkpoint).
        source: Where a restored or moved revision came from.
        checkpoint: The checkpoint's UUID (a checkpoint entry only).
        message: The checkpoint's message (a checkpoint entry only).
    """

    type: Literal["revision", "checkpoint"]
    created_at: datetime
    action: str
    created_by: Owner | None = None
    path: str | None = None
    deleted: bool = False
    size: int | None = None
    sha256: str | None = None
    revision: str | None = None
    source: LogSource | None = None
    checkpoint: str | None = None
    message: str | None = None

    @classmethod
    def from_json(cls, data: JSON) -> LogEntry:
        """Read the contract's `LogEntry` object."""
        return cls(
            type="checkpoint" if data.get("type") == "checkpoint" else "revision",
            created_at=_required_timestamp(data["created_at"]),
            action=str(data["action"]),
            created_by=_owner_or_none(data.get("created_by")),
            path=_text_or_none(data.get("path")),
            deleted=bool(data.get("deleted", False)),
            size=_int_or_none(data.get("size")),
            sha256=_text_or_none(data.get("sha256")),
            revision=_text_or_none(data.get("revision")),
            source=LogSource.from_json(data.get("source")),
            checkpoint=_text_or_none(data.get("checkpoint")),
            message=_text_or_none(data.get("message")),
        )


@dataclass(frozen=True)
class FileState:
    """A file as one side of a diff or restore saw it: its revision, size and digest."""

    revision: str
    size: int
    sha256: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> FileState | None:
        """Read `{"revision", "size", "sha256"}` (None: no file there)."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            revision=str(data["revision"]),
            size=int(data.get("size") or 0),
            sha256=_text_or_none(data.get("sha256")),
        )


@dataclass(frozen=True)
class DiffEntry:
    """One path that differs between two states of a project.

    Attributes:
        path: The path.
        change: `added` (only in the later state), `deleted` (only in the earlier one) or
            `modified` (in both, with other content or attributes).
        before: The file in the first state named (None if absent there).
        after: The file in the second state named (None if absent there).
    """

    path: str
    change: Literal["added", "deleted", "modified"]
    before: FileState | None = None
    after: FileState | None = None

    @classmethod
    def from_json(cls, data: JSON) -> DiffEntry:
        """Read the contract's `DiffEntry` object."""
        change = str(data["change"])
        if change not in ("added", "deleted", "modified"):
            raise ValueError(f"unknown change {change!r}")
        return cls(
            path=str(data["path"]),
            change=change,  # type: ignore[arg-type]
            before=FileState.from_json(data.get("before")),
            after=FileState.from_json(data.get("after")),
        )


@dataclass(frozen=True)
class RestoreChange:
    """One path a restore changes (or, in a dry run, would change).

    Attributes:
        path: The path.
        change: `modified` (its content goes back), `added` (a deleted file comes back) or
            `deleted` (a file created since is deleted).
        before: The live file before the restore (None if there was none).
        after: The file the restore brings back (None for a deletion).
        revision: The new revision the restore made (None in a dry run).
    """

    path: str
    change: Literal["added", "deleted", "modified"]
    before: FileState | None = None
    after: FileState | None = None
    revision: str | None = None

    @classmethod
    def from_json(cls, data: JSON) -> RestoreChange:
        """Read one change of a `Restoration`."""
        return cls(
            path=str(data["path"]),
            change=str(data["change"]),  # type: ignore[arg-type]
            before=FileState.from_json(data.get("before")),
            after=FileState.from_json(data.get("after")),
            revision=_text_or_none(data.get("revision")),
        )


@dataclass(frozen=True)
class Restoration:
    """The answer of a restore: what it changed (or would change, in a dry run).

    Attributes:
        changes: Every path changed, by path.
        dry_run: Whether nothing was changed (a plan only).
        at: The instant of the past state restored (a checkpoint's or a revision's).
    """

    changes: tuple[RestoreChange, ...] = ()
    dry_run: bool = False
    at: datetime | None = None

    @classmethod
    def from_json(cls, data: JSON) -> Restoration:
        """Read the answer of `POST .../restore`."""
        return cls(
            changes=tuple(RestoreChange.from_json(c) for c in data.get("changes", ())),
            dry_run=bool(data.get("dry_run", False)),
            at=parse_timestamp(data.get("at")),
        )


@dataclass(frozen=True)
class DeletedProject:
    """A deleted project, kept in its owner's trash until `purge_at`.

    Attributes:
        project: The project as it was when deleted.
        deleted_at: When it was deleted.
        deleted_by: Who deleted it.
        purge_at: When the server deletes it for good.
    """

    project: Project
    deleted_at: datetime
    purge_at: datetime
    deleted_by: Owner | None = None

    @classmethod
    def from_json(cls, data: JSON) -> DeletedProject:
        """Read the contract's `DeletedProject` object."""
        return cls(
            project=Project.from_json(data["project"]),
            deleted_at=_required_timestamp(data["deleted_at"]),
            purge_at=_required_timestamp(data["purge_at"]),
            deleted_by=_owner_or_none(data.get("deleted_by")),
        )
