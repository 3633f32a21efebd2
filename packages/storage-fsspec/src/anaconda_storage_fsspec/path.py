"""``AnacondaPath``: pathlib for ``anaconda://`` URIs, on universal-pathlib.

universal-pathlib finds this class through the ``universal_pathlib.implementations`` entry
point. Importing this module also registers :class:`AnacondaFileSystem` with fsspec: UPath
works out a protocol's path rules (parent, name, join) from the fsspec class, but only from
a class already in ``fsspec.registry``; without it, UPath falls back to rules with a root
``/`` and caches them for the process, so that ``UPath("anaconda://o/p/f").parent`` would
come out as ``anaconda:///o/p`` (DESIGN.md, "Entry points").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from fsspec.registry import register_implementation as _register_filesystem
from fsspec.registry import registry as _fsspec_registry
from upath import UPath
from upath.registry import register_implementation as _register_path

from anaconda_storage_core.uri import InvalidURI, StorageURI

from .addresses import PROTOCOL, to_uri
from .filesystem import AnacondaFileSystem

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AnacondaPath"]

if _fsspec_registry.get(PROTOCOL) is not AnacondaFileSystem:
    _register_filesystem(PROTOCOL, AnacondaFileSystem, clobber=True)


class AnacondaPath(UPath):
    """A path in Anaconda Cloud Storage: ``UPath("anaconda://owner/project/dir/file.csv")``.

    It has pathlib's semantics (``parent``, ``name``, ``suffix``, ``/``, ``iterdir``,
    ``glob``, ``read_text``, ``write_bytes``, ``unlink``, ``rename``, ``stat``, ...) over
    :class:`AnacondaFileSystem`; storage options (``api_key=``, ``domain=``, ...) are given
    as keyword arguments, or in the URI's query. The parsed address is :attr:`uri`.

    History suffixes follow the grammar: a checkpoint belongs to the project, a revision to
    the file. For ``f = UPath("anaconda://o/p/dir/f.tar.gz#-1")`` and
    ``c = UPath("anaconda://o/p#-1/dir/f.tar.gz")``:

    - ``name``, ``stem``, ``suffix`` and ``suffixes`` are those of the name alone, without
      its ``#...``: ``"f.tar.gz"``, ``"f.tar"``, ``".gz"``, ``[".tar", ".gz"]`` for both
      (as written in the address: a literal ``#`` in a name stays ``%23``).
      :attr:`revision` and :attr:`checkpoint` say which version is addressed
      (``f.revision == "-1"``, ``c.checkpoint == "-1"``).
    - ``parts`` are the address's segments as written (``c.parts == ("/", "o", "p#-1",
      "dir", "f.tar.gz")``), so ``parent``, ``parents``, ``joinpath`` and ``/`` keep the
      project's checkpoint: ``c.parent / "g.csv"`` reads ``g.csv`` at that checkpoint.
      ``f.parent`` is ``anaconda://o/p/dir``: the revision belonged to the file.
    - ``with_name``, ``with_stem`` and ``with_suffix`` name another file, so they drop a
      revision (``f.with_suffix(".parquet")`` is the current ``anaconda://o/p/dir/
      f.tar.parquet``) and keep a checkpoint, which is the project's (``c.with_name("g")``
      is ``anaconda://o/p#-1/dir/g``).
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        """The final segment without its history suffix (``#-1``, ``#<uuid>``, ...)."""
        # A literal "#" in a name is written %23 (the grammar), so the first "#" of the
        # segment starts its checkpoint or revision.
        segment: str = super().name
        return segment.partition("#")[0]

    def iterdir(self) -> Iterator[Self]:
        """The paths of a directory's entries, from one listing.

        Raises:
            FileNotFoundError: Nothing is there.
            NotADirectoryError: It is a file (fsspec's ``ls`` of a file lists the file).
        """
        # universal-pathlib asks `isdir` and then lists (0.3.10), or lists without the
        # check (0.3.0): one listing answers both, with or without the listings cache.
        base = self.parent if self.parts[-1:] == ("",) else self
        listed = base.fs.ls(base.path, detail=True)
        if len(listed) == 1 and listed[0]["type"] == "file" and listed[0]["name"] == base.path:
            raise NotADirectoryError(f"{self} is a file")
        for entry in listed:
            name = entry["name"].rstrip("/").rpartition("/")[2]
            yield base.with_segments(str(base), name)

    def mkdir(
        self,
        mode: int = 0o777,
        parents: bool = False,
        exist_ok: bool = False,
        *,
        parent_mode: int | None = None,
    ) -> None:
        """Create this directory (a project, or a ``.keep`` marker below one).

        ``mode`` and ``parent_mode`` are accepted for pathlib's signature and ignored
        alike: the store has no POSIX modes, access is granted per user and organization
        (``chmod`` in the CLI). universal-pathlib warns about ``parent_mode`` only, which
        would suggest it is the one ignored.

        Raises:
            FileExistsError: It exists and ``exist_ok`` is false.
            FileNotFoundError: The parent is missing and ``parents`` is false.
        """
        super().mkdir(mode, parents, exist_ok)

    def rename(self, target: Any, **kwargs: Any) -> Self:
        """Move this file or directory to ``target`` on the server; return the new path.

        ``target`` may be an ``AnacondaPath``, an ``anaconda://`` URI, or an address
        without the scheme: ``"alice/sales/b.csv"``, ``PurePosixPath("alice/sales/b.csv")``
        or a plain ``UPath`` of it name the same file, as ``S3Path`` takes
        ``"bucket/key"`` (the store has no current directory that such a text could be
        relative to). A target that is no address in a project (``"b.csv"``,
        ``"./b.csv"``) is left to universal-pathlib, which reads it as relative.

        Raises:
            FileNotFoundError: This path does not exist.
            ValueError: ``target`` has another protocol.
        """
        return super().rename(self._address(target), **kwargs)

    def _address(self, target: Any) -> Any:
        if isinstance(target, AnacondaPath):
            return target
        if isinstance(target, PurePath):  # pathlib's, and a plain UPath
            text = target.as_posix()
        elif isinstance(target, (str, os.PathLike)):
            text = os.fspath(target)
        else:
            return target
        if not isinstance(text, str) or "://" in text or text.startswith(("./", "../")):
            return target
        try:
            uri = to_uri(text)
        except InvalidURI:
            return target
        return self.with_segments(uri.format()) if uri.path else target

    @property
    def revision(self) -> str | None:
        """The file revision addressed (``"-1"``, a UUID), or None for the current one."""
        return self.uri.revision

    @property
    def checkpoint(self) -> str | None:
        """The project checkpoint addressed (``"-1"``, a time point, a UUID), or None."""
        return self.uri.checkpoint

    @property
    def uri(self) -> StorageURI:
        """The address as core's :class:`~anaconda_storage_core.uri.StorageURI`.

        Its ``owner``, ``project``, ``checkpoint``, ``path`` and ``revision`` say what this
        path names (the root, an owner, a project or a path in a project).

        Raises:
            InvalidURI: The path is no valid address (a glob pattern, say).
        """
        return to_uri(self.path)

    @property
    def fs(self) -> AnacondaFileSystem:
        """The filesystem behind this path."""
        fs = super().fs
        assert isinstance(fs, AnacondaFileSystem)
        return fs


_register_path(PROTOCOL, AnacondaPath, clobber=True)
