"""Users, organizations and API keys.

Users and organizations share one namespace of owner names
(`[A-Za-z0-9][A-Za-z0-9._-]{0,119}`, docs/api.md "Names and paths") and are addressed by
name or UUID.

An API key is `secrets.token_urlsafe(32)`: 256 random bits. Only its sha256 is stored. A slow
key-derivation function (bcrypt, scrypt, argon2) exists to make guessing *low-entropy*
secrets such as passwords expensive; guessing a 256-bit random token is infeasible at any
speed, so a plain sha256 gives the same protection against a stolen database and lets every
request find its user with one indexed lookup instead of a deliberately slow computation.

This module is imported by the `users add` command, so it stays free of Starlette, uvicorn,
anyio and httpx: the command must start fast (the test fixtures run it once per test). Core's
URI grammar, where the owner-name rule lives, imports none of them.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from anaconda_storage_core.uri import OWNER_NAME
from anaconda_storage_server.database import Database, Transaction


class AccountError(ValueError):
    """A user or organization could not be created (bad or taken name, unknown member)."""


@dataclass(frozen=True)
class Owner:
    """A user or an organization."""

    id: str
    name: str
    kind: str  # "user" or "org"

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "kind": self.kind}

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Owner:
        return cls(id=row["id"], name=row["name"], kind=row["kind"])


def hash_key(api_key: str) -> str:
    """The stored form of an API key (see the module docstring for why sha256 suffices)."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogateescape")).hexdigest()


def _new_owner(transaction: Transaction, name: str, kind: str) -> Owner:
    problem = OWNER_NAME.problem(name)
    if problem:
        raise AccountError(f"invalid name {name!r}: {problem.reason}")
    if transaction.execute("SELECT 1 FROM owners WHERE name = ?", (name,)).fetchone():
        raise AccountError(f"the name {name!r} is taken")
    owner = Owner(id=str(uuid.uuid4()), name=name, kind=kind)
    transaction.execute(
        "INSERT INTO owners (id, name, kind, created_us) VALUES (?, ?, ?, ?)",
        (owner.id, owner.name, owner.kind, transaction.now_us),
    )
    return owner


def create_user(database: Database, name: str) -> tuple[Owner, str]:
    """Create a user and its API key.

    Returns:
        The user and its API key, which is not stored and cannot be shown again.

    Raises:
        AccountError: The name is invalid or taken.
    """
    api_key = secrets.token_urlsafe(32)
    with database.write() as transaction:
        user = _new_owner(transaction, name, "user")
        transaction.execute(
            "INSERT INTO api_keys (key_hash, user_id, created_us) VALUES (?, ?, ?)",
            (hash_key(api_key), user.id, transaction.now_us),
        )
    return user, api_key


def create_org(database: Database, name: str, members: Sequence[str]) -> Owner:
    """Create an organization with the given member users (names or UUIDs).

    Raises:
        AccountError: The name is invalid or taken, or a member is not a known user.
    """
    with database.write() as transaction:
        users = []
        for member in members:
            user = find_owner(transaction.connection, member)
            if user is None or user.kind != "user":
                raise AccountError(f"no user {member!r}")
            users.append(user)
        org = _new_owner(transaction, name, "org")
        for user in users:
            transaction.execute(
                "INSERT OR IGNORE INTO members (org_id, user_id) VALUES (?, ?)", (org.id, user.id)
            )
    return org


def authenticate(connection: sqlite3.Connection, api_key: str) -> Owner | None:
    """The user an API key belongs to, or None."""
    row = connection.execute(
        "SELECT owners.* FROM api_keys JOIN owners ON owners.id = api_keys.user_id"
        " WHERE api_keys.key_hash = ?",
        (hash_key(api_key),),
    ).fetchone()
    return Owner.from_row(row) if row else None


def find_owner(connection: sqlite3.Connection, name_or_id: str) -> Owner | None:
    """The user or organization with this UUID or name, or None."""
    row = connection.execute(
        "SELECT * FROM owners WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1",
        (name_or_id, name_or_id, name_or_id),
    ).fetchone()
    return Owner.from_row(row) if row else None


def organizations_of(connection: sqlite3.Connection, user_id: str) -> list[Owner]:
    """The organizations a user is a member of, sorted by name."""
    rows = connection.execute(
        "SELECT owners.* FROM members JOIN owners ON owners.id = members.org_id"
        " WHERE members.user_id = ? ORDER BY owners.name",
        (user_id,),
    ).fetchall()
    return [Owner.from_row(row) for row in rows]


def is_member(connection: sqlite3.Connection, org_id: str, user_id: str) -> bool:
    """Whether a user is a member of an organization."""
    row = connection.execute(
        "SELECT 1 FROM members WHERE org_id = ? AND user_id = ?", (org_id, user_id)
    ).fetchone()
    return row is not None
