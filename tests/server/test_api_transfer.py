"""Server-side copy and move (docs/api.md, "Server-side copy and move")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

    from tests.conftest import Account
    from tests.server.conftest import Api, ServerUser

SOURCE_FILES = {
    "top.txt": b"top",
    "src/x.txt": b"x",
    "src/y/z.txt": b"z",
    "src/y/.keep": b"",
    "srcx/other.txt": b"not below src/",
}


@pytest.fixture
def project(api: Api, account: ServerUser) -> Iterator[tuple[httpx.Client, str, str]]:
    """The user's project holding SOURCE_FILES."""
    with api.client(account) as c:
        p = api.create_project(c, account.name)["name"]
        for path, content in SOURCE_FILES.items():
            api.put(c, account.name, p, path, content)
        yield c, account.name, p


def items_of(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items"}, body
    for item in body["items"]:
        assert set(item) == {"source", "destination", "revision"}, item
    return sorted((x["source"], x["destination"]) for x in body["items"])


def test_copy_a_file(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    source = c.get(api.meta_url(o, p, "src/x.txt")).json()
    r = api.transfer(c, "copy", (o, p, "src/x.txt"), (o, p, "copies/x2.txt"))
    assert items_of(r) == [("src/x.txt", "copies/x2.txt")]
    (item,) = r.json()["items"]
    copied = c.get(api.meta_url(o, p, "copies/x2.txt")).json()
    assert copied["revision"] == item["revision"]
    assert (copied["sha256"], copied["size"]) == (source["sha256"], source["size"])
    assert api.get_content(c, o, p, "copies/x2.txt") == b"x"
    # The source is untouched.
    assert c.get(api.meta_url(o, p, "src/x.txt")).json() == source


def test_copy_a_directory_recursively(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    r = api.transfer(c, "copy", (o, p, "src"), (o, p, "dst"), recursive=True)
    assert items_of(r) == [
        ("src/x.txt", "dst/x.txt"),
        ("src/y/.keep", "dst/y/.keep"),
        ("src/y/z.txt", "dst/y/z.txt"),
    ]
    tree = api.tree(c, o, p)
    assert [x for x in tree if x.startswith("dst/")] == ["dst/x.txt", "dst/y/.keep", "dst/y/z.txt"]
    assert api.get_content(c, o, p, "dst/y/z.txt") == b"z"
    assert {x for x in tree if not x.startswith("dst/")} == set(SOURCE_FILES)


def test_copy_a_whole_project(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    other = api.create_project(c, o)["name"]
    r = api.transfer(c, "copy", (o, p, ""), (o, other, ""), recursive=True)
    assert items_of(r) == sorted((path, path) for path in SOURCE_FILES)
    assert api.tree(c, o, other) == sorted(SOURCE_FILES)
    r = api.transfer(c, "copy", (o, p, ""), (o, other, "backup"), recursive=True)
    assert items_of(r) == sorted((path, f"backup/{path}") for path in SOURCE_FILES)
    for path, content in SOURCE_FILES.items():
        assert api.get_content(c, o, other, f"backup/{path}") == content
        source = c.get(api.meta_url(o, p, path)).json()
        assert c.get(api.meta_url(o, other, f"backup/{path}")).json()["sha256"] == source["sha256"]


def test_move_a_file_leaves_a_deletion_revision(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    source = c.get(api.meta_url(o, p, "top.txt")).json()
    r = api.transfer(c, "move", (o, p, "top.txt"), (o, p, "moved/top.txt"))
    assert items_of(r) == [("top.txt", "moved/top.txt")]
    (item,) = r.json()["items"]
    moved = c.get(api.meta_url(o, p, "moved/top.txt")).json()
    assert moved["revision"] == item["revision"]
    assert moved["sha256"] == source["sha256"]
    api.check_error(c.get(api.files_url(o, p, "top.txt")), 404, "not_found", missing="path")
    revisions = api.revisions(c, o, p, "top.txt")
    assert [(x["deleted"], x["index"]) for x in revisions] == [(True, 0), (False, -1)]
    assert revisions[1]["id"] == source["revision"]
    # The old content is still reachable at the source.
    assert api.get_content(c, o, p, "top.txt", revision="-1") == b"top"


def test_move_a_directory(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    r = api.transfer(c, "move", (o, p, "src"), (o, p, "renamed"), recursive=True)
    assert items_of(r) == [
        ("src/x.txt", "renamed/x.txt"),
        ("src/y/.keep", "renamed/y/.keep"),
        ("src/y/z.txt", "renamed/y/z.txt"),
    ]
    assert api.tree(c, o, p) == [
        "renamed/x.txt",
        "renamed/y/.keep",
        "renamed/y/z.txt",
        "srcx/other.txt",
        "top.txt",
    ]
    for path in ("src/x.txt", "src/y/.keep", "src/y/z.txt"):
        assert [x["deleted"] for x in api.revisions(c, o, p, path)] == [True, False]
    api.check_error(c.get(api.meta_url(o, p, "src")), 404, "not_found", missing="path")


@pytest.mark.parametrize("kind", ["copy", "move"])
def test_overwrite_false_refuses_an_existing_destination(
    api: Api, project: tuple[httpx.Client, str, str], kind: str
) -> None:
    c, o, p = project
    api.put(c, o, p, "dst/y/z.txt", b"already here")
    before = api.tree(c, o, p)
    r = api.transfer(c, kind, (o, p, "src/y/z.txt"), (o, p, "dst/y/z.txt"), overwrite=False)
    api.check_error(r, 409, "conflict")
    r = api.transfer(c, kind, (o, p, "src"), (o, p, "dst"), recursive=True, overwrite=False)
    api.check_error(r, 409, "conflict")
    # Nothing happened, not even the files that had no counterpart.
    assert api.tree(c, o, p) == before
    assert api.get_content(c, o, p, "dst/y/z.txt") == b"already here"
    assert len(api.revisions(c, o, p, "dst/y/z.txt")) == 1
    # overwrite true: a new revision of the destination.
    r = api.transfer(c, kind, (o, p, "src/y/z.txt"), (o, p, "dst/y/z.txt"), overwrite=True)
    assert items_of(r) == [("src/y/z.txt", "dst/y/z.txt")]
    assert api.get_content(c, o, p, "dst/y/z.txt") == b"z"
    assert len(api.revisions(c, o, p, "dst/y/z.txt")) == 2


@pytest.mark.parametrize("kind", ["copy", "move"])
def test_file_directory_clash_is_409(
    api: Api, project: tuple[httpx.Client, str, str], kind: str
) -> None:
    c, o, p = project
    before = api.tree(c, o, p)
    # Onto a directory, and below a file.
    api.check_error(api.transfer(c, kind, (o, p, "top.txt"), (o, p, "src")), 409, "conflict")
    r = api.transfer(c, kind, (o, p, "src/x.txt"), (o, p, "top.txt/x.txt"))
    api.check_error(r, 409, "conflict")
    assert api.tree(c, o, p) == before


@pytest.mark.parametrize(
    ("source", "destination"),
    [("src", "src"), ("src", "src/inner"), ("src", "src/y/deeper"), ("", "sub")],
)
def test_move_onto_itself_or_into_its_subtree_is_400(
    api: Api, project: tuple[httpx.Client, str, str], source: str, destination: str
) -> None:
    c, o, p = project
    before = api.tree(c, o, p)
    r = api.transfer(c, "move", (o, p, source), (o, p, destination), recursive=True)
    api.check_error(r, 400, "invalid")
    assert api.tree(c, o, p) == before


def test_move_a_file_onto_itself_is_400(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    r = api.transfer(c, "move", (o, p, "top.txt"), (o, p, "top.txt"))
    api.check_error(r, 400, "invalid")
    assert len(api.revisions(c, o, p, "top.txt")) == 1


@pytest.mark.parametrize("history", [{"revision": "-1"}, {"checkpoint": "-1"}])
def test_move_takes_no_revision_or_checkpoint(
    api: Api, project: tuple[httpx.Client, str, str], history: dict[str, str]
) -> None:
    c, o, p = project
    api.put(c, o, p, "top.txt", b"top v2")
    assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
    r = api.transfer(c, "move", (o, p, "top.txt"), (o, p, "elsewhere.txt"), **history)
    api.check_error(r, 400, "invalid")
    assert "elsewhere.txt" not in api.tree(c, o, p)
    assert api.get_content(c, o, p, "top.txt") == b"top v2"


def test_copy_from_a_revision_or_a_checkpoint(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
    api.put(c, o, p, "top.txt", b"top v2")
    api.put(c, o, p, "src/new.txt", b"new")
    assert c.delete(api.files_url(o, p, "src/x.txt")).status_code == 204

    r = api.transfer(c, "copy", (o, p, "top.txt"), (o, p, "old.txt"), revision="-1")
    assert items_of(r) == [("top.txt", "old.txt")]
    assert api.get_content(c, o, p, "old.txt") == b"top"

    r = api.transfer(c, "copy", (o, p, "src"), (o, p, "then"), recursive=True, checkpoint="-1")
    assert items_of(r) == [
        ("src/x.txt", "then/x.txt"),
        ("src/y/.keep", "then/y/.keep"),
        ("src/y/z.txt", "then/y/z.txt"),
    ]
    assert api.get_content(c, o, p, "then/x.txt") == b"x"

    r = api.transfer(c, "copy", (o, p, "top.txt"), (o, p, "x.txt"), revision="-1", checkpoint="-1")
    api.check_error(r, 400, "invalid")
    r = api.transfer(c, "copy", (o, p, "top.txt"), (o, p, "x.txt"), revision="-9")
    api.check_error(r, 404, "not_found", missing="revision")
    r = api.transfer(c, "copy", (o, p, "top.txt"), (o, p, "x.txt"), checkpoint="-9")
    api.check_error(r, 404, "not_found", missing="checkpoint")


def test_missing_sources_and_destinations(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    for kind in ("copy", "move"):
        r = api.transfer(c, kind, (o, p, "absent.txt"), (o, p, "x.txt"))
        api.check_error(r, 404, "not_found", missing="path")
        r = api.transfer(c, kind, (o, "no-such-project", "top.txt"), (o, p, "x.txt"))
        api.check_error(r, 404, "not_found", missing="project")
        r = api.transfer(c, kind, (o, p, "top.txt"), (o, "no-such-project", "x.txt"))
        api.check_error(r, 404, "not_found", missing="project")
        r = api.transfer(c, kind, (o, p, "top.txt"), (o, p, "a//b"))
        api.check_error(r, 400, "invalid")
    assert api.tree(c, o, p) == sorted(SOURCE_FILES)


def test_between_users_with_grants(
    api: Api, user: Account, other_user: Account, new_account: Callable[[str], Account]
) -> None:
    carol = new_account("carol")
    a, b = user.name, other_user.name
    with api.client(user) as alice, api.client(other_user) as bob, api.client(carol) as carol_c:
        pa = api.create_project(alice, a)["name"]
        source = api.put(alice, a, pa, "data/q1.csv", b"q1")
        api.put(alice, a, pa, "data/q2.csv", b"q2")
        pb = api.create_project(bob, b)["name"]
        pc = api.create_project(carol_c, carol.name)["name"]
        api.put(carol_c, carol.name, pc, "secret.txt", b"s")

        # Without any grant, alice's project does not exist for bob.
        r = api.transfer(bob, "copy", (a, pa, "data/q1.csv"), (b, pb, "q1.csv"))
        api.check_error(r, 404, "not_found", missing="project")

        api.grant(alice, a, pa, ("user", b, True, "r"))
        r = api.transfer(bob, "copy", (a, pa, "data/q1.csv"), (b, pb, "in/q1.csv"))
        assert items_of(r) == [("data/q1.csv", "in/q1.csv")]
        copied = bob.get(api.meta_url(b, pb, "in/q1.csv")).json()
        assert copied["sha256"] == source["sha256"]
        assert copied["modified_by"]["name"] == b
        # Read on the source is not write on it, nor on a destination in it.
        r = api.transfer(bob, "move", (a, pa, "data/q1.csv"), (b, pb, "moved.csv"))
        api.check_error(r, 403, "permission_denied", required="write")
        r = api.transfer(bob, "copy", (b, pb, "in/q1.csv"), (a, pa, "from-bob.csv"))
        api.check_error(r, 403, "permission_denied", required="write")
        # Neither on a project bob cannot see.
        r = api.transfer(bob, "copy", (b, pb, "in/q1.csv"), (carol.name, pc, "x.csv"))
        api.check_error(r, 404, "not_found", missing="project")
        assert api.tree(alice, a, pa) == ["data/q1.csv", "data/q2.csv"]

        api.grant(alice, a, pa, ("user", b, True, "w"))
        r = api.transfer(bob, "move", (a, pa, "data"), (b, pb, "moved"), recursive=True)
        assert items_of(r) == [
            ("data/q1.csv", "moved/q1.csv"),
            ("data/q2.csv", "moved/q2.csv"),
        ]
        assert api.tree(alice, a, pa) == []
        assert [x["deleted"] for x in api.revisions(alice, a, pa, "data/q2.csv")] == [True, False]
        deletion = api.revisions(alice, a, pa, "data/q2.csv")[0]
        assert deletion["created_by"]["name"] == b
        assert api.get_content(bob, b, pb, "moved/q2.csv") == b"q2"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"source": {"owner": "x", "project": "y", "path": "z"}},
        {"source": "x", "destination": "y"},
        {
            "source": {"owner": "x", "project": "y", "path": "z"},
            "destination": {"owner": "x", "project": "y", "path": "w"},
            "recursive": "yes",
        },
    ],
)
def test_malformed_transfer_body_is_400(
    api: Api, account: ServerUser, body: dict[str, Any]
) -> None:
    with api.client(account) as c:
        api.check_error(c.post("/api/storage/copy", json=body), 400, "invalid")
        api.check_error(c.post("/api/storage/move", json=body), 400, "invalid")
