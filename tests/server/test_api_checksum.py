"""The transfer checksum (docs/api.md, "Checksums"): CRC32C computed as content arrives,
served with the content and in the metadata, checked on writes, and given at start-up to the
blobs of a data directory written before it existed (schema 1)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from anaconda_storage_core import checksum
from anaconda_storage_server.testing import LocalServer

if TYPE_CHECKING:
    from tests.server.conftest import Api, ServerUser

HEADER = "X-Storage-Crc32c"
SMALL = b"small content, checked on the way"
LARGE = os.urandom(1024 * 1024 + 123_457)  # over the server's 1 MiB buffer: streamed


def crc(data: bytes) -> str:
    return checksum.encode(checksum.crc32c(data))


@pytest.fixture
def project(api: Api, account: ServerUser) -> Iterator[tuple[httpx.Client, str, str]]:
    with api.client(account) as client:
        yield client, account.name, api.create_project(client, account.name)["name"]


@pytest.mark.parametrize("content", [SMALL, LARGE, b""], ids=["small", "large", "empty"])
def test_served_with_the_content_and_in_the_metadata(
    api: Api, project: tuple[httpx.Client, str, str], content: bytes
) -> None:
    c, o, p = project
    url = api.files_url(o, p, "f.bin")
    put = c.put(url, content=content)
    assert put.status_code == 201, put.text
    assert put.json()["crc32c"] == crc(content)
    got = c.get(url)
    assert got.content == content
    assert got.headers[HEADER] == crc(content)
    assert c.head(url).headers[HEADER] == crc(content)
    meta = c.get(api.meta_url(o, p, "f.bin")).json()
    assert meta["crc32c"] == crc(content)
    assert api.revisions(c, o, p, "f.bin")[0]["crc32c"] == crc(content)


def test_a_range_is_not_given_the_whole_contents_checksum(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    url = api.files_url(o, p, "r.bin")
    assert c.put(url, content=LARGE).status_code == 201
    ranged = c.get(url, headers={"Range": "bytes=10-99"})
    assert ranged.status_code == 206
    assert HEADER not in ranged.headers
    assert ranged.headers["X-Storage-Sha256"]  # documented as the whole content's


def test_copies_share_the_checksum(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    assert c.put(api.files_url(o, p, "a.bin"), content=SMALL).status_code == 201
    copied = c.post(
        "/api/storage/copy",
        json={
            "source": {"owner": o, "project": p, "path": "a.bin"},
            "destination": {"owner": o, "project": p, "path": "b.bin"},
        },
    )
    assert copied.status_code == 200, copied.text
    assert c.get(api.files_url(o, p, "b.bin")).headers[HEADER] == crc(SMALL)


@pytest.mark.parametrize("content", [SMALL, LARGE], ids=["small", "large"])
def test_a_put_is_checked_against_the_header(
    api: Api, project: tuple[httpx.Client, str, str], content: bytes
) -> None:
    c, o, p = project
    url = api.files_url(o, p, "checked.bin")
    wrong = {HEADER: crc(content + b"!")}
    r = c.put(url, content=content, headers=wrong)
    api.check_error(r, 400, "checksum_mismatch", field=HEADER)
    assert "CRC32C" in r.json()["error"]["message"]
    # Nothing kept: no file, no revision.
    api.check_error(c.get(url), 404, "not_found", missing="path")
    assert api.tree(c, o, p) == []
    r = c.put(url, content=content, headers={HEADER: crc(content)})
    assert r.status_code == 201, r.text
    assert c.get(url).content == content


@pytest.mark.parametrize("value", ["not base64!", "AAAA", "AAAAAAAA", ""])
def test_a_malformed_header_is_invalid(
    api: Api, project: tuple[httpx.Client, str, str], value: str
) -> None:
    c, o, p = project
    r = c.put(api.files_url(o, p, "bad.bin"), content=b"x", headers={HEADER: value})
    api.check_error(r, 400, "invalid", field=HEADER)


def _session(c: httpx.Client, api: Api, o: str, p: str, path: str) -> str:
    r = c.post(f"{api.project_url(o, p)}/uploads", json={"path": path})
    assert r.status_code == 201, r.text
    return f"{api.project_url(o, p)}/uploads/{r.json()['id']}"


def test_parts_are_checked_and_the_whole_checksum_combined(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    session = _session(c, api, o, p, "multi.bin")
    parts = {1: os.urandom(300_000), 2: os.urandom(200_000), 3: b"tail"}
    r = c.put(f"{session}/parts/2", content=parts[2], headers={HEADER: crc(parts[1])})
    api.check_error(r, 400, "checksum_mismatch", field=HEADER)
    assert c.get(session).json()["parts"] == []
    for number in (3, 1, 2):  # out of order: the CRCs combine in part order all the same
        r = c.put(
            f"{session}/parts/{number}", content=parts[number], headers={HEADER: crc(parts[number])}
        )
        assert r.status_code == 200, r.text
        assert r.json()["crc32c"] == crc(parts[number])
    whole = parts[1] + parts[2] + parts[3]
    listed = [{"number": 1, "crc32c": crc(parts[2])}]
    r = c.post(f"{session}/complete", json={"parts": listed})
    api.check_error(r, 400, "checksum_mismatch", field="parts")
    done = c.post(f"{session}/complete")
    assert done.status_code == 201, done.text
    assert done.json()["crc32c"] == crc(whole)
    got = c.get(api.files_url(o, p, "multi.bin"))
    assert got.content == whole
    assert got.headers[HEADER] == crc(whole)


# -- a data directory written before the checksum existed ------------------------------------


def _as_schema_1(database: Path) -> None:
    """Turn a data directory's database back into what the schema-1 server wrote: no
    `blob_checksums`, no `upload_parts.crc32c`, `user_version` 1. (Schema 2 only added
    those; every other table is as schema 1 made it.)"""
    connection = sqlite3.connect(database)
    try:
        connection.execute("DROP TABLE blob_checksums")
        connection.execute("ALTER TABLE upload_parts DROP COLUMN crc32c")
        connection.execute("PRAGMA user_version = 1")
        connection.commit()
    finally:
        connection.close()


def _schema(database: Path) -> tuple[int, set[str], int]:
    connection = sqlite3.connect(database)
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        columns = {row[1] for row in connection.execute("PRAGMA table_info(upload_parts)")}
        tables = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'blob_checksums'"
        ).fetchone()[0]
        return version, columns, tables
    finally:
        connection.close()


def test_a_schema_1_data_directory_is_migrated(tmp_path: Path) -> None:
    data = tmp_path / "data"
    contents = {"small.txt": SMALL, "large.bin": LARGE, "empty.txt": b""}
    parts = {1: os.urandom(100_000), 2: b"second part"}
    with LocalServer(data) as server:
        key = server.add_user("old")
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
            assert c.post("/api/storage/projects/old", json={"name": "p"}).status_code == 201
            base = "/api/storage/projects/old/p"
            for path, content in contents.items():
                assert c.put(f"{base}/files/{path}", content=content).status_code == 201
            assert c.put(f"{base}/directories/dir").status_code == 201
            # A multipart session left half done: its saved part will lack a CRC.
            upload = c.post(f"{base}/uploads", json={"path": "multi.bin"}).json()
            session = f"{base}/uploads/{upload['id']}"
            assert c.put(f"{session}/parts/1", content=parts[1]).status_code == 200
    database = data / "storage.db"
    _as_schema_1(database)
    assert _schema(database) == (1, {"upload_id", "number", "size", "sha256", "file"}, 0)

    with (
        LocalServer(data) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=30) as c,
    ):
        version, columns, tables = _schema(database)
        assert (version, "crc32c" in columns, tables) == (2, True, 1)
        for path, content in contents.items():
            got = c.get(f"{base}/files/{path}")
            assert got.content == content
            assert got.headers[HEADER] == crc(content), path
            meta = c.get(f"{base}/meta/{path}").json()
            assert meta["crc32c"] == crc(content)
        assert c.get(f"{base}/files/dir/.keep").headers[HEADER] == crc(b"")
        # The old part has no CRC (null); completion reads it from the part's file.
        assert c.get(session).json()["parts"][0]["crc32c"] is None
        assert c.put(f"{session}/parts/2", content=parts[2]).status_code == 200
        done = c.post(f"{session}/complete")
        assert done.status_code == 201, done.text
        assert done.json()["crc32c"] == crc(parts[1] + parts[2])
