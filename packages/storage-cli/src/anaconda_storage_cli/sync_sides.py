"""The two sides of a ``sync``: what the user's SRC and DST name, and what each holds.

A side is a local directory or a remote one (``owner/project[/dir]``, a source maybe at a
checkpoint), or, when the source is one file, the file itself (a source maybe at a
revision). :func:`listing` and :func:`file_listing` give a side's entries in the terms of
core's planner (``anaconda_storage_core.sync.plan_sync``): a directory's files and empty
directories by relative path, a file's one entry under ``""``. A local side's digests come
from a :class:`~anaconda_storage_core.sync.HashCache`, added to the caller's list so that
the caller saves what was learned.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from anaconda_storage_cli import remote
from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.local import has_trailing_separator, local_kind
from anaconda_storage_cli.targets import (
    Destination,
    Kind,
    Source,
    local_contents,
    remote_destination,
)

if TYPE_CHECKING:
    from anaconda_storage_cli.output import Output
    from anaconda_storage_core import StorageClient, StorageURI
    from anaconda_storage_core.sync import HashCache, SyncEntry

__all__ = ["Digest", "Side", "file_listing", "is_remote", "listing", "source_side", "target_side"]

Digest = Callable[[str], "str | None"]
"""A side's digest function for the planner: a relative path's sha256, None if unknown."""


@dataclass(frozen=True)
class Side:
    """One side of a sync, as the user wrote it: a local directory or a remote one, or
    (with a file source) the file itself."""

    text: str
    uri: StorageURI | None = None
    path: Path | None = None

    def below(self, relative: str) -> str:
        """A path on this side, as shown to the user."""
        if self.uri is not None:
            return str(remote.below(self.uri, relative))
        assert self.path is not None
        return str(self.path.joinpath(*relative.split("/")) if relative else self.path)

    def into(self, root: str) -> Side:
        """The side one relative path further down (itself for ``""``)."""
        if self.uri is not None:
            return Side(self.text, uri=remote.below(self.uri, root))
        assert self.path is not None
        return Side(self.text, path=self.path.joinpath(*root.split("/")) if root else self.path)


def is_remote(text: str) -> bool:
    """Whether an argument names something remote.

    ``anaconda://...`` is remote; an absolute path, one starting with ``.``/``~``, or one
    that exists here is local; otherwise ``owner/project[/...]`` (it has a ``/``) is remote
    and a bare name is local (a directory to create, or a file).
    """
    if text.startswith("anaconda://"):
        return True
    if os.path.isabs(text) or text.startswith(("~", ".")) or os.path.lexists(text):
        return False
    return "/" in text.strip("/")


def source_side(client: StorageClient, text: str) -> tuple[Side, Source]:
    """The source side, and what it is for the planner.

    Args:
        client: Asks what a remote source is.
        text: SRC as the user wrote it.

    Returns:
        The side, and the planner's :class:`Source`: a file or a directory, its name (what
        ``SRC`` becomes in DST) and whether it means its contents (``SRC/``).

    Raises:
        FileNotFoundError: No such local file or directory.
        NotFound: No such remote file or directory (or project).
        UsageProblem: A directory at a revision (directories have checkpoints).
    """
    from anaconda_storage_core import NotFound, has_trailing_slash

    if not is_remote(text):
        path = Path(text).expanduser()
        kind = local_kind(path)
        if kind is Kind.MISSING:
            raise FileNotFoundError(2, "No such file or directory", text)
        # The same rule as upload: "data/", "." and ".." mean the contents.
        name = Path(os.path.abspath(path)).name
        return Side(text, path=path), Source(text, name, kind, local_contents(text))
    uri = remote.parse(text)
    found = remote.describe_remote(client, uri)
    if found.kind is Kind.MISSING:
        raise NotFound(f"{uri} not found: no such file or directory", missing="path")
    if found.kind is Kind.DIRECTORY and uri.revision is not None:
        raise UsageProblem(
            f"{uri}: a directory has no revision; read it at a checkpoint of the project"
            " (owner/project#<checkpoint>/dir)"
        )
    return Side(text, uri=uri), Source(text, uri.name, found.kind, has_trailing_slash(text))


def target_side(client: StorageClient, text: str) -> tuple[Side, Destination]:
    """The destination side, and what it is now for the planner.

    Args:
        client: Asks what a remote destination is.
        text: DST as the user wrote it.

    Returns:
        The side, and the planner's :class:`Destination` (missing, a file or a directory,
        and whether written with a trailing slash).

    Raises:
        NotFound: The destination's project does not exist.
        UsageProblem: A destination in history (read-only).
    """
    if not is_remote(text):
        path = Path(text).expanduser()
        return Side(text, path=path), Destination(
            text, local_kind(path), has_trailing_separator(text)
        )
    uri = remote.parse(text)
    if uri.is_versioned:
        raise UsageProblem(f"cannot sync to {uri}: history is read-only (drop the '#...')")
    return Side(text, uri=uri), remote_destination(client, uri, text)


def file_listing(
    client: StorageClient, side: Side, caches: list[HashCache]
) -> tuple[dict[str, SyncEntry], Digest | None]:
    """One file as a listing: its entry under ``""`` (the side is the file), or nothing
    when it does not exist yet.

    Args:
        client: Describes a remote side (its size and sha256, at its revision if any).
        side: The file.
        caches: Gets the hash cache of a local side (the one a download into it updates).

    Returns:
        The entries, and the digest function of a local side (None for a remote one).

    Raises:
        UsageProblem: A directory is where the file would go.
    """
    from anaconda_storage_core import FileInfo
    from anaconda_storage_core.sync import HashCache, SyncEntry

    if side.uri is not None:
        found = remote.describe_remote(client, side.uri)
        if found.kind is Kind.DIRECTORY:
            raise UsageProblem(f"{side.uri} is a directory: sync will not put a file in its place")
        if isinstance(found.entry, FileInfo):
            return {"": SyncEntry(size=found.entry.size, sha256=found.entry.sha256)}, None
        return {}, None
    path = side.path
    assert path is not None
    cache = HashCache(path.parent)
    caches.append(cache)  # also the one a download into this path tells what it wrote
    kind = local_kind(path)
    if kind is Kind.DIRECTORY:
        raise UsageProblem(f"{path} is a directory: sync will not put a file in its place")
    if kind is Kind.MISSING:
        return {}, None
    stat = path.stat()

    def digest(relative: str) -> str | None:
        try:
            return cache.sha256(path, stat)
        except OSError:
            return None  # gone or unreadable since: copy it, and fail there

    return {"": SyncEntry(size=stat.st_size)}, digest


def listing(
    client: StorageClient, side: Side, caches: list[HashCache], output: Output
) -> tuple[dict[str, SyncEntry], Digest | None]:
    """A directory side's files and empty directories, relative to it (empty when the
    directory does not exist yet).

    Args:
        client: Lists a remote side (one paged listing, digests included).
        side: The directory.
        caches: Gets the hash cache of a local side, for the caller to save.
        output: Warned about what a local listing skipped (symlinks to directories).

    Returns:
        The entries, and the digest function of a local side (None for a remote one,
        whose entries carry their sha256).
    """
    from anaconda_storage_core.sync import HashCache, local_listing, remote_listing

    if side.uri is not None:
        return remote_listing(client, side.uri), None
    assert side.path is not None
    local = local_listing(side.path)
    for link in local.skipped:
        output.warning(f"skipped {side.below(link)}: a symlink to a directory")
    cache = HashCache(side.path)
    caches.append(cache)
    return local.entries, local.digest_with(cache)
