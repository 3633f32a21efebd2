"""Files, directories, listings and history, end to end, with both clients."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest

from anaconda_storage_core import (
    AsyncStorageClient,
    Conflict,
    DirectoryInfo,
    FileInfo,
    InvalidURI,
    NotFound,
    PreconditionFailed,
    ReadOnlyError,
    Revision,
)

pytestmark = pytest.mark.anyio


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def test_upload_and_read(client: Any, project: str) -> None:
    info = await client.upload(f"{project}/dir/q1.csv", b"a,b\n1,2\n")
    assert isinstance(info, FileInfo)
    assert (info.path, info.size, info.name) == ("dir/q1.csv", 8, "q1.csv")
    assert info.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert await client.read_bytes(f"anaconda://{project}/dir/q1.csv") == b"a,b\n1,2\n"


async def test_read_ranges(client: Any, project: str) -> None:
    await client.upload(f"{project}/r.bin", b"0123456789")
    uri = f"{project}/r.bin"
    assert await client.read_bytes(uri, 2) == b"23456789"
    assert await client.read_bytes(uri, 2, 5) == b"234"
    assert await client.read_bytes(uri, -3) == b"789"
    assert await client.read_bytes(uri, -4, -1) == b"678"
    assert await client.read_bytes(uri, 0, -8) == b"01"
    assert await client.read_bytes(uri, None, 3) == b"012"
    assert await client.read_bytes(uri, 5, 5) == b""
    assert await client.read_bytes(uri, 10) == b""
    assert await client.read_bytes(uri, 20, 30) == b""
    await client.upload(f"{project}/empty", b"")
    assert await client.read_bytes(f"{project}/empty") == b""
    assert await client.read_bytes(f"{project}/empty", 0) == b""


async def test_stream(client: Any, project: str) -> None:
    data = bytes(range(256)) * 4096
    await client.upload(f"{project}/s.bin", data)
    async with client.stream(f"{project}/s.bin") as content:
        assert content.info.size == len(data)
        assert content.info.sha256 == hashlib.sha256(data).hexdigest()
        received = b"".join([chunk async for chunk in content])
    assert received == data
    async with client.stream(f"{project}/s.bin", 10, 20) as content:
        assert await content.read() == data[10:20]
    with pytest.raises(NotFound):
        async with client.stream(f"{project}/missing"):
            pass


async def test_content_info(client: Any, project: str) -> None:
    written = await client.upload(f"{project}/h.txt", b"hello")
    info = await client.content_info(f"{project}/h.txt")
    assert (info.size, info.revision, info.sha256) == (5, written.revision, written.sha256)


async def test_revisions_and_history(client: Any, project: str) -> None:
    uri = f"{project}/v.txt"
    first = await client.upload(uri, b"v1")
    second = await client.upload(uri, b"v2")
    assert await client.read_bytes(f"{uri}#-1") == b"v1"
    assert await client.read_bytes(f"{uri}#{first.revision}") == b"v1"
    at_first = await client.info(f"{uri}#-1")
    assert at_first.revision == first.revision
    await client.delete(uri)
    with pytest.raises(NotFound) as caught:
        await client.info(uri)
    assert caught.value.missing == "path"
    assert await client.read_bytes(f"{uri}#-1") == b"v2"
    revisions = await collect(client.list_revisions(uri, page_size=1))
    assert all(isinstance(r, Revision) for r in revisions)
    assert [r.deleted for r in revisions] == [True, False, False]
    assert [r.id for r in revisions[1:]] == [second.revision, first.revision]
    assert [r.index for r in revisions] == [0, -1, -2]
    with pytest.raises(NotFound) as caught:
        await client.read_bytes(f"{uri}#-9")
    assert caught.value.missing == "revision"


async def test_conditional_writes(client: Any, project: str) -> None:
    uri = f"{project}/c.txt"
    first = await client.upload(uri, b"1", if_none_match="*")
    with pytest.raises(PreconditionFailed) as caught:
        await client.upload(uri, b"2", if_none_match="*")
    assert caught.value.current == first.revision
    second = await client.upload(uri, b"2", if_match=first.revision)
    with pytest.raises(PreconditionFailed):
        await client.upload(uri, b"3", if_match=first.revision)
    with pytest.raises(PreconditionFailed):
        await client.delete(uri, if_match=first.revision)
    await client.delete(uri, if_match=second.revision)


async def test_writes_at_history_are_read_only(client: Any, project: str) -> None:
    await client.upload(f"{project}/ro.txt", b"x")
    for call in (
        client.upload(f"{project}/ro.txt#-1", b"y"),
        client.delete(f"{project}/ro.txt#-1"),
        client.update_file(f"{project}#-1/ro.txt", description="d"),
        client.make_directory(f"{project}#2024-01-01T00:00:00/d"),
        client.move(f"{project}/ro.txt#-1", f"{project}/other.txt"),
        client.copy(f"{project}/ro.txt", f"{project}#-1/other.txt"),
    ):
        with pytest.raises(ReadOnlyError, match="read-only"):
            await call


async def test_update_file(client: Any, project: str) -> None:
    uri = f"{project}/m.txt"
    written = await client.upload(uri, b"content")
    updated = await client.update_file(uri, description="a file", metadata={"k": "v"})
    assert (updated.description, dict(updated.metadata)) == ("a file", {"k": "v"})
    assert updated.revision != written.revision
    assert updated.sha256 == written.sha256
    with pytest.raises(PreconditionFailed):
        await client.update_file(uri, description="x", if_match=written.revision)
    info = await client.info(uri)
    assert info.metadata == {"k": "v"}


async def test_tree_listing(client: Any, project: str) -> None:
    for path in ("a.txt", "dir/b.txt", "dir/sub/c.txt", "dir2/d.txt"):
        await client.upload(f"{project}/{path}", path.encode())
    await client.make_directory(f"{project}/empty")
    everything = await collect(client.list_tree(project, page_size=2))
    assert [e.path for e in everything] == ["a.txt", "dir/b.txt", "dir/sub/c.txt", "dir2/d.txt"]
    with_markers = await collect(client.list_tree(project, include_markers=True))
    assert "empty/.keep" in [e.path for e in with_markers]
    top = await collect(client.list_tree(project, delimiter="/"))
    assert [(type(e).__name__, e.path) for e in top] == [
        ("FileInfo", "a.txt"),
        ("DirectoryInfo", "dir"),
        ("DirectoryInfo", "dir2"),
        ("DirectoryInfo", "empty"),
    ]
    below = await collect(client.list_tree(f"{project}/dir", delimiter="/"))
    assert [e.path for e in below] == ["dir/b.txt", "dir/sub"]
    prefixed = await collect(client.list_tree(project, prefix="dir/"))
    assert [e.path for e in prefixed] == ["dir/b.txt", "dir/sub/c.txt"]
    assert await collect(client.list_tree(project, prefix="nothing/")) == []
    assert isinstance(await client.info(f"{project}/dir"), DirectoryInfo)


async def test_tree_at_checkpoint(client: Any, project: str) -> None:
    await client.upload(f"{project}/old.txt", b"old")
    checkpoint = await client.create_checkpoint(project)
    await client.upload(f"{project}/new.txt", b"new")
    then = await collect(client.list_tree(f"{project}#{checkpoint.id}"))
    assert [e.path for e in then] == ["old.txt"]
    now = await collect(client.list_tree(project))
    assert [e.path for e in now] == ["new.txt", "old.txt"]


async def test_directories(client: Any, project: str) -> None:
    made = await client.make_directory(f"{project}/a/b")
    assert isinstance(made, DirectoryInfo)
    assert made.path == "a/b"
    await client.make_directory(f"{project}/a/b")  # exists: fine
    await client.upload(f"{project}/file", b"")
    with pytest.raises(Conflict):
        await client.make_directory(f"{project}/file")
    await client.upload(f"{project}/a/b/inside.txt", b"x")
    with pytest.raises(Conflict):
        await client.remove_directory(f"{project}/a/b")
    await client.delete(f"{project}/a/b/inside.txt")
    await client.remove_directory(f"{project}/a/b")
    with pytest.raises(NotFound):
        await client.remove_directory(f"{project}/a/b")


async def test_directory_on_a_project_uri(client: Any, user: Any, project_name: str) -> None:
    uri = f"{user.name}/{project_name}"
    await client.make_directory(uri)
    assert (await client.get_project(uri)).name == project_name
    await client.remove_directory(uri)
    with pytest.raises(NotFound):
        await client.get_project(uri)


async def test_delete_many(client: Any, project: str) -> None:
    for path in ("x/1", "x/2", "x/3", "y/1"):
        await client.upload(f"{project}/{path}", b"-")
    result = await client.delete_many(project, ["x/1", "x/9"])
    assert (result.deleted, result.missing) == (("x/1",), ("x/9",))
    result = await client.delete_many(project, prefix="x/")
    assert sorted(result.deleted) == ["x/2", "x/3"]
    result = await client.delete_many(f"{project}/y", ["1"])
    assert result.deleted == ("y/1",)
    assert await collect(client.list_tree(project)) == []
    with pytest.raises(ValueError, match="paths or a prefix"):
        await client.delete_many(project)


async def test_copy_and_move(client: Any, project: str, user: Any) -> None:
    await client.upload(f"{project}/src/a.txt", b"a1")
    await client.upload(f"{project}/src/a.txt", b"a2")
    await client.upload(f"{project}/src/sub/b.txt", b"b")
    copied = await client.copy(f"{project}/src/a.txt", f"{project}/one.txt")
    assert [(i.source, i.destination) for i in copied.items] == [("src/a.txt", "one.txt")]
    await client.copy(f"{project}/src/a.txt#-1", f"{project}/old.txt")
    assert await client.read_bytes(f"{project}/old.txt") == b"a1"
    with pytest.raises(Conflict):
        await client.copy(f"{project}/src/a.txt", f"{project}/one.txt", overwrite=False)
    tree = await client.copy(f"{project}/src", f"{project}/dst", recursive=True)
    assert sorted(i.destination for i in tree.items) == ["dst/a.txt", "dst/sub/b.txt"]

    other = f"{user.name}/other-{project.rsplit('/', 1)[1]}"
    await client.create_project(other)
    moved = await client.move(f"{project}/dst", f"{other}/in", recursive=True)
    assert sorted(i.destination for i in moved.items) == ["in/a.txt", "in/sub/b.txt"]
    assert await client.read_bytes(f"{other}/in/sub/b.txt") == b"b"
    with pytest.raises(NotFound):
        await client.info(f"{project}/dst/a.txt")


async def test_paths_with_reserved_characters(client: Any, project: str) -> None:
    name = "dir with space/q#1?%.csv"
    encoded = "dir with space/q%231%3F%25.csv"
    await client.upload(f"{project}/{encoded}", b"odd")
    assert await client.read_bytes(f"{project}/{encoded}") == b"odd"
    listed = await collect(client.list_tree(project))
    assert [e.path for e in listed] == [name]


async def test_location_errors(client: Any, project: str) -> None:
    with pytest.raises(InvalidURI):
        await client.read_bytes(project)
    with pytest.raises(InvalidURI):
        await client.info("alice")
    with pytest.raises(NotFound) as caught:
        await client.read_bytes(f"{project}/missing.txt")
    assert caught.value.missing == "path"
    assert "missing.txt" in str(caught.value)
    with pytest.raises(NotFound) as caught:
        await client.read_bytes(f"{project}-nope/missing.txt")
    assert caught.value.missing == "project"


async def test_listing_pages_are_all_read_in_order(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    client = make_client(user)
    names = [f"f{i:02d}" for i in range(7)]
    for name in names:
        await client.upload(f"{project}/{name}", b"x")
    tap = tap_class()
    listed = await collect(make_client(user, tap=tap).list_tree(project, page_size=2))
    assert [e.path for e in listed] == names
    assert len(tap.routes("GET")) == 4  # 2 + 2 + 2 + 1, no page asked for twice


async def test_async_listing_asks_for_the_next_page_before_the_caller_needs_it(
    user: Any, project: str, tap_class: Any
) -> None:
    async with AsyncStorageClient(api_key=user.api_key, domain=user.url) as client:
        for i in range(5):
            await client.upload(f"{project}/f{i}", b"x")
    tap = tap_class()
    transport = tap.around(httpx.AsyncHTTPTransport())
    async with AsyncStorageClient(
        api_key=user.api_key, domain=user.url, transport=transport
    ) as client:
        entries = client.list_tree(project, page_size=2)
        first = await anext(entries)
        assert first.path == "f0"
        await asyncio.sleep(0.2)  # the caller at work on the first page
        assert len(tap.requests) == 2  # the second page is asked for meanwhile
        await entries.aclose()  # a caller that stops early: the prefetch is dropped
        assert len(tap.requests) == 2
        runs = [
            task
            for task in asyncio.all_tasks()
            if getattr(task.get_coro(), "__qualname__", "") == "AsyncRunner.run"
        ]
        assert runs == []
