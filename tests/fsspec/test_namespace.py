"""What exists: ls at every level, info (checkpoints, permissions, revisions), exists,
find, glob, du, and the listings cache."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from anaconda_storage_core import AuthenticationRequired, ServerError
from anaconda_storage_fsspec import AnacondaFileSystem, namespace
from anaconda_storage_server.testing import LocalServer


@pytest.fixture
def tree(fs: AnacondaFileSystem, project: str) -> str:
    """A project holding a few files and an empty directory."""
    fs.pipe(
        {
            f"{project}/top.csv": b"a,b\n1,2\n",
            f"{project}/2024/q1.csv": b"q1",
            f"{project}/2024/q2.csv": b"q22",
            f"{project}/2024/deep/x.bin": b"xxxx",
        }
    )
    fs.makedirs(f"{project}/empty")
    return project


def test_ls_at_every_level(fs: AnacondaFileSystem, account: object, tree: str) -> None:
    owner = tree.split("/")[0]
    root = fs.ls("", detail=False)
    assert owner in root
    assert fs.ls("anaconda://", detail=False) == root
    assert tree in fs.ls(owner, detail=False)
    assert fs.ls(tree, detail=False) == [f"{tree}/2024", f"{tree}/empty", f"{tree}/top.csv"]
    assert fs.ls(f"anaconda://{tree}/2024/", detail=False) == [
        f"{tree}/2024/deep",
        f"{tree}/2024/q1.csv",
        f"{tree}/2024/q2.csv",
    ]
    assert fs.ls(f"{tree}/empty") == []  # its .keep marker is not shown
    assert fs.ls(f"{tree}/top.csv", detail=False) == [f"{tree}/top.csv"]
    listing = {e["name"]: e for e in fs.ls(tree)}
    assert listing[f"{tree}/2024"]["type"] == "directory"
    assert listing[f"{tree}/top.csv"]["size"] == 8
    assert listing[f"{tree}/top.csv"]["type"] == "file"


def test_ls_of_nothing_is_file_not_found(fs: AnacondaFileSystem, tree: str) -> None:
    owner = tree.split("/")[0]
    for missing in (f"{tree}/nothing", f"{owner}/no-such-project", "no-such-owner-xyz"):
        with pytest.raises(FileNotFoundError):
            fs.ls(missing)


def test_info_of_a_project_has_checkpoints_and_permissions(
    fs: AnacondaFileSystem, tree: str
) -> None:
    checkpoint = fs.checkpoint(tree, message="before")
    info = fs.info(tree)
    assert info["type"] == "directory"
    assert info["name"] == tree
    assert info["file_count"] == 4
    assert [c["id"] for c in info["checkpoints"]] == [checkpoint["id"]]
    assert info["checkpoints"][0]["message"] == "before"
    assert info["permissions"]["owner"] == tree.split("/")[0]
    assert info["permissions"]["grants"] == []
    assert fs.stat(tree) == info


def test_info_of_a_file_has_its_revisions(fs: AnacondaFileSystem, tree: str) -> None:
    path = f"{tree}/top.csv"
    fs.pipe_file(path, b"a,b\n3,4\n")
    info = fs.info(path)
    assert info["type"] == "file"
    assert info["size"] == 8
    assert isinstance(info["mtime"], datetime)
    revisions = info["revisions"]
    assert [r["index"] for r in revisions] == [0, -1]
    assert revisions[0]["revision"] == info["revision"]
    # A revision's name reads it back.
    assert fs.cat_file(revisions[1]["name"]) == b"a,b\n1,2\n"
    assert fs.info(f"{path}#-1")["revision"] == revisions[1]["revision"]
    assert fs.info(f"{path}#-1")["name"] == f"{path}#-1"


def test_ls_versions_lists_a_files_revisions(fs: AnacondaFileSystem, tree: str) -> None:
    path = f"{tree}/top.csv"
    fs.pipe_file(path, b"v2")
    fs.rm(path)
    versions = fs.ls(path, versions=True)
    assert [v["deleted"] for v in versions] == [True, False, False]
    assert all(v["name"] == f"{path}#{v['revision']}" for v in versions)
    assert not fs.exists(path)
    assert fs.cat_file(f"{path}#-1") == b"v2"  # a deleted file's content before deletion


def test_info_of_owners_directories_and_the_root(fs: AnacondaFileSystem, tree: str) -> None:
    owner = tree.split("/")[0]
    assert fs.info("")["type"] == "directory"
    assert fs.info(owner) == {**fs.info(owner), "name": owner, "type": "directory"}
    assert fs.info(f"{tree}/2024")["type"] == "directory"
    assert fs.info(f"{tree}/empty")["type"] == "directory"


def test_exists_isdir_isfile(fs: AnacondaFileSystem, tree: str) -> None:
    assert fs.exists(tree)
    assert fs.exists(f"{tree}/2024")
    assert fs.isdir(f"{tree}/2024")
    assert fs.isfile(f"{tree}/2024/q1.csv")
    assert not fs.isdir(f"{tree}/2024/q1.csv")
    assert not fs.exists(f"{tree}/2024/q3.csv")
    assert not fs.exists(f"{tree.split('/')[0]}/no-such-project")
    assert fs.exists(f"{tree}/2024/q1.csv#-1") is False  # it has no previous revision


def test_exists_raises_when_the_server_cannot_say(
    fs: AnacondaFileSystem, tree: str, account: object, tmp_path: Path
) -> None:
    bad_key = AnacondaFileSystem(
        api_key="not-a-key",
        domain=account.url,
        skip_instance_cache=True,  # type: ignore[attr-defined]
    )
    try:
        with pytest.raises(AuthenticationRequired):
            bad_key.exists(tree)
    finally:
        bad_key.close()
    with LocalServer(tmp_path / "failing", fault_rate=1.0) as failing:
        broken = AnacondaFileSystem(api_key="k", domain=failing.url, skip_instance_cache=True)
        try:
            with pytest.raises(ServerError):
                broken.exists("alice/sales/a.csv")
        finally:
            broken.close()


def test_find_is_one_listing(fs: AnacondaFileSystem, tree: str) -> None:
    assert fs.find(tree) == [
        f"{tree}/2024/deep/x.bin",
        f"{tree}/2024/q1.csv",
        f"{tree}/2024/q2.csv",
        f"{tree}/top.csv",
    ]
    assert fs.find(tree, withdirs=True) == [
        tree,
        f"{tree}/2024",
        f"{tree}/2024/deep",
        f"{tree}/2024/deep/x.bin",
        f"{tree}/2024/q1.csv",
        f"{tree}/2024/q2.csv",
        f"{tree}/empty",
        f"{tree}/top.csv",
    ]
    assert fs.find(tree, maxdepth=1) == [f"{tree}/top.csv"]
    assert fs.find(f"{tree}/2024", maxdepth=1, withdirs=True) == [
        f"{tree}/2024",
        f"{tree}/2024/deep",
        f"{tree}/2024/q1.csv",
        f"{tree}/2024/q2.csv",
    ]
    assert fs.find(f"{tree}/top.csv") == [f"{tree}/top.csv"]
    assert fs.find(f"{tree}/nothing") == []
    detail = fs.find(tree, detail=True)
    assert detail[f"{tree}/2024/q2.csv"]["size"] == 3


def test_find_fills_the_listings_cache(fs: AnacondaFileSystem, tree: str) -> None:
    fs.invalidate_cache()
    fs.find(tree)
    assert set(fs.dircache) >= {tree, f"{tree}/2024", f"{tree}/2024/deep", f"{tree}/empty"}
    assert fs.ls(f"{tree}/2024", detail=False) == [
        f"{tree}/2024/deep",
        f"{tree}/2024/q1.csv",
        f"{tree}/2024/q2.csv",
    ]


def test_find_above_projects(fs: AnacondaFileSystem, tree: str) -> None:
    owner = tree.split("/")[0]
    assert f"{tree}/2024/q1.csv" in fs.find(owner)
    assert tree in fs.find(owner, maxdepth=1, withdirs=True)


def test_glob(fs: AnacondaFileSystem, tree: str) -> None:
    assert fs.glob(f"{tree}/2024/*.csv") == [f"{tree}/2024/q1.csv", f"{tree}/2024/q2.csv"]
    assert fs.glob(f"anaconda://{tree}/2024/q?.csv") == [
        f"{tree}/2024/q1.csv",
        f"{tree}/2024/q2.csv",
    ]
    assert fs.glob(f"{tree}/**/*.bin") == [f"{tree}/2024/deep/x.bin"]
    assert fs.glob(f"{tree}/*") == [f"{tree}/2024", f"{tree}/empty", f"{tree}/top.csv"]
    owner, name = tree.split("/")
    projects = fs.glob(f"{owner}/{name[:-1]}*")
    assert tree in projects
    assert all(p.startswith(f"{owner}/{name[:-1]}") for p in projects)


def test_du(fs: AnacondaFileSystem, tree: str) -> None:
    assert fs.du(tree) == 8 + 2 + 3 + 4
    assert fs.du(f"{tree}/2024", total=False) == {
        f"{tree}/2024/deep/x.bin": 4,
        f"{tree}/2024/q1.csv": 2,
        f"{tree}/2024/q2.csv": 3,
    }


def test_changes_invalidate_the_listings_cache(fs: AnacondaFileSystem, tree: str) -> None:
    fs.ls(f"{tree}/2024")
    fs.ls(tree)
    fs.ls(tree.split("/")[0])
    fs.pipe_file(f"{tree}/2024/q3.csv", b"q3")
    assert f"{tree}/2024" not in fs.dircache
    assert tree not in fs.dircache
    assert tree.split("/")[0] not in fs.dircache
    assert f"{tree}/2024/q3.csv" in fs.ls(f"{tree}/2024", detail=False)
    fs.rm(f"{tree}/2024", recursive=True)
    assert not fs.exists(f"{tree}/2024/q3.csv")
    assert fs.ls(tree, detail=False) == [f"{tree}/empty", f"{tree}/top.csv"]


def test_a_listing_is_cached_until_a_change(
    fs: AnacondaFileSystem, tree: str, make_fs: Callable[..., AnacondaFileSystem], account: object
) -> None:
    other = make_fs(account)  # another client: its changes are unknown to `fs`
    assert f"{tree}/new.csv" not in fs.ls(tree, detail=False)
    other.pipe_file(f"{tree}/new.csv", b"n")
    assert f"{tree}/new.csv" not in fs.ls(tree, detail=False)  # cached
    assert f"{tree}/new.csv" in fs.ls(tree, detail=False, refresh=True)
    uncached = AnacondaFileSystem(
        **account.options,  # type: ignore[attr-defined]
        use_listings_cache=False,
        skip_instance_cache=True,
    )
    try:
        other.rm(f"{tree}/new.csv")
        assert f"{tree}/new.csv" not in uncached.ls(tree, detail=False)
    finally:
        uncached.close()


def test_info_from_a_cached_listing_follows_each_new_listing(
    fs: AnacondaFileSystem,
    tree: str,
    make_fs: Callable[..., AnacondaFileSystem],
    account: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Entries are looked up by name in an index of the listing; a new listing (refresh,
    # or after a change) is indexed anew, never answered from the old one's index.
    monkeypatch.setattr(namespace, "NAMED", 2)
    other = make_fs(account)  # another client: its changes are unknown to `fs`
    fs.ls(f"{tree}/2024")
    assert fs.info(f"{tree}/2024/q2.csv")["size"] == 3
    assert fs.isdir(f"{tree}/2024/deep")
    other.pipe_file(f"{tree}/2024/q2.csv", b"q2 longer")
    other.rm(f"{tree}/2024/q1.csv")
    assert fs.isfile(f"{tree}/2024/q1.csv")  # the cached listing still says so
    fs.ls(f"{tree}/2024", refresh=True)
    assert not fs.isfile(f"{tree}/2024/q1.csv")
    assert fs.info(f"{tree}/2024/q2.csv")["size"] == len(b"q2 longer")
    with pytest.raises(FileNotFoundError):
        fs.info(f"{tree}/2024/nothing.csv")
    for directory in (tree, f"{tree}/2024/deep", f"{tree}/empty"):
        fs.ls(directory)
        fs.exists(f"{directory}/anything")
    assert len(fs._names) == 2  # the last two directories asked, no more


def test_relative_checkpoints_are_resolved_before_caching(
    fs: AnacondaFileSystem, tree: str
) -> None:
    owner, name = tree.split("/")
    first = fs.checkpoint(tree)
    assert fs.ls(f"{owner}/{name}#-1", detail=False) == [
        f"{owner}/{name}#-1/2024",
        f"{owner}/{name}#-1/empty",
        f"{owner}/{name}#-1/top.csv",
    ]
    assert f"{owner}/{name}#{first['id']}" in fs.dircache  # cached under the UUID
    fs.pipe_file(f"{tree}/later.csv", b"l")
    fs.checkpoint(tree)
    # "-1" is now the second checkpoint, which holds later.csv.
    assert f"{owner}/{name}#-1/later.csv" in fs.ls(f"{owner}/{name}#-1", detail=False)
    assert f"{owner}/{name}#-2/later.csv" not in fs.ls(f"{owner}/{name}#-2", detail=False)
    assert fs.find(f"{owner}/{name}#-2") == [
        f"{owner}/{name}#-2/2024/deep/x.bin",
        f"{owner}/{name}#-2/2024/q1.csv",
        f"{owner}/{name}#-2/2024/q2.csv",
        f"{owner}/{name}#-2/top.csv",
    ]


def test_a_time_point_lists_the_project_as_it_was(fs: AnacondaFileSystem, tree: str) -> None:
    time.sleep(1.1)
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    fs.pipe_file(f"{tree}/after.csv", b"a")
    owner, name = tree.split("/")
    at = f"{owner}/{name}#{before:%Y-%m-%dT%H:%M:%S}"
    assert f"{at}/after.csv" not in fs.ls(at, detail=False)
    assert f"{at}/top.csv" in fs.ls(at, detail=False)
    assert at not in fs.dircache  # a recent time point is not settled: not cached
    with pytest.raises(FileNotFoundError):
        fs.info(f"{owner}/{name}#2001-01-01T00:00:00/top.csv")
