"""The public names of the fsspec distribution, and how fsspec and UPath find them."""

from __future__ import annotations

from importlib.metadata import entry_points

import fsspec
import pytest
from upath.registry import get_upath_class

import anaconda_cloud_storage
import anaconda_storage_fsspec
from anaconda_storage_fsspec import AnacondaFileSystem, AnacondaPath


@pytest.mark.parametrize("module", [anaconda_storage_fsspec, anaconda_cloud_storage])
def test_all_exports_exist_and_nothing_else_is_public(module: object) -> None:
    exported = set(module.__all__)  # type: ignore[attr-defined]
    assert all(hasattr(module, name) for name in exported)
    public = {name for name in vars(module) if not name.startswith("_")}
    modules = {
        *("addresses", "base", "content", "entries", "files", "filesystem"),
        *("namespace", "saving"),
    }
    assert public - exported <= {"annotations", "path", *modules}


def test_the_seed_import_path_is_the_same_class() -> None:
    assert anaconda_cloud_storage.AnacondaFileSystem is AnacondaFileSystem
    assert anaconda_cloud_storage.AnacondaPath is AnacondaPath


def test_entry_points() -> None:
    specs = {ep.name: ep.value for ep in entry_points(group="fsspec.specs")}
    assert specs["anaconda"] == "anaconda_storage_fsspec.filesystem:AnacondaFileSystem"
    paths = {ep.name: ep.value for ep in entry_points(group="universal_pathlib.implementations")}
    assert paths["anaconda"] == "anaconda_storage_fsspec.path:AnacondaPath"
    assert fsspec.get_filesystem_class("anaconda") is AnacondaFileSystem
    assert get_upath_class("anaconda") is AnacondaPath
