"""What the commands ask about remote paths: the client, what a URI names, what lies below it.

Every call goes through the core client (``anaconda_storage_core.StorageClient``); this
module only puts its answers in the terms of the rsync planner (``targets``). The client
is imported when a command first needs it, never when the ``anaconda`` CLI starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.targets import Kind

if TYPE_CHECKING:
    from anaconda_storage_core import (
        DirectoryInfo,
        FileInfo,
        ProjectInfo,
        StorageClient,
        StorageURI,
    )

__all__ = [
    "KEEP",
    "Listing",
    "Remote",
    "below",
    "connect",
    "describe_remote",
    "listing",
    "missing_project_hint",
    "parse",
    "project_hint",
]

KEEP = ".keep"
"""The marker file that keeps an empty directory (DESIGN.md: listings hide it)."""


def connect() -> StorageClient:
    """A client configured as the core resolves it: ``ANACONDA_CLOUD_API_KEY``,
    ``ANACONDA_CLOUD_API_DOMAIN`` (or ``ANACONDA_CLOUD_DOMAIN``), then ``anaconda login``."""
    from anaconda_storage_core import StorageClient

    return StorageClient()


def parse(text: str) -> StorageURI:
    """A command-line argument as a URI (``anaconda://`` optional).

    Raises:
        InvalidURI: It breaks the grammar; the message says where.
    """
    from anaconda_storage_core.uri import parse_uri

    return parse_uri(text)


def project_hint(uri: StorageURI) -> str:
    """The command that creates the project a URI is in."""
    return f"anaconda storage mkdir {uri.owner}/{uri.project}"


def missing_project_hint(client: StorageClient, uri: StorageURI) -> str:
    """What to add to "project not found": how to create it when it would be the caller's
    (theirs or an organization's they belong to); otherwise that it may exist unshared,
    since the server answers 404 for a project the caller cannot see, and suggesting
    ``mkdir bob/shared`` to someone who cannot write there only sends them astray."""
    from anaconda_storage_core import StorageError

    try:
        mine = {owner.name for owner in client.list_owners()}
    except StorageError:
        mine = set()
    if uri.owner in mine:
        return f"create it with `{project_hint(uri)}`"
    return f"if it exists, {uri.owner} has not shared it with you: ask them for access"


@dataclass(frozen=True)
class Remote:
    """A remote path and what it is.

    Attributes:
        uri: The parsed URI.
        kind: Missing, a file or a directory (a project is a directory).
        entry: The file's or directory's metadata, the project's for a project, or None.
    """

    uri: StorageURI
    kind: Kind
    entry: FileInfo | DirectoryInfo | ProjectInfo | None = None


def describe_remote(client: StorageClient, uri: StorageURI) -> Remote:
    """Find out what ``uri`` names: a file, a directory, a project, or nothing yet.

    Raises:
        UsageProblem: The URI names the root or an owner, not something in a project.
        NotFound: The project does not exist (a missing path is ``Kind.MISSING``).
    """
    from anaconda_storage_core import DirectoryInfo, NotFound

    if uri.project is None:
        what = "an owner" if uri.owner else "nothing"
        raise UsageProblem(f"{uri} names {what}: give owner/project[/path]")
    if not uri.path:
        return Remote(uri, Kind.DIRECTORY, client.get_project(uri))
    try:
        entry = client.info(uri)
    except NotFound as exc:
        if exc.missing not in (None, "path"):
            raise
        if uri.revision is None and uri.checkpoint is None:
            # Distinguish "no such path" from "no such project" for the caller's message.
            client.get_project(uri.project_uri)
        return Remote(uri, Kind.MISSING)
    kind = Kind.DIRECTORY if isinstance(entry, DirectoryInfo) else Kind.FILE
    return Remote(uri, kind, entry)


@dataclass(frozen=True)
class Listing:
    """What lies below a remote directory, relative to it.

    Attributes:
        files: Every file, without the ``.keep`` markers.
        directories: The directories that hold a marker (``""`` for the listed one).
        sizes: Each file's size.
    """

    files: tuple[str, ...]
    directories: tuple[str, ...]
    sizes: dict[str, int]


def listing(client: StorageClient, uri: StorageURI) -> Listing:
    """Every file below a remote directory (or project), maybe at a checkpoint.

    Raises:
        StorageError: The server listed a path that is not below ``uri`` (``../x/.keep``,
            ``a/../../b``): a broken or hostile server, whose listing is refused whole,
            files and directory markers alike, before anything is transferred.
    """
    from anaconda_storage_core import FileInfo

    base = f"{uri.path}/" if uri.path else ""
    files: list[str] = []
    directories: list[str] = []
    sizes: dict[str, int] = {}
    # The largest page the API serves: ten requests for 10,000 files, not a hundred.
    for entry in client.list_tree(uri, include_markers=True, page_size=1000):
        if not isinstance(entry, FileInfo):
            continue
        relative = _below(uri, base, entry.path)
        parent, _, name = relative.rpartition("/")
        if name == KEEP:
            directories.append(parent)
        else:
            files.append(relative)
            sizes[relative] = entry.size
    return Listing(tuple(files), tuple(directories), sizes)


def _below(uri: StorageURI, base: str, path: str) -> str:
    """``path`` relative to the listed directory ``base``, refused unless it stays below it.

    Each name must be one local name too: not ``.`` or ``..``, and nothing the local system
    reads as a separator or a drive (``a\\..\\b`` or ``C:x`` on Windows), since the
    relative paths become local paths under a download's target.
    """
    from anaconda_storage_core import StorageError

    relative = path[len(base) :] if path.startswith(base) else None
    names = relative.split("/") if relative else [""]
    if relative is None or any(
        name in ("", ".", "..") or PurePath(name).name != name for name in names
    ):
        raise StorageError(
            f"refused the listing of {uri}: the server listed {path!r}, which is outside"
            f" {uri} (nothing was transferred)"
        )
    return relative


def below(uri: StorageURI, relative: str) -> StorageURI:
    """``uri`` joined with a relative path; ``uri`` itself for ``""``."""
    return uri.join(relative) if relative else uri
