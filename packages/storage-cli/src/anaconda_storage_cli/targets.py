"""Where each file of a cp, mv, upload or download goes: the rsync rule, as pure functions.

The rule (the seed's "Directories and trailing /", DESIGN.md "Semantics to keep exactly"),
for a source SRC and a destination DST::

    SRC/ (a directory, with the slash)   its contents go into DST:         DST/<rel>
    SRC  (a directory, no slash)         the directory itself goes in DST:  DST/SRC/<rel>
    SRC  (a file)                        into DST if DST is a directory (or is written DST/,
                                         or there are several sources):     DST/SRC
                                         else onto DST itself (a rename):   DST

DST is created when missing, like rsync does (``upload ./data o/p/in`` gives
``o/p/in/data/...``). This differs from fsspec's copy semantics when DST does not exist,
which is why the CLI computes its targets itself instead of asking the driver.

Everything here works on relative paths (``/``-joined names): a plan says which relative
path of the source goes to which relative path of the destination, and the caller joins
them to a local directory or a remote URI. No I/O, so every case is tested directly.

Two readers of the user's arguments sit beside the planners, shared by every command that
plans (cp, mv, upload, download, sync): :func:`local_contents` (does a local ``SRC`` mean its
contents?) and :func:`remote_destination` (what a remote DST is now, the one that asks the
server).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from anaconda_storage_cli.errors import UsageProblem

if TYPE_CHECKING:
    from anaconda_storage_core import StorageClient, StorageURI

__all__ = [
    "Destination",
    "FileTarget",
    "Kind",
    "Plan",
    "PlanError",
    "Source",
    "check_destination",
    "join",
    "local_contents",
    "plan",
    "remote_destination",
]


class Kind(Enum):
    """What a path is: nothing yet, a file or a directory."""

    MISSING = "missing"
    FILE = "file"
    DIRECTORY = "directory"


class PlanError(UsageProblem):
    """The sources and destination admit no plan (a directory onto a file, ...)."""


@dataclass(frozen=True)
class Source:
    """One source of a transfer, as listed before planning.

    Attributes:
        text: The source as the user wrote it (for messages).
        name: Its last name: what ``SRC`` without a slash becomes inside DST.
        kind: A file or a directory (a missing source is an error before planning).
        contents: Whether it was written with a trailing ``/`` (its contents, not itself).
        files: For a directory, the relative paths of every file below it.
        directories: For a directory, the relative paths of the empty directories below it,
            which the transfer keeps (``""`` when the directory itself is empty).
    """

    text: str
    name: str
    kind: Kind
    contents: bool = False
    files: tuple[str, ...] = ()
    directories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination:
    """The destination of a transfer.

    Attributes:
        text: As the user wrote it (for messages).
        kind: Whether it exists, as a file or a directory.
        slash: Whether it was written with a trailing ``/`` (it must be a directory).
    """

    text: str
    kind: Kind
    slash: bool = False


@dataclass(frozen=True)
class FileTarget:
    """One file to transfer.

    Attributes:
        source: Relative to the source (``""``: the source itself, a file).
        destination: Relative to the destination (``""``: the destination itself).
    """

    source: str
    destination: str


@dataclass(frozen=True)
class Plan:
    """Where one source goes.

    Attributes:
        root: Where the source itself lands, relative to the destination: ``""`` (its
            contents, or a file onto DST) or its name. A server-side recursive copy of the
            source goes exactly there.
        files: Every file, source to destination.
        directories: Empty directories to create, relative to the destination.
    """

    root: str
    files: tuple[FileTarget, ...]
    directories: tuple[str, ...] = ()


def join(*parts: str) -> str:
    """Join relative paths with ``/``, skipping empty ones: ``join("a", "", "b/c")`` is
    ``a/b/c`` and ``join("", "")`` is ``""``."""
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def _into_directory(destination: Destination, many: bool) -> bool:
    """Whether a file source goes inside the destination rather than onto it."""
    return destination.kind is Kind.DIRECTORY or destination.slash or many


def check_destination(destination: Destination, sources: int) -> None:
    """Check the destination for ``sources`` sources, before anything is listed.

    Raises:
        PlanError: Several sources and a file destination, or ``DST/`` naming a file.
    """
    if destination.kind is Kind.FILE and destination.slash:
        raise PlanError(f"{destination.text} is a file, not a directory")
    if sources > 1 and destination.kind is Kind.FILE:
        raise PlanError(
            f"{destination.text} is a file: several sources need a directory destination"
        )


def plan(source: Source, destination: Destination, *, many: bool = False) -> Plan:
    """Where the files of ``source`` go in ``destination``, by the rsync rule.

    Args:
        source: The source and its listing.
        destination: The destination and whether it exists.
        many: Whether this is one of several sources (DST is then a directory).

    Returns:
        The plan: each file's target, and the empty directories to create.

    Raises:
        PlanError: A file written ``SRC/``, or a directory onto a file.
    """
    check_destination(destination, 2 if many else 1)
    if source.kind is Kind.FILE:
        if source.contents:
            raise PlanError(f"{source.text} is a file, not a directory: drop the trailing /")
        root = source.name if _into_directory(destination, many) else ""
        return Plan(root=root, files=(FileTarget("", root),))
    if source.kind is not Kind.DIRECTORY:
        raise PlanError(f"{source.text} does not exist")
    if destination.kind is Kind.FILE:
        raise PlanError(f"cannot put directory {source.text} onto file {destination.text}")
    root = "" if source.contents else source.name
    files = tuple(FileTarget(rel, join(root, rel)) for rel in sorted(source.files))
    directories = [join(root, rel) for rel in sorted(set(source.directories))]
    if not files and not directories and (root or destination.kind is Kind.MISSING):
        # An empty directory still arrives, as rsync makes it (and DST when missing).
        directories = [root]
    return Plan(root=root, files=files, directories=tuple(_outermost_first(directories)))


def _outermost_first(directories: Iterable[str]) -> list[str]:
    return sorted(set(directories), key=lambda path: (path.count("/"), path))


# -- reading the arguments -------------------------------------------------------------
# `local` and `remote` import `Kind` from here, so they are imported where they are used.


def local_contents(text: str) -> bool:
    """Whether a local source means its contents: ``dir/``, or ``.`` / ``..`` (as rsync).

    Args:
        text: The source as the user wrote it.

    Returns:
        True when the source's contents go into the destination, not the source itself.
    """
    from anaconda_storage_cli.local import has_trailing_separator

    return has_trailing_separator(text) or Path(text).name in ("", ".", "..")


def remote_destination(client: StorageClient, uri: StorageURI, text: str) -> Destination:
    """A remote destination for :func:`plan`: what it is now, and whether it was written
    with a trailing slash.

    Args:
        client: The client to ask the server with.
        uri: The destination, parsed.
        text: The destination as the user wrote it.

    Returns:
        The destination, missing, a file or a directory.

    Raises:
        NotFound: The project does not exist (the message says how to create it).
        UsageProblem: The URI names an owner or nothing, not a place in a project.
    """
    from anaconda_storage_cli import remote
    from anaconda_storage_core import NotFound, has_trailing_slash

    try:
        found = remote.describe_remote(client, uri)
    except NotFound as exc:
        if exc.missing == "project":
            hint = remote.missing_project_hint(client, uri)
            raise NotFound(f"{exc} ({hint})", missing="project") from None
        raise
    return Destination(text, found.kind, has_trailing_slash(text))
