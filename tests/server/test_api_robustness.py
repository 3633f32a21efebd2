"""Robustness: malformed requests, cut-off bodies and concurrent writers.

The server must answer every malformed request with the documented error, keep nothing of
a body cut off before its end, give each concurrent write its own revision, let exactly one
of several conditional writers win, and go on answering after all of it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.conftest import Account
    from tests.server.conftest import Api, RawResponse, ServerUser

MiB = 1024 * 1024


@pytest.fixture
def project(api: Api, account: ServerUser) -> Iterator[tuple[httpx.Client, str, str]]:
    with api.client(account) as c:
        yield c, account.name, api.create_project(c, account.name)["name"]


def assert_alive(api: Api) -> None:
    with api.client(None) as anonymous:
        assert anonymous.get("/api/health").status_code == 200


@pytest.mark.parametrize(
    "body",
    [b'{"name": ', b"not json", b"[1, 2]", b'"a string"', b"\xff\xfe{}", b""],
    ids=["truncated", "not json", "array", "string", "not utf-8", "empty"],
)
def test_malformed_json_is_400(api: Api, user: Account, body: bytes) -> None:
    with api.client(user) as c:
        r = c.post(
            f"/api/storage/projects/{user.name}",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        api.check_error(r, 400, "invalid")
        assert api.list_all(c, f"/api/storage/projects/{user.name}") == []


@pytest.mark.parametrize(
    "body",
    [{"name": 5}, {"name": "Not_Valid"}, {"name": "x" * 121}, {"title": "no name"}],
    ids=["name not a string", "uppercase name", "name too long", "no name"],
)
def test_invalid_project_body_is_400(api: Api, user: Account, body: dict[str, Any]) -> None:
    with api.client(user) as c:
        api.check_error(c.post(f"/api/storage/projects/{user.name}", json=body), 400, "invalid")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_json_body_over_1_mib_is_413(
    api: Api, project: tuple[httpx.Client, str, str], chunked: bool
) -> None:
    c, o, p = project
    body = b'{"message": "' + b"m" * (MiB + 10) + b'"}'
    content: bytes | Iterator[bytes] = body
    if chunked:
        content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    r = c.post(
        f"{api.project_url(o, p)}/checkpoints",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    api.check_error(r, 413, "too_large")
    assert api.list_all(c, f"{api.project_url(o, p)}/checkpoints") == []
    r = c.patch(
        api.project_url(o, p),
        content=b'{"description": "' + b"d" * (MiB + 10) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    api.check_error(r, 413, "too_large")
    assert_alive(api)


@pytest.mark.parametrize(
    "path",
    ["/api/storage/nope", "/api/nothing", "/", "/api/storage/projects/o/p/unknown/x"],
)
def test_unknown_route_is_a_json_404(api: Api, account: ServerUser, path: str) -> None:
    with api.client(account) as c:
        api.check_error(c.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/account"),
        ("PUT", "/api/storage/owners"),
        ("POST", "/api/health"),
        ("PATCH", "/api/storage/copy"),
    ],
)
def test_wrong_method_is_405(api: Api, account: ServerUser, method: str, path: str) -> None:
    with api.client(account) as c:
        r = c.request(method, path)
        assert r.status_code == 405, r.text
        # docs/api.md: "Every error is {"error": {"code", "message"}}"; its table names no
        # code for 405, so only the shape is checked. RFC 9110 15.5.6: 405 carries Allow.
        error = r.json()["error"]
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)
        assert "allow" in r.headers


def test_bearer_scheme_is_required(api: Api, user: Account) -> None:
    with httpx.Client(base_url=api.url, headers={"Authorization": user.api_key}) as c:
        api.check_error(c.get("/api/account"), 401, "auth_required")
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Basic {user.api_key}"}) as c:
        api.check_error(c.get("/api/account"), 401, "auth_required")


# -- bodies cut off ---------------------------------------------------------------------------


def cut_off_put(
    api: Api, raw: Callable[..., RawResponse | None], account: ServerUser, path: str, chunked: bool
) -> None:
    """Send a PUT whose body stops halfway, then close the connection."""
    netloc = urlsplit(api.url).netloc
    head = (
        f"PUT {path} HTTP/1.1\r\n"
        f"Host: {netloc}\r\n"
        f"Authorization: Bearer {account.api_key}\r\n"
        "Content-Type: application/octet-stream\r\n"
    )
    half = b"h" * MiB
    if chunked:
        # One 2 MiB chunk announced, 1 MiB of it sent.
        request = (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + b"200000\r\n" + half
    else:
        request = (head + f"Content-Length: {2 * MiB}\r\n\r\n").encode() + half
    raw(api.url, request, read_answer=False)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_cut_off_upload_leaves_nothing(
    api: Api,
    raw: Callable[..., RawResponse | None],
    account: ServerUser,
    project: tuple[httpx.Client, str, str],
    chunked: bool,
) -> None:
    c, o, p = project
    kept = api.put(c, o, p, "kept.bin", b"the old content")
    cut_off_put(api, raw, account, api.files_url(o, p, "new.bin"), chunked)
    cut_off_put(api, raw, account, api.files_url(o, p, "kept.bin"), chunked)
    assert_alive(api)
    # Let the server notice the disconnects before looking (no timing is asserted).
    time.sleep(0.5)
    api.check_error(c.get(api.files_url(o, p, "new.bin")), 404, "not_found", missing="path")
    api.check_error(c.get(api.revisions_url(o, p, "new.bin")), 404, "not_found", missing="path")
    assert api.get_content(c, o, p, "kept.bin") == b"the old content"
    assert [x["id"] for x in api.revisions(c, o, p, "kept.bin")] == [kept["revision"]]
    assert api.tree(c, o, p) == ["kept.bin"]
    # And the same paths take whole uploads afterwards.
    api.put(c, o, p, "new.bin", b"whole")
    assert_alive(api)


def test_dot_segments_sent_raw_are_400(
    api: Api, raw: Callable[..., RawResponse | None], account: ServerUser
) -> None:
    """Literal `..` (which httpx would normalize away) reaches the server as sent."""
    with api.client(account) as c:
        p = api.create_project(c, account.name)["name"]
    netloc = urlsplit(api.url).netloc
    for path in ("a/../b", "..", "a/./b"):
        request = (
            f"PUT {api.project_url(account.name, p)}/files/{path} HTTP/1.1\r\n"
            f"Host: {netloc}\r\nAuthorization: Bearer {account.api_key}\r\n"
            "Content-Length: 1\r\nConnection: close\r\n\r\nx"
        ).encode()
        answer = raw(api.url, request)
        assert answer is not None
        assert answer.status == 400, answer.head
    with api.client(account) as c:
        assert api.tree(c, account.name, p) == []


# -- concurrency ------------------------------------------------------------------------------


T = TypeVar("T")


def run_together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` for i in range(count) on as many threads, released at once."""
    barrier = threading.Barrier(count)

    def task(i: int) -> T:
        barrier.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(task, range(count)))


def test_concurrent_writers_each_get_a_revision(
    api: Api, account: ServerUser, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    url = api.files_url(o, p, "contended.bin")
    rounds = 3

    def work(i: int) -> list[httpx.Response]:
        with api.client(account) as mine:
            return [mine.put(url, content=f"writer {i} round {n}".encode()) for n in range(rounds)]

    responses = [r for batch in run_together(12, work) for r in batch]
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (len(responses) - 1) + [201], statuses
    written = {r.json()["revision"]: r.json()["sha256"] for r in responses}
    assert len(written) == len(responses)
    revisions = api.revisions(c, o, p, "contended.bin")
    assert len(revisions) == len(responses)
    assert {x["id"]: x["sha256"] for x in revisions} == written
    assert [x["index"] for x in revisions] == list(range(0, -len(responses), -1))
    # The current revision is the newest one listed, and its content is whole.
    r = c.get(url)
    assert r.headers["x-storage-revision"] == revisions[0]["id"]
    assert api.sha256(r.content) == revisions[0]["sha256"]
    assert_alive(api)


def test_concurrent_if_match_writers_exactly_one_wins(
    api: Api, account: ServerUser, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    base = api.put(c, o, p, "cas.txt", b"base")
    url = api.files_url(o, p, "cas.txt")

    def work(i: int) -> httpx.Response:
        with api.client(account) as mine:
            return mine.put(
                url, content=f"writer {i}".encode(), headers={"If-Match": f'"{base["revision"]}"'}
            )

    responses = run_together(10, work)
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in responses]
    winner = winners[0].json()
    for r in responses:
        if r is not winners[0]:
            api.check_error(r, 412, "precondition_failed", current=winner["revision"])
    revisions = api.revisions(c, o, p, "cas.txt")
    assert [x["id"] for x in revisions] == [winner["revision"], base["revision"]]
    assert api.sha256(api.get_content(c, o, p, "cas.txt")) == winner["sha256"]
    assert_alive(api)


def test_concurrent_creators_exactly_one_wins(
    api: Api, account: ServerUser, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    url = api.files_url(o, p, "once.txt")

    def create_file(i: int) -> httpx.Response:
        with api.client(account) as mine:
            return mine.put(url, content=f"creator {i}".encode(), headers={"If-None-Match": "*"})

    responses = run_together(10, create_file)
    assert sorted(r.status_code for r in responses) == [201] + [412] * 9
    (winner,) = [r.json() for r in responses if r.status_code == 201]
    for r in responses:
        if r.status_code == 412:
            api.check_error(r, 412, "precondition_failed", current=winner["revision"])
    assert len(api.revisions(c, o, p, "once.txt")) == 1

    def create_project(i: int) -> httpx.Response:
        with api.client(account) as mine:
            return mine.post(f"/api/storage/projects/{o}", json={"name": "raced"})

    responses = run_together(10, create_project)
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    for r in responses:
        if r.status_code == 409:
            api.check_error(r, 409, "conflict")
    assert_alive(api)
