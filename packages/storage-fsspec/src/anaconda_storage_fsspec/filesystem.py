"""``AnacondaFileSystem``: the ``anaconda://`` fsspec filesystem.

This module holds the changes (``rm``, ``cp``, ``mv``, ``mkdir``, ``rmdir``, ``touch``) and
the seed's special methods (``chmod``, ``checkpoint``, ``chattr``); the class's other
layers are ``content`` (bytes), ``namespace`` (listings) and ``base`` (sessions).

Every change goes to the server as one call where the API has one: deleting a directory
is one request whatever it holds, ``rm`` of many files sends 1,000 paths per request,
``cp`` and ``mv`` copy on the server (no byte goes through the client), and ``mv`` of a
directory is one request. Each change forgets the cached listings of the paths it touched
and of their parents.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from glob import has_magic
from typing import Any

from fsspec.asyn import sync_wrapper

from anaconda_storage_core.errors import InvalidRequest
from anaconda_storage_core.locations import writable
from anaconda_storage_core.uri import StorageURI

from .content import Content
from .entries import checkpoint_dict, entry_of, permissions_dict, project_entry

__all__ = ["AnacondaFileSystem"]

Info = dict[str, Any]


class AnacondaFileSystem(Content):
    """The fsspec filesystem of Anaconda Cloud Storage (protocol ``anaconda``).

    Paths are ``owner/project[#checkpoint]/path/to/file[#revision]``, with or without
    ``anaconda://``. The root lists the owners the caller can see, an owner its projects,
    a project its tree. Anything addressed at a checkpoint or a revision is read-only.

    Example:
        >>> fs = AnacondaFileSystem(api_key="...", domain="http://127.0.0.1:8765")
        >>> fs.ls("alice/sales")
        >>> fs.cat_file("alice/sales/2024/q1.csv#-1")   # the previous revision

    Args:
        api_key: The API key; default: the URI's ``?api_key=``,
            ``ANACONDA_CLOUD_API_KEY``, then what ``anaconda login`` stored.
        domain: Where the Storage API lives (``anaconda.com``, ``http://127.0.0.1:8765``);
            default: ``?domain=``, ``ANACONDA_CLOUD_API_DOMAIN``, the Anaconda config.
        api_version: Sent as ``Api-Version`` (default ``2023.11.28``).
        extra_headers: More headers, a dict or a JSON string of one; never replacing a
            header the client sets (use ``api_version=`` for that one).
        api_domain: The seed's spelling of ``domain``.
        uri_options: The options of a URI's query; fsspec passes them (explicit
            arguments win).
        verify: TLS verification (default on), or a CA bundle path.
        checksum: How downloads (``get``) and reads of whole files (``cat``, a file
            ``open`` reads in one go) are checked: ``"crc32c"`` (the default) against
            the CRC32C the server sends, at wire speed; ``"sha256"`` against its sha256,
            a full cryptographic check (about 1 GB/s a core); ``"none"`` not at all.
            ``get``, ``get_file``, ``cat`` and ``cat_file`` take it per call too. Kept as
            ``fs.download_check`` (``fs.checksum(path)`` is fsspec's, a file's checksum).
        batch_size: Requests in flight for operations on many files.
        **storage_options: fsspec's own (``asynchronous``, ``loop``,
            ``use_listings_cache``, ``listings_expiry_time``, ``skip_instance_cache``).

    Raises:
        ApiKeyDomainMismatch: The key would be ``ANACONDA_CLOUD_API_KEY`` while ``domain=``
            or the URI's ``?domain=`` names another server (a ``ValueError``): a key is
            only sent to the domain it was given with; pass ``api_key=`` beside it.
    """

    # -- removing --------------------------------------------------------------------------

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        uri = self._uri(path)
        client = await self._client()
        try:
            await client.delete(uri)
        finally:
            self.invalidate_cache(uri.fs_path)

    async def _rm(
        self,
        path: str | list[str],
        recursive: bool = False,
        maxdepth: int | None = None,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Remove files; with ``recursive``, directories and projects with all they hold.

        A directory goes in one request whatever it holds; files named one by one go
        1,000 to a request per project. ``rm`` of a project with ``recursive`` deletes the
        project and its history. Without ``recursive``, a directory is an error.
        """
        named = [path] if isinstance(path, str) else list(path)
        if not recursive and len(named) == 1 and not has_magic(named[0]):
            await self._rm_one(named[0])
            return
        targets: dict[str, Info] = {}
        for name in named:
            if has_magic(name):
                globbed = await self._glob(name, maxdepth=maxdepth, detail=True)
                assert isinstance(globbed, dict)
                targets.update(globbed)
            elif recursive and maxdepth is not None:
                found = await self._find(name, maxdepth=maxdepth, withdirs=True, detail=True)
                assert isinstance(found, dict)
                if not found:
                    raise FileNotFoundError(f"no such file or directory: {name}")
                targets.update(found)
            else:
                entry = await self._entry(self._uri(name))
                targets[entry["name"]] = entry
        files = [n for n, e in targets.items() if e["type"] == "file"]
        directories = [n for n, e in targets.items() if e["type"] == "directory"]
        if directories and not recursive:
            raise IsADirectoryError(f"{directories[0]} is a directory: use recursive=True")
        if maxdepth is None:
            await self._rm_trees(directories)
            inside = tuple(d + "/" for d in directories)
            files = [f for f in files if not f.startswith(inside)]
        await self._rm_files(files)
        if maxdepth is not None:
            # What maxdepth left below a directory keeps it; an emptied one goes.
            for name in sorted(directories, key=len, reverse=True):
                with contextlib.suppress(OSError):
                    await self._rmdir(name)

    async def _rm_one(self, path: str) -> None:
        try:
            await self._rm_file(path)
        except FileNotFoundError:
            if await self._isdir(path):
                raise IsADirectoryError(f"{path} is a directory: use recursive=True") from None
            raise

    async def _rm_files(self, names: Iterable[str]) -> None:
        by_project: dict[StorageURI, list[str]] = defaultdict(list)
        for name in names:
            uri = writable(self._uri(name), "delete")
            by_project[uri.project_uri].append(uri.path)
        client = await self._client()
        try:
            await asyncio.gather(*(client.delete_many(p, paths) for p, paths in by_project.items()))
        finally:
            for name in names:
                self.invalidate_cache(name)

    async def _rm_trees(self, names: Iterable[str]) -> None:
        client = await self._client()
        for name in sorted(names):
            uri = writable(self._uri(name), "delete")
            try:
                if uri.project is None:
                    raise PermissionError(f"{name}: owners are not removed through storage")
                if uri.path:
                    await client.delete_many(uri, prefix="")
                else:
                    await client.delete_project(uri, recursive=True)
            finally:
                self._invalidate_tree(name)

    async def _rmdir(self, path: str) -> None:
        """Remove an empty directory (one holding only its ``.keep``), or a project that
        holds no file and no history (``rm(project, recursive=True)`` deletes any project).

        Raises:
            OSError: It is not empty, or the project holds history that deleting it would
                lose (a ``FileExistsError``, as the server's 409).
        """
        uri = writable(self._uri(path), "remove the directory")
        client = await self._client()
        try:
            await client.remove_directory(uri)
        finally:
            self._invalidate_tree(uri.fs_path)

    rmdir = sync_wrapper(_rmdir)

    # -- copying and moving ----------------------------------------------------------------

    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy one file on the server (from a revision or checkpoint, if named)."""
        source, target = self._uri(path1), self._uri(path2)
        client = await self._client()
        try:
            await client.copy(source, target)
        except (FileNotFoundError, InvalidRequest):
            # fsspec's recursive copy names the directories too (the server answers that
            # they need `recursive`): each is made at the target, as fsspec's put makes
            # every directory it uploads, so that it stays when emptied (a `.keep`).
            if not await self._isdir(source.fs_path):
                raise
            await self._makedirs(target.fs_path, exist_ok=True)
        finally:
            self.invalidate_cache(target.fs_path)

    async def _mv(
        self,
        path1: str | list[str],
        path2: str | list[str],
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Move (rename) a file or a directory on the server, in one request.

        As ``cp``: into ``path2`` when it is an existing directory (or ends with ``/``),
        else to ``path2``. A directory moves with all it holds (``recursive`` or not,
        as a rename does). Lists and glob patterns move file by file.
        """
        if (
            not isinstance(path1, str)
            or not isinstance(path2, str)
            or has_magic(path1)
            or maxdepth is not None
        ):
            await self._copy(path1, path2, recursive=recursive, maxdepth=maxdepth)
            await self._rm(path1, recursive=recursive, maxdepth=maxdepth)
            return
        source = writable(self._uri(path1), "move")
        target = writable(self._uri(path2), "move to")
        if source == target:
            return
        if source.project is None or not source.path:
            raise ValueError(
                f"{source.fs_path}: mv moves files and directories; rename a project with"
                " chattr(path, name=...)"
            )
        entry = await self._entry(source)
        if path2.endswith("/") or await self._isdir(target.fs_path):
            target = target.join(source.name)
        client = await self._client()
        try:
            await client.move(source, target, recursive=entry["type"] == "directory")
        finally:
            self._invalidate_tree(source.fs_path)
            self._invalidate_tree(target.fs_path)

    mv = sync_wrapper(_mv)

    # -- directories and projects ----------------------------------------------------------

    async def _mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a project (``owner/project``) or a directory in one (its ``.keep``).

        Raises:
            FileExistsError: It exists (a file or a directory).
            FileNotFoundError: Its parent does not exist and ``create_parents`` is False.
        """
        uri = writable(self._uri(path), "make a directory at")
        if await self._exists(uri.fs_path):
            raise FileExistsError(f"{uri.fs_path} exists")
        await self._make(uri, create_parents)

    async def _makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create a directory and, if need be, its project."""
        uri = writable(self._uri(path), "make a directory at")
        if not exist_ok and await self._exists(uri.fs_path):
            raise FileExistsError(f"{uri.fs_path} exists")
        await self._make(uri, create_parents=True)

    async def _make(self, uri: StorageURI, create_parents: bool) -> None:
        # Making a directory that exists adds its marker if it lacks one (docs/api.md): a
        # directory made by a copy stays when its files go, even if they came first.
        client = await self._client()
        try:
            if not uri.path:
                try:
                    await client.create_project(uri)
                except FileExistsError:
                    if not create_parents:
                        raise
                return
            if not create_parents and not await self._isdir(uri.parent.fs_path):
                raise FileNotFoundError(f"{uri.parent.fs_path} does not exist")
            try:
                await client.make_directory(uri)
            except FileNotFoundError:
                if not create_parents:
                    raise
                with contextlib.suppress(FileExistsError):  # made meanwhile
                    await client.create_project(uri.project_uri)
                await client.make_directory(uri)
        finally:
            self.invalidate_cache(uri.fs_path)

    async def _touch(self, path: str, truncate: bool = False, **kwargs: Any) -> None:
        """Create an empty file; an existing one is left alone, unless ``truncate``."""
        uri = self._uri(path)
        if truncate:
            await self._upload_bytes(uri, b"")
            return
        with contextlib.suppress(FileExistsError):  # it exists: touch leaves it alone
            await self._upload_bytes(uri, b"", if_none_match="*")

    touch = sync_wrapper(_touch)

    # -- the seed's special methods --------------------------------------------------------

    async def _chmod(self, path: str, permissions: Sequence[str]) -> Info:
        """Grant, revoke or transfer access to a project: ``["u/bob+r", "o/team-w"]``.

        Args:
            path: ``owner/project``.
            permissions: ``<u|o>/<name-or-uuid><+|-><r|w|o>`` strings (see the seed).

        Returns:
            The project's permissions afterwards: ``{"owner", "owner_kind", "grants"}``.
        """
        uri = self._uri(path)
        if isinstance(permissions, str):
            permissions = [permissions]
        client = await self._client()
        try:
            result = await client.chmod(uri, permissions)
        finally:
            self.invalidate_cache()  # a transfer moves the project to another owner
        return permissions_dict(result)

    chmod = sync_wrapper(_chmod)

    async def _checkpoint(self, path: str, message: str = "") -> Info:
        """Create an ad-hoc checkpoint of a project as it is now.

        Returns:
            ``{"id", "created", "created_by", "message"}``: read the project as it is now
            later with ``owner/project#<id>`` (or ``#-1`` until the next checkpoint).
        """
        uri = self._uri(path)
        client = await self._client()
        return checkpoint_dict(await client.create_checkpoint(uri.project_uri, message))

    checkpoint = sync_wrapper(_checkpoint)

    async def _chattr(
        self,
        path: str,
        name: str | None = None,
        title: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: dict[str, str] | None = None,
        description: str | None = None,
        hidden: bool | None = None,
    ) -> Info:
        """Change the attributes of a project (name, title, tags, description, hidden) or
        of a file (description, metadata; a new revision with the same content).

        Returns:
            The project's or the file's info afterwards.
        """
        uri = self._uri(path)
        client = await self._client()
        if uri.project is None:
            raise ValueError(f"{uri.fs_path!r}: chattr changes projects and files")
        if not uri.path:
            if metadata is not None:
                raise ValueError("metadata is an attribute of files, not of projects")
            try:
                project = await client.update_project(
                    uri, name=name, title=title, description=description, tags=tags, hidden=hidden
                )
            finally:
                self._invalidate_tree(uri.fs_path)
            return project_entry(project)
        given = {"name": name, "title": title, "tags": tags, "hidden": hidden}
        wrong = sorted(k for k, v in given.items() if v is not None)
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: attributes of projects, not of files")
        try:
            file = await client.update_file(uri, description=description, metadata=metadata)
        finally:
            self.invalidate_cache(uri.fs_path)
        return entry_of(file, uri.fs_path)

    chattr = sync_wrapper(_chattr)

    async def _restore(self, path: str, dry_run: bool = False) -> list[Info]:
        """Make a file, a directory or a project as it was, on the server (issue 13).

        ``path`` names the past state: ``o/p/q1.csv#-2`` (a revision; ``#-1`` of a deleted
        file brings it back), ``o/p#-1/dir`` or ``o/p#2024-05-01T12:00:00`` (a directory
        or the whole project at a checkpoint). Each change is a new revision. ``o/p``
        alone brings a deleted project back from the trash (not with ``dry_run``).

        Returns:
            ``[{"path", "change", "revision"}]``: each path ``modified``, ``added`` or
            ``deleted`` (``revision`` the new one, None with ``dry_run``); for a project
            from the trash, one item whose ``path`` is ``o/p``.
        """
        client = await self._client()
        uri = self._uri(path)
        if uri.is_project and not uri.is_versioned and not dry_run:
            project = await client.restore_project(uri)
            self.invalidate_cache()
            return [{"path": project.full_name, "change": "added", "revision": None}]
        try:
            result = await client.restore(uri, dry_run=dry_run)
        finally:
            if not dry_run:
                self.invalidate_cache()
        return [
            {"path": c.path, "change": c.change, "revision": c.revision} for c in result.changes
        ]

    restore = sync_wrapper(_restore)

    # -- times ---------------------------------------------------------------------------

    def modified(self, path: str) -> Any:
        """When the file's current revision was made (a UTC datetime)."""
        return self.info(path).get("mtime")

    def created(self, path: str) -> Any:
        """When the file's current life began: its first revision since it last was
        created."""
        return self.info(path).get("created")
