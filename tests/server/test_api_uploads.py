"""Multipart uploads (docs/api.md, "Multipart uploads (large and resumable)")."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from anaconda_storage_server.testing import LocalServer
    from tests.conftest import Account
    from tests.server.conftest import Api, ServerUser

PARTS = {1: os.urandom(1024 * 1024), 2: os.urandom(300_000), 3: b"the last part"}


@pytest.fixture
def project(api: Api, account: ServerUser) -> Iterator[tuple[httpx.Client, str, str]]:
    with api.client(account) as c:
        yield c, account.name, api.create_project(c, account.name)["name"]


def start(
    api: Api, c: httpx.Client, o: str, p: str, path: str, **conditions: str
) -> tuple[dict[str, Any], str]:
    """Create a session; the `Upload` and the session's URL."""
    r = c.post(api.uploads_url(o, p), json={"path": path, **conditions})
    assert r.status_code == 201, r.text
    upload = r.json()
    api.check_upload(upload, with_parts=True)
    assert upload["path"] == path
    assert upload["parts"] == []
    return upload, f"{api.uploads_url(o, p)}/{upload['id']}"


def put_part(api: Api, c: httpx.Client, url: str, number: int, data: bytes) -> None:
    r = c.put(f"{url}/parts/{number}", content=data)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "number": number,
        "size": len(data),
        "sha256": api.sha256(data),
        "crc32c": api.crc32c(data),
    }


def test_parts_out_of_order_complete_without_a_body(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    upload, url = start(api, c, o, p, "big.bin")
    for number in (3, 1, 2):
        put_part(api, c, url, number, PARTS[number])
    r = c.get(url)
    assert r.status_code == 200
    api.check_upload(r.json(), with_parts=True)
    assert r.json()["id"] == upload["id"]
    assert r.json()["parts"] == [
        {"number": n, "size": len(data), "sha256": api.sha256(data), "crc32c": api.crc32c(data)}
        for n, data in PARTS.items()
    ]
    # Nothing is visible before completion.
    api.check_error(c.get(api.files_url(o, p, "big.bin")), 404, "not_found", missing="path")

    r = c.post(f"{url}/complete")
    assert r.status_code == 201, r.text
    whole = PARTS[1] + PARTS[2] + PARTS[3]
    file = r.json()
    api.check_file(file)
    assert (file["path"], file["size"], file["sha256"]) == (
        "big.bin",
        len(whole),
        api.sha256(whole),
    )
    assert api.get_content(c, o, p, "big.bin") == whole
    assert len(api.revisions(c, o, p, "big.bin")) == 1
    # The session is gone afterwards.
    api.check_error(c.get(url), 404, "not_found", missing="upload")
    assert api.list_all(c, api.uploads_url(o, p)) == []


def test_a_part_sent_again_replaces_the_earlier_one(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    api.put(c, o, p, "big.bin", b"an older revision")
    _, url = start(api, c, o, p, "big.bin")
    put_part(api, c, url, 1, b"first ")
    put_part(api, c, url, 2, b"wrong")
    put_part(api, c, url, 2, b"second, resent")
    parts = c.get(url).json()["parts"]
    assert [(x["number"], x["size"]) for x in parts] == [(1, 6), (2, 14)]
    r = c.post(f"{url}/complete")
    # A new revision of a live file: 200.
    assert r.status_code == 200, r.text
    assert api.get_content(c, o, p, "big.bin") == b"first second, resent"
    assert len(api.revisions(c, o, p, "big.bin")) == 2


def test_complete_with_an_explicit_parts_list(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    _, url = start(api, c, o, p, "picked.bin")
    for number, data in PARTS.items():
        put_part(api, c, url, number, data)
    body = {"parts": [{"number": 3, "sha256": api.sha256(PARTS[3])}, {"number": 1}]}
    r = c.post(f"{url}/complete", json=body)
    assert r.status_code == 201, r.text
    # In the order given; an unlisted part is not part of the file.
    assert api.get_content(c, o, p, "picked.bin") == PARTS[3] + PARTS[1]
    assert r.json()["sha256"] == api.sha256(PARTS[3] + PARTS[1])


@pytest.mark.parametrize(
    "parts",
    [
        [{"number": 1}, {"number": 4}],
        [{"number": 1, "sha256": "0" * 64}],
        [{"number": 1, "sha256": "not hex"}],
        [{"number": "one"}],
    ],
    ids=["missing part", "sha mismatch", "malformed sha", "malformed number"],
)
def test_complete_rejects(
    api: Api, project: tuple[httpx.Client, str, str], parts: list[dict[str, Any]]
) -> None:
    c, o, p = project
    _, url = start(api, c, o, p, "rejected.bin")
    put_part(api, c, url, 1, PARTS[1])
    put_part(api, c, url, 2, PARTS[2])
    api.check_error(c.post(f"{url}/complete", json={"parts": parts}), 400, "invalid")
    api.check_error(c.get(api.files_url(o, p, "rejected.bin")), 404, "not_found", missing="path")


def test_part_checks(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    _, url = start(api, c, o, p, "parts.bin")
    r = c.put(f"{url}/parts/1", content=b"data", headers={"X-Storage-Sha256": api.sha256(b"x")})
    api.check_error(r, 400, "checksum_mismatch", field="X-Storage-Sha256")
    assert c.get(url).json()["parts"] == []
    r = c.put(f"{url}/parts/1", content=b"data", headers={"X-Storage-Sha256": api.sha256(b"data")})
    assert r.status_code == 200, r.text
    for number in ("0", "-1", "one"):
        api.check_error(c.put(f"{url}/parts/{number}", content=b"x"), 400, "invalid")
    # Part 10,001: outside "n in 1..10000" (400), or "more than 10,000 parts" (413)? The
    # contract says both; either is accepted (reported as an ambiguity of docs/api.md).
    r = c.put(f"{url}/parts/10001", content=b"x")
    if r.status_code == 413:
        api.check_error(r, 413, "too_large")
    else:
        api.check_error(r, 400, "invalid")
    r = c.put(f"{url}/parts/10000", content=b"")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "number": 10000,
        "size": 0,
        "sha256": api.EMPTY_SHA256,
        "crc32c": api.crc32c(b""),
    }
    assert [x["number"] for x in c.get(url).json()["parts"]] == [1, 10000]


def test_conditions_are_checked_again_at_completion(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    # if_none_match: someone else created the path meanwhile.
    _, url = start(api, c, o, p, "new.bin", if_none_match="*")
    put_part(api, c, url, 1, b"mine")
    theirs = api.put(c, o, p, "new.bin", b"theirs")
    r = c.post(f"{url}/complete")
    api.check_error(r, 412, "precondition_failed", current=theirs["revision"])
    assert api.get_content(c, o, p, "new.bin") == b"theirs"

    # if_match: the file moved on meanwhile.
    _, url = start(api, c, o, p, "new.bin", if_match=theirs["revision"])
    put_part(api, c, url, 1, b"mine")
    later = api.put(c, o, p, "new.bin", b"later")
    r = c.post(f"{url}/complete")
    api.check_error(r, 412, "precondition_failed", current=later["revision"])
    assert api.get_content(c, o, p, "new.bin") == b"later"

    # if_match that still holds.
    _, url = start(api, c, o, p, "new.bin", if_match=later["revision"])
    put_part(api, c, url, 1, b"mine at last")
    r = c.post(f"{url}/complete")
    assert r.status_code == 200, r.text
    assert api.get_content(c, o, p, "new.bin") == b"mine at last"
    assert len(api.revisions(c, o, p, "new.bin")) == 3


def test_the_path_and_conditions_are_checked_at_creation(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    existing = api.put(c, o, p, "dir/file.bin", b"x")
    url = api.uploads_url(o, p)
    api.check_error(c.post(url, json={"path": "a//b"}), 400, "invalid")
    # In a JSON body a path is plain text, not percent-encoded.
    for bad in ("a/../b", ".", "a/b/", "a\\b", "a\x01b", "s" * 256, ""):
        api.check_error(c.post(url, json={"path": bad}), 400, "invalid")
    api.check_error(c.post(url, json={}), 400, "invalid")
    # A directory has that path, or a file is where a directory would be.
    api.check_error(c.post(url, json={"path": "dir"}), 409, "conflict")
    api.check_error(c.post(url, json={"path": "dir/file.bin/x"}), 409, "conflict")
    r = c.post(url, json={"path": "dir/file.bin", "if_none_match": "*"})
    api.check_error(r, 412, "precondition_failed", current=existing["revision"])
    r = c.post(url, json={"path": "dir/file.bin", "if_match": str(uuid.uuid4())})
    api.check_error(r, 412, "precondition_failed", current=existing["revision"])
    assert api.list_all(c, url) == []


def test_list_uploads(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    first, _ = start(api, c, o, p, "a.bin")
    second, _ = start(api, c, o, p, "b.bin")
    third, third_url = start(api, c, o, p, "a.bin")
    put_part(api, c, third_url, 1, b"part")
    listed = api.list_all(c, api.uploads_url(o, p))
    for item in listed:
        api.check_upload(item, with_parts=False)
    assert [x["id"] for x in listed] == [third["id"], second["id"], first["id"]]
    filtered = api.list_all(c, api.uploads_url(o, p), {"path": "a.bin"})
    assert [x["id"] for x in filtered] == [third["id"], first["id"]]
    assert api.list_all(c, api.uploads_url(o, p), {"path": "c.bin"}) == []


def test_abort(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    _, url = start(api, c, o, p, "aborted.bin")
    put_part(api, c, url, 1, b"part")
    r = c.delete(url)
    assert r.status_code == 204, r.text
    api.check_error(c.get(url), 404, "not_found", missing="upload")
    api.check_error(c.put(f"{url}/parts/2", content=b"x"), 404, "not_found", missing="upload")
    api.check_error(c.post(f"{url}/complete"), 404, "not_found", missing="upload")
    api.check_error(c.delete(url), 404, "not_found", missing="upload")
    assert api.list_all(c, api.uploads_url(o, p)) == []
    assert api.tree(c, o, p) == []
    random_url = f"{api.uploads_url(o, p)}/{uuid.uuid4()}"
    api.check_error(c.get(random_url), 404, "not_found", missing="upload")


def test_a_session_belongs_to_its_project(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    upload, _ = start(api, c, o, p, "here.bin")
    other = api.create_project(c, o)["name"]
    elsewhere = f"{api.uploads_url(o, other)}/{upload['id']}"
    api.check_error(c.get(elsewhere), 404, "not_found", missing="upload")
    api.check_error(c.post(f"{elsewhere}/complete"), 404, "not_found", missing="upload")


def test_uploads_need_write(api: Api, user: Account, other_user: Account) -> None:
    with api.client(user) as c, api.client(other_user) as reader:
        p = api.create_project(c, user.name)["name"]
        api.grant(c, user.name, p, ("user", other_user.name, True, "r"))
        _, url = start(api, c, user.name, p, "owned.bin")
        r = reader.post(api.uploads_url(user.name, p), json={"path": "x.bin"})
        api.check_error(r, 403, "permission_denied", required="write")
        r = reader.put(f"{url}/parts/1", content=b"x")
        api.check_error(r, 403, "permission_denied", required="write")
        api.check_error(reader.post(f"{url}/complete"), 403, "permission_denied", required="write")
        api.check_error(reader.delete(url), 403, "permission_denied", required="write")
        assert c.get(url).json()["parts"] == []


# -- expiry, on a server of its own whose sessions expire after one idle second ---------------


def test_an_idle_session_expires(api: Api, expiring_server: LocalServer) -> None:
    owner = api.new_user("expiry", server=expiring_server)
    with api.client(owner) as c:
        p = api.create_project(c, owner.name)["name"]
        upload, url = start(api, c, owner.name, p, "idle.bin")
        lifetime = api.parse_instant(upload["expires_at"]) - api.parse_instant(upload["created_at"])
        assert timedelta(0) < lifetime <= timedelta(seconds=2)
        put_part(api, c, url, 1, b"some bytes")
        deadline = time.monotonic() + 10
        while c.get(url).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        api.check_error(c.get(url), 404, "not_found", missing="upload")
        api.check_error(c.post(f"{url}/complete"), 404, "not_found", missing="upload")
        assert api.list_all(c, api.uploads_url(owner.name, p)) == []
        api.check_error(
            c.get(api.files_url(owner.name, p, "idle.bin")), 404, "not_found", missing="path"
        )
