"""From the `str | StorageURI` a caller passes to what an operation needs, with the checks
the client makes before sending anything (a project is named, history is read-only)."""

from __future__ import annotations

from typing import NamedTuple

from .errors import ReadOnlyError
from .uri import InvalidURI, StorageURI, parse_uri

__all__ = [
    "FileLocation",
    "Location",
    "file_location",
    "other_state",
    "owner_name",
    "project_location",
    "writable",
]

Location = str | StorageURI
"""A URI as a caller may give it: `"alice/sales/q1.csv#-1"`, `"anaconda://..."` or parsed."""


class FileLocation(NamedTuple):
    """A path in a project, with the history reference it is read at (if any)."""

    owner: str
    project: str
    path: str
    revision: str | None
    checkpoint: str | None


def project_location(uri: Location) -> StorageURI:
    """The URI, which must name a project (and may name a path in it).

    Raises:
        InvalidURI: The URI is malformed, or names the root or an owner only.
    """
    parsed = parse_uri(uri)
    if parsed.project is None:
        raise InvalidURI(parsed.format(), "names no project: write owner/project")
    return parsed


def file_location(uri: Location) -> FileLocation:
    """The URI, which must name a path in a project.

    Raises:
        InvalidURI: The URI is malformed or names no path.
    """
    parsed = project_location(uri)
    if not parsed.path:
        raise InvalidURI(parsed.format(), "names no path in the project: write owner/project/path")
    assert parsed.owner is not None
    assert parsed.project is not None
    return FileLocation(
        parsed.owner, parsed.project, parsed.path, parsed.revision, parsed.checkpoint
    )


def writable(uri: Location, action: str) -> StorageURI:
    """The URI, which must not be addressed at a checkpoint or a revision.

    Args:
        uri: Where the write goes.
        action: What the write is, for the message (`upload to`, `delete`).

    Raises:
        ReadOnlyError: The URI names a checkpoint or a revision: history is read-only.
        InvalidURI: The URI is malformed or names no project.
    """
    parsed = project_location(uri)
    if parsed.checkpoint is not None or parsed.revision is not None:
        at = (
            f"checkpoint {parsed.checkpoint}"
            if parsed.checkpoint
            else f"revision {parsed.revision}"
        )
        raise ReadOnlyError(
            f"cannot {action} {parsed.format()}: it is addressed at {at}, and history is"
            " read-only (write to the current state: drop the '#...')"
        )
    return parsed


def other_state(first: StorageURI, second: Location | None) -> str | None:
    """The checkpoint reference of a second state of `first`'s project and path (a diff's
    end): None for the current state.

    Args:
        first: The first state, a project or directory at a checkpoint.
        second: None (now); a bare reference (`-2`, `#-2`, a time point, a UUID); or a URI
            (it holds a `/`) of the same project and path, at a checkpoint or not.

    Raises:
        InvalidURI: `second` names another project or path, or a revision.
    """
    if second is None:
        return None
    if isinstance(second, str) and "/" not in second:
        reference = second.removeprefix("#")
        parse_uri(f"{first.owner}/{first.project}#{reference}")  # checks the grammar
        return reference
    parsed = project_location(second)
    if parsed.revision is not None:
        raise InvalidURI(parsed.format(), "names a revision: compare checkpoints")
    if (parsed.owner, parsed.project, parsed.path) != (first.owner, first.project, first.path):
        raise InvalidURI(parsed.format(), f"is not the same project and path as {first.format()}")
    return parsed.checkpoint


def owner_name(uri: Location) -> str:
    """The owner a URI names (`alice`, `anaconda://alice`), or its owner's (`alice/sales`).

    Raises:
        InvalidURI: The URI is malformed or names the root.
    """
    parsed = parse_uri(uri)
    if parsed.owner is None:
        raise InvalidURI(parsed.format(), "names no owner")
    return parsed.owner
