"""Hostile input: text that is not Unicode, numbers that are not ASCII, forged cursors, and
look-alike names (issue 11, section 2, items 3, 4, 5, 6 and 12).

Every case is a clear `400 invalid` (or `416` for a range), never a `500`, and a name typed
composed or decomposed reaches one file (docs/api.md, "Names and paths", "Paging").
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import stat
import unicodedata
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from anaconda_storage_server.testing import LocalServer
    from tests.server.conftest import Api, ServerUser

Project = tuple[httpx.Client, str, str]

COMPOSED = "caf\u00e9.txt"  # é as one code point: what Windows and Linux keyboards give
DECOMPOSED = "cafe\u0301.txt"  # e + combining acute: how macOS file names come


@pytest.fixture
def project(api: Api, account: ServerUser) -> Iterator[Project]:
    with api.client(account) as c:
        yield c, account.name, api.create_project(c, account.name)["name"]


def assert_alive(api: Api) -> None:
    with api.client(None) as anonymous:
        assert anonymous.get("/api/health").status_code == 200


# -- item 3: lone surrogates in JSON strings -------------------------------------------------

# (method, URL below the project, JSON text with a lone surrogate written as an escape: valid
# JSON that no UTF-8 encoder accepts, so httpx's `json=` could not send it).
SURROGATE_BODIES = {
    "file description": ("PATCH", "/meta/a.txt", '{"description": "x\\ud800"}'),
    "metadata key": ("PATCH", "/meta/a.txt", '{"metadata": {"\\ud800": "v"}}'),
    "metadata value": ("PATCH", "/meta/a.txt", '{"metadata": {"k": "\\udfff"}}'),
    "project title": ("PATCH", "", '{"title": "\\ud800"}'),
    "project description": ("PATCH", "", '{"description": "\\udc00x"}'),
    "checkpoint message": ("POST", "/checkpoints", '{"message": "\\ud800"}'),
    "delete prefix": ("POST", "/delete", '{"prefix": "a\\ud800"}'),
    "permission principal": (
        "POST",
        "/permissions",
        '{"changes": [{"principal_type": "u", "principal": "\\ud800",'
        ' "grant": "+", "level": "r"}]}',
    ),
}


@pytest.mark.parametrize("case", SURROGATE_BODIES.values(), ids=SURROGATE_BODIES.keys())
def test_lone_surrogate_in_json_is_400(api: Api, project: Project, case: tuple[str, str, str]):
    c, owner, name = project
    before = api.put(c, owner, name, "a.txt", b"kept")
    method, below, body = case
    r = c.request(
        method,
        f"{api.project_url(owner, name)}{below}",
        content=body.encode("ascii"),
        headers={"Content-Type": "application/json"},
    )
    error = api.check_error(r, 400, "invalid")
    assert "surrogate" in error["message"]
    # Nothing changed: the file is as it was, the project has no checkpoint.
    meta = c.get(api.meta_url(owner, name, "a.txt")).json()
    assert meta["revision"] == before["revision"]
    assert c.get(f"{api.project_url(owner, name)}/checkpoints").json()["items"] == []
    assert_alive(api)


def test_surrogate_error_names_the_field(api: Api, project: Project) -> None:
    c, owner, name = project
    api.put(c, owner, name, "a.txt")
    r = c.patch(
        api.meta_url(owner, name, "a.txt"),
        content=b'{"metadata": {"k": "\\ud83d"}}',
        headers={"Content-Type": "application/json"},
    )
    assert api.check_error(r, 400, "invalid")["field"] == "metadata"


def test_surrogate_pair_is_a_character(api: Api, project: Project) -> None:
    # An escaped pair is one valid character (U+1F600), not a lone surrogate.
    c, owner, name = project
    api.put(c, owner, name, "a.txt")
    r = c.patch(
        api.meta_url(owner, name, "a.txt"),
        content=b'{"description": "\\ud83d\\ude00"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "\U0001f600"


# -- item 4: invalid UTF-8 in percent escapes ------------------------------------------------


@pytest.mark.parametrize("escape", ["%FF", "%FE", "%C3", "%ED%A0%80", "%C0%AF", "%E2%82"])
def test_invalid_utf8_in_the_path_is_400(api: Api, project: Project, escape: str) -> None:
    c, owner, name = project
    url = f"{api.project_url(owner, name)}/files/a{escape}b"
    r = c.put(httpx.URL(url), content=b"x")
    api.check_error(r, 400, "invalid")
    assert api.tree(c, owner, name) == []


def test_two_invalid_escapes_do_not_merge_into_one_file(api: Api, project: Project) -> None:
    c, owner, name = project
    for escape in ("%FF", "%FE"):
        r = c.put(httpx.URL(f"{api.project_url(owner, name)}/files/a{escape}b"), content=b"x")
        api.check_error(r, 400, "invalid")
    # The replacement character itself, sent as its UTF-8 escapes, is an ordinary name.
    file = api.put(c, owner, name, "a\ufffdb", b"y")
    assert file["path"] == "a\ufffdb"
    assert api.tree(c, owner, name) == ["a\ufffdb"]


def test_valid_utf8_escapes_are_decoded(api: Api, project: Project) -> None:
    c, owner, name = project
    r = c.put(httpx.URL(f"{api.project_url(owner, name)}/files/a%C3%A9%F0%9F%98%80b"), content=b"")
    assert r.status_code == 201, r.text
    assert r.json()["path"] == "a\u00e9\U0001f600b"


@pytest.mark.parametrize("query", ["prefix=%FF", "delimiter=%C3", "%FF=1", "prefix=a%ED%B0%80"])
def test_invalid_utf8_in_the_query_is_400(api: Api, project: Project, query: str) -> None:
    c, owner, name = project
    r = c.get(httpx.URL(f"{api.tree_url(owner, name)}?{query}"))
    api.check_error(r, 400, "invalid")


# -- item 5: numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "limit",
    ["\u00b2", "\u0661", "\uff11", "1" * 5000, "0" * 5000 + "1", "+1", " 1", "1e2", "-1", "0"],
    ids=[
        "superscript",
        "arabic-indic",
        "fullwidth",
        "5000 digits",
        "zeros",
        "+",
        "space",
        "e",
        "-",
        "0",
    ],
)
def test_limit_is_ascii_digits_only(api: Api, project: Project, limit: str) -> None:
    c, owner, name = project
    api.put(c, owner, name, "a.txt")
    r = c.get(api.tree_url(owner, name), params={"limit": limit})
    api.check_error(r, 400, "invalid", field="limit")


def test_limit_with_leading_zeros_is_a_number(api: Api, project: Project) -> None:
    c, owner, name = project
    for path in ("a", "b"):
        api.put(c, owner, name, path)
    r = c.get(api.tree_url(owner, name), params={"limit": "0001"})
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 1


@pytest.mark.parametrize("number", ["\u00b9", "\u0661", "\uff11", "1" * 5000, "10001", "0"])
def test_part_number_is_ascii_digits_only(api: Api, project: Project, number: str) -> None:
    c, owner, name = project
    upload = c.post(api.uploads_url(owner, name), json={"path": "big.bin"})
    assert upload.status_code == 201, upload.text
    url = f"{api.uploads_url(owner, name)}/{upload.json()['id']}/parts/{number}"
    r = c.put(url, content=b"part")
    api.check_error(r, 400, "invalid", field="number")


def test_range_start_of_5000_digits_is_416(api: Api, project: Project) -> None:
    c, owner, name = project
    api.put(c, owner, name, "a.txt", b"0123456789")
    r = c.get(api.files_url(owner, name, "a.txt"), headers={"Range": "bytes=1" + "0" * 5000 + "-"})
    api.check_error(r, 416, "range_not_satisfiable")
    assert r.headers["Content-Range"] == "bytes */10"


@pytest.mark.parametrize(
    ("spec", "body"),
    [
        ("bytes=2-" + "9" * 5000, b"23456789"),
        ("bytes=-" + "9" * 5000, b"0123456789"),
        ("bytes=" + "0" * 5000 + "3-4", b"34"),
    ],
    ids=["huge end", "huge suffix", "leading zeros"],
)
def test_range_with_huge_numbers_is_served(
    api: Api, project: Project, spec: str, body: bytes
) -> None:
    c, owner, name = project
    api.put(c, owner, name, "a.txt", b"0123456789")
    r = c.get(api.files_url(owner, name, "a.txt"), headers={"Range": spec})
    assert r.status_code == 206, r.text
    assert r.content == body


@pytest.mark.parametrize("spec", ["bytes=\u0661-", "bytes=-\uff15"])
def test_range_with_non_ascii_digits_is_ignored(api: Api, project: Project, spec: str) -> None:
    # Not a byte range (RFC 9110 ignores what it does not understand): the whole content.
    c, owner, name = project
    api.put(c, owner, name, "a.txt", b"0123456789")
    r = c.get(api.files_url(owner, name, "a.txt"), headers={"Range": spec.encode("utf-8")})
    assert r.status_code == 200, r.text
    assert r.content == b"0123456789"


# -- item 6: forged cursors ----------------------------------------------------------------


def _forged_cursor(url: str, params: dict[str, str], after: Any) -> str:
    """What an attacker could make of the old unsigned cursors: the binding digest recomputed."""
    parameters = sorted(params.items())
    digest = hashlib.sha256(json.dumps([url, parameters]).encode()).hexdigest()[:16]
    text = json.dumps([digest, after])  # ensure_ascii: a lone surrogate travels as \\ud800
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _list_urls(api: Api, owner: str, name: str) -> dict[str, str]:
    return {
        "owners": "/api/storage/owners",
        "projects": f"/api/storage/projects/{owner}",
        "checkpoints": f"{api.project_url(owner, name)}/checkpoints",
        "tree": api.tree_url(owner, name),
        "revisions": api.revisions_url(owner, name, "a.txt"),
        "uploads": api.uploads_url(owner, name),
    }


FORGED_KEYS = {"object": {}, "pair": [1, 2], "huge": 10**30, "surrogate": "\ud800", "text": "a"}


@pytest.mark.parametrize(
    "route", ["owners", "projects", "checkpoints", "tree", "revisions", "uploads"]
)
@pytest.mark.parametrize("after", FORGED_KEYS.values(), ids=FORGED_KEYS.keys())
def test_forged_cursor_is_400(api: Api, project: Project, route: str, after: Any) -> None:
    c, owner, name = project
    api.put(c, owner, name, "a.txt")
    url = _list_urls(api, owner, name)[route]
    r = c.get(url, params={"cursor": _forged_cursor(url, {}, after)})
    error = api.check_error(r, 400, "invalid", field="cursor")
    assert "cursor" in error["message"]
    assert_alive(api)


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "a" * 9000, "\u00e9t\u00e9", "AAAA", ""],
    ids=["alphabet", "long", "non-ascii", "short", "empty"],
)
def test_malformed_cursor_is_400(api: Api, project: Project, cursor: str) -> None:
    c, owner, name = project
    r = c.get(api.tree_url(owner, name), params={"cursor": cursor})
    if cursor == "":
        assert r.status_code == 200, r.text  # an empty cursor is the first page
    else:
        api.check_error(r, 400, "invalid", field="cursor")


def test_real_cursors_page_through_and_altered_ones_are_refused(api: Api, project: Project) -> None:
    c, owner, name = project
    paths = [f"f{i}" for i in range(5)]
    for path in paths:
        api.put(c, owner, name, path)
    assert api.tree(c, owner, name, limit=2) == paths
    cursor = c.get(api.tree_url(owner, name), params={"limit": 2}).json()["next_cursor"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-2] ^= 1  # one bit of the sort key
    altered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    r = c.get(api.tree_url(owner, name), params={"limit": 2, "cursor": altered})
    api.check_error(r, 400, "invalid", field="cursor")
    # Bound to its query: replayed on another prefix, refused.
    r = c.get(api.tree_url(owner, name), params={"limit": 2, "cursor": cursor, "prefix": "f"})
    api.check_error(r, 400, "invalid", field="cursor")


def test_cursor_of_another_data_directory_is_refused(
    api: Api, account: ServerUser, expiring_server: LocalServer
) -> None:
    other = api.new_user("elsewhere", server=expiring_server)
    with api.client(other) as c:
        for _ in range(2):
            api.create_project(c, other.name)
        cursor = c.get(f"/api/storage/projects/{other.name}", params={"limit": 1}).json()[
            "next_cursor"
        ]
        assert cursor
    # Same route and query on the session's server, which has another secret.
    with api.client(account) as c:
        r = c.get(f"/api/storage/projects/{other.name}", params={"limit": 1, "cursor": cursor})
        api.check_error(r, 400, "invalid", field="cursor")


def test_cursor_secret_is_private(storage_server: LocalServer) -> None:
    secret = storage_server.data_dir / "cursor.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_bytes()) == 32


# -- item 12: names in NFC -----------------------------------------------------------------


def test_composed_and_decomposed_names_are_one_file(api: Api, project: Project) -> None:
    c, owner, name = project
    assert unicodedata.normalize("NFC", DECOMPOSED) == COMPOSED
    first = c.put(api.files_url(owner, name, COMPOSED), content=b"one")
    assert first.status_code == 201, first.text
    second = c.put(api.files_url(owner, name, DECOMPOSED), content=b"two")
    assert second.status_code == 200, second.text  # a new revision of the same file
    assert second.json()["path"] == COMPOSED
    assert api.tree(c, owner, name) == [COMPOSED]
    for spelling in (COMPOSED, DECOMPOSED):
        assert api.get_content(c, owner, name, spelling) == b"two"
        assert len(api.revisions(c, owner, name, spelling)) == 2
        assert c.get(api.meta_url(owner, name, spelling)).json()["path"] == COMPOSED


def test_decomposed_directory_and_prefix(api: Api, project: Project) -> None:
    c, owner, name = project
    r = c.put(api.directories_url(owner, name, "r\u00e9sum\u00e9s"))
    assert r.status_code == 201, r.text
    r = c.put(api.files_url(owner, name, "re\u0301sume\u0301s/cv.pdf"), content=b"cv")
    assert r.json()["path"] == "r\u00e9sum\u00e9s/cv.pdf"
    listed = api.tree(c, owner, name, prefix="re\u0301sume\u0301s/")
    assert listed == ["r\u00e9sum\u00e9s/.keep", "r\u00e9sum\u00e9s/cv.pdf"]
    r = c.post(f"{api.project_url(owner, name)}/delete", json={"prefix": "re\u0301sume\u0301s/cv"})
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == ["r\u00e9sum\u00e9s/cv.pdf"]


def test_decomposed_names_in_bodies(api: Api, project: Project) -> None:
    c, owner, name = project
    api.put(c, owner, name, COMPOSED, b"data")
    r = api.transfer(c, "copy", (owner, name, DECOMPOSED), (owner, name, "cop" + "ie\u0301"))
    assert r.status_code == 200, r.text
    assert sorted(api.tree(c, owner, name)) == [COMPOSED, "copi\u00e9"]
    r = c.post(api.uploads_url(owner, name), json={"path": DECOMPOSED})
    assert r.status_code == 201, r.text
    assert r.json()["path"] == COMPOSED
    listed = c.get(api.uploads_url(owner, name), params={"path": DECOMPOSED}).json()["items"]
    assert [upload["path"] for upload in listed] == [COMPOSED]
    r = c.post(f"{api.project_url(owner, name)}/delete", json={"paths": [DECOMPOSED, COMPOSED]})
    assert r.json() == {"deleted": [COMPOSED], "missing": []}


def test_fullwidth_dot_is_another_name(api: Api, project: Project) -> None:
    # NFC, not NFKC: U+FF0E is a character of its own (docs/api.md, "Names and paths").
    c, owner, name = project
    api.put(c, owner, name, "a.txt", b"ascii")
    api.put(c, owner, name, "a\uff0etxt", b"fullwidth")
    assert sorted(api.tree(c, owner, name)) == ["a.txt", "a\uff0etxt"]
    assert api.get_content(c, owner, name, "a.txt") == b"ascii"


def test_names_stored_before_nfc_are_renamed_at_start(
    api: Api, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A decomposed name stored by an earlier version stays reachable, its history kept."""
    from anaconda_storage_server.testing import LocalServer

    data = tmp_path_factory.mktemp("pre-nfc-data")
    with LocalServer(data) as server:
        user = api.new_user("pre-nfc", server=server)
        with api.client(user) as c:
            name = api.create_project(c, user.name)["name"]
            api.put(c, user.name, name, COMPOSED, b"old")  # both forms, written in this order
            api.put(c, user.name, name, "later.txt", b"new")
            api.put(c, user.name, name, "only.txt", b"alone")
    # What an earlier version could store: the later file and another under decomposed names.
    with sqlite3.connect(data / "storage.db") as database:
        for before, after in (("later.txt", DECOMPOSED), ("only.txt", "re\u0301sume\u0301.txt")):
            for table in ("revisions", "live"):
                database.execute(f"UPDATE {table} SET path = ? WHERE path = ?", (after, before))
    with LocalServer(data) as server, api.client(user, url=server.url) as c:
        assert api.tree(c, user.name, name) == [COMPOSED, "r\u00e9sum\u00e9.txt"]
        for spelling in (COMPOSED, DECOMPOSED):
            assert api.get_content(c, user.name, name, spelling) == b"new"
        history = api.revisions(c, user.name, name, DECOMPOSED)
        assert len(history) == 2
        assert api.get_content(c, user.name, name, COMPOSED, revision="-1") == b"old"
        assert api.get_content(c, user.name, name, "re\u0301sume\u0301.txt") == b"alone"
