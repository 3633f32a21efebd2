"""The log of a project (docs/api.md, "Log"): changes across paths, newest first, paged."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from tests.server.conftest import Api, ServerUser

LOG_ENTRY_KEYS = {
    "type",
    "created_at",
    "created_by",
    "action",
    "path",
    "deleted",
    "size",
    "sha256",
    "revision",
    "source",
    "checkpoint",
    "message",
}


def log(api: Api, c: httpx.Client, o: str, p: str, **params: Any) -> list[dict[str, Any]]:
    entries = api.list_all(c, f"{api.project_url(o, p)}/log", params)
    for entry in entries:
        assert set(entry) == LOG_ENTRY_KEYS, entry
        api.check_timestamp(entry["created_at"])
        api.check_owner(entry["created_by"])
    return entries


def actions(entries: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["action"], e["path"] if e["type"] == "revision" else e["message"]) for e in entries]


def test_every_kind_of_change_is_named(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        created = api.put(c, o, p, "a.csv", b"1")
        api.put(c, o, p, "a.csv", b"22")
        r = c.patch(api.meta_url(o, p, "a.csv"), json={"description": "the a"})
        assert r.status_code == 200, r.text
        r = c.post(f"{api.project_url(o, p)}/checkpoints", json={"message": "before the move"})
        assert r.status_code == 201, r.text
        checkpoint = r.json()
        r = api.transfer(c, "move", (o, p, "a.csv"), (o, p, "b.csv"))
        assert r.status_code == 200, r.text
        assert c.delete(api.files_url(o, p, "b.csv")).status_code == 204
        entries = log(api, c, o, p)

    assert actions(entries) == [
        ("deleted", "b.csv"),
        ("moved", "b.csv"),
        ("deleted", "a.csv"),
        ("checkpoint", "before the move"),
        ("attributes", "a.csv"),
        ("modified", "a.csv"),
        ("created", "a.csv"),
    ]
    assert [e["created_at"] for e in entries] == sorted(
        (e["created_at"] for e in entries), reverse=True
    )
    assert {e["created_by"]["name"] for e in entries} == {o}
    deleted, moved, _, marker, _, modified, first = entries
    assert (deleted["deleted"], deleted["size"], deleted["sha256"]) == (True, 0, None)
    assert moved["source"]["path"] == "a.csv"
    assert moved["size"] == 2
    assert (marker["checkpoint"], marker["path"], marker["revision"]) == (
        checkpoint["id"],
        None,
        None,
    )
    assert modified["sha256"] == api.sha256(b"22")
    assert first["revision"] == created["revision"]
    assert first["source"] is None


def test_paging_returns_every_entry_once_in_order(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        for i in range(7):
            api.put(c, o, p, f"f{i}.txt", b"x")
            if i % 3 == 0:
                assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
        r = c.post(f"{api.project_url(o, p)}/delete", json={"prefix": ""})
        assert r.status_code == 200, r.text
        whole = log(api, c, o, p)
        paged = log(api, c, o, p, limit=2)
        first = c.get(f"{api.project_url(o, p)}/log", params={"limit": 2})
        api.check_error(
            c.get(
                f"{api.project_url(o, p)}/log",
                params={"path": "f1.txt", "cursor": first.json()["next_cursor"]},
            ),
            400,
            "invalid",
            field="cursor",
        )
    assert len(whole) == 7 + 3 + 7
    assert paged == whole
    # One transaction (the delete of the whole prefix) shares one instant.
    assert len({e["created_at"] for e in whole[:7]}) == 1


def test_filters_by_path_and_time(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "dir/a.txt", b"a")
        api.put(c, o, p, "dir2/b.txt", b"b")
        api.put(c, o, p, "dirt.txt", b"a name that starts like the directory")
        r = c.post(f"{api.project_url(o, p)}/checkpoints", json={"message": "mark"})
        mark = r.json()
        api.put(c, o, p, "dir/c.txt", b"c")
        only_dir = log(api, c, o, p, path="dir/", checkpoints="false")
        only_file = log(api, c, o, p, path="dir/a.txt", checkpoints="false")
        since_mark = log(api, c, o, p, since="-1")
        until_mark = log(api, c, o, p, until=mark["id"], checkpoints="false")
        instant = api.parse_instant(mark["created_at"]) - timedelta(days=1)
        before_yesterday = log(api, c, o, p, until=f"{instant:%Y-%m-%dT%H:%M:%S}")
        api.check_error(
            c.get(f"{api.project_url(o, p)}/log", params={"since": "yesterday"}),
            400,
            "invalid",
            field="since",
        )
        api.check_error(
            c.get(f"{api.project_url(o, p)}/log", params={"path": "../x"}),
            400,
            "invalid",
            field="path",
        )
        api.check_error(
            c.get(f"{api.project_url(o, p)}/log", params={"until": "-9"}),
            404,
            "not_found",
            missing="checkpoint",
        )
    assert [e["path"] for e in only_dir] == ["dir/c.txt", "dir/a.txt"]
    assert [e["path"] for e in only_file] == ["dir/a.txt"]
    assert actions(since_mark) == [("created", "dir/c.txt")]
    assert [e["path"] for e in until_mark] == ["dirt.txt", "dir2/b.txt", "dir/a.txt"]
    assert before_yesterday == []


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_bad_limits(api: Api, account: ServerUser, limit: str) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.check_error(
            c.get(f"{api.project_url(o, p)}/log", params={"limit": limit}),
            400,
            "invalid",
            field="limit",
        )
