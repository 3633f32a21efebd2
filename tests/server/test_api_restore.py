"""Restore (docs/api.md, "Restore"): a file, a deleted file, a directory, a whole project."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from tests.server.conftest import Api, ServerUser

CHANGE_KEYS = {"path", "change", "before", "after", "revision"}


def restore(
    api: Api, c: httpx.Client, o: str, p: str, status: int = 200, **body: Any
) -> dict[str, Any]:
    r = c.post(f"{api.project_url(o, p)}/restore", json=body)
    assert r.status_code == status, r.text
    answer = r.json()
    if status == 200:
        assert set(answer) == {"changes", "dry_run", "at"}, answer
        api.check_timestamp(answer["at"])
        for change in answer["changes"]:
            assert set(change) == CHANGE_KEYS, change
    return answer


def log(api: Api, c: httpx.Client, o: str, p: str, **params: Any) -> list[dict[str, Any]]:
    return api.list_all(c, f"{api.project_url(o, p)}/log", {"checkpoints": "false", **params})


def test_a_file_goes_back_to_a_revision(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        first = api.put(c, o, p, "q1.csv", b"first")
        r = c.patch(api.meta_url(o, p, "q1.csv"), json={"description": "described"})
        assert r.status_code == 200, r.text
        second = api.put(c, o, p, "q1.csv", b"second")

        planned = restore(api, c, o, p, path="q1.csv", revision="-2", dry_run=True)
        assert api.get_content(c, o, p, "q1.csv") == b"second"
        answer = restore(api, c, o, p, path="q1.csv", revision="-2")
        again = restore(api, c, o, p, path="q1.csv", revision=first["revision"])
        revisions = api.revisions(c, o, p, "q1.csv")
        content = api.get_content(c, o, p, "q1.csv")
        meta = c.get(api.meta_url(o, p, "q1.csv")).json()
        entry = log(api, c, o, p)[0]

    assert planned["dry_run"] is True
    assert [(x["change"], x["revision"]) for x in planned["changes"]] == [("modified", None)]
    (change,) = answer["changes"]
    assert change["before"]["revision"] == second["revision"]
    assert change["after"] == {
        "revision": first["revision"],
        "size": 5,
        "sha256": api.sha256(b"first"),
    }
    assert change["revision"] == revisions[0]["id"]
    assert content == b"first"
    assert meta["description"] == ""  # the attributes of that revision, too
    assert len(revisions) == 4
    # Restoring the same state again changes nothing.
    assert again["changes"] == []
    assert (entry["action"], entry["deleted"], entry["path"]) == ("restored", False, "q1.csv")
    assert entry["source"]["revision"] == first["revision"]
    assert entry["source"]["checkpoint"] is None


def test_a_deleted_file_comes_back(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        put = api.put(c, o, p, "gone.csv", b"precious")
        assert c.delete(api.files_url(o, p, "gone.csv")).status_code == 204
        answer = restore(api, c, o, p, path="gone.csv", revision="-1")
        content = api.get_content(c, o, p, "gone.csv")
        # A revision that is a deletion restores the absence.
        removed = restore(api, c, o, p, path="gone.csv", revision="-1")
        after = c.get(api.files_url(o, p, "gone.csv"))
    assert [(x["change"], x["after"]["revision"]) for x in answer["changes"]] == [
        ("added", put["revision"])
    ]
    assert content == b"precious"
    assert [x["change"] for x in removed["changes"]] == ["deleted"]
    assert after.status_code == 404


def test_a_directory_goes_back_to_a_checkpoint(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "dir/changed.csv", b"old")
        api.put(c, o, p, "dir/deleted.csv", b"deleted later")
        api.put(c, o, p, "dir/same.csv", b"same")
        api.put(c, o, p, "other/kept.csv", b"outside the scope")
        r = c.post(f"{api.project_url(o, p)}/checkpoints", json={"message": "good"})
        checkpoint = r.json()
        api.put(c, o, p, "dir/changed.csv", b"new")
        assert c.delete(api.files_url(o, p, "dir/deleted.csv")).status_code == 204
        api.put(c, o, p, "dir/created.csv", b"created since")
        api.put(c, o, p, "other/kept.csv", b"changed outside the scope")

        planned = restore(api, c, o, p, path="dir", checkpoint="-1", dry_run=True)
        answer = restore(api, c, o, p, path="dir", checkpoint="-1")
        tree = api.tree(c, o, p)
        contents = {path: api.get_content(c, o, p, path) for path in tree}
        entries = log(api, c, o, p, since="-1", path="dir")
        second = restore(api, c, o, p, path="dir", checkpoint=checkpoint["id"])

    expected = [
        ("dir/changed.csv", "modified"),
        ("dir/created.csv", "deleted"),
        ("dir/deleted.csv", "added"),
    ]
    assert [(x["path"], x["change"]) for x in planned["changes"]] == expected
    assert [(x["path"], x["change"]) for x in answer["changes"]] == expected
    assert contents == {
        "dir/changed.csv": b"old",
        "dir/deleted.csv": b"deleted later",
        "dir/same.csv": b"same",
        "other/kept.csv": b"changed outside the scope",
    }
    restored = [e for e in entries if e["action"] == "restored"]
    assert sorted((e["path"], e["deleted"]) for e in restored) == [
        ("dir/changed.csv", False),
        ("dir/created.csv", True),
        ("dir/deleted.csv", False),
    ]
    assert {e["source"]["checkpoint"] for e in restored} == {checkpoint["id"]}
    assert {e["source"]["at"] for e in restored} == {checkpoint["created_at"]}
    assert len({e["created_at"] for e in restored}) == 1  # one transaction
    assert second["changes"] == []


def test_a_whole_project_goes_back_to_a_time_point(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "a.csv", b"a")
        api.put(c, o, p, "b", b"a file that becomes a directory")
        # A time point is to the second: wait for the next one.
        then = datetime.now(timezone.utc)
        time.sleep(1.1 - then.microsecond / 1e6)
        api.put(c, o, p, "a.csv", b"changed")
        assert c.delete(api.files_url(o, p, "b")).status_code == 204
        api.put(c, o, p, "b/inside.csv", b"created below")
        answer = restore(api, c, o, p, checkpoint=f"{then:%Y-%m-%dT%H:%M:%S}")
        contents = {path: api.get_content(c, o, p, path) for path in api.tree(c, o, p)}
    assert [(x["path"], x["change"]) for x in answer["changes"]] == [
        ("a.csv", "modified"),
        ("b", "added"),
        ("b/inside.csv", "deleted"),
    ]
    assert contents == {"a.csv": b"a", "b": b"a file that becomes a directory"}


def test_a_restore_of_a_thousand_files_sends_no_content(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        for i in range(1000):
            r = c.put(api.files_url(o, p, f"many/{i:04d}.bin"), content=b"%d" % i * 100)
            assert r.status_code == 201, r.text
        assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
        r = c.post(f"{api.project_url(o, p)}/delete", json={"prefix": "many/"})
        assert len(r.json()["deleted"]) == 1000
        request = c.build_request(
            "POST", f"{api.project_url(o, p)}/restore", json={"path": "many", "checkpoint": "-1"}
        )
        response = c.send(request)
        assert response.status_code == 200, response.text
        tree = api.tree(c, o, p)
        sample = api.get_content(c, o, p, "many/0999.bin")
    # The request is a small JSON body: the content never leaves the server.
    assert len(request.content) < 200
    assert json.loads(request.content) == {"path": "many", "checkpoint": "-1"}
    assert len(response.json()["changes"]) == 1000
    assert len(tree) == 1000
    assert sample == b"999" * 100


def test_conflicts_and_bad_requests(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "x", b"a file")
        assert c.delete(api.files_url(o, p, "x")).status_code == 204
        api.put(c, o, p, "x/now-a-directory.csv", b"y")
        # The file would clash with the directory outside its scope: nothing changes.
        api.check_error(
            c.post(f"{api.project_url(o, p)}/restore", json={"path": "x", "revision": "-1"}),
            409,
            "conflict",
        )
        assert api.tree(c, o, p) == ["x/now-a-directory.csv"]
        url = f"{api.project_url(o, p)}/restore"
        api.check_error(c.post(url, json={"path": "x"}), 400, "invalid")
        api.check_error(
            c.post(url, json={"path": "x", "revision": "-1", "checkpoint": "-1"}), 400, "invalid"
        )
        api.check_error(c.post(url, json={"revision": "-1"}), 400, "invalid", field="path")
        api.check_error(
            c.post(url, json={"path": "../x", "checkpoint": "-1"}), 400, "invalid", field="path"
        )
        api.check_error(
            c.post(url, json={"path": "x", "revision": "nope"}), 400, "invalid", field="revision"
        )
        api.check_error(
            c.post(url, json={"path": "x", "revision": "-1", "force": True}), 400, "invalid"
        )
        api.check_error(
            c.post(url, json={"checkpoint": "-1"}), 404, "not_found", missing="checkpoint"
        )
        api.check_error(
            c.post(url, json={"path": "never", "revision": "-1"}), 404, "not_found", missing="path"
        )
        api.check_error(
            c.post(url, json={"path": "x/now-a-directory.csv", "revision": "-3"}),
            404,
            "not_found",
            missing="revision",
        )
