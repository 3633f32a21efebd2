"""``AnacondaPath``: pathlib for ``anaconda://`` URIs, on universal-pathlib.

universal-pathlib finds this class through the ``universal_pathlib.implementations`` entry
point. Importing this module also registers :class:`AnacondaFileSystem` with fsspec: UPath
works out a protocol's path rules (parent, name, join) from the fsspec class, but only from
a class already in ``fsspec.registry``; without it, UPath falls back to rules with a root
``/`` and caches them for the process, so that ``UPath("anaconda://o/p/f").parent`` would
come out as ``anaconda:///o/p`` (DESIGN.md, "Entry points").
"""

from __future__ import annotations

from fsspec.registry import register_implementation as _register_filesystem
from fsspec.registry import registry as _fsspec_registry
from upath import UPath
from upath.registry import register_implementation as _register_path

from anaconda_storage_core.uri import StorageURI

from .addresses import PROTOCOL, to_uri
from .filesystem import AnacondaFileSystem

__all__ = ["AnacondaPath"]

if _fsspec_registry.get(PROTOCOL) is not AnacondaFileSystem:
    _register_filesystem(PROTOCOL, AnacondaFileSystem, clobber=True)


class AnacondaPath(UPath):
    """A path in Anaconda Cloud Storage: ``UPath("anaconda://owner/project/dir/file.csv")``.

    It has pathlib's semantics (``parent``, ``name``, ``suffix``, ``/``, ``iterdir``,
    ``glob``, ``read_text``, ``write_bytes``, ``unlink``, ``rename``, ``stat``, ...) over
    :class:`AnacondaFileSystem`; storage options (``api_key=``, ``domain=``, ...) are given
    as keyword arguments, or in the URI's query. Checkpoint and revision suffixes stay in
    the names they follow (``UPath("anaconda://o/p/f.csv#-1").name == "f.csv#-1"``); the
    parsed address is :attr:`uri`.
    """

    __slots__ = ()

    @property
    def uri(self) -> StorageURI:
        """The address as core's :class:`~anaconda_storage_core.uri.StorageURI`.

        Its ``owner``, ``project``, ``checkpoint``, ``path`` and ``revision`` say what this
        path names (the root, an owner, a project or a path in a project).
        """
        return to_uri(self.path)

    @property
    def fs(self) -> AnacondaFileSystem:
        """The filesystem behind this path."""
        fs = super().fs
        assert isinstance(fs, AnacondaFileSystem)
        return fs


_register_path(PROTOCOL, AnacondaPath, clobber=True)
