"""chmod permission strings: grant or revoke access to a project, or transfer it.

The grammar, in RFC 5234 ABNF, from the seed's chmod section. Each rule's regex sits under
the rule in the code below::

    permission     = principal-type "/" principal sign level
    principal-type = "u" / "o"        ; u: a user, o: an organization
    principal      = owner            ; a name or a UUID: the URI grammar's owner rule
    sign           = "+" / "-"        ; + grants, - revokes
    level          = "r" / "w" / "o"  ; read, write, ownership

Seed examples: ``u/49aa1e19-0527-4bc0-b8bd-31c6ea82710a+r`` grants a user read access;
``o/d8c4f686-aff9-45f4-b6ec-8ed3976bca27-w`` and ``o/collective-w`` revoke an
organization's write access.

A permission is read from the right: the last character is the level and the one before it
the sign. Names and UUIDs may themselves contain ``-``, so in ``o/collective-w`` only this
rule says where the name ends: the sign is the last ``+`` or ``-`` before the final level
letter, and everything between the ``/`` and the sign is the principal (``u/bob--r``
revokes read access from ``bob-``).

Rules on top of the grammar (DESIGN.md, "Semantics to keep exactly"):

- ``o`` transfers ownership, and only to an organization (the seed: "A project can only be
  transferred to being owned by an organization and only if you are a member"), so
  ``u/<name>+o`` is invalid.
- ``-o`` is invalid: ownership cannot be revoked, only transferred to an organization.
- ``w`` implies ``r``, and ownership implies both (:func:`implied_levels`).

Canonical form (``str()``): exactly the grammar, e.g. ``u/alice+r``; the principal is kept as
written (the server resolves names and UUIDs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final, Literal, TypeAlias, cast

from anaconda_storage_core.uri import OWNER_NAME

__all__ = [
    "LEVELS",
    "InvalidPermission",
    "Level",
    "PermissionChange",
    "PrincipalType",
    "implied_levels",
    "parse_permission",
    "parse_permissions",
]

PrincipalType: TypeAlias = Literal["user", "org"]
Level: TypeAlias = Literal["r", "w", "o"]

_EXPECTED: Final = "expected <u|o>/<name-or-uuid><+|-><r|w|o>, e.g. 'u/alice+r'"

# principal-type = "u" / "o"
_PRINCIPAL_TYPE = r"(?P<type>[uo])"
_PRINCIPAL_TYPES: Final[dict[str, PrincipalType]] = {"u": "user", "o": "org"}
# principal = owner
_PRINCIPAL_NAME: Final = replace(OWNER_NAME, kind="principal")
_PRINCIPAL = rf"(?P<principal>{_PRINCIPAL_NAME.pattern.pattern})"
# sign = "+" / "-"
_SIGN = r"(?P<sign>[+-])"
# level = "r" / "w" / "o"
LEVELS: Final[tuple[Level, ...]] = ("r", "w", "o")
_LEVEL = r"(?P<level>[rwo])"
# permission = principal-type "/" principal sign level
#   The principal's last character cannot be the sign, so backtracking gives the rule
#   above: the sign is the second-to-last character.
_PERMISSION = re.compile(rf"{_PRINCIPAL_TYPE}/{_PRINCIPAL}{_SIGN}{_LEVEL}")

_IMPLIED: Final[dict[str, frozenset[Level]]] = {
    "r": frozenset({"r"}),
    "w": frozenset({"r", "w"}),
    "o": frozenset({"r", "w", "o"}),
}


class InvalidPermission(ValueError):
    """A chmod permission string, or a list of them, is invalid.

    Attributes:
        text: The offending permission string.
        reason: What is wrong, in words.
        position: Index in ``text`` of the offending character, or None.
    """

    def __init__(self, text: str, reason: str, position: int | None = None) -> None:
        self.text = text
        self.reason = reason
        self.position = position
        message = f"invalid permission {text!r}: {reason}"
        if position is not None:
            message += f", at position {position}"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[InvalidPermission], tuple[str, str, int | None]]:
        return (type(self), (self.text, self.reason, self.position))


@dataclass(frozen=True)
class PermissionChange:
    """One chmod change: grant or revoke a level for a user or organization.

    Attributes:
        principal_type: ``"user"`` (``u/``) or ``"org"`` (``o/``).
        principal: The user's or organization's name or UUID, as written.
        grant: True to grant (``+``), False to revoke (``-``).
        level: ``"r"`` read, ``"w"`` write (implies read), ``"o"`` ownership (a transfer).

    Raises:
        InvalidPermission: The fields break a rule (``str()`` would not parse back).
    """

    principal_type: PrincipalType
    principal: str
    grant: bool
    level: Level

    def __post_init__(self) -> None:
        text = _format(self.principal_type, self.principal, self.grant, self.level)
        if self.principal_type not in _PRINCIPAL_TYPES.values():
            raise InvalidPermission(text, "principal_type is 'user' or 'org'")
        if self.level not in LEVELS:
            raise InvalidPermission(text, "level is 'r', 'w' or 'o'")
        problem = _PRINCIPAL_NAME.problem(self.principal)
        if problem:
            raise InvalidPermission(text, problem.reason, 2 + problem.offset)
        _check_rules(text, self.principal_type, self.grant, self.level)

    def __str__(self) -> str:
        return _format(self.principal_type, self.principal, self.grant, self.level)

    @property
    def transfers_ownership(self) -> bool:
        """Whether this change makes the organization the project's owner."""
        return self.level == "o"


def _format(principal_type: str, principal: str, grant: bool, level: str) -> str:
    prefix = "u" if principal_type == "user" else "o"
    return f"{prefix}/{principal}{'+' if grant else '-'}{level}"


def _check_rules(text: str, principal_type: str, grant: bool, level: str) -> None:
    if level == "o" and not grant:
        raise InvalidPermission(
            text,
            "ownership cannot be revoked, only transferred: grant it to an organization"
            " with o/<name>+o",
            len(text) - 2,
        )
    if level == "o" and principal_type == "user":
        raise InvalidPermission(
            text,
            "ownership is transferred only to an organization (o/<name>+o), not to a user",
            0,
        )


def _diagnose(text: str) -> InvalidPermission:
    """Say why ``text`` does not match the grammar: the first rule it breaks, left to right."""
    kind, slash, rest = text.partition("/")
    if not slash:
        return InvalidPermission(text, f"no '/' after u or o; {_EXPECTED}")
    if kind not in _PRINCIPAL_TYPES:
        return InvalidPermission(
            text, f"{kind!r} is not u (a user) or o (an organization); {_EXPECTED}", 0
        )
    if not rest:
        return InvalidPermission(text, f"no name after '/'; {_EXPECTED}", len(text))
    if rest[-1] in "+-":
        return InvalidPermission(text, f"no level after the sign; {_EXPECTED}", len(text))
    if len(rest) < 2 or rest[-2] not in "+-":
        if rest[-1] in LEVELS:
            reason = "no + (grant) or - (revoke) before the level"
            return InvalidPermission(text, f"{reason}; {_EXPECTED}", len(text) - 1)
        return InvalidPermission(text, f"no sign and level at the end; {_EXPECTED}", len(text))
    if rest[-1] not in LEVELS:
        return InvalidPermission(
            text, f"level {rest[-1]!r} is not r (read), w (write) or o (ownership)", len(text) - 1
        )
    problem = _PRINCIPAL_NAME.problem(rest[:-2])
    if problem is None:  # unreachable while the regex and the rule agree
        return InvalidPermission(text, _EXPECTED)
    reason = f"{problem.reason} (a user or organization name, or a UUID)"
    return InvalidPermission(text, reason, 2 + problem.offset)


def parse_permission(text: str | PermissionChange) -> PermissionChange:
    """Parse one chmod permission string.

    Args:
        text: E.g. ``u/alice+r``, ``o/collective-w``, ``o/my-org+o``. A PermissionChange is
            returned as it is.

    Returns:
        The change.

    Raises:
        InvalidPermission: The text breaks the grammar or a rule. Nothing else is raised
            for any str.
        TypeError: ``text`` is neither a str nor a PermissionChange.
    """
    if isinstance(text, PermissionChange):
        return text
    if not isinstance(text, str):
        raise TypeError(f"a permission is a str, not {type(text).__name__}")
    match = _PERMISSION.fullmatch(text)
    if match is None:
        raise _diagnose(text)
    # The rules on top of the grammar (no "-o", "o" only for an organization) are the
    # value type's: its message quotes the same text, as the canonical form is the input.
    return PermissionChange(
        principal_type=_PRINCIPAL_TYPES[match["type"]],
        principal=match["principal"],
        grant=match["sign"] == "+",
        level=cast(Level, match["level"]),
    )


def parse_permissions(texts: Iterable[str | PermissionChange]) -> list[PermissionChange]:
    """Parse a chmod list of permission strings, in order, dropping exact repeats.

    A list is one request, applied together, so it may not contradict itself: granting and
    revoking the same level for the same principal is an error, and so is transferring the
    ownership to two organizations.

    Args:
        texts: Permission strings (or PermissionChange values). Not a single str.

    Returns:
        The changes, in the order given, each once.

    Raises:
        InvalidPermission: A string is invalid, or the list contradicts itself.
        TypeError: ``texts`` is a single str (pass ``[text]``).
    """
    if isinstance(texts, str):
        raise TypeError("pass a list of permission strings, not a single str")
    changes: list[PermissionChange] = []
    for text in texts:
        change = parse_permission(text)
        if change in changes:
            continue
        for earlier in changes:
            same = (earlier.principal_type, earlier.principal, earlier.level) == (
                change.principal_type,
                change.principal,
                change.level,
            )
            if same:
                raise InvalidPermission(str(change), f"contradicts {str(earlier)!r} in the list")
            if change.transfers_ownership and earlier.transfers_ownership:
                raise InvalidPermission(
                    str(change), f"ownership is already transferred by {str(earlier)!r}"
                )
        changes.append(change)
    return changes


def implied_levels(level: Level) -> frozenset[Level]:
    """The levels a grant of ``level`` gives: write implies read, ownership implies both.

    Args:
        level: ``"r"``, ``"w"`` or ``"o"``.

    Returns:
        ``{"r"}`` for r, ``{"r", "w"}`` for w, ``{"r", "w", "o"}`` for o.

    Raises:
        ValueError: ``level`` is not a level.
    """
    try:
        return _IMPLIED[level]
    except KeyError:
        raise ValueError(f"{level!r} is not a level: r, w or o") from None
