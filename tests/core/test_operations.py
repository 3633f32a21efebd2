"""The sans-IO layer: each operation builds the request docs/api.md describes and parses
its answer, without any I/O."""

from __future__ import annotations

import json

import httpx
import pytest

from anaconda_storage_core import FileInfo, NotFound, StorageConfig
from anaconda_storage_core.operations import batch, checkpoints, files, projects, tree, uploads
from anaconda_storage_core.operations.call import Api, quote_path

API = Api.from_config(StorageConfig(domain="storage.example", api_key="k"))
ROOT = "https://storage.example/api/storage"


def test_headers_of_every_request() -> None:
    request = projects.get_project(API, "alice", "sales").request
    assert request.headers["Authorization"] == "Bearer k"
    assert request.headers["Api-Version"] == "2023.11.28"
    assert request.headers["User-Agent"].startswith("anaconda-storage-core/")
    assert "k" not in repr(API)


def test_paths_are_quoted_except_slashes() -> None:
    assert quote_path("dir with space/q#1?%.csv") == "dir%20with%20space/q%231%3F%25.csv"
    request = files.get_file_info(API, "alice", "sales", "a b/c#d", revision="-1").request
    assert request.url.raw_path == b"/api/storage/projects/alice/sales/meta/a%20b/c%23d?revision=-1"


def test_history_parameters() -> None:
    request = files.get_content(API, "a", "p", "f", checkpoint="2024-01-01T00:00:00").request
    assert dict(request.url.params) == {"checkpoint": "2024-01-01T00:00:00"}
    assert files.get_content(API, "a", "p", "f").request.url.params == httpx.QueryParams()


@pytest.mark.parametrize(
    ("start", "end", "header"),
    [
        (None, None, None),
        (0, None, None),
        (5, None, "bytes=5-"),
        (5, 10, "bytes=5-9"),
        (None, 10, "bytes=0-9"),
        (-4, None, "bytes=-4"),
    ],
)
def test_byte_ranges(start: int | None, end: int | None, header: str | None) -> None:
    assert files.byte_range(start, end) == header


def test_byte_ranges_needing_the_size() -> None:
    with pytest.raises(ValueError, match="size"):
        files.byte_range(-4, -1)


def test_conditional_headers() -> None:
    put = files.put_file(API, "a", "p", "f", content=b"x", if_match="r1", sha256="s").request
    assert put.headers["If-Match"] == '"r1"'
    assert put.headers["X-Storage-Sha256"] == "s"
    put = files.put_file(API, "a", "p", "f", content=b"x", if_none_match="*").request
    assert put.headers["If-None-Match"] == "*"
    assert files.quote_etag('"r1"') == '"r1"'


def test_what_is_idempotent() -> None:
    assert files.put_file(API, "a", "p", "f", content=b"").idempotent
    assert files.delete_file(API, "a", "p", "f").idempotent
    assert batch.delete_files(API, "a", "p", prefix="d/").idempotent
    assert uploads.put_part(API, "a", "p", "u", 1, content=b"").idempotent
    assert not projects.create_project(API, "a", "p").idempotent
    assert not checkpoints.create_checkpoint(API, "a", "p").idempotent
    assert not uploads.complete_upload(API, "a", "p", "u").idempotent
    assert not batch.copy_files(API, ("a", "p", "f"), ("a", "p", "g")).idempotent
    assert not batch.move_files(API, ("a", "p", "f"), ("a", "p", "g")).idempotent
    assert projects.update_project(API, "a", "p", {"title": "t"}).idempotent
    assert not projects.update_project(API, "a", "p", {"name": "n"}).idempotent


def test_copy_and_move_bodies() -> None:
    copy = batch.copy_files(API, ("a", "p", "f"), ("b", "q", "g"), revision="-1", recursive=True)
    body = json.loads(copy.request.content)
    assert body == {
        "source": {"owner": "a", "project": "p", "path": "f", "revision": "-1", "checkpoint": None},
        "destination": {"owner": "b", "project": "q", "path": "g"},
        "recursive": True,
        "overwrite": True,
    }
    move = json.loads(batch.move_files(API, ("a", "p", "f"), ("b", "q", "g")).request.content)
    assert move["source"] == {"owner": "a", "project": "p", "path": "f"}
    assert (
        str(batch.move_files(API, ("a", "p", "f"), ("b", "q", "g")).request.url) == f"{ROOT}/move"
    )


def test_delete_files_arguments() -> None:
    with pytest.raises(ValueError, match="either paths or a prefix"):
        batch.delete_files(API, "a", "p")
    with pytest.raises(ValueError, match="at most 1000"):
        batch.delete_files(API, "a", "p", paths=["x"] * 1001)


def test_tree_parameters() -> None:
    request = tree.list_tree(API, "a", "p", prefix="d/", delimiter="/", limit=5, cursor="c").request
    assert dict(request.url.params) == {
        "prefix": "d/",
        "delimiter": "/",
        "limit": "5",
        "cursor": "c",
    }


def test_uploads() -> None:
    with pytest.raises(ValueError, match="part numbers"):
        uploads.put_part(API, "a", "p", "u", 0, content=b"")
    complete = uploads.complete_upload(API, "a", "p", "u", [(1, "s1"), (2, None)])
    assert json.loads(complete.request.content) == {
        "parts": [{"number": 1, "sha256": "s1"}, {"number": 2}]
    }
    assert uploads.complete_upload(API, "a", "p", "u").request.content == b""
    create = uploads.create_upload(API, "a", "p", "f", if_match='"r1"')
    assert json.loads(create.request.content) == {"path": "f", "if_match": "r1"}


def test_parsing() -> None:
    call = files.get_file_info(API, "a", "p", "f")
    ok = httpx.Response(
        200, json={"type": "file", "path": "f", "size": 1, "sha256": "s", "revision": "r"}
    )
    assert isinstance(call.parse(ok), FileInfo)
    missing = httpx.Response(404, json={"error": {"code": "not_found", "missing": "path"}})
    with pytest.raises(NotFound, match="a/p/f"):
        call.parse(missing)
    head = files.head_content(API, "a", "p", "f")
    info = head.parse(
        httpx.Response(
            200,
            headers={
                "ETag": '"r9"',
                "Content-Length": "10",
                "X-Storage-Sha256": "s",
                "X-Storage-Checkpoint-At": "2024-01-01T00:00:00Z",
            },
        )
    )
    assert (info.revision, info.size, info.sha256) == ("r9", 10, "s")
    assert info.checkpoint_at is not None
    ranged = files.get_content(API, "a", "p", "f").parse(
        httpx.Response(
            206, headers={"ETag": '"r9"', "Content-Length": "4", "Content-Range": "bytes 3-6/10"}
        )
    )
    assert (ranged.start, ranged.length, ranged.size) == (3, 4, 10)
