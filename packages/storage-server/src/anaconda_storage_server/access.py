"""Who may do what to a project (docs/api.md, "Permissions").

Levels, each implying the ones before: `read` < `write` < `owner`. The owner level belongs to
the owning user, or to every member of the owning organization. Grants give `r` or `w` to a
user or to an organization (all its members). The caller's level is the highest that any of
its principals (itself and its organizations) holds.

The 404-versus-403 rule: a project the caller cannot read does not exist for it (`404`,
exactly as for a project that does not exist, so its existence does not leak); a project it
can read but not change answers `403` naming the `required` level.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from anaconda_storage_server.accounts import Owner, find_owner
from anaconda_storage_server.errors import forbidden, not_found
from anaconda_storage_server.history import format_instant
from anaconda_storage_server.names import check_owner_name, check_project_name

RANK = {"read": 1, "write": 2, "owner": 3}
GRANT_LEVELS = {"r": "read", "w": "write"}

# `?1` is the caller's id: the caller and its organizations.
PRINCIPALS = "SELECT ?1 UNION SELECT org_id FROM members WHERE user_id = ?1"
# The caller's level on project `p` ('owner', 'w', 'r' or NULL): 'w' > 'r' as text.
LEVEL = f"""CASE WHEN p.owner_id IN ({PRINCIPALS}) THEN 'owner' ELSE (
    SELECT max(g.level) FROM grants g
    WHERE g.project_id = p.id AND g.principal_id IN ({PRINCIPALS})) END"""
# Projects with their owner and the caller's level; `?1` is the caller's id.
PROJECT_SELECT = f"""SELECT p.*, o.name AS owner_name, o.kind AS owner_kind, {LEVEL} AS level
FROM projects p JOIN owners o ON o.id = p.owner_id"""


@dataclass(frozen=True)
class Project:
    """A project as a caller sees it: its attributes and the caller's access level."""

    id: str
    owner: Owner
    name: str
    title: str
    description: str
    tags: list[str]
    hidden: bool
    created_us: int
    updated_us: int
    access: str  # read, write or owner

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Project:
        level = row["level"]
        return cls(
            id=row["id"],
            owner=Owner(row["owner_id"], row["owner_name"], row["owner_kind"]),
            name=row["name"],
            title=row["title"],
            description=row["description"],
            tags=json.loads(row["tags"]),
            hidden=bool(row["hidden"]),
            created_us=row["created_us"],
            updated_us=row["updated_us"],
            access=GRANT_LEVELS.get(level, level),
        )

    def can(self, level: str) -> bool:
        return RANK[self.access] >= RANK[level]

    def to_json(self, connection: sqlite3.Connection) -> dict[str, Any]:
        """The `Project` object of docs/api.md (its size and file count are computed)."""
        size, count = connection.execute(
            """SELECT coalesce(sum(r.size), 0),
                coalesce(sum(live.path != '.keep' AND substr(live.path, -6) != '/.keep'), 0)
            FROM live JOIN revisions r ON r.seq = live.seq WHERE live.project_id = ?""",
            (self.id,),
        ).fetchone()
        return {
            "id": self.id,
            "owner": self.owner.to_json(),
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "hidden": self.hidden,
            "created_at": format_instant(self.created_us),
            "updated_at": format_instant(self.updated_us),
            "size": size,
            "file_count": count,
            "access": self.access,
        }


def owner_of_route(connection: sqlite3.Connection, name: str) -> Owner:
    """The owner named (or identified) in a route, or `404 missing=owner`."""
    check_owner_name(name)
    owner = find_owner(connection, name)
    if owner is None:
        raise not_found("owner", f"no user or organization {name!r}")
    return owner


def open_project(
    connection: sqlite3.Connection, user: Owner, owner_name: str, name: str, needed: str
) -> Project:
    """The project `owner_name/name`, if `user` has the `needed` level on it.

    Raises:
        ApiError: 404 for an unknown owner, or a project that does not exist or that the
            user cannot read; 403 `required=needed` when it can read but not more.
    """
    owner = owner_of_route(connection, owner_name)
    check_project_name(name)
    row = connection.execute(
        f"{PROJECT_SELECT} WHERE p.owner_id = ?2 AND p.name = ?3", (user.id, owner.id, name)
    ).fetchone()
    if row is None or row["level"] is None:
        raise not_found("project", f"project {owner.name}/{name} not found")
    project = Project.from_row(row)
    if not project.can(needed):
        raise forbidden(
            needed, f"{needed} access to {owner.name}/{name} is needed (you have {project.access})"
        )
    return project


def readable_projects(
    connection: sqlite3.Connection,
    user: Owner,
    owner: Owner,
    *,
    after: str,
    include_hidden: bool,
    limit: int,
) -> list[Project]:
    """The projects of `owner` that `user` can read, by name, after `after`."""
    rows = connection.execute(
        f"""SELECT * FROM ({PROJECT_SELECT} WHERE p.owner_id = ?2 AND p.name > ?3
            AND (?4 OR p.hidden = 0))
        WHERE level IS NOT NULL ORDER BY name LIMIT ?5""",
        (user.id, owner.id, after, include_hidden, limit),
    ).fetchall()
    return [Project.from_row(row) for row in rows]


def is_member_or_self(connection: sqlite3.Connection, user: Owner, owner: Owner) -> bool:
    """Whether `owner` is the user itself or one of its organizations."""
    if owner.id == user.id:
        return True
    row = connection.execute(
        "SELECT 1 FROM members WHERE org_id = ? AND user_id = ?", (owner.id, user.id)
    ).fetchone()
    return row is not None
