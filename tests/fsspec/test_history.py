"""`fs.restore`: a file, a deleted file and a directory as they were, through fsspec."""

from __future__ import annotations

import pytest

from anaconda_storage_fsspec import AnacondaFileSystem


def test_restore_a_file_and_a_directory(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/q1.csv", b"first")
    fs.pipe_file(f"{project}/q1.csv", b"second")
    assert fs.cat_file(f"{project}/q1.csv") == b"second"  # now in the listings cache
    changes = fs.restore(f"{project}/q1.csv#-1")
    assert [(c["path"], c["change"]) for c in changes] == [("q1.csv", "modified")]
    assert fs.cat_file(f"{project}/q1.csv") == b"first"

    fs.pipe_file(f"{project}/dir/a.csv", b"a")
    fs.checkpoint(project, "before the clean-up")
    fs.rm(f"{project}/dir", recursive=True)
    assert not fs.exists(f"{project}/dir/a.csv")
    planned = fs.restore(f"{project}#-1/dir", dry_run=True)
    assert [(c["change"], c["revision"]) for c in planned] == [("added", None)]
    assert not fs.exists(f"{project}/dir/a.csv")
    fs.restore(f"anaconda://{project}#-1/dir")
    assert fs.cat_file(f"{project}/dir/a.csv") == b"a"
    assert fs.ls(f"{project}/dir", detail=False) == [f"{project}/dir/a.csv"]

    with pytest.raises(ValueError, match="past state"):
        fs.restore(f"{project}/q1.csv")


def test_a_removed_project_comes_back(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/a.csv", b"a")
    fs.rm(project, recursive=True)
    assert not fs.exists(project)
    assert fs.restore(project) == [{"path": project, "change": "added", "revision": None}]
    assert fs.cat_file(f"{project}/a.csv") == b"a"
