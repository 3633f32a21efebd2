"""What exists: ``ls``, ``info``, ``exists``, ``find``, ``glob``, ``du``.

The store has three levels above the files: the root lists owners, an owner lists its
projects, a project (``owner/project[#checkpoint]``) holds a tree of files and virtual
directories. ``find`` is one recursive listing of the tree, never a walk; it also fills the
listings cache for every directory it saw, so the ``info`` and ``isdir`` calls that
``get``, ``cp`` and ``rm`` make afterwards need no request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from anaconda_storage_core.models import DirectoryInfo, FileInfo
from anaconda_storage_core.uri import StorageURI

from .base import FileSystemBase, Info
from .entries import (
    KEEP,
    directory_entry,
    entry_of,
    owner_entry,
    project_entry,
    project_info_entry,
    revision_dicts,
    revision_entry,
    root_entry,
)

__all__ = ["Namespace"]

# How many of a file's revisions its info lists (all of them: ls(path, versions=True)).
INFO_REVISIONS = 100

NAMED = 64
"""How many directories' cached listings are kept indexed by name (`Namespace._named`)."""


def _renamed(entries: list[Info], old: str, new: str) -> list[Info]:
    """Entries listed under ``old`` (a cache key), named under ``new`` (the path asked)."""
    if old == new:
        return entries
    return [{**e, "name": new + e["name"][len(old) :]} for e in entries]


def _not_found(uri: StorageURI) -> FileNotFoundError:
    return FileNotFoundError(f"no such file or directory: {uri.fs_path}")


class Namespace(FileSystemBase):
    """Listing and looking up: the read side of the namespace."""

    # -- one level -------------------------------------------------------------------------

    async def _ls(
        self, path: str, detail: bool = True, refresh: bool = False, **kwargs: Any
    ) -> list[Info] | list[str]:
        """List a directory: owners at the root, projects of an owner, a project's tree.

        Args:
            path: ``""`` (the root), ``owner``, ``owner/project[#checkpoint][/dir]``, or a
                file (its own entry).
            detail: Info dicts rather than names.
            refresh: Ignore the listings cache.
            versions: List a file's revisions (``owner/project/f.csv#<uuid>``, newest
                first) instead.
        """
        uri = self._uri(path)
        if kwargs.get("versions"):
            entries = await self._revisions(uri)
        else:
            entries = await self._listing(uri, refresh)
        return entries if detail else [e["name"] for e in entries]

    async def _revisions(self, uri: StorageURI, limit: int | None = None) -> list[Info]:
        if not uri.path:
            raise ValueError(f"only files have revisions: {uri.fs_path} is no file path")
        client = await self._client()
        current = _history_of(uri)
        out: list[Info] = []
        async for revision in client.list_revisions(current, page_size=limit or 1000):
            out.append(revision_entry(revision, current))
            if limit is not None and len(out) >= limit:
                break
        return out

    async def _listing(self, uri: StorageURI, refresh: bool = False) -> list[Info]:
        name = uri.fs_path
        if uri.revision is not None:
            return [await self._entry(uri)]  # a file at a revision lists as itself
        if uri.project is None:
            if not refresh and name in self.dircache:
                return list(self.dircache[name])
            entries = await (self._owners() if uri.owner is None else self._projects(uri))
            self.dircache[name] = entries
            return list(entries)
        base = await self._cache_base(uri)
        key = None if base is None else (base.join(uri.path) if uri.path else base).fs_path
        if key is not None and not refresh and key in self.dircache:
            return _renamed(list(self.dircache[key]), key, name)
        listed = uri if base is None else (base.join(uri.path) if uri.path else base)
        entries, exists = await self._tree_level(listed)
        if not exists:
            if not uri.path:
                return []  # an empty project: the listing itself proved it exists
            entry = await self._entry(uri)  # a file lists as itself; else not found
            if entry["type"] == "file":
                return [entry]
            return []
        if key is not None:
            self.dircache[key] = entries
        return _renamed(list(entries), listed.fs_path, name)

    async def _owners(self) -> list[Info]:
        client = await self._client()
        return [owner_entry(owner) async for owner in client.list_owners(page_size=1000)]

    async def _projects(self, uri: StorageURI) -> list[Info]:
        client = await self._client()
        assert uri.owner is not None
        try:
            entries = [project_entry(p) async for p in client.list_projects(uri, page_size=1000)]
        except FileNotFoundError:
            raise _not_found(uri) from None
        if not entries:
            await client.get_owner(uri.owner)  # an owner with no project the caller sees
        return entries

    async def _tree_level(self, uri: StorageURI) -> tuple[list[Info], bool]:
        """One level of a project's tree; and whether ``uri`` is a directory (or the
        project) at all: an empty directory shows only by its ``.keep``."""
        client = await self._client()
        prefix = uri.project_uri.fs_path
        entries: list[Info] = []
        exists = False
        async for entry in client.list_tree(
            uri, delimiter="/", include_markers=True, page_size=1000
        ):
            exists = True
            if isinstance(entry, FileInfo) and entry.name == KEEP:
                continue
            entries.append(entry_of(entry, f"{prefix}/{_encoded(entry.path)}"))
        return entries, exists or not uri.path

    # -- one entry -------------------------------------------------------------------------

    async def _entry(self, uri: StorageURI) -> Info:
        """What ``uri`` is, with one request at most (none if a cached listing knows)."""
        if uri.owner is None:
            return root_entry()
        client = await self._client()
        if uri.project is None:
            return owner_entry(await client.get_owner(uri.owner))
        if not uri.path:
            if uri.checkpoint is not None:
                await client.get_checkpoint(uri)  # NotFound if there is no such checkpoint
            return project_info_entry(await client.get_project(uri), uri.fs_path)
        # Cached listings hide the .keep markers: a marker is looked up on the server.
        if uri.revision is None and uri.checkpoint_ref is None and uri.name != KEEP:
            parent = uri.parent.fs_path
            listing = self.dircache.get(parent)
            if listing is not None:
                entry = self._named(parent, listing).get(uri.fs_path)
                if entry is None:
                    raise _not_found(uri)
                return dict(entry)
        try:
            found = await client.info(uri)
        except FileNotFoundError:
            raise _not_found(uri) from None
        if isinstance(found, DirectoryInfo):
            return directory_entry(uri.fs_path)
        return entry_of(found, uri.fs_path)

    def _named(self, parent: str, listing: list[Info]) -> dict[str, Info]:
        """The entries of ``parent``'s cached ``listing`` by name.

        fsspec's ``get`` of a pattern asks ``isdir`` of each file it matched: a scan of the
        listing each time made a ``get`` of 1,000 files 0.7 s (1,000 x 1,000 names
        compared), and one of 10,000 a hundred times that. The index is made once per
        listing (a new listing is a new list: cached ones are never changed in place), for
        the last `NAMED` directories asked.
        """
        named = self._names.get(parent)
        if named is not None and named[0] is listing:
            return named[1]
        # Reversed: of two entries with one name (never, from our server), the first wins.
        index = {entry["name"]: entry for entry in reversed(listing)}
        self._names.pop(parent, None)
        self._names[parent] = (listing, index)
        if len(self._names) > NAMED:
            del self._names[next(iter(self._names))]  # the one made longest ago
        return index

    async def _info(self, path: str, **kwargs: Any) -> Info:
        """Details of a path: a project's with its checkpoints and permissions, a file's
        with its revisions (newest first), an owner's, a directory's."""
        uri = self._uri(path)
        if uri.path:
            entry, revisions = await asyncio.gather(
                self._entry(uri), self._revisions_or_none(uri), return_exceptions=True
            )
            if isinstance(entry, BaseException):
                raise entry
            if isinstance(revisions, BaseException):
                raise revisions
            if entry["type"] == "file" and revisions is not None:
                entry["revisions"] = revisions
            return entry
        return await self._entry(uri)

    async def _revisions_or_none(self, uri: StorageURI) -> list[Info] | None:
        try:
            client = await self._client()
            current = _history_of(uri)
            page = client.list_revisions(current, page_size=INFO_REVISIONS)
            revisions = []
            async for revision in page:
                revisions.append(revision)
                if len(revisions) >= INFO_REVISIONS:
                    break
            return revision_dicts(revisions, current)
        except FileNotFoundError:
            return None  # a directory: its absence of history is not an error

    async def _exists(self, path: str, **kwargs: Any) -> bool:
        """Whether ``path`` exists. False only when the server says "not found": a denied
        permission or a server failure raises."""
        try:
            await self._entry(self._uri(path))
        except FileNotFoundError:
            return False
        return True

    async def _isdir(self, path: str) -> bool:
        try:
            entry = await self._entry(self._uri(path))
        except FileNotFoundError:
            return False
        return bool(entry["type"] == "directory")

    async def _isfile(self, path: str) -> bool:
        try:
            entry = await self._entry(self._uri(path))
        except FileNotFoundError:
            return False
        return bool(entry["type"] == "file")

    async def _size(self, path: str) -> int:
        return int((await self._entry(self._uri(path)))["size"])

    def ukey(self, path: str) -> str:
        """The revision of a file: changes exactly when its content or metadata does."""
        return str(self.info(path).get("revision") or super().ukey(path))

    # -- many levels -----------------------------------------------------------------------

    async def _find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        **kwargs: Any,
    ) -> list[str] | dict[str, Info]:
        """Every file below ``path`` (and directory, with ``withdirs``), from one
        recursive listing per project.

        Args:
            path: A directory, a project, an owner or the root; a file finds itself.
            maxdepth: Levels below ``path`` to include (None: all).
            withdirs: Include directories (and ``path`` itself when it is one).
            detail: Info dicts by name rather than a list of names.
            prefix: Only names below ``path`` that start with this (glob passes the stem
                before its first wildcard).
        """
        detail = kwargs.pop("detail", False)
        prefix = kwargs.pop("prefix", "") or ""
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        uri = self._uri(path)
        if uri.revision is not None:
            found = {uri.fs_path: await self._entry(uri)}
        elif uri.project is None:
            found = await self._find_above_projects(uri, maxdepth, withdirs, prefix)
        else:
            found = await self._find_in_project(uri, maxdepth, withdirs, prefix)
        names = sorted(found)
        return {n: found[n] for n in names} if detail else names

    async def _find_above_projects(
        self, uri: StorageURI, maxdepth: int | None, withdirs: bool, prefix: str
    ) -> dict[str, Info]:
        # The root and owners are a level or two of directories above the projects.
        level = await self._listing(uri)
        level = [e for e in level if e["name"].rpartition("/")[2].startswith(prefix)]
        found: dict[str, Info] = {e["name"]: e for e in level} if withdirs else {}
        if maxdepth == 1:
            return found
        deeper = None if maxdepth is None else maxdepth - 1
        below = await asyncio.gather(
            *(self._find_below(self._uri(e["name"]), deeper, withdirs) for e in level)
        )
        for part in below:
            found.update(part)
        return found

    async def _find_below(
        self, uri: StorageURI, maxdepth: int | None, withdirs: bool
    ) -> dict[str, Info]:
        if uri.project is None:
            return await self._find_above_projects(uri, maxdepth, withdirs, "")
        found = await self._find_in_project(uri, maxdepth, withdirs, "")
        found.pop(uri.fs_path, None)  # the project itself was listed by the level above
        return found

    async def _find_in_project(
        self, uri: StorageURI, maxdepth: int | None, withdirs: bool, prefix: str
    ) -> dict[str, Info]:
        base = await self._cache_base(uri)
        listed = uri if base is None else (base.join(uri.path) if uri.path else base)
        root = listed.fs_path
        client = await self._client()
        files: dict[str, Info] = {}
        dirs: dict[str, list[Info]] = {root: []}  # each directory's children, for the cache
        project = listed.project_uri.fs_path
        any_entry = False
        listing = client.list_tree(
            listed, prefix=prefix or None, include_markers=True, page_size=1000
        )
        try:
            async for entry in listing:
                any_entry = True
                name = f"{project}/{_encoded(entry.path)}"
                parent, _, leaf = name.rpartition("/")
                _add_directories(dirs, parent)
                if leaf != KEEP:
                    info = entry_of(entry, name)
                    files[name] = info
                    dirs[parent].append(info)
        except FileNotFoundError:
            return {}  # no such project
        if not any_entry:
            if uri.path and not prefix:
                try:
                    itself = await self._entry(uri)
                except FileNotFoundError:
                    return {}
                return {uri.fs_path: itself} if itself["type"] == "file" else {}
            # An empty project.
            return {uri.fs_path: directory_entry(uri.fs_path)} if withdirs and not prefix else {}
        if base is not None and not prefix:
            for name, children in dirs.items():
                self.dircache[name] = children
        depth_of_root = root.count("/")
        found: dict[str, Info] = {}
        for name, info in files.items():
            if maxdepth is None or name.count("/") - depth_of_root <= maxdepth:
                found[name] = info
        if withdirs:
            for name in dirs:
                depth = name.count("/") - depth_of_root
                if name != root and (maxdepth is None or depth <= maxdepth):
                    found[name] = directory_entry(name)
            if not prefix:
                found[root] = directory_entry(root)
        if root == uri.fs_path:
            return found
        # Listed at a resolved checkpoint (-1 became a UUID): named as the caller asked.
        asked = uri.fs_path
        return {
            asked + n[len(root) :]: {**i, "name": asked + n[len(root) :]} for n, i in found.items()
        }

    async def _du(
        self,
        path: str,
        total: bool = True,
        maxdepth: int | None = None,
        withdirs: bool = False,
        **kwargs: Any,
    ) -> int | dict[str, int]:
        """Bytes below ``path``, from one recursive listing (no request per file)."""
        found = await self._find(path, maxdepth=maxdepth, withdirs=withdirs, detail=True)
        assert isinstance(found, dict)
        sizes = {name: int(info.get("size") or 0) for name, info in found.items()}
        return sum(sizes.values()) if total else sizes


def _history_of(uri: StorageURI) -> StorageURI:
    """The file whose revisions ``uri`` names: its revisions are named by UUID, which
    holds without a checkpoint."""
    return uri.with_checkpoint(None).with_revision(None)


def _encoded(path: str) -> str:
    """A path of the tree as it is written in an fs path: in each name, ``%``, ``#`` and
    ``?`` percent-encoded (the canonical form of core's URI grammar)."""
    if "%" not in path and "#" not in path and "?" not in path:
        return path  # the common case, on the hot path of listings of many files
    return path.replace("%", "%25").replace("#", "%23").replace("?", "%3F")


def _add_directories(dirs: dict[str, list[Info]], directory: str) -> None:
    """Record ``directory`` and its parents not yet known, each in its parent's children
    (the listing's root is always known, so this stops there)."""
    missing = []
    while directory not in dirs:
        missing.append(directory)
        directory = directory.rpartition("/")[0]
    for name in reversed(missing):
        dirs[name] = []
        dirs[name.rpartition("/")[0]].append(directory_entry(name))
