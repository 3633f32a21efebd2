"""History: revisions and checkpoints (docs/api.md, "History: revisions and checkpoints").

Every change to a file is a revision (uploads, metadata changes, copies and moves onto the
path, deletions); read routes take `revision=` or `checkpoint=`, never both; write routes
take neither.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.server.conftest import Api, ServerUser


def move_or_copy(
    api: Api, c: httpx.Client, kind: str, o: str, p: str, source: str, destination: str
) -> dict[str, Any]:
    r = api.transfer(c, kind, (o, p, source), (o, p, destination))
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    return item


def test_every_write_is_a_revision(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        uploaded = api.put(c, o, p, "a.txt", b"one")
        r = c.patch(api.meta_url(o, p, "a.txt"), json={"description": "described"})
        assert r.status_code == 200, r.text
        patched = r.json()
        api.put(c, o, p, "b.txt", b"copied")
        copied = move_or_copy(api, c, "copy", o, p, "b.txt", "a.txt")
        api.put(c, o, p, "c.txt", b"moved")
        moved = move_or_copy(api, c, "move", o, p, "c.txt", "a.txt")
        r = c.delete(api.files_url(o, p, "a.txt"))
        assert r.status_code == 204, r.text

        revisions = api.revisions(c, o, p, "a.txt")
        assert [x["index"] for x in revisions] == [0, -1, -2, -3, -4]
        assert [x["deleted"] for x in revisions] == [True, False, False, False, False]
        assert [x["sha256"] for x in revisions] == [
            None,
            api.sha256(b"moved"),
            api.sha256(b"copied"),
            api.sha256(b"one"),
            api.sha256(b"one"),
        ]
        assert [x["size"] for x in revisions] == [0, 5, 6, 3, 3]
        assert [x["id"] for x in revisions[1:]] == [
            moved["revision"],
            copied["revision"],
            patched["revision"],
            uploaded["revision"],
        ]
        assert len({x["id"] for x in revisions}) == 5
        assert revisions[3]["description"] == "described"
        assert revisions[4]["description"] == ""
        stamps = [x["created_at"] for x in revisions]
        assert stamps == sorted(stamps, reverse=True)
        assert {x["created_by"]["name"] for x in revisions} == {o}

        # The move's source got a deletion revision of its own.
        source = api.revisions(c, o, p, "c.txt")
        assert [(x["index"], x["deleted"]) for x in source] == [(0, True), (-1, False)]


def test_revision_references(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        v1 = api.put(c, o, p, "a.txt", b"v1")
        v2 = api.put(c, o, p, "a.txt", b"v2")
        api.put(c, o, p, "a.txt", b"v3")
        other = api.put(c, o, p, "other.txt", b"other")
        url = api.files_url(o, p, "a.txt")

        assert api.get_content(c, o, p, "a.txt") == b"v3"
        assert api.get_content(c, o, p, "a.txt", revision="-1") == b"v2"
        assert api.get_content(c, o, p, "a.txt", revision="-2") == b"v1"
        r = c.get(url, params={"revision": v1["revision"]})
        assert r.status_code == 200
        assert r.content == b"v1"
        assert r.headers["etag"] == f'"{v1["revision"]}"'
        assert r.headers["x-storage-revision"] == v1["revision"]
        assert r.headers["x-storage-sha256"] == api.sha256(b"v1")
        r = c.head(url, params={"revision": "-2"})
        assert r.status_code == 200
        assert r.headers["x-storage-revision"] == v1["revision"]

        r = c.get(api.meta_url(o, p, "a.txt"), params={"revision": "-1"})
        assert r.status_code == 200, r.text
        api.check_file(r.json())
        assert (r.json()["revision"], r.json()["sha256"]) == (v2["revision"], v2["sha256"])

        for ref in ("-3", str(uuid.uuid4()), other["revision"]):
            api.check_error(
                c.get(url, params={"revision": ref}), 404, "not_found", missing="revision"
            )
            api.check_error(
                c.get(api.meta_url(o, p, "a.txt"), params={"revision": ref}),
                404,
                "not_found",
                missing="revision",
            )
        for ref in ("0", "1", "abc", "-x"):
            api.check_error(c.get(url, params={"revision": ref}), 400, "invalid")


def test_a_deleted_file_keeps_its_history(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        v1 = api.put(c, o, p, "a.txt", b"v1")
        v2 = api.put(c, o, p, "a.txt", b"v2")
        assert c.delete(api.files_url(o, p, "a.txt")).status_code == 204

        url = api.files_url(o, p, "a.txt")
        meta = api.meta_url(o, p, "a.txt")
        api.check_error(c.get(url), 404, "not_found", missing="path")
        assert c.head(url).status_code == 404
        api.check_error(c.get(meta), 404, "not_found", missing="path")
        assert "a.txt" not in api.tree(c, o, p)

        # For a deleted file, -1 is its content before deletion.
        assert api.get_content(c, o, p, "a.txt", revision="-1") == b"v2"
        assert api.get_content(c, o, p, "a.txt", revision="-2") == b"v1"
        r = c.get(meta, params={"revision": "-1"})
        assert r.status_code == 200, r.text
        assert r.json()["revision"] == v2["revision"]

        revisions = api.revisions(c, o, p, "a.txt")
        assert [x["deleted"] for x in revisions] == [True, False, False]
        assert [x["id"] for x in revisions[1:]] == [v2["revision"], v1["revision"]]
        deletion = revisions[0]["id"]
        # "With revision, a deletion revision is 404 missing=path".
        api.check_error(
            c.get(meta, params={"revision": deletion}), 404, "not_found", missing="path"
        )
        assert c.get(url, params={"revision": deletion}).status_code == 404

        # A new life: created again (201), created_at starts over, history goes on.
        r = c.put(url, content=b"v3")
        assert r.status_code == 201, r.text
        reborn = r.json()
        assert reborn["created_at"] == reborn["modified"]
        assert reborn["created_at"] > v1["created_at"]
        assert [x["deleted"] for x in api.revisions(c, o, p, "a.txt")] == [
            False,
            True,
            False,
            False,
        ]
        assert api.get_content(c, o, p, "a.txt", revision="-2") == b"v2"

        api.check_error(
            c.get(api.revisions_url(o, p, "never.txt")), 404, "not_found", missing="path"
        )


def test_created_at_is_the_first_revision_of_the_current_life(
    api: Api, account: ServerUser
) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        first = api.put(c, o, p, "a.txt", b"1")
        second = api.put(c, o, p, "a.txt", b"2")
        assert second["created_at"] == first["created_at"] == first["modified"]
        revisions = api.revisions(c, o, p, "a.txt")
        assert second["modified"] == revisions[0]["created_at"]
        assert second["created_at"] == revisions[1]["created_at"]


def checkpoint_at(response: httpx.Response) -> datetime:
    value = response.headers.get("x-storage-checkpoint-at")
    assert value is not None, response.headers
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_ad_hoc_checkpoints(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        base = api.project_url(o, p)
        api.put(c, o, p, "a.txt", b"v1")
        r = c.post(f"{base}/checkpoints", json={"message": "one"})
        assert r.status_code == 201, r.text
        one = r.json()
        api.put(c, o, p, "a.txt", b"v2")
        api.put(c, o, p, "b.txt", b"b")
        r = c.post(f"{base}/checkpoints")  # no body
        assert r.status_code == 201, r.text
        two = r.json()
        api.check_checkpoint(two)
        assert two["message"] == ""
        api.put(c, o, p, "a.txt", b"v3")
        assert c.delete(api.files_url(o, p, "b.txt")).status_code == 204

        # Listed newest first, in the list and in the project.
        assert api.list_all(c, f"{base}/checkpoints") == [two, one]
        assert api.list_all(c, f"{base}/checkpoints", {"limit": 1}) == [two, one]
        assert c.get(base).json()["checkpoints"] == [two, one]
        assert c.get(f"{base}/checkpoints/-2").json() == one
        assert c.get(f"{base}/checkpoints/{two['id']}").json() == two

        for ref, content, paths, checkpoint in [
            ("-1", b"v2", ["a.txt", "b.txt"], two),
            ("-2", b"v1", ["a.txt"], one),
            (one["id"], b"v1", ["a.txt"], one),
        ]:
            r = c.get(api.files_url(o, p, "a.txt"), params={"checkpoint": ref})
            assert r.status_code == 200, r.text
            assert r.content == content
            assert checkpoint_at(r) == api.parse_instant(checkpoint["created_at"])
            r = c.get(api.tree_url(o, p), params={"checkpoint": ref})
            assert r.status_code == 200, r.text
            assert [x["path"] for x in r.json()["items"]] == paths
            assert checkpoint_at(r) == api.parse_instant(checkpoint["created_at"])
            r = c.get(api.meta_url(o, p, "a.txt"), params={"checkpoint": ref})
            assert r.status_code == 200, r.text
            assert r.json()["sha256"] == api.sha256(content)
            assert checkpoint_at(r) == api.parse_instant(checkpoint["created_at"])
        # b.txt, deleted now, is there at checkpoint -1.
        assert api.get_content(c, o, p, "b.txt", checkpoint="-1") == b"b"
        api.check_error(
            c.get(api.files_url(o, p, "b.txt"), params={"checkpoint": "-2"}),
            404,
            "not_found",
            missing="path",
        )

        for ref in ("-3", str(uuid.uuid4())):
            r = c.get(f"{base}/checkpoints/{ref}")
            api.check_error(r, 404, "not_found", missing="checkpoint")
            for url in (
                api.files_url(o, p, "a.txt"),
                api.meta_url(o, p, "a.txt"),
                api.tree_url(o, p),
            ):
                r = c.get(url, params={"checkpoint": ref})
                api.check_error(r, 404, "not_found", missing="checkpoint")
        for ref in ("0", "abc", "2024-13-01T00:00:00"):
            api.check_error(c.get(api.tree_url(o, p), params={"checkpoint": ref}), 400, "invalid")


def test_a_project_shows_its_100_most_recent_checkpoints(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        base = api.project_url(o, p)
        made = []
        for i in range(101):
            r = c.post(f"{base}/checkpoints", json={"message": str(i)})
            assert r.status_code == 201, r.text
            made.append(r.json())
        newest_first = made[::-1]
        assert c.get(base).json()["checkpoints"] == newest_first[:100]
        assert api.list_all(c, f"{base}/checkpoints") == newest_first
        assert c.get(f"{base}/checkpoints/-101").json() == made[0]


def test_revision_and_checkpoint_together_is_400(api: Api, account: ServerUser) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "a.txt", b"1")
        api.put(c, o, p, "a.txt", b"2")
        assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
        both = {"revision": "-1", "checkpoint": "-1"}
        api.check_error(c.get(api.files_url(o, p, "a.txt"), params=both), 400, "invalid")
        api.check_error(c.get(api.meta_url(o, p, "a.txt"), params=both), 400, "invalid")
        assert c.head(api.files_url(o, p, "a.txt"), params=both).status_code == 400


@pytest.mark.parametrize("param", ["revision", "checkpoint"])
def test_history_is_read_only(api: Api, account: ServerUser, param: str) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        first = api.put(c, o, p, "a.txt", b"1")
        current = api.put(c, o, p, "a.txt", b"2")
        assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
        ref = {param: "-1"}
        url = api.files_url(o, p, "a.txt")
        api.check_error(c.put(url, params=ref, content=b"x"), 400, "invalid")
        api.check_error(c.delete(url, params=ref), 400, "invalid")
        api.check_error(
            c.patch(api.meta_url(o, p, "a.txt"), params=ref, json={"description": "x"}),
            400,
            "invalid",
        )
        api.check_error(
            c.put(api.files_url(o, p, "new.txt"), params=ref, content=b"x"), 400, "invalid"
        )
        revisions = api.revisions(c, o, p, "a.txt")
        assert [x["id"] for x in revisions] == [current["revision"], first["revision"]]
        assert api.tree(c, o, p) == ["a.txt"]


# -- time points: one scenario across three wall-clock seconds --------------------------------


@dataclass(frozen=True)
class Timeline:
    c: httpx.Client
    o: str
    p: str
    seconds: list[datetime]  # the second of each of the three steps, UTC
    revisions: list[str]  # a.txt's revision at steps 1 and 2


def second_of(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(microsecond=0)


def sleep_past(second: datetime) -> None:
    """Sleep until the wall clock is in a later second than `second`."""
    delay = (second + timedelta(seconds=1) - datetime.now(timezone.utc)).total_seconds()
    time.sleep(max(0.0, delay) + 0.02)


@pytest.fixture(scope="module")
def timeline(api: Api) -> Iterator[Timeline]:
    """Step 1: a.txt=v1; step 2: a.txt=v2 and b.txt; step 3: a.txt deleted and c.txt.

    Each step in its own second (about two seconds of sleep for the module).
    """
    owner: ServerUser = api.new_user("timeline")
    o = owner.name
    with api.client(owner) as c:
        p = api.create_project(c, o)["name"]
        v1 = api.put(c, o, p, "a.txt", b"v1")
        s1 = second_of(v1["modified"])
        sleep_past(s1)
        v2 = api.put(c, o, p, "a.txt", b"v2")
        b = api.put(c, o, p, "b.txt", b"b")
        s2 = second_of(b["modified"])
        assert second_of(v2["modified"]) > s1
        sleep_past(s2)
        assert c.delete(api.files_url(o, p, "a.txt")).status_code == 204
        c3 = api.put(c, o, p, "c.txt", b"c")
        s3 = second_of(c3["modified"])
        assert s3 > s2
        yield Timeline(c, o, p, [s1, s2, s3], [v1["revision"], v2["revision"]])


def time_point(second: datetime, style: str) -> str:
    if style == "plain":
        return second.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "Z":
        return second.strftime("%Y-%m-%dT%H:%M:%SZ")
    shifted = second.astimezone(timezone(timedelta(hours=2)))
    return shifted.strftime("%Y-%m-%dT%H:%M:%S+02:00")


@pytest.mark.parametrize("style", ["plain", "Z", "+02:00"])
def test_time_points_read_the_tree_as_it_was(api: Api, timeline: Timeline, style: str) -> None:
    t = timeline
    expected = [["a.txt"], ["a.txt", "b.txt"], ["b.txt", "c.txt"]]
    for second, paths in zip(t.seconds, expected, strict=True):
        r = t.c.get(api.tree_url(t.o, t.p), params={"checkpoint": time_point(second, style)})
        assert r.status_code == 200, r.text
        assert [x["path"] for x in r.json()["items"]] == paths
        resolved = checkpoint_at(r)
        assert second <= resolved < second + timedelta(seconds=1)


@pytest.mark.parametrize("style", ["plain", "Z", "+02:00"])
def test_time_points_read_content_as_it_was(api: Api, timeline: Timeline, style: str) -> None:
    t = timeline
    url = api.files_url(t.o, t.p, "a.txt")
    for second, content, revision in zip(t.seconds[:2], [b"v1", b"v2"], t.revisions, strict=True):
        r = t.c.get(url, params={"checkpoint": time_point(second, style)})
        assert r.status_code == 200, r.text
        assert r.content == content
        assert r.headers["x-storage-revision"] == revision
        assert second <= checkpoint_at(r) < second + timedelta(seconds=1)
        r = t.c.get(
            api.meta_url(t.o, t.p, "a.txt"), params={"checkpoint": time_point(second, style)}
        )
        assert r.status_code == 200, r.text
        assert r.json()["revision"] == revision
    # At step 3, a.txt is deleted.
    r = t.c.get(url, params={"checkpoint": time_point(t.seconds[2], style)})
    api.check_error(r, 404, "not_found", missing="path")


def test_a_time_point_resolves_to_an_instant(api: Api, timeline: Timeline) -> None:
    t = timeline
    second = t.seconds[1]
    r = t.c.get(f"{api.project_url(t.o, t.p)}/checkpoints/{time_point(second, 'plain')}")
    assert r.status_code == 200, r.text
    assert r.json()["id"] is None
    api.check_timestamp(r.json()["created_at"])
    assert second <= api.parse_instant(r.json()["created_at"]) < second + timedelta(seconds=1)
