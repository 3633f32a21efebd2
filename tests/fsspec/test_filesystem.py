"""Changes: rm, cp, mv, mkdir, rmdir, touch; and the seed's chmod, checkpoint, chattr."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from anaconda_storage_core import InvalidAttribute, InvalidPermission, StorageClient
from anaconda_storage_fsspec import AnacondaFileSystem


def _revisions(fs: AnacondaFileSystem, path: str) -> int:
    return len(fs.ls(path, versions=True))


# -- rm ----------------------------------------------------------------------------------


def test_rm_a_file_and_a_missing_one(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/a", b"a")
    fs.rm(f"{project}/a")
    assert not fs.exists(f"{project}/a")
    with pytest.raises(FileNotFoundError):
        fs.rm(f"{project}/a")


def test_rm_a_directory_needs_recursive(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/d/a", b"a")
    with pytest.raises(IsADirectoryError):
        fs.rm(f"{project}/d")
    fs.rm(f"{project}/d", recursive=True)
    assert fs.ls(project) == []


def test_rm_recursive_is_one_request_per_directory(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe({f"{project}/d/{i % 7}/{i}.txt": b"x" for i in range(1200)})
    fs.makedirs(f"{project}/d/empty")
    fs.rm(f"anaconda://{project}/d/", recursive=True)
    assert not fs.exists(f"{project}/d")
    assert fs.find(project) == []


def test_rm_many_files_in_batches(fs: AnacondaFileSystem, project: str) -> None:
    names = [f"{project}/f/{i}.txt" for i in range(1500)]
    fs.pipe(dict.fromkeys(names, b"x"))
    fs.pipe_file(f"{project}/keep.txt", b"k")
    fs.rm(names)  # more than one request's 1,000 paths
    assert fs.find(project) == [f"{project}/keep.txt"]


def test_rm_glob_and_maxdepth(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe({f"{project}/{n}": b"x" for n in ("a.csv", "b.csv", "c.txt", "d/e.csv", "d/f/g")})
    fs.rm(f"{project}/*.csv")
    assert fs.find(project) == [f"{project}/c.txt", f"{project}/d/e.csv", f"{project}/d/f/g"]
    fs.rm(f"{project}/d", recursive=True, maxdepth=1)
    assert fs.find(project) == [f"{project}/c.txt", f"{project}/d/f/g"]


def test_rm_a_project_recursively(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/a", b"a")
    fs.rm(project, recursive=True)
    assert not fs.exists(project)
    assert project not in fs.ls(project.split("/")[0], detail=False)


# -- cp and mv -------------------------------------------------------------------------------


def test_cp_copies_on_the_server_with_history(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/a", b"v1")
    fs.pipe_file(f"{project}/a", b"v2")
    fs.cp(f"{project}/a#-1", f"{project}/old")
    assert fs.cat_file(f"{project}/old") == b"v1"
    fs.cp(f"{project}/a", f"{project}/dir/")
    assert fs.cat_file(f"{project}/dir/a") == b"v2"
    assert fs.info(f"{project}/dir/a")["sha256"] == fs.info(f"{project}/a")["sha256"]


def test_cp_between_projects_and_recursive(fs: AnacondaFileSystem, project: str) -> None:
    other = f"{project}-copy"
    fs.mkdir(other)
    fs.pipe({f"{project}/src/{n}": n.encode() for n in ("a", "b/c", "b/d")})
    fs.cp(f"{project}/src", f"{other}/dst", recursive=True)
    assert fs.find(other) == [f"{other}/dst/a", f"{other}/dst/b/c", f"{other}/dst/b/d"]
    assert fs.cat_file(f"{other}/dst/b/d") == b"b/d"


def test_mv_renames_a_file(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/a.csv", b"a")
    fs.mv(f"{project}/a.csv", f"{project}/b.csv")
    assert fs.ls(project, detail=False) == [f"{project}/b.csv"]
    assert fs.cat_file(f"{project}/b.csv") == b"a"
    assert fs.cat_file(f"{project}/a.csv#-1") == b"a"  # its history stays


def test_mv_a_directory_is_one_move(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe({f"{project}/src/{n}": b"x" for n in ("a", "b/c")})
    fs.mv(f"{project}/src", f"{project}/renamed")
    assert fs.find(project) == [f"{project}/renamed/a", f"{project}/renamed/b/c"]
    fs.makedirs(f"{project}/into")
    fs.mv(f"{project}/renamed", f"{project}/into")  # an existing directory: moved inside
    assert fs.find(project) == [f"{project}/into/renamed/a", f"{project}/into/renamed/b/c"]


def test_mv_of_many_files(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe({f"{project}/{n}": b"x" for n in ("a.csv", "b.csv", "c.txt")})
    fs.mv(f"{project}/*.csv", f"{project}/csv/")
    assert fs.find(project) == [f"{project}/c.txt", f"{project}/csv/a.csv", f"{project}/csv/b.csv"]


def test_mv_of_a_project_is_refused(fs: AnacondaFileSystem, project: str) -> None:
    with pytest.raises(ValueError, match="chattr"):
        fs.mv(project, f"{project}-renamed")


# -- mkdir, rmdir, touch ---------------------------------------------------------------------


def test_mkdir_makes_projects_and_directories(fs: AnacondaFileSystem, account: object) -> None:
    owner = account.name  # type: ignore[attr-defined]
    fs.mkdir(f"{owner}/made")
    assert fs.info(f"{owner}/made")["access"] == "owner"
    with pytest.raises(FileExistsError):
        fs.mkdir(f"{owner}/made")
    fs.mkdir(f"{owner}/made/a/b")  # create_parents by default
    assert fs.ls(f"{owner}/made/a", detail=False) == [f"{owner}/made/a/b"]
    with pytest.raises(FileNotFoundError):
        fs.mkdir(f"{owner}/made/x/y", create_parents=False)
    fs.makedirs(f"{owner}/made/a/b", exist_ok=True)
    with pytest.raises(FileExistsError):
        fs.makedirs(f"{owner}/made/a/b")
    fs.makedirs(f"{owner}/made2/deep/dir")  # the project too
    assert fs.isdir(f"{owner}/made2/deep/dir")


def test_a_file_and_a_directory_cannot_share_a_path(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/name", b"x")
    with pytest.raises(FileExistsError):
        fs.mkdir(f"{project}/name")
    fs.mkdir(f"{project}/dir")
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{project}/dir", b"x")


def test_rmdir(fs: AnacondaFileSystem, project: str) -> None:
    fs.mkdir(f"{project}/empty")
    fs.rmdir(f"{project}/empty")
    assert not fs.exists(f"{project}/empty")
    fs.pipe_file(f"{project}/full/a", b"a")
    with pytest.raises(OSError, match="not empty"):
        fs.rmdir(f"{project}/full")
    with pytest.raises(OSError, match="not empty"):
        fs.rmdir(project)
    fs.rm(f"{project}/full", recursive=True)
    # No file left, but `full/a#-1` still reads: the project is not empty (issue 11).
    with pytest.raises(OSError, match="holds history"):
        fs.rmdir(project)
    assert fs.cat_file(f"{project}/full/a#-1") == b"a"
    fs.rm(project, recursive=True)
    assert not fs.exists(project)


def test_rmdir_of_an_empty_project(fs: AnacondaFileSystem, account: object) -> None:
    project = f"{account.name}/made-then-removed"  # type: ignore[attr-defined]
    fs.mkdir(project)
    fs.mkdir(f"{project}/a/b")
    fs.rmdir(f"{project}/a/b")  # markers made and removed are no history
    fs.rmdir(project)
    assert not fs.exists(project)


def test_touch_creates_and_leaves_alone_unless_truncate(
    fs: AnacondaFileSystem, project: str
) -> None:
    path = f"{project}/t.txt"
    fs.touch(path)
    assert fs.cat_file(path) == b""
    fs.pipe_file(path, b"content")
    fs.touch(path)
    assert fs.cat_file(path) == b"content"
    assert _revisions(fs, path) == 2
    fs.touch(path, truncate=True)
    assert fs.cat_file(path) == b""


# -- chmod, checkpoint, chattr ---------------------------------------------------------------


def test_chmod_grants_and_revokes(
    fs: AnacondaFileSystem,
    project: str,
    new_credentials: Callable[[str], object],
    make_fs: Callable[..., AnacondaFileSystem],
) -> None:
    reader = new_credentials("reader")
    name = reader.name  # type: ignore[attr-defined]
    theirs = make_fs(reader)
    fs.pipe_file(f"{project}/a", b"a")
    assert not theirs.exists(f"{project}/a")
    permissions = fs.chmod(project, [f"u/{name}+r"])
    assert permissions["grants"] == [{"principal": name, "kind": "user", "level": "r"}]
    assert theirs.cat_file(f"{project}/a") == b"a"
    with pytest.raises(PermissionError):
        theirs.pipe_file(f"{project}/b", b"b")
    fs.chmod(project, [f"u/{name}+w"])
    theirs.pipe_file(f"{project}/b", b"b")
    fs.chmod(project, [f"u/{name}-r"])
    theirs.invalidate_cache()
    assert not theirs.exists(f"{project}/a")
    assert fs.info(project)["permissions"]["grants"] == []
    with pytest.raises(InvalidPermission):
        fs.chmod(project, ["u/bob+x"])


def test_checkpoint_returns_its_id(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/a", b"v1")
    checkpoint = fs.checkpoint(project)
    fs.pipe_file(f"{project}/a", b"v2")
    owner, name = project.split("/")
    assert fs.cat_file(f"{owner}/{name}#{checkpoint['id']}/a") == b"v1"
    assert fs.cat_file(f"{owner}/{name}#-1/a") == b"v1"
    assert fs.info(project)["checkpoints"][0]["id"] == checkpoint["id"]


def test_chattr_of_a_project(fs: AnacondaFileSystem, project: str) -> None:
    info = fs.chattr(project, title="Sales", description="Q1", tags=["data"], hidden=True)
    assert (info["title"], info["description"], info["tags"], info["hidden"]) == (
        "Sales",
        "Q1",
        ["data"],
        True,
    )
    owner = project.split("/")[0]
    renamed = f"{project}-renamed"
    fs.pipe_file(f"{project}/a", b"a")
    fs.chattr(project, name=renamed.split("/")[1])
    assert fs.cat_file(f"{renamed}/a") == b"a"
    assert not fs.exists(project)
    with pytest.raises(InvalidAttribute):
        fs.chattr(renamed, tags=["music"])
    with pytest.raises(ValueError, match="files"):
        fs.chattr(renamed, metadata={"k": "v"})
    assert owner == renamed.split("/")[0]


def test_chattr_of_a_file_is_a_new_revision(fs: AnacondaFileSystem, project: str) -> None:
    path = f"{project}/a.csv"
    fs.pipe_file(path, b"a")
    info = fs.chattr(path, description="the a file", metadata={"source": "erp"})
    assert info["description"] == "the a file"
    assert info["metadata"] == {"source": "erp"}
    assert fs.info(path)["metadata"] == {"source": "erp"}
    assert _revisions(fs, path) == 2
    assert fs.cat_file(path) == b"a"
    with pytest.raises(ValueError, match="projects"):
        fs.chattr(path, title="no")


def test_history_cannot_be_changed(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/a", b"a")
    fs.checkpoint(project)
    owner, name = project.split("/")
    for call in (
        lambda: fs.mkdir(f"{owner}/{name}#-1/dir"),
        lambda: fs.rmdir(f"{owner}/{name}#-1"),
        lambda: fs.mv(f"{project}/a#-1", f"{project}/b"),
        lambda: fs.cp(f"{project}/a", f"{owner}/{name}#-1/b"),
        lambda: fs.chattr(f"{project}/a#-1", description="x"),
        lambda: fs.touch(f"{owner}/{name}#-1/t"),
    ):
        with pytest.raises(PermissionError, match="read-only"):
            call()


def test_sync_client_sees_what_the_driver_wrote(
    fs: AnacondaFileSystem, project: str, account: object
) -> None:
    fs.pipe_file(f"{project}/a", b"written by fsspec")
    with StorageClient(**account.options) as client:  # type: ignore[attr-defined]
        assert client.read_bytes(f"{project}/a") == b"written by fsspec"
