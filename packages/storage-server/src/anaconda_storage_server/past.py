"""Naming past states in the history routes (log, diff, restore): references and scopes.

A reference is core's checkpoint grammar (a time point, `-N`, an ad-hoc checkpoint's UUID),
resolved to an instant of the project by `history.checkpoint_instant`. A scope is a path and
everything below it: `""` is the whole project, `dir` is `dir` itself (were it ever a file)
and every path below `dir/`, `q1.csv` is that file. One scope covers a file and a directory
alike because a file and a directory never share a path at one instant.
"""

from __future__ import annotations

import sqlite3

from anaconda_storage_core.uri import CheckpointRef, InvalidURI, StorageURI, TimePoint
from anaconda_storage_server.errors import invalid
from anaconda_storage_server.history import checkpoint_instant
from anaconda_storage_server.names import check_path, prefix_bounds


def parse_reference(token: str, *, field: str) -> CheckpointRef:
    """A reference parameter (`since=`, `from=`...): a time point, `-N` or a UUID."""
    try:
        ref = StorageURI("o", "p", checkpoint=token).checkpoint_ref
    except InvalidURI as exc:
        raise invalid(
            f"invalid {field} {token!r}: {exc.reason} (a time point"
            " YYYY-MM-DDTHH:MM:SS, -N for the N-th latest checkpoint, or a checkpoint UUID)",
            field=field,
        ) from None
    assert ref is not None
    return ref


def start_of(connection: sqlite3.Connection, project_id: str, ref: CheckpointRef) -> int:
    """The first instant (µs) a `since` reference lets in.

    A time point starts at its second (`since=12:00:00` includes a change at 12:00:00.5); a
    checkpoint's changes are those before it, so `since=-1` starts just after it.
    """
    if isinstance(ref, TimePoint):
        return int(ref.at.timestamp()) * 1_000_000
    return checkpoint_instant(connection, project_id, ref) + 1


class Scope:
    """A path and everything below it (`""`: the whole project), as SQL over `r.path`.

    `sql` uses the named parameters `:scope`, `:scope_low` and `:scope_high`.
    """

    sql = """(:scope = '' OR r.path = :scope
        OR (r.path >= :scope_low AND (:scope_high IS NULL OR r.path < :scope_high)))"""

    def __init__(self, path: str, *, field: str = "path") -> None:
        self.path = check_path(path.strip("/"), field=field, allow_root=True)
        self.low, self.high = prefix_bounds(f"{self.path}/")

    @property
    def parameters(self) -> dict[str, object]:
        return {"scope": self.path, "scope_low": self.low, "scope_high": self.high}

    def holds(self, path: str) -> bool:
        """Whether `path` lies in the scope."""
        return not self.path or path == self.path or path.startswith(f"{self.path}/")
