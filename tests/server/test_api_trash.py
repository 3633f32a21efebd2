"""Deleted projects come back (docs/api.md, "Trash"): delete, list, restore, purge, expiry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from anaconda_storage_server.testing import LocalServer

if TYPE_CHECKING:
    import httpx

    from tests.server.conftest import Api, ServerUser

DELETED_KEYS = {"project", "deleted_at", "deleted_by", "purge_at"}


def trash(api: Api, c: httpx.Client, owner: str, **params: Any) -> list[dict[str, Any]]:
    items = api.list_all(c, f"/api/storage/trash/{owner}", params)
    for item in items:
        assert set(item) == DELETED_KEYS, item
        api.check_project(item["project"])
        api.check_timestamp(item["deleted_at"])
        api.check_timestamp(item["purge_at"])
    return items


def blob_count(data_dir: Path) -> int:
    return sum(1 for path in (data_dir / "blobs").rglob("*") if path.is_file())


def test_delete_list_restore(api: Api, account: ServerUser) -> None:
    o = account.name
    reader = api.new_user("reader")
    with api.client(account) as c, api.client(reader) as r:
        p = api.create_project(c, o, title="Sales")["name"]
        api.put(c, o, p, "q1.csv", b"first")
        api.put(c, o, p, "q1.csv", b"second")
        checkpoint = c.post(f"{api.project_url(o, p)}/checkpoints", json={"message": "m"}).json()
        api.grant(c, o, p, ("user", reader.name, True, "r"))
        assert c.delete(api.project_url(o, p), params={"recursive": "true"}).status_code == 204

        # Gone for everyone: the usual 404, and its name is free.
        api.check_error(c.get(api.project_url(o, p)), 404, "not_found", missing="project")
        api.check_error(r.get(api.project_url(o, p)), 404, "not_found", missing="project")
        assert p not in [x["name"] for x in api.list_all(c, f"/api/storage/projects/{o}")]
        (deleted,) = [x for x in trash(api, c, o) if x["project"]["name"] == p]
        # Only the owner sees the trash.
        api.check_error(r.get(f"/api/storage/trash/{o}"), 403, "permission_denied")
        api.check_error(
            r.post(f"/api/storage/trash/{o}/{p}/restore"), 404, "not_found", missing="project"
        )
        api.check_error(r.delete(f"/api/storage/trash/{o}/{p}"), 404, "not_found")

        newer = api.create_project(c, o, p)
        api.check_error(c.post(f"/api/storage/trash/{o}/{p}/restore"), 409, "conflict")
        response = c.post(f"/api/storage/trash/{o}/{p}/restore", json={"name": f"{p}-old"})
        assert response.status_code == 200, response.text
        restored = response.json()
        old = f"{p}-old"
        content = api.get_content(c, o, old, "q1.csv", revision="-1")
        checkpoints = api.list_all(c, f"{api.project_url(o, old)}/checkpoints")
        readable = r.get(api.files_url(o, old, "q1.csv"))
        after = trash(api, c, o)

    assert deleted["project"]["id"] != newer["id"]
    assert deleted["project"]["title"] == "Sales"
    assert deleted["project"]["file_count"] == 1
    assert deleted["deleted_by"]["name"] == o
    kept = api.parse_instant(deleted["purge_at"]) - api.parse_instant(deleted["deleted_at"])
    assert kept == timedelta(days=30)
    api.check_project(restored)
    assert (restored["id"], restored["name"], restored["title"]) == (
        deleted["project"]["id"],
        old,
        "Sales",
    )
    assert content == b"first"
    assert [x["id"] for x in checkpoints] == [checkpoint["id"]]
    assert readable.content == b"second"  # its grants came back with it
    assert [x for x in after if x["project"]["id"] == restored["id"]] == []


def test_purge_from_the_trash_and_at_once(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "f.txt", b"purged content, unique: " + p.encode())
        assert c.delete(api.project_url(o, p), params={"recursive": "true"}).status_code == 204
        (deleted,) = [x for x in trash(api, c, o) if x["project"]["name"] == p]
        project_id = deleted["project"]["id"]
        assert c.delete(f"/api/storage/trash/{o}/{project_id}").status_code == 204
        assert [x for x in trash(api, c, o) if x["project"]["id"] == project_id] == []
        api.check_error(
            c.post(f"/api/storage/trash/{o}/{p}/restore"), 404, "not_found", missing="project"
        )

        q = api.create_project(c, o)["name"]
        api.put(c, o, q, "f.txt", b"x")
        r = c.delete(api.project_url(o, q), params={"recursive": "true", "purge": "true"})
        assert r.status_code == 204, r.text
        assert [x for x in trash(api, c, o) if x["project"]["name"] == q] == []
        # The history rules of a delete still hold for a purge.
        s = api.create_project(c, o)["name"]
        api.put(c, o, s, "f.txt", b"x")
        api.check_error(c.delete(api.project_url(o, s), params={"purge": "true"}), 409, "conflict")
        api.check_error(c.get("/api/storage/trash/no-such-owner-x"), 404, "not_found")
        api.check_error(
            c.post(f"/api/storage/trash/{o}/{p}/restore", json={"name": "Bad Name"}),
            400,
            "invalid",
            field="name",
        )


def test_trash_is_paged_newest_first(api: Api, account: ServerUser) -> None:
    o = api.new_user("pager")
    with api.client(o) as c:
        names = [api.create_project(c, o.name)["name"] for _ in range(3)]
        for name in names:
            assert c.delete(api.project_url(o.name, name)).status_code == 204
        listed = trash(api, c, o.name, limit=1)
    assert [x["project"]["name"] for x in listed] == names[::-1]


@pytest.fixture(scope="module")
def short_retention(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, Path]]:
    """A server that keeps deleted projects for about one second."""
    data = tmp_path_factory.mktemp("short-retention")
    with LocalServer(data, extra_args=["--retention-days", "0.00001"]) as server:
        yield server, data


def test_expired_projects_are_purged(api: Api, short_retention: tuple[LocalServer, Path]) -> None:
    server, data = short_retention
    owner = api.new_user("expiry", server=server)
    with api.client(owner) as c:
        p = api.create_project(c, owner.name)["name"]
        api.put(c, owner.name, p, "f.txt", b"content only this project holds")
        before = blob_count(data)
        assert (
            c.delete(api.project_url(owner.name, p), params={"recursive": "true"}).status_code
            == 204
        )
        deadline = time.monotonic() + 15
        while trash(api, c, owner.name) and time.monotonic() < deadline:
            time.sleep(0.2)
        remaining = trash(api, c, owner.name)
        api.check_error(c.post(f"/api/storage/trash/{owner.name}/{p}/restore"), 404, "not_found")
    assert remaining == []
    assert blob_count(data) == before - 1
