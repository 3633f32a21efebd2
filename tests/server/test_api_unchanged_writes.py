"""A write that changes nothing creates no revision (docs/api.md, "Files": PUT).

Uploading the bytes a file already holds (a sync, a pipeline run again) answers the current
revision with `200` and leaves the history as it was; conditions are still checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from tests.server.conftest import Api, ServerUser


@pytest.fixture
def project(api: Api, account: ServerUser) -> Iterator[tuple[httpx.Client, str, str]]:
    with api.client(account) as c:
        yield c, account.name, api.create_project(c, account.name)["name"]


def test_the_same_bytes_again_answer_the_current_revision(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    url = api.files_url(o, p, "q1.csv")
    first = c.put(url, content=b"a,b\n1,2\n")
    assert first.status_code == 201, first.text
    again = c.put(url, content=b"a,b\n1,2\n")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["etag"] == f'"{first.json()["revision"]}"'
    assert len(api.revisions(c, o, p, "q1.csv")) == 1

    changed = c.put(url, content=b"a,b\n3,4\n")  # the same size, other bytes
    assert changed.status_code == 200, changed.text
    assert changed.json()["revision"] != first.json()["revision"]
    assert len(api.revisions(c, o, p, "q1.csv")) == 2


def test_metadata_set_before_is_kept_and_makes_no_revision(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    api.put(c, o, p, "f", b"content")
    r = c.patch(api.meta_url(o, p, "f"), json={"description": "d", "metadata": {"k": "v"}})
    assert r.status_code == 200, r.text
    again = api.put(c, o, p, "f", b"content")
    assert again["revision"] == r.json()["revision"]
    assert (again["description"], again["metadata"]) == ("d", {"k": "v"})
    assert len(api.revisions(c, o, p, "f")) == 2


def test_conditions_are_still_checked(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    old = api.put(c, o, p, "f", b"one")
    current = api.put(c, o, p, "f", b"two")
    url = api.files_url(o, p, "f")
    stale = c.put(url, content=b"two", headers={"If-Match": f'"{old["revision"]}"'})
    api.check_error(stale, 412, "precondition_failed")
    absent = c.put(url, content=b"two", headers={"If-None-Match": "*"})
    api.check_error(absent, 412, "precondition_failed")
    fresh = c.put(url, content=b"two", headers={"If-Match": f'"{current["revision"]}"'})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["revision"] == current["revision"]


def test_a_deleted_file_written_again_gets_a_revision(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    api.put(c, o, p, "f", b"same")
    assert c.delete(api.files_url(o, p, "f")).status_code == 204
    back = c.put(api.files_url(o, p, "f"), content=b"same")
    assert back.status_code == 201, back.text
    assert len(api.revisions(c, o, p, "f")) == 3


def test_a_multipart_upload_of_the_same_content_completes_without_a_revision(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    content = b"x" * 300_000 + b"y" * 1000
    before = api.put(c, o, p, "big.bin", content)
    r = c.post(api.uploads_url(o, p), json={"path": "big.bin"})
    assert r.status_code == 201, r.text
    url = f"{api.uploads_url(o, p)}/{r.json()['id']}"
    for number, data in ((1, content[:300_000]), (2, content[300_000:])):
        assert c.put(f"{url}/parts/{number}", content=data).status_code == 200
    done: Any = c.post(f"{url}/complete")
    assert done.status_code == 200, done.text
    assert done.json()["revision"] == before["revision"]
    assert len(api.revisions(c, o, p, "big.bin")) == 1
    api.check_error(c.get(url), 404, "not_found", missing="upload")  # the session is gone
    assert api.get_content(c, o, p, "big.bin") == content
