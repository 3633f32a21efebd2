"""Local listings for upload: files, empty directories, symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anaconda_storage_cli.local import has_trailing_separator, local_kind, local_listing
from anaconda_storage_cli.targets import Kind


def test_local_listing(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "empty" / "deeper").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.txt").write_text("x")
    (tmp_path / "top.txt").write_text("y")
    files, empty, skipped = local_listing(tmp_path)
    assert files == ("a/b/f.txt", "top.txt")
    assert empty == ("empty/deeper",)
    assert skipped == ()


def test_an_empty_root(tmp_path: Path) -> None:
    assert local_listing(tmp_path) == ((), ("",), ())


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="symlinks")
def test_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "t.txt").write_text("t")
    root = tmp_path / "root"
    root.mkdir()
    (root / "file-link").symlink_to(target / "t.txt")
    (root / "dir-link").symlink_to(target, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    files, empty, skipped = local_listing(root)
    assert files == ("file-link",)  # a link to a file is followed
    assert skipped == ("dir-link", "loop")  # a link to a directory is not descended
    assert empty == ()


def test_kinds_and_separators(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    assert local_kind(tmp_path) is Kind.DIRECTORY
    assert local_kind(tmp_path / "f") is Kind.FILE
    assert local_kind(tmp_path / "nope") is Kind.MISSING
    assert has_trailing_separator("data/")
    assert not has_trailing_separator("data")
    assert not has_trailing_separator("/")  # the root is not "the contents of" anything
