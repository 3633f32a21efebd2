"""The two kinds of listing a sync compares: a local directory's and a remote directory's.

Both give ``{relative path: SyncEntry}``. The remote one comes from the project's tree
listing, which carries each file's sha256: one paged listing, no request per file. The
local one comes from ``os.walk`` and ``stat``; its digests come from a :class:`HashCache`
when the plan asks for them, so unchanged files are not read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Protocol

from ..errors import StorageError
from ..locations import Location, project_location
from ..models import Entry, FileInfo
from .plan import Digest, SyncEntry

if TYPE_CHECKING:
    from .hashes import HashCache

__all__ = ["KEEP", "LocalListing", "local_listing", "remote_listing"]

KEEP = ".keep"
"""The marker that keeps an empty remote directory (hidden by listings)."""


# The largest page the API serves (docs/api.md: limit 1 to 1000): a listing of 10,000
# files is 10 requests, not the 100 of the default page (bench/sync.py).
PAGE_SIZE = 1000


class _Lister(Protocol):
    def list_tree(
        self, uri: Location, *, include_markers: bool = ..., page_size: int | None = ...
    ) -> Iterable[Entry]: ...


def remote_listing(client: _Lister, uri: Location) -> dict[str, SyncEntry]:
    """Every file and directory marker below a remote directory (or project), maybe at a
    checkpoint, relative to it, with the sizes and digests the listing carries.

    A directory that does not exist lists as empty.

    Raises:
        StorageError: The server listed a path that is not below ``uri``, or one that is not
            a valid relative path (``..``, an empty name): the listing is refused whole.
    """
    parsed = project_location(uri)
    base = f"{parsed.path}/" if parsed.path else ""
    entries: dict[str, SyncEntry] = {}
    for entry in client.list_tree(uri, include_markers=True, page_size=PAGE_SIZE):
        if not isinstance(entry, FileInfo):
            continue
        relative = _below(parsed.format(), base, entry.path)
        parent, _, name = relative.rpartition("/")
        if name == KEEP:
            if parent:  # the synced directory's own marker says nothing about its contents
                entries[parent] = SyncEntry(directory=True)
        else:
            entries[relative] = SyncEntry(size=entry.size, sha256=entry.sha256)
    return entries


def _below(uri: str, base: str, path: str) -> str:
    relative = path[len(base) :] if path.startswith(base) else None
    names = relative.split("/") if relative else [""]
    if relative is None or any(
        name in ("", ".", "..") or PurePath(name).name != name for name in names
    ):
        raise StorageError(
            f"refused the listing of {uri}: the server listed {path!r}, which is outside it"
        )
    return relative


@dataclass
class LocalListing:
    """A local directory's files and empty directories.

    Attributes:
        root: The directory listed.
        entries: Relative path to entry; files without their digest (see :meth:`sha256`).
        stats: Each file's ``os.stat`` result, for the hash cache.
        skipped: Symlinks to directories, which are not followed.
    """

    root: Path
    entries: dict[str, SyncEntry] = field(default_factory=dict)
    stats: dict[str, os.stat_result] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def digest_with(self, cache: HashCache) -> Digest:
        """A ``digest`` function for :func:`plan_sync`: the cache's, by relative path."""

        def digest(relative: str) -> str | None:
            try:
                return cache.sha256(
                    self.root.joinpath(*relative.split("/")), self.stats.get(relative)
                )
            except OSError:
                return None  # gone or unreadable since listed: copy it, and fail there

        return digest


def local_listing(root: str | os.PathLike[str]) -> LocalListing:
    """Every file below ``root`` (symlinks to files followed) and its empty directories.

    A directory that does not exist lists as empty. Symlinks to directories are not followed
    (a link loop cannot make a listing endless); they are reported in ``skipped``.
    """
    listing = LocalListing(Path(root))
    if not listing.root.is_dir():
        return listing
    for directory, subdirectories, names in os.walk(listing.root, followlinks=False):
        here = Path(directory)
        relative = here.relative_to(listing.root).as_posix()
        relative = "" if relative == "." else relative
        kept = []
        for name in subdirectories:
            if (here / name).is_symlink():
                listing.skipped.append(_join(relative, name))
            else:
                kept.append(name)
        subdirectories[:] = kept
        files = 0
        for name in names:
            try:
                stat = os.stat(here / name)  # follows a symlink to a file
            except OSError:
                continue  # a dangling link, or gone since listed
            if not _is_file(stat):
                continue
            path = _join(relative, name)
            listing.entries[path] = SyncEntry(size=stat.st_size)
            listing.stats[path] = stat
            files += 1
        if not files and not kept and relative:
            listing.entries[relative] = SyncEntry(directory=True)
    return listing


def _is_file(stat: os.stat_result) -> bool:
    import stat as modes

    return modes.S_ISREG(stat.st_mode)


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name
