"""Files and directories: content, headers, conditions, names, paths, conflicts, bulk delete.

docs/api.md, "Names and paths", "Files", "Directories" and "Deleting many files".
"""

from __future__ import annotations

import os
import uuid
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from tests.server.conftest import Api, ServerUser

MiB = 1024 * 1024


@pytest.mark.parametrize(
    "content",
    [b"", b"x", os.urandom(3 * MiB)],
    ids=["empty", "one-byte", "3MiB-random"],
)
def test_upload_download_round_trip(api: Api, account: ServerUser, content: bytes) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        url = api.files_url(o, p, "data.bin")
        r = c.put(url, content=content)
        assert r.status_code == 201, r.text
        file = r.json()
        api.check_file(file)
        assert (file["path"], file["size"], file["sha256"]) == (
            "data.bin",
            len(content),
            api.sha256(content),
        )
        assert file["modified_by"]["name"] == o

        r = c.get(url)
        assert r.status_code == 200
        assert r.content == content
        assert r.headers["content-length"] == str(len(content))
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["accept-ranges"] == "bytes"
        assert r.headers["etag"] == f'"{file["revision"]}"'
        assert r.headers["x-storage-revision"] == file["revision"]
        assert r.headers["x-storage-sha256"] == api.sha256(content)
        modified = api.parse_instant(file["modified"]).replace(microsecond=0)
        assert parsedate_to_datetime(r.headers["last-modified"]) == modified

        head = c.head(url)
        assert head.status_code == 200
        assert head.content == b""
        for name in (
            "content-length",
            "content-type",
            "accept-ranges",
            "etag",
            "last-modified",
            "x-storage-revision",
            "x-storage-sha256",
        ):
            assert head.headers[name] == r.headers[name], name

        # A new revision of a live file is 200, not 201.
        r = c.put(url, content=content + b"!")
        assert r.status_code == 200, r.text
        assert r.json()["revision"] != file["revision"]
        assert r.json()["created_at"] == file["created_at"]


def test_chunked_upload_streams(api: Api, account: ServerUser) -> None:
    o = account.name
    content = os.urandom(3 * MiB + 17)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 64 * 1024):
            yield content[start : start + 64 * 1024]

    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        r = c.put(api.files_url(o, p, "chunked.bin"), content=chunks())
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == api.sha256(content)
        assert api.get_content(c, o, p, "chunked.bin") == content


def test_sha256_header(api: Api, account: ServerUser) -> None:
    o = account.name
    content = b"checked content"
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        wrong = {"X-Storage-Sha256": api.sha256(b"something else")}
        r = c.put(api.files_url(o, p, "new.txt"), content=content, headers=wrong)
        api.check_error(r, 400, "checksum_mismatch", field="X-Storage-Sha256")
        # Nothing kept: no file, no revision, nothing in the tree.
        api.check_error(c.get(api.files_url(o, p, "new.txt")), 404, "not_found", missing="path")
        api.check_error(c.get(api.revisions_url(o, p, "new.txt")), 404, "not_found", missing="path")
        assert api.tree(c, o, p) == []

        kept = api.put(c, o, p, "kept.txt", b"old")
        r = c.put(api.files_url(o, p, "kept.txt"), content=content, headers=wrong)
        api.check_error(r, 400, "checksum_mismatch", field="X-Storage-Sha256")
        assert api.get_content(c, o, p, "kept.txt") == b"old"
        assert [x["id"] for x in api.revisions(c, o, p, "kept.txt")] == [kept["revision"]]

        right = {"X-Storage-Sha256": api.sha256(content)}
        r = c.put(api.files_url(o, p, "new.txt"), content=content, headers=right)
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == api.sha256(content)


# -- ranges -----------------------------------------------------------------------------------

CONTENT = bytes(range(256)) * 4  # 1,024 bytes


@pytest.mark.parametrize(
    ("range_", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-10", 10, 10),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-10", 1014, 1023),
        ("bytes=0-1023", 0, 1023),
        # RFC 9110 14.1.2: a last-pos past the end means "to the end".
        ("bytes=1020-5000", 1020, 1023),
        # "several ranges are not served (the first is)"
        ("bytes=0-1,5-6", 0, 1),
    ],
)
def test_range(api: Api, account: ServerUser, range_: str, start: int, end: int) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        file = api.put(c, o, p, "r.bin", CONTENT)
        r = c.get(api.files_url(o, p, "r.bin"), headers={"Range": range_})
        assert r.status_code == 206, r.text
        assert r.content == CONTENT[start : end + 1]
        assert r.headers["content-range"] == f"bytes {start}-{end}/1024"
        assert r.headers["content-length"] == str(end + 1 - start)
        assert r.headers["etag"] == f'"{file["revision"]}"'


@pytest.mark.parametrize("range_", ["bytes=1024-", "bytes=2000-3000", "bytes=1024-1030"])
def test_range_past_the_end_is_416(api: Api, account: ServerUser, range_: str) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "r.bin", CONTENT)
        api.put(c, o, p, "empty.bin", b"")
        r = c.get(api.files_url(o, p, "r.bin"), headers={"Range": range_})
        api.check_error(r, 416, "range_not_satisfiable")
        assert r.headers["content-range"] == "bytes */1024"
        r = c.get(api.files_url(o, p, "empty.bin"), headers={"Range": "bytes=0-"})
        api.check_error(r, 416, "range_not_satisfiable")
        assert r.headers["content-range"] == "bytes */0"


def test_range_at_a_revision(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "r.bin", CONTENT)
        api.put(c, o, p, "r.bin", b"short")
        r = c.get(
            api.files_url(o, p, "r.bin"), params={"revision": "-1"}, headers={"Range": "bytes=-4"}
        )
        assert r.status_code == 206, r.text
        assert r.content == CONTENT[-4:]
        assert r.headers["content-range"] == "bytes 1020-1023/1024"


# -- conditions -------------------------------------------------------------------------------


def test_if_none_match_etag_is_304(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        old = api.put(c, o, p, "a.txt", b"1")
        new = api.put(c, o, p, "a.txt", b"2")
        url = api.files_url(o, p, "a.txt")
        r = c.get(url, headers={"If-None-Match": f'"{new["revision"]}"'})
        assert r.status_code == 304
        assert r.content == b""
        assert r.headers["etag"] == f'"{new["revision"]}"'
        r = c.get(url, headers={"If-None-Match": f'"{old["revision"]}"'})
        assert r.status_code == 200
        assert r.content == b"2"


def test_if_match(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        first = api.put(c, o, p, "a.txt", b"1")
        url = api.files_url(o, p, "a.txt")
        stale = {"If-Match": f'"{uuid.uuid4()}"'}

        api.check_error(
            c.put(url, content=b"x", headers=stale),
            412,
            "precondition_failed",
            current=first["revision"],
        )
        api.check_error(
            c.patch(api.meta_url(o, p, "a.txt"), json={"description": "x"}, headers=stale),
            412,
            "precondition_failed",
            current=first["revision"],
        )
        api.check_error(
            c.delete(url, headers=stale), 412, "precondition_failed", current=first["revision"]
        )
        assert [x["id"] for x in api.revisions(c, o, p, "a.txt")] == [first["revision"]]

        fresh = {"If-Match": f'"{first["revision"]}"'}
        r = c.put(url, content=b"2", headers=fresh)
        assert r.status_code == 200, r.text
        second = r.json()
        # The condition held once; the same ETag is stale now.
        api.check_error(
            c.put(url, content=b"3", headers=fresh),
            412,
            "precondition_failed",
            current=second["revision"],
        )
        r = c.patch(
            api.meta_url(o, p, "a.txt"),
            json={"metadata": {"k": "v"}},
            headers={"If-Match": f'"{second["revision"]}"'},
        )
        assert r.status_code == 200, r.text
        r = c.delete(url, headers={"If-Match": f'"{r.json()["revision"]}"'})
        assert r.status_code == 204

        # No live file: the condition cannot hold, and there is no current revision.
        r = c.put(api.files_url(o, p, "absent.txt"), content=b"x", headers=fresh)
        api.check_error(r, 412, "precondition_failed", current=None)
        api.check_error(c.get(api.files_url(o, p, "absent.txt")), 404, "not_found", missing="path")


def test_if_none_match_star(api: Api, account: ServerUser) -> None:
    o = account.name
    only_new = {"If-None-Match": "*"}
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        r = c.put(api.files_url(o, p, "a.txt"), content=b"1", headers=only_new)
        assert r.status_code == 201, r.text
        first = r.json()
        r = c.put(api.files_url(o, p, "a.txt"), content=b"2", headers=only_new)
        api.check_error(r, 412, "precondition_failed", current=first["revision"])
        assert api.get_content(c, o, p, "a.txt") == b"1"
        # A deleted file is no live file.
        assert c.delete(api.files_url(o, p, "a.txt")).status_code == 204
        r = c.put(api.files_url(o, p, "a.txt"), content=b"3", headers=only_new)
        assert r.status_code == 201, r.text


# -- names and paths --------------------------------------------------------------------------

NAMES = [
    "hash#tag.txt",
    "what?.txt",
    "100%.txt",
    "%23 not an escape",
    "with space.txt",
    "dir with space/ünïcødé 日本語.txt",
    "plus+sign&a=b;c,d.txt",
    "emoji 🙂/tilde~quote'paren(1).txt",
    "UPPER/.hidden",
    "x" * 255,
    "/".join(["y" * 204] * 5),  # 1,024 characters
]


def test_names_needing_percent_encoding_round_trip(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        for i, name in enumerate(NAMES):
            file = api.put(c, o, p, name, f"content {i}".encode())
            assert file["path"] == name
        assert api.tree(c, o, p) == sorted(NAMES)
        for i, name in enumerate(NAMES):
            assert api.get_content(c, o, p, name) == f"content {i}".encode()
            r = c.get(api.meta_url(o, p, name))
            assert r.status_code == 200, r.text
            assert r.json()["path"] == name
        r = c.get(api.tree_url(o, p), params={"prefix": "dir with space/"})
        assert [x["path"] for x in r.json()["items"]] == ["dir with space/ünïcødé 日本語.txt"]
        listing = api.list_all(c, api.tree_url(o, p), {"delimiter": "/"})
        directories = {x["path"] for x in listing if x["type"] == "directory"}
        assert directories == {"dir with space", "emoji 🙂", "UPPER", "y" * 204}


BAD_PATHS = {
    "dot-dot": "a/%2E%2E/b",
    "only dot-dot": "%2E%2E",
    "dot": "a/%2E/b",
    "only dot": "%2E",
    "empty segment": "a//b",
    "trailing slash": "a/b/",
    "control char": "a%01b",
    "newline": "a%0Ab",
    "DEL": "a%7Fb",
    "backslash": "a%5Cb",
    "segment of 256": "s" * 256,
    "path of 1025": "/".join(["z" * 204] * 5) + "z",
}


@pytest.mark.parametrize("raw_path", list(BAD_PATHS.values()), ids=list(BAD_PATHS))
def test_bad_paths_are_400(api: Api, account: ServerUser, raw_path: str) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        base = api.project_url(o, p)
        api.check_error(c.put(f"{base}/files/{raw_path}", content=b"x"), 400, "invalid")
        api.check_error(c.get(f"{base}/files/{raw_path}"), 400, "invalid")
        api.check_error(c.get(f"{base}/meta/{raw_path}"), 400, "invalid")
        api.check_error(c.put(f"{base}/directories/{raw_path}"), 400, "invalid")
        assert api.tree(c, o, p) == []


def test_file_and_directory_cannot_share_a_path(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "a", b"file a")
        api.put(c, o, p, "x/y", b"file x/y")
        # A file under a file.
        api.check_error(c.put(api.files_url(o, p, "a/b"), content=b"!"), 409, "conflict")
        api.check_error(c.put(api.files_url(o, p, "a/b/c"), content=b"!"), 409, "conflict")
        api.check_error(c.put(api.directories_url(o, p, "a")), 409, "conflict")
        api.check_error(c.put(api.directories_url(o, p, "a/b")), 409, "conflict")
        # A file over a directory.
        api.check_error(c.put(api.files_url(o, p, "x"), content=b"!"), 409, "conflict")
        assert api.tree(c, o, p) == ["a", "x/y"]
        # Once the file is deleted, the name is free for a directory.
        assert c.delete(api.files_url(o, p, "a")).status_code == 204
        assert c.put(api.files_url(o, p, "a/b"), content=b"now fine").status_code == 201


def test_directories(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        r = c.put(api.directories_url(o, p, "d"))
        assert r.status_code == 201, r.text
        assert r.json() == {"type": "directory", "path": "d"}
        r = c.put(api.directories_url(o, p, "d"))
        assert r.status_code == 200, r.text
        assert r.json() == {"type": "directory", "path": "d"}
        assert api.tree(c, o, p) == ["d/.keep"]
        marker = c.get(api.meta_url(o, p, "d/.keep")).json()
        assert (marker["size"], marker["sha256"]) == (0, api.EMPTY_SHA256)
        assert c.get(api.meta_url(o, p, "d")).json() == {"type": "directory", "path": "d"}

        # A virtual directory without a marker exists already: 200, and the marker is added.
        api.put(c, o, p, "v/f.txt", b"f")
        r = c.put(api.directories_url(o, p, "v"))
        assert r.status_code == 200, r.text
        assert api.tree(c, o, p) == ["d/.keep", "v/.keep", "v/f.txt"]

        r = c.put(api.directories_url(o, p, "n1/n2"))
        assert r.status_code == 201, r.text
        assert "n1/n2/.keep" in api.tree(c, o, p)

        # A directory is no file.
        api.check_error(c.get(api.files_url(o, p, "v")), 404, "not_found", missing="path")
        api.check_error(c.delete(api.files_url(o, p, "v")), 404, "not_found", missing="path")
        api.check_error(c.get(api.revisions_url(o, p, "v")), 404, "not_found", missing="path")

        # Deleting: only a directory that holds nothing but its marker.
        api.check_error(c.delete(api.directories_url(o, p, "v")), 409, "conflict")
        api.check_error(c.delete(api.directories_url(o, p, "n1")), 409, "conflict")
        api.check_error(
            c.delete(api.directories_url(o, p, "nope")), 404, "not_found", missing="path"
        )
        api.check_error(
            c.delete(api.directories_url(o, p, "v/f.txt")), 404, "not_found", missing="path"
        )
        r = c.delete(api.directories_url(o, p, "d"))
        assert r.status_code == 204, r.text
        api.check_error(c.get(api.meta_url(o, p, "d")), 404, "not_found", missing="path")
        assert api.tree(c, o, p) == ["n1/n2/.keep", "v/.keep", "v/f.txt"]
        # The marker's removal is a deletion revision like any other.
        assert [x["deleted"] for x in api.revisions(c, o, p, "d/.keep")] == [True, False]
        assert c.delete(api.directories_url(o, p, "n1/n2")).status_code == 204
        api.check_error(c.get(api.meta_url(o, p, "n1")), 404, "not_found", missing="path")


def bulk_delete(c: httpx.Client, api: Api, o: str, p: str, body: object) -> httpx.Response:
    return c.post(f"{api.project_url(o, p)}/delete", json=body)


def test_bulk_delete_by_paths(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        for name in ("a", "b", "c", "d/e"):
            api.put(c, o, p, name, name.encode())
        r = bulk_delete(c, api, o, p, {"paths": ["a", "d/e", "zzz", "b"]})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert set(answer) == {"deleted", "missing"}
        assert sorted(answer["deleted"]) == ["a", "b", "d/e"]
        assert answer["missing"] == ["zzz"]
        assert api.tree(c, o, p) == ["c"]
        for name in ("a", "b", "d/e"):
            assert [x["deleted"] for x in api.revisions(c, o, p, name)] == [True, False]
        r = bulk_delete(c, api, o, p, {"paths": ["a"]})
        assert r.json() == {"deleted": [], "missing": ["a"]}


def test_bulk_delete_by_prefix(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        for name in ("dir/x", "dir/sub/y", "dirx/z", "top.txt"):
            api.put(c, o, p, name, name.encode())
        assert c.put(api.directories_url(o, p, "dir/empty")).status_code == 201
        r = bulk_delete(c, api, o, p, {"prefix": "dir/"})
        assert r.status_code == 200, r.text
        assert sorted(r.json()["deleted"]) == ["dir/empty/.keep", "dir/sub/y", "dir/x"]
        assert r.json()["missing"] == []
        assert api.tree(c, o, p) == ["dirx/z", "top.txt"]


@pytest.mark.parametrize(
    "body",
    [{"paths": [f"f{i}" for i in range(1001)]}, {}, {"paths": "a"}, {"paths": ["a//b"]}],
    ids=["1001 paths", "neither", "not a list", "bad path"],
)
def test_bulk_delete_rejects(api: Api, account: ServerUser, body: object) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "f1", b"1")
        api.check_error(bulk_delete(c, api, o, p, body), 400, "invalid")
        assert api.tree(c, o, p) == ["f1"]


def test_file_chattr(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        first = api.put(c, o, p, "a.txt", b"same")
        url = api.meta_url(o, p, "a.txt")
        r = c.patch(url, json={"description": "d" * 1024, "metadata": {"k": "v", "é": "ü"}})
        assert r.status_code == 200, r.text
        patched = r.json()
        assert patched["description"] == "d" * 1024
        assert patched["metadata"] == {"k": "v", "é": "ü"}
        assert (patched["sha256"], patched["size"]) == (first["sha256"], first["size"])
        assert patched["revision"] != first["revision"]
        assert c.get(url).json() == patched
        # Metadata stays when only the description changes.
        r = c.patch(url, json={"description": "short"})
        assert r.json()["metadata"] == {"k": "v", "é": "ü"}
        for bad in (
            {"description": "d" * 1025},
            {"metadata": {"k": 1}},
            {"metadata": ["k"]},
            {"description": 5},
        ):
            api.check_error(c.patch(url, json=bad), 400, "invalid")
        assert len(api.revisions(c, o, p, "a.txt")) == 3
        api.check_error(
            c.patch(api.meta_url(o, p, "absent"), json={"description": "x"}),
            404,
            "not_found",
            missing="path",
        )
