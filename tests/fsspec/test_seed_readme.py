"""The seed README's "Special methods" section, line by line, against the local server.

(Its "Initialization" section, the four invocation variants, is test_options.py.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from anaconda_storage_fsspec import AnacondaFileSystem


def test_special_methods(
    fs: AnacondaFileSystem,
    account: object,
    new_credentials: Callable[[str], object],
    make_fs: Callable[..., AnacondaFileSystem],
) -> None:
    owner = account.name  # type: ignore[attr-defined]
    project = f"{owner}/seed-readme"

    # .mkdir('<owner>/<project>[/path/to/dir]')
    fs.mkdir(project)  # Create a new project as <owner>/<project>
    assert fs.isdir(project)
    fs.mkdir(f"{project}/path/to/dir")  # ... an empty directory, by writing .keep
    assert fs.ls(f"{project}/path/to/dir") == []
    assert fs.ls(f"{project}/path/to/dir/.keep", detail=False) == [f"{project}/path/to/dir/.keep"]
    # You cannot have a file and a directory of the same name within a project.
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{project}/path/to/dir", b"x")

    # .rmdir('<owner>/<project>[/path/to/dir]'): only if it holds nothing but .keep.
    fs.pipe_file(f"{project}/path/to/file.csv", b"a,b\n")
    with pytest.raises(OSError, match="not empty"):
        fs.rmdir(f"{project}/path/to")
    fs.rmdir(f"{project}/path/to/dir")
    assert not fs.exists(f"{project}/path/to/dir")

    # .chmod('<owner>/<project>', [<list-of-permissions>])
    reader = new_credentials("seedreader")
    name = reader.name  # type: ignore[attr-defined]
    fs.chmod(project, [f"u/{name}+r"])
    assert make_fs(reader).cat_file(f"{project}/path/to/file.csv") == b"a,b\n"
    fs.chmod(project, [f"u/{name}-r"])

    # .checkpoint('<owner>/<project>') to create an ad-hoc checkpoint
    checkpoint = fs.checkpoint(project)

    # .stat('<anaconda uri>') and .info('<anaconda uri>') return detailed metadata:
    info = fs.stat(project)
    assert [c["id"] for c in info["checkpoints"]] == [checkpoint["id"]]  # projects only
    assert info["permissions"]["owner"] == owner  # projects only
    fs.pipe_file(f"{project}/path/to/file.csv", b"a,b\n1,2\n")
    assert len(fs.info(f"{project}/path/to/file.csv")["revisions"]) == 2  # files only

    # .chattr('<owner>/<project>[/path/to/file]', name=, title=, tags=, metadata=,
    #         description=, hidden=)
    fs.chattr(project, title="Seed", tags=["data", "notebook"], description="d", hidden=False)
    assert fs.info(project)["tags"] == ["data", "notebook"]
    fs.chattr(f"{project}/path/to/file.csv", description="q1", metadata={"k": "v"})
    assert len(fs.info(f"{project}/path/to/file.csv")["revisions"]) == 3  # a new revision
    fs.chattr(project, name="seed-readme-renamed")
    assert fs.cat_file(f"{owner}/seed-readme-renamed/path/to/file.csv") == b"a,b\n1,2\n"
    assert fs.cat_file(f"{owner}/seed-readme-renamed#-1/path/to/file.csv") == b"a,b\n"
