"""Listing: a project's tree, projects and owners (docs/api.md, "Paging", "Listing a project's
tree", "Projects", "Owners")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

    from tests.conftest import Account
    from tests.server.conftest import Api, ServerUser

BIG = [f"bulk/n{i:03d}.txt" for i in range(250)]


@dataclass(frozen=True)
class Big:
    c: httpx.Client
    o: str
    p: str


@pytest.fixture(scope="module")
def big(api: Api) -> Iterator[Big]:
    """A project of 250 files, shared by the paging tests."""
    owner: ServerUser = api.new_user("pager")
    with api.client(owner) as c:
        p = api.create_project(c, owner.name)["name"]
        for name in BIG:
            api.put(c, owner.name, p, name, name.encode())
        yield Big(c, owner.name, p)


def test_paging_has_no_duplicates_or_gaps(api: Api, big: Big) -> None:
    url = api.tree_url(big.o, big.p)
    pages: list[list[str]] = []
    params: dict[str, str | int] = {"limit": 100}
    while True:
        r = big.c.get(url, params=params)
        assert r.status_code == 200, r.text
        items, cursor = api.check_page(r.json())
        for item in items:
            api.check_entry(item)
        pages.append([x["path"] for x in items])
        if cursor is None:
            break
        assert len(pages) < 10
        params["cursor"] = cursor
    assert [len(page) for page in pages] == [100, 100, 50]
    listed = [path for page in pages for path in page]
    assert listed == BIG


def test_default_and_maximum_limits(api: Api, big: Big) -> None:
    url = api.tree_url(big.o, big.p)
    r = big.c.get(url)
    items, cursor = api.check_page(r.json())
    assert len(items) == 100
    assert cursor is not None
    r = big.c.get(url, params={"limit": 1000})
    items, cursor = api.check_page(r.json())
    assert [x["path"] for x in items] == BIG
    assert cursor is None
    r = big.c.get(url, params={"limit": 1})
    items, cursor = api.check_page(r.json())
    assert [x["path"] for x in items] == BIG[:1]
    assert cursor is not None


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", ""])
def test_bad_limit_is_400(api: Api, big: Big, limit: str) -> None:
    r = big.c.get(api.tree_url(big.o, big.p), params={"limit": limit})
    api.check_error(r, 400, "invalid")


@pytest.mark.parametrize("cursor", ["not-a-cursor", "%%%", "0" * 64, "eyJ4IjogMX0="])
def test_malformed_cursor_is_400(api: Api, big: Big, cursor: str) -> None:
    r = big.c.get(api.tree_url(big.o, big.p), params={"cursor": cursor})
    api.check_error(r, 400, "invalid")


def test_every_list_pages(api: Api, user: Account) -> None:
    """Lists besides the tree take `limit` and `cursor` too."""
    o = user.name
    with api.client(user) as c:
        names = sorted(api.create_project(c, o)["name"] for _ in range(3))
        p = names[0]
        for i in range(3):
            api.put(c, o, p, "a.txt", str(i).encode())
            assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
            r = c.post(api.uploads_url(o, p), json={"path": f"u{i}"})
            assert r.status_code == 201, r.text
        for url in (
            f"/api/storage/projects/{o}",
            api.revisions_url(o, p, "a.txt"),
            f"{api.project_url(o, p)}/checkpoints",
            api.uploads_url(o, p),
        ):
            r = c.get(url, params={"limit": 2})
            assert r.status_code == 200, r.text
            items, cursor = api.check_page(r.json())
            assert len(items) == 2, url
            assert cursor is not None, url
            rest = api.list_all(c, url, {"limit": 2, "cursor": cursor})
            assert len(rest) == 1, url
            assert not {x["id"] for x in items} & {x["id"] for x in rest}, url
            api.check_error(c.get(url, params={"limit": 0}), 400, "invalid")
            api.check_error(c.get(url, params={"cursor": "garbage"}), 400, "invalid")
        assert [x["name"] for x in api.list_all(c, f"/api/storage/projects/{o}", {"limit": 1})] == (
            names
        )


# -- prefix and delimiter ---------------------------------------------------------------------

LAYOUT = [
    "a.txt",
    "d1/f1.txt",
    "d1/f2.txt",
    "d1/sub/deep/g.txt",
    "d1/sub/h.txt",
    "d10/i.txt",
    "z.txt",
]


@pytest.fixture
def layout(api: Api, account: ServerUser) -> Iterator[tuple[httpx.Client, str, str]]:
    with api.client(account) as c:
        p = api.create_project(c, account.name)["name"]
        for name in LAYOUT:
            api.put(c, account.name, p, name, name.encode())
        assert c.put(api.directories_url(account.name, p, "empty")).status_code == 201
        yield c, account.name, p


def test_recursive_listing_includes_markers(
    api: Api, layout: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = layout
    entries = api.list_all(c, api.tree_url(o, p))
    assert all(x["type"] == "file" for x in entries)
    assert [x["path"] for x in entries] == sorted([*LAYOUT, "empty/.keep"])
    by_path = {x["path"]: x for x in entries}
    assert by_path["d1/sub/h.txt"]["sha256"] == api.sha256(b"d1/sub/h.txt")
    assert by_path["empty/.keep"]["size"] == 0


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("d1/", ["d1/f1.txt", "d1/f2.txt", "d1/sub/deep/g.txt", "d1/sub/h.txt"]),
        ("d1/sub/", ["d1/sub/deep/g.txt", "d1/sub/h.txt"]),
        ("d1", ["d1/f1.txt", "d1/f2.txt", "d1/sub/deep/g.txt", "d1/sub/h.txt", "d10/i.txt"]),
        ("d1/f", ["d1/f1.txt", "d1/f2.txt"]),
        ("a.txt", ["a.txt"]),
        ("nomatch/", []),
        ("", sorted([*LAYOUT, "empty/.keep"])),
    ],
)
def test_prefix(
    api: Api, layout: tuple[httpx.Client, str, str], prefix: str, expected: list[str]
) -> None:
    c, o, p = layout
    r = c.get(api.tree_url(o, p), params={"prefix": prefix})
    assert r.status_code == 200, r.text
    items, cursor = api.check_page(r.json())
    assert [x["path"] for x in items] == expected
    assert cursor is None


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (
            None,
            [
                ("file", "a.txt"),
                ("directory", "d1"),
                ("directory", "d10"),
                ("directory", "empty"),
                ("file", "z.txt"),
            ],
        ),
        (
            "d1/",
            [("file", "d1/f1.txt"), ("file", "d1/f2.txt"), ("directory", "d1/sub")],
        ),
        ("d1/sub/", [("directory", "d1/sub/deep"), ("file", "d1/sub/h.txt")]),
        ("empty/", [("file", "empty/.keep")]),
        ("nomatch/", []),
    ],
)
def test_delimiter_groups_directories(
    api: Api,
    layout: tuple[httpx.Client, str, str],
    prefix: str | None,
    expected: list[tuple[str, str]],
) -> None:
    c, o, p = layout
    params = {"delimiter": "/"} if prefix is None else {"delimiter": "/", "prefix": prefix}
    r = c.get(api.tree_url(o, p), params=params)
    assert r.status_code == 200, r.text
    items, cursor = api.check_page(r.json())
    for item in items:
        api.check_entry(item)
    assert [(x["type"], x["path"]) for x in items] == expected
    assert cursor is None
    # The same listing one entry per page: every directory exactly once.
    assert [
        (x["type"], x["path"]) for x in api.list_all(c, api.tree_url(o, p), {**params, "limit": 1})
    ] == expected


def test_directories_sort_by_their_path(api: Api, account: ServerUser) -> None:
    """docs/api.md: "paged `File`s and `Directory`s sorted by path"; a Directory's path is
    `a`, which sorts before `a-b.txt` ('-' < '/' would put an S3-style key `a/` after it)."""
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        for name in ("a-b.txt", "a/x.txt", "a0.txt"):
            api.put(c, o, p, name, b".")
        expected = [("directory", "a"), ("file", "a-b.txt"), ("file", "a0.txt")]
        for limit in (100, 1):
            listed = api.list_all(c, api.tree_url(o, p), {"delimiter": "/", "limit": limit})
            assert [(x["type"], x["path"]) for x in listed] == expected


def test_tree_at_a_checkpoint_pages(api: Api, layout: tuple[httpx.Client, str, str]) -> None:
    c, o, p = layout
    assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
    for i in range(3):
        api.put(c, o, p, f"later{i}.txt", b"later")
    assert c.delete(api.files_url(o, p, "a.txt")).status_code == 204
    at = api.list_all(c, api.tree_url(o, p), {"checkpoint": "-1", "limit": 2})
    assert [x["path"] for x in at] == sorted([*LAYOUT, "empty/.keep"])
    now = api.tree(c, o, p)
    assert "a.txt" not in now
    assert "later0.txt" in now


# -- projects and owners ----------------------------------------------------------------------


def test_hidden_projects(api: Api, user: Account, other_user: Account) -> None:
    o = user.name
    with api.client(user) as c, api.client(other_user) as bob:
        api.create_project(c, o, "visible")
        hidden = api.create_project(c, o, "secret", hidden=True)
        assert hidden["hidden"] is True
        for name in ("visible", "secret"):
            api.grant(c, o, name, ("user", other_user.name, True, "r"))
        for client in (c, bob):
            url = f"/api/storage/projects/{o}"
            assert [x["name"] for x in api.list_all(client, url)] == ["visible"]
            listed = api.list_all(client, url, {"include_hidden": "true"})
            assert [x["name"] for x in listed] == ["secret", "visible"]
            # Hidden is not secret: the project answers when named.
            assert client.get(api.project_url(o, "secret")).status_code == 200
        r = c.patch(api.project_url(o, "secret"), json={"hidden": False})
        assert r.status_code == 200, r.text
        assert r.json()["hidden"] is False
        assert [x["name"] for x in api.list_all(bob, f"/api/storage/projects/{o}")] == [
            "secret",
            "visible",
        ]


def test_projects_listing_shows_only_readable_projects(
    api: Api, user: Account, other_user: Account
) -> None:
    o = user.name
    with api.client(user) as c, api.client(other_user) as bob:
        for name in ("b-shared", "a-private", "c-shared"):
            api.create_project(c, o, name)
        api.grant(c, o, "b-shared", ("user", other_user.name, True, "r"))
        api.grant(c, o, "c-shared", ("user", other_user.name, True, "w"))
        listed = api.list_all(bob, f"/api/storage/projects/{o}")
        assert [(x["name"], x["access"]) for x in listed] == [
            ("b-shared", "read"),
            ("c-shared", "write"),
        ]
        assert [x["name"] for x in api.list_all(c, f"/api/storage/projects/{o}")] == [
            "a-private",
            "b-shared",
            "c-shared",
        ]
        api.check_error(
            bob.get("/api/storage/projects/no-such-owner-here"), 404, "not_found", missing="owner"
        )


def test_owners_listing(
    api: Api, user: Account, other_user: Account, new_account: Callable[[str], Account]
) -> None:
    carol = new_account("carol")
    dave = new_account("dave")
    mine = api.new_org("mine", [user])
    sharing_org = api.new_org("sharing", [carol])
    api.new_org("unrelated", [dave])
    with api.client(user) as c, api.client(carol) as carol_c:
        # Carol shares one of her projects and one of her organization's with the user.
        api.create_project(carol_c, carol.name, "for-alice")
        api.grant(carol_c, carol.name, "for-alice", ("user", user.name, True, "r"))
        api.create_project(carol_c, sharing_org, "org-share")
        api.grant(carol_c, sharing_org, "org-share", ("org", mine, True, "w"))
        owners = api.list_all(c, "/api/storage/owners")
        for owner in owners:
            api.check_owner(owner)
        expected = sorted(
            [(user.name, "user"), (mine, "org"), (carol.name, "user"), (sharing_org, "org")]
        )
        assert [(x["name"], x["kind"]) for x in owners] == expected
        paged = api.list_all(c, "/api/storage/owners", {"limit": 1})
        assert paged == owners
        r = c.get(f"/api/storage/owners/{mine}")
        assert r.status_code == 200
        assert (r.json()["name"], r.json()["kind"]) == (mine, "org")
        r = c.get(f"/api/storage/owners/{r.json()['id']}")
        assert r.json()["name"] == mine
    assert other_user.name not in {x["name"] for x in owners}
    assert dave.name not in {x["name"] for x in owners}
