"""chattr rules: the attributes a project or a file may have changed, and their limits.

From the seed's chattr section, with DESIGN.md's additions:

==============  ===========  ==============================================================
attribute       on           rule
==============  ===========  ==============================================================
name            project      the URI's project rule: ``[a-z0-9-_]{1,120}``
title           project      a str of at most 120 Unicode characters
description     both         a str of at most 1024 Unicode characters
tags            project      a subset of ``data`` and ``notebook``
hidden          project      a bool (not ``"yes"``, not ``1``)
metadata        file         a dict of str keys to str values (a JSON object of strings)
==============  ===========  ==============================================================

A chattr changes at least one attribute. ``""`` clears a title or a description, ``[]`` the
tags and ``{}`` the metadata; None means "leave as it is". On a file, chattr creates a new
revision with the same content. Lengths count Unicode code points, as ``len()`` does.

The checks run on values from the CLI, from JSON and from Python alike, so each checks the
type at run time as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, TypedDict

from anaconda_storage_core.uri import PROJECT_NAME

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_NAME",
    "MAX_TITLE",
    "PROJECT_TAGS",
    "FileAttributes",
    "InvalidAttribute",
    "ProjectAttributes",
    "validate_file_attributes",
    "validate_project_attributes",
]

MAX_NAME: Final = PROJECT_NAME.max_length
MAX_TITLE: Final = 120
MAX_DESCRIPTION: Final = 1024
PROJECT_TAGS: Final = frozenset({"data", "notebook"})


class InvalidAttribute(ValueError):
    """A chattr attribute breaks its rule, or no attribute is given.

    Attributes:
        attribute: The attribute's name (``"title"``, ``"tags"``...), or None when the
            problem is the set of attributes (none given).
        reason: The rule broken, in words.
    """

    def __init__(self, attribute: str | None, reason: str) -> None:
        self.attribute = attribute
        self.reason = reason
        what = "attributes" if attribute is None else f"attribute {attribute!r}"
        super().__init__(f"invalid {what}: {reason}")

    def __reduce__(self) -> tuple[type[InvalidAttribute], tuple[str | None, str]]:
        return (type(self), (self.attribute, self.reason))


class ProjectAttributes(TypedDict, total=False):
    """The project attributes a chattr changes, validated and normalized."""

    name: str
    title: str
    description: str
    tags: list[str]
    hidden: bool


class FileAttributes(TypedDict, total=False):
    """The file attributes a chattr changes, validated and normalized."""

    description: str
    metadata: dict[str, str]


def _text(attribute: str, value: object, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidAttribute(attribute, f"must be a str, not {type(value).__name__}")
    if len(value) > max_length:
        raise InvalidAttribute(
            attribute, f"is at most {max_length} characters (this one has {len(value)})"
        )
    return value


def _name(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidAttribute("name", f"must be a str, not {type(value).__name__}")
    problem = PROJECT_NAME.problem(value)
    if problem:
        raise InvalidAttribute("name", f"{problem.reason} (at index {problem.offset})")
    return value


def _tags(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidAttribute("tags", f"must be a list of str, not {type(value).__name__}")
    tags = list(value)
    allowed = ", ".join(sorted(PROJECT_TAGS))
    for tag in tags:
        if not isinstance(tag, str) or tag not in PROJECT_TAGS:
            raise InvalidAttribute("tags", f"{tag!r} is not a tag; the tags are {allowed}")
    return sorted(set(tags))


def _hidden(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidAttribute("hidden", f"must be True or False, not {value!r}")
    return value


def _metadata(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidAttribute(
            "metadata",
            f"must be a dict of str to str, not {type(value).__name__}"
            " (the CLI's KEY=VALUE and JSON are parsed before this check)",
        )
    metadata: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidAttribute("metadata", f"keys are str, not {type(key).__name__}")
        if not isinstance(item, str):
            raise InvalidAttribute(
                "metadata",
                f"values are str (nothing nested): {key!r} holds a {type(item).__name__}",
            )
        metadata[key] = item
    return metadata


def validate_project_attributes(
    *,
    name: str | None = None,
    title: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    hidden: bool | None = None,
) -> ProjectAttributes:
    """Check the attributes of a project chattr.

    Args:
        name: A new project name: ``[a-z0-9-_]{1,120}``.
        title: A title of at most 120 characters (``""`` clears it).
        description: At most 1024 characters (``""`` clears it).
        tags: A subset of ``data`` and ``notebook`` (``[]`` clears them).
        hidden: Whether the project is hidden.

    Returns:
        Only the attributes given (not None), normalized: tags deduplicated and sorted.

    Raises:
        InvalidAttribute: An attribute breaks its rule, or none is given.
    """
    attributes: ProjectAttributes = {}
    if name is not None:
        attributes["name"] = _name(name)
    if title is not None:
        attributes["title"] = _text("title", title, MAX_TITLE)
    if description is not None:
        attributes["description"] = _text("description", description, MAX_DESCRIPTION)
    if tags is not None:
        attributes["tags"] = _tags(tags)
    if hidden is not None:
        attributes["hidden"] = _hidden(hidden)
    if not attributes:
        raise InvalidAttribute(
            None, "none given: change at least one of name, title, description, tags, hidden"
        )
    return attributes


def validate_file_attributes(
    *,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> FileAttributes:
    """Check the attributes of a file chattr (which creates a new revision).

    Args:
        description: At most 1024 characters (``""`` clears it).
        metadata: A mapping of str keys to str values (``{}`` clears it).

    Returns:
        Only the attributes given (not None); the metadata as a new dict.

    Raises:
        InvalidAttribute: An attribute breaks its rule, or none is given.
    """
    attributes: FileAttributes = {}
    if description is not None:
        attributes["description"] = _text("description", description, MAX_DESCRIPTION)
    if metadata is not None:
        attributes["metadata"] = _metadata(metadata)
    if not attributes:
        raise InvalidAttribute(None, "none given: change at least one of description, metadata")
    return attributes
