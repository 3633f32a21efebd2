"""The sync planner (pure), its filters, the local hash cache, and the listings it compares,
the remote one from the real server."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_core import StorageClient, StorageError
from anaconda_storage_core.sync import (
    EMPTY_SHA256,
    Action,
    HashCache,
    PathFilter,
    SyncEntry,
    hashes,
    local_listing,
    plan_sync,
    remote_listing,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def f(data: bytes) -> SyncEntry:
    return SyncEntry(size=len(data), sha256=sha(data))


D = SyncEntry(directory=True)


def paths(steps: Any) -> list[str]:
    return [step.path for step in steps]


# -- the planner -------------------------------------------------------------------------


def test_plan_copies_what_differs_and_skips_the_same_content() -> None:
    source = {
        "same.csv": f(b"a"),
        "changed.csv": f(b"new"),
        "resized.csv": f(b"xx"),
        "new": f(b"n"),
    }
    destination = {"same.csv": f(b"a"), "changed.csv": f(b"old"), "resized.csv": f(b"x")}
    plan = plan_sync(source, destination)
    assert paths(plan.copies) == ["changed.csv", "new", "resized.csv"]
    assert paths(plan.skips) == ["same.csv"]
    assert plan.deletions == ()
    assert plan.bytes == 3 + 1 + 2
    assert {step.action for step in plan.copies} == {Action.COPY}


def test_plan_deletes_only_with_delete() -> None:
    source = {"keep": f(b"k")}
    destination = {"keep": f(b"k"), "gone.csv": f(b"g"), "old/x": f(b"x"), "emptied": D}
    assert plan_sync(source, destination).deletions == ()
    plan = plan_sync(source, destination, delete=True)
    # files first, then directories, innermost first: the order they can be removed in
    assert paths(plan.deletions) == ["gone.csv", "old/x", "emptied"]
    assert next(step.entry for step in plan.deletions) == f(b"g")


def test_plan_makes_empty_directories_before_files() -> None:
    source = {"a": D, "b/c": D, "b/c/d": D, "f/x": f(b"x"), "f": D, "z": D}
    plan = plan_sync(source, {"a": D})
    # "a" exists; "f" holds a file and "b/c" a directory, which make them
    assert paths(plan.copies) == ["z", "b/c/d", "f/x"]
    assert paths(plan.skips) == ["a", "b/c", "f"]


def test_plan_keeps_a_destination_marker_of_a_directory_the_source_fills() -> None:
    plan = plan_sync({"d/x": f(b"x")}, {"d": D}, delete=True)
    assert plan.deletions == ()
    assert paths(plan.copies) == ["d/x"]


def test_plan_replaces_a_directory_by_a_file_and_a_file_by_a_directory() -> None:
    plan = plan_sync({"a": f(b"a"), "b": D}, {"a": D, "b": f(b"b")}, delete=True)
    assert paths(plan.deletions) == ["b", "a"]  # the file b, then the directory a
    assert paths(plan.copies) == ["b", "a"]  # the directory b, then the file a


def test_plan_asks_digests_only_for_files_of_the_same_size() -> None:
    asked: list[str] = []

    def digest(path: str) -> str | None:
        asked.append(path)
        return {"same": sha(b"aa"), "differs": sha(b"bb")}.get(path)

    source = {
        "same": SyncEntry(size=2),
        "differs": SyncEntry(size=2),
        "resized": SyncEntry(size=3),
        "new": SyncEntry(size=1),
        "unknown": SyncEntry(size=2),
    }
    destination = {"same": f(b"aa"), "differs": f(b"cc"), "resized": f(b"zz"), "unknown": f(b"zz")}
    plan = plan_sync(source, destination, source_digest=digest)
    assert sorted(asked) == ["differs", "same", "unknown"]
    assert paths(plan.skips) == ["same"]
    # a digest that stays unknown copies the file: never skipped on a guess
    assert paths(plan.copies) == ["differs", "new", "resized", "unknown"]
    assert paths(plan_sync({"x": SyncEntry(size=1)}, {"x": f(b"x")}).copies) == ["x"]


def test_plan_filters_both_sides_so_excluded_files_are_not_deleted() -> None:
    source = {"a.csv": f(b"a"), "tmp/t.csv": f(b"t"), "b.log": f(b"b")}
    destination = {"old.log": f(b"o"), "gone.csv": f(b"g"), "tmp/u": f(b"u")}
    select = PathFilter(exclude=("*.log", "tmp/"))
    plan = plan_sync(source, destination, delete=True, select=select)
    assert paths(plan.copies) == ["a.csv"]
    assert paths(plan.deletions) == ["gone.csv"]


def test_path_filter_gitignore_rules() -> None:
    select = PathFilter(exclude=("*.tmp", "/build", "logs/", "data/**/raw"))
    assert not select.selects("x.tmp")
    assert not select.selects("deep/er/x.tmp")
    assert not select.selects("build/a")
    assert select.selects("src/build/a")
    assert not select.selects("logs/a/b.txt")
    assert not select.selects("logs", directory=True)
    assert not select.selects("data/2024/q1/raw/x")
    assert select.selects("data/raw2")
    assert select.selects("keep.csv")
    assert not PathFilter()
    assert PathFilter(include=("x",))


def test_path_filter_include_brings_back_and_include_alone_keeps_only() -> None:
    only_csv = PathFilter(exclude=("*",), include=("*.csv",))
    assert only_csv.selects("a/b.csv")
    assert not only_csv.selects("a/b.txt")
    assert PathFilter(include=("*.csv",)) == PathFilter(include=("*.csv",))
    alone = PathFilter(include=("*.csv",))
    assert alone.selects("q1.csv")
    assert not alone.selects("q1.txt")
    back = PathFilter(exclude=("raw/",), include=("raw/keep.csv",))
    assert back.selects("raw/keep.csv")
    assert not back.selects("raw/other.csv")


# -- the hash cache ----------------------------------------------------------------------


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file the hash cache reads."""
    seen: list[str] = []
    real = hashes.file_sha256

    def counting(path: str | os.PathLike[str]) -> str:
        seen.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(hashes, "file_sha256", counting)
    return seen


def old(path: Path, seconds: int = 3600) -> None:
    """Move a file's modification time into the past (older than the racy window)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 10**9))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"a,b\n1,2\n")
    (root / "sub" / "b.txt").write_bytes(b"bee\n")
    for path in (root / "a.csv", root / "sub" / "b.txt"):
        old(path)
    return root


def test_hash_cache_reads_unchanged_files_once(
    tmp_path: Path, files: Path, reads: list[str]
) -> None:
    cache_dir = tmp_path / "cache"
    with HashCache(files, cache_dir) as cache:
        assert cache.sha256(files / "a.csv") == sha(b"a,b\n1,2\n")
        assert cache.sha256(files / "sub" / "b.txt") == sha(b"bee\n")
    assert sorted(reads) == ["a.csv", "b.txt"]
    assert (cache_dir / "sha256.sqlite3").exists()
    with HashCache(files, cache_dir) as again:
        assert again.sha256(files / "a.csv") == sha(b"a,b\n1,2\n")
        assert again.sha256(files / "sub" / "b.txt") == sha(b"bee\n")
        assert again.read == 0
    assert len(reads) == 2


def test_hash_cache_rereads_a_touched_file_of_the_same_size(
    tmp_path: Path, files: Path, reads: list[str]
) -> None:
    cache_dir = tmp_path / "cache"
    target = files / "a.csv"
    with HashCache(files, cache_dir) as cache:
        cache.sha256(target)
    before = target.stat()
    target.write_bytes(b"a,b\n3,4\n")  # same size
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    with HashCache(files, cache_dir) as cache:
        assert cache.sha256(target) == sha(b"a,b\n3,4\n")
    assert reads == ["a.csv", "a.csv"]


def test_hash_cache_rereads_a_file_replaced_by_a_rename(
    tmp_path: Path, files: Path, reads: list[str]
) -> None:
    cache_dir = tmp_path / "cache"
    target = files / "a.csv"
    with HashCache(files, cache_dir) as cache:
        cache.sha256(target)
    stat = target.stat()
    replacement = files / "new.tmp"
    replacement.write_bytes(b"a,b\n5,6\n")
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime
    keep = files / "keep-inode"  # holds the old inode, so the rename cannot reuse it
    os.link(target, keep)
    os.replace(replacement, target)
    assert target.stat().st_ino != stat.st_ino
    with HashCache(files, cache_dir) as cache:
        assert cache.sha256(target) == sha(b"a,b\n5,6\n")
    assert reads == ["a.csv", "a.csv"]


def test_hash_cache_does_not_remember_a_file_modified_just_now(
    tmp_path: Path, reads: list[str]
) -> None:
    fresh = tmp_path / "fresh.txt"
    fresh.write_bytes(b"now")
    for _ in range(2):
        with HashCache(tmp_path, tmp_path / "cache") as cache:
            assert cache.sha256(fresh) == sha(b"now")
    assert reads == ["fresh.txt", "fresh.txt"]


def test_hash_cache_knows_an_empty_file_without_reading_it(
    tmp_path: Path, reads: list[str]
) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert HashCache(tmp_path, tmp_path / "cache").sha256(empty) == EMPTY_SHA256
    assert reads == []


@pytest.mark.parametrize(
    "damage", [b"not a database at all", b"SQLite format 3\x00" + b"\xff" * 200]
)
def test_a_corrupt_hash_cache_is_rebuilt(
    tmp_path: Path, files: Path, reads: list[str], damage: bytes
) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "sha256.sqlite3").write_bytes(damage)
    with HashCache(files, cache_dir) as cache:
        assert cache.sha256(files / "a.csv") == sha(b"a,b\n1,2\n")
    with HashCache(files, cache_dir) as cache:
        assert cache.sha256(files / "a.csv") == sha(b"a,b\n1,2\n")
        assert cache.read == 0
    assert reads == ["a.csv"]


def test_a_locked_hash_cache_is_done_without(tmp_path: Path, files: Path, reads: list[str]) -> None:
    cache_dir = tmp_path / "cache"
    with HashCache(files, cache_dir) as cache:
        cache.sha256(files / "a.csv")
    other_run = sqlite3.connect(cache_dir / "sha256.sqlite3")
    other_run.execute("BEGIN EXCLUSIVE")
    try:
        with HashCache(files, cache_dir, timeout=0) as locked:
            assert locked.sha256(files / "a.csv") == sha(b"a,b\n1,2\n")
            assert locked.sha256(files / "sub" / "b.txt") == sha(b"bee\n")
    finally:
        other_run.rollback()
        other_run.close()
    assert reads == ["a.csv", "a.csv", "b.txt"]
    with HashCache(files, cache_dir) as cache:  # kept, not discarded as corrupt
        cache.sha256(files / "a.csv")
        assert cache.read == 0


def test_the_default_cache_dir_follows_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.name != "posix" or os.uname().sysname == "Darwin":
        pytest.skip("XDG_CACHE_HOME is the Linux convention")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert HashCache(tmp_path).database == tmp_path / "xdg" / "anaconda-storage" / "sha256.sqlite3"


# -- the listings ------------------------------------------------------------------------


def test_local_listing_files_and_empty_directories(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "sub" / "empty").mkdir(parents=True)
    (root / "a").write_bytes(b"aaa")
    (root / "sub" / "b").write_bytes(b"")
    (root / "linked").symlink_to(root / "sub", target_is_directory=True)
    listing = local_listing(root)
    assert listing.entries == {
        "a": SyncEntry(size=3),
        "sub/b": SyncEntry(size=0),
        "sub/empty": SyncEntry(directory=True),
    }
    assert listing.skipped == ["linked"]
    assert local_listing(tmp_path / "missing").entries == {}


class Counting(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        return super().handle_request(request)


@pytest.fixture
def counted(user: Any) -> Iterator[tuple[StorageClient, Counting]]:
    transport = Counting()
    with StorageClient(api_key=user.api_key, domain=user.url, transport=transport) as client:
        client.create_project(f"{user.name}/p")
        yield client, transport


def test_remote_listing_carries_digests_in_one_listing(
    counted: tuple[StorageClient, Counting], user: Any
) -> None:
    client, transport = counted
    base = f"{user.name}/p"
    for i in range(5):
        client.upload(f"{base}/dir/f{i}.csv", f"row {i}\n".encode())
    client.make_directory(f"{base}/dir/empty")
    client.upload(f"{base}/outside.csv", b"x")
    transport.requests.clear()
    entries = remote_listing(client, f"{base}/dir")
    assert entries == {
        **{f"f{i}.csv": f(f"row {i}\n".encode()) for i in range(5)},
        "empty": SyncEntry(directory=True),
    }
    assert transport.requests == [f"GET /api/storage/projects/{base}/tree"]
    assert remote_listing(client, f"{base}/nothing-here") == {}


def test_remote_listing_at_a_checkpoint(counted: tuple[StorageClient, Counting], user: Any) -> None:
    client, _ = counted
    base = f"{user.name}/p"
    client.upload(f"{base}/d/a", b"before")
    client.create_checkpoint(base)
    client.upload(f"{base}/d/a", b"after!!")
    client.upload(f"{base}/d/b", b"new")
    assert remote_listing(client, f"{base}#-1/d") == {"a": f(b"before")}


def test_remote_listing_refuses_a_path_outside_the_directory() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        item = {
            "type": "file",
            "path": "d/../../etc/passwd",
            "size": 1,
            "sha256": sha(b"x"),
            "revision": "r",
        }
        return httpx.Response(200, json={"items": [item], "next_cursor": None})

    transport = httpx.MockTransport(answer)
    client = StorageClient(api_key="k", domain="http://127.0.0.1:1", transport=transport)
    with client, pytest.raises(StorageError, match="outside"):
        remote_listing(client, "alice/p/d")


# -- a library author's sync, end to end -------------------------------------------------


def test_a_sync_written_with_the_core_sends_nothing_the_second_time(
    counted: tuple[StorageClient, Counting],
    user: Any,
    files: Path,
    tmp_path: Path,
    reads: list[str],
) -> None:
    client, transport = counted
    remote = f"{user.name}/p/data"

    def sync() -> list[str]:
        local = local_listing(files)
        with HashCache(files, tmp_path / "cache") as cache:
            plan = plan_sync(
                local.entries,
                remote_listing(client, remote),
                source_digest=local.digest_with(cache),
            )
        for step in plan.copies:
            client.upload(f"{remote}/{step.path}", files / step.path)
        return paths(plan.copies)

    assert sync() == ["a.csv", "sub/b.txt"]
    assert reads == []  # nothing to compare with: nothing read to plan
    transport.requests.clear()
    assert sync() == []
    assert [r.split()[0] for r in transport.requests] == ["GET"]  # the listing, nothing else
    assert sorted(reads) == ["a.csv", "b.txt"]  # read once, to compare
    assert sync() == []
    assert len(reads) == 2  # and never again


def test_an_upload_of_unchanged_content_answers_the_current_revision(
    counted: tuple[StorageClient, Counting], user: Any
) -> None:
    client, _ = counted
    target = f"{user.name}/p/f.csv"
    first = client.upload(target, b"a,b\n")
    assert client.upload(target, b"a,b\n").revision == first.revision
    assert len(list(client.list_revisions(target))) == 1
