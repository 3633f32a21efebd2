"""Diff (docs/api.md, "Diff"): the paths that differ between two states, by path, paged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from tests.server.conftest import Api, ServerUser

ENTRY_KEYS = {"path", "change", "before", "after"}


def diff(api: Api, c: httpx.Client, o: str, p: str, **params: Any) -> list[dict[str, Any]]:
    entries = api.list_all(c, f"{api.project_url(o, p)}/diff", params)
    for entry in entries:
        assert set(entry) == ENTRY_KEYS, entry
    return entries


def changes(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["path"], e["change"]) for e in entries]


def checkpoint(api: Api, c: httpx.Client, o: str, p: str) -> dict[str, Any]:
    r = c.post(f"{api.project_url(o, p)}/checkpoints")
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def test_added_deleted_modified_in_both_directions(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        old = api.put(c, o, p, "modified.csv", b"old")
        gone = api.put(c, o, p, "deleted.csv", b"deleted")
        api.put(c, o, p, "same.csv", b"untouched")
        api.put(c, o, p, "back.csv", b"changed and changed back")
        first = checkpoint(api, c, o, p)
        new = api.put(c, o, p, "modified.csv", b"newer")
        assert c.delete(api.files_url(o, p, "deleted.csv")).status_code == 204
        added = api.put(c, o, p, "added.csv", b"added")
        api.put(c, o, p, "back.csv", b"something else")
        api.put(c, o, p, "back.csv", b"changed and changed back")
        second = checkpoint(api, c, o, p)
        api.put(c, o, p, "after.csv", b"after the second checkpoint")

        forwards = diff(api, c, o, p, **{"from": first["id"], "to": second["id"]})
        backwards = diff(api, c, o, p, **{"from": "-1", "to": "-2"})
        to_now = diff(api, c, o, p, **{"from": "-1"})
        paged = diff(api, c, o, p, **{"from": "-2", "limit": "1"})

    assert changes(forwards) == [
        ("added.csv", "added"),
        ("deleted.csv", "deleted"),
        ("modified.csv", "modified"),
    ]
    by_path = {e["path"]: e for e in forwards}
    assert by_path["added.csv"]["before"] is None
    assert by_path["added.csv"]["after"] == {
        "revision": added["revision"],
        "size": 5,
        "sha256": api.sha256(b"added"),
    }
    assert by_path["deleted.csv"]["before"]["revision"] == gone["revision"]
    assert by_path["deleted.csv"]["after"] is None
    assert by_path["modified.csv"]["before"]["revision"] == old["revision"]
    assert by_path["modified.csv"]["after"]["revision"] == new["revision"]
    assert (
        by_path["modified.csv"]["before"]["size"],
        by_path["modified.csv"]["after"]["size"],
    ) == (
        3,
        5,
    )
    assert changes(backwards) == [
        ("added.csv", "deleted"),
        ("deleted.csv", "added"),
        ("modified.csv", "modified"),
    ]
    assert changes(to_now) == [("after.csv", "added")]
    assert changes(paged) == [
        *changes(forwards)[:1],
        ("after.csv", "added"),
        *changes(forwards)[1:],
    ]


def test_a_move_is_deleted_plus_added(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        source = api.put(c, o, p, "dir/old-name.csv", b"moved")
        checkpoint(api, c, o, p)
        r = api.transfer(c, "move", (o, p, "dir/old-name.csv"), (o, p, "dir/new-name.csv"))
        assert r.status_code == 200, r.text
        entries = diff(api, c, o, p, **{"from": "-1"})
    assert changes(entries) == [("dir/new-name.csv", "added"), ("dir/old-name.csv", "deleted")]
    # The same content on both sides: a client can pair them up as a rename.
    assert entries[0]["after"]["sha256"] == entries[1]["before"]["sha256"] == source["sha256"]


def test_scope_and_errors(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        checkpoint(api, c, o, p)
        api.put(c, o, p, "dir/a.csv", b"a")
        api.put(c, o, p, "dir2/b.csv", b"b")
        in_dir = diff(api, c, o, p, **{"from": "-1", "path": "dir"})
        one_file = diff(api, c, o, p, **{"from": "-1", "path": "dir2/b.csv"})
        url = f"{api.project_url(o, p)}/diff"
        api.check_error(c.get(url), 400, "invalid", field="from")
        api.check_error(c.get(url, params={"from": "soon"}), 400, "invalid", field="from")
        api.check_error(
            c.get(url, params={"from": "-1", "to": "-7"}), 404, "not_found", missing="checkpoint"
        )
        first = c.get(url, params={"from": "-1", "limit": "1"}).json()
        api.check_error(
            c.get(url, params={"from": "-1", "path": "dir", "cursor": first["next_cursor"]}),
            400,
            "invalid",
            field="cursor",
        )
    assert changes(in_dir) == [("dir/a.csv", "added")]
    assert changes(one_file) == [("dir2/b.csv", "added")]
