"""Exact failure sequences, on `httpx.MockTransport`, with both clients: what is retried,
how long it waits, what gives up, and resuming a body that breaks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_core import (
    AsyncStorageClient,
    ChecksumMismatch,
    RetryPolicy,
    ServerError,
    StorageClient,
    StorageConnectionError,
    checksum,
)
from anaconda_storage_core.retry import RetryPolicy as Policy
from anaconda_storage_core.transfer.download import READ_AT_ONCE

pytestmark = pytest.mark.anyio

BASE = "https://storage.example"
FILE = f"{BASE}/api/storage/projects/alice/sales/files/q1.csv"
REVISION = "5f0c6ad4-0000-4000-8000-000000000001"


def error(status: int, code: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": f"{code} here"}}
    return httpx.Response(status, json=body, headers=headers)


def project_json() -> dict[str, Any]:
    owner = {"id": "u1", "name": "alice", "kind": "user"}
    return {"id": "p1", "owner": owner, "name": "sales", "created_at": "2024-05-01T12:00:00Z"}


class Script:
    """A MockTransport handler answering from a list, recording requests and sleeps."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], Any]):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if callable(answer) and not isinstance(answer, httpx.Response):
            answer = answer(request)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clients:
    """Make a sync or async client on a `Script`, with sleeps recorded, not slept."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, script: Script | Multipart, **kwargs: Any) -> Any:
        kwargs.setdefault("retry", RetryPolicy(attempts=4, backoff=0.5))
        common = {"api_key": "secret-key", "domain": BASE, **kwargs}
        if self.kind == "sync":
            client: Any = StorageClient(transport=httpx.MockTransport(script), **common)
            client._runner.sleep = script.sleeps.append
            return _Awaitable(client)
        client = AsyncStorageClient(transport=httpx.MockTransport(script), **common)

        async def sleep(seconds: float) -> None:
            script.sleeps.append(seconds)

        client._runner.sleep = sleep
        return client


class _Awaitable:
    def __init__(self, client: StorageClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return call


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Clients:
    return Clients(request.param)


def content(data: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(
        200,
        content=data,
        headers={
            "ETag": f'"{REVISION}"',
            "X-Storage-Revision": REVISION,
            "X-Storage-Sha256": hashlib.sha256(data).hexdigest(),
            **headers,
        },
    )


async def test_429_with_retry_after_then_success(make: Clients) -> None:
    script = Script(
        error(429, "too_many_requests", **{"Retry-After": "7"}),
        httpx.Response(200, json={"id": "u1", "name": "alice", "kind": "user"}),
    )
    account = await make(script).account()
    assert account.name == "alice"
    assert script.sleeps == [7.0]
    assert len(script.requests) == 2


async def test_429_is_retried_even_for_a_post(make: Clients) -> None:
    script = Script(
        error(429, "too_many_requests", **{"Retry-After": "1"}),
        httpx.Response(201, json=project_json()),
    )
    project = await make(script).create_project("alice/sales")
    assert project.name == "sales"
    assert script.sleeps == [1.0]


async def test_retry_after_is_capped(make: Clients) -> None:
    script = Script(
        error(429, "too_many_requests", **{"Retry-After": "3600"}),
        httpx.Response(200, json={"status": "ok", "version": "1"}),
    )
    await make(script, retry=RetryPolicy(max_retry_after=30)).health()
    assert script.sleeps == [30]


async def test_503_then_success(make: Clients) -> None:
    script = Script(
        error(503, "unavailable"),
        error(502, "bad_gateway"),
        httpx.Response(200, json={"status": "ok", "version": "1"}),
    )
    assert (await make(script).health()).status == "ok"
    assert len(script.requests) == 3
    # Full jitter: each wait is drawn below its exponential ceiling.
    assert 0 <= script.sleeps[0] <= 0.5
    assert 0 <= script.sleeps[1] <= 1.0


async def test_503_until_attempts_run_out(make: Clients) -> None:
    script = Script(*[error(503, "unavailable", **{"Retry-After": "0"}) for _ in range(4)])
    with pytest.raises(ServerError) as caught:
        await make(script).health()
    assert caught.value.status == 503
    assert caught.value.retry_after == 0
    assert len(script.requests) == 4
    assert isinstance(caught.value, OSError)


async def test_non_idempotent_post_is_not_retried_on_503(make: Clients) -> None:
    script = Script(error(503, "unavailable"), httpx.Response(201, json=project_json()))
    with pytest.raises(ServerError) as caught:
        await make(script).create_project("alice/sales")
    assert caught.value.status == 503
    assert len(script.requests) == 1
    assert script.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadError("reset"), httpx.RemoteProtocolError("closed"), httpx.ReadTimeout("slow")],
)
async def test_non_idempotent_post_is_not_retried_after_sending(
    make: Clients, failure: Exception
) -> None:
    script = Script(failure, httpx.Response(201, json={}))
    with pytest.raises(StorageConnectionError):
        await make(script).create_checkpoint("alice/sales")
    assert len(script.requests) == 1


async def test_a_refused_connection_is_retried_even_for_a_post(make: Clients) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(201, json=project_json()))
    assert (await make(script).create_project("alice/sales")).name == "sales"
    assert len(script.requests) == 2


async def test_idempotent_calls_are_retried_after_a_reset(make: Clients) -> None:
    script = Script(
        httpx.ReadError("reset"),
        httpx.Response(204),
    )
    await make(script).delete("alice/sales/q1.csv")
    assert [r.method for r in script.requests] == ["DELETE", "DELETE"]


async def test_connection_failure_gives_up_with_a_typed_error(make: Clients) -> None:
    script = Script(*[httpx.ConnectError("refused") for _ in range(4)])
    with pytest.raises(StorageConnectionError, match="connection failed") as caught:
        await make(script).account()
    assert isinstance(caught.value, OSError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_upload_body_is_sent_again_on_retry(make: Clients, tmp_path: Path) -> None:
    local = tmp_path / "f.bin"
    local.write_bytes(b"x" * 100_000)
    bodies: list[bytes] = []

    digest = hashlib.sha256(b"x" * 100_000).hexdigest()

    def record(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        return httpx.Response(
            201,
            json={"path": "q1.csv", "size": 100_000, "sha256": digest, "revision": REVISION},
        )

    def fail(request: httpx.Request) -> httpx.Response:
        request.read()
        return error(503, "unavailable")

    script = Script(fail, record)
    await make(script).upload("alice/sales/q1.csv", local)
    assert bodies == [b"x" * 100_000]
    assert script.requests[1].headers["Content-Length"] == "100000"


async def test_upload_stored_differently_is_a_checksum_mismatch(
    make: Clients, tmp_path: Path
) -> None:
    local = tmp_path / "f.bin"
    local.write_bytes(b"sent")
    # By default the CRC32C of what was sent is compared with the server's.
    stored = {
        "path": "q1.csv",
        "size": 4,
        "sha256": hashlib.sha256(b"sent").hexdigest(),
        "crc32c": checksum.encode(checksum.crc32c(b"other")),
        "revision": REVISION,
    }
    with pytest.raises(ChecksumMismatch, match=REVISION):
        await make(Script(httpx.Response(200, json=stored))).upload("alice/sales/q1.csv", local)
    # With verify="sha256", the sha256.
    stored = {**stored, "sha256": "0" * 64, "crc32c": checksum.encode(checksum.crc32c(b"sent"))}
    client = make(Script(httpx.Response(200, json=stored)))
    with pytest.raises(ChecksumMismatch, match=REVISION):
        await client.upload("alice/sales/q1.csv", local, verify="sha256")
    # Bytes in memory (and small files, read whole) are checksummed first: the server
    # checks them before keeping anything, and its answer is compared too.
    crc = checksum.encode(checksum.crc32c(b"b"))
    script = Script(httpx.Response(200, json={**stored, "crc32c": crc}))
    await make(script).upload("alice/sales/q1.csv", b"b")
    assert script.requests[0].headers["X-Storage-Crc32c"] == crc
    script = Script(httpx.Response(200, json={**stored, "crc32c": crc}))
    with pytest.raises(ChecksumMismatch, match=REVISION):
        await make(script).upload("alice/sales/q1.csv", b"other")
    assert "X-Storage-Sha256" not in script.requests[0].headers
    script = Script(
        httpx.Response(200, json={**stored, "sha256": hashlib.sha256(b"b").hexdigest()})
    )
    await make(script).upload("alice/sales/q1.csv", b"b", verify="sha256")
    assert script.requests[0].headers["X-Storage-Sha256"] == hashlib.sha256(b"b").hexdigest()


class Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that yields `data` then breaks, as a connection reset mid-body."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> Any:
        yield self.data
        raise httpx.ReadError("connection reset by peer")


@pytest.mark.parametrize(
    ("size", "range_asked"),
    [
        # Read chunk by chunk: the read resumes where it broke.
        (READ_AT_ONCE + 10_000, "bytes=4000-"),
        # At most READ_AT_ONCE bytes are read whole by one effect: a break loses what had
        # arrived, and the file is read again from its first byte.
        (10_000, None),
    ],
)
async def test_connection_reset_mid_body_is_read_again_at_the_same_revision(
    make: Clients, tmp_path: Path, size: int, range_asked: str | None
) -> None:
    data = b"0123456789" * (size // 10)
    headers = {
        "ETag": f'"{REVISION}"',
        "X-Storage-Sha256": hashlib.sha256(data).hexdigest(),
        "Content-Length": str(len(data)),
    }
    first = httpx.Response(200, headers=headers, stream=Broken(data[:4000]))
    if range_asked:
        rest = httpx.Response(
            206,
            content=data[4000:],
            headers={**headers, "Content-Range": f"bytes 4000-{len(data) - 1}/{len(data)}"},
        )
    else:
        rest = httpx.Response(200, headers=headers, content=data)
    script = Script(first, rest)
    target = tmp_path / "q1.csv"
    info = await make(script).download("alice/sales/q1.csv", target)
    assert target.read_bytes() == data
    assert info.size == len(data)
    retry = script.requests[1]
    assert retry.headers.get("Range") == range_asked
    assert retry.url.params["revision"] == REVISION  # pinned to the first answer's ETag
    assert "checkpoint" not in retry.url.params


class Endless(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body far longer than its Content-Length says, counting the chunks taken."""

    def __init__(self) -> None:
        self.taken = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.taken < 10_000:
            self.taken += 1
            yield b"x" * 65536

    async def __aiter__(self) -> Any:
        for chunk in self:
            yield chunk


async def test_a_body_longer_than_announced_is_not_read_past_its_length(make: Clients) -> None:
    # A small body is read whole by one effect: a server that sends more than it
    # announced (or a transport that does not stop at Content-Length) cannot fill the
    # memory. Each attempt stops one chunk past the announced 10 bytes.
    bodies = [Endless() for _ in range(3)]
    headers = {"ETag": f'"{REVISION}"', "Content-Length": "10"}
    script = Script(*(httpx.Response(200, headers=headers, stream=body) for body in bodies))
    with pytest.raises(StorageConnectionError, match="more than the 10 bytes announced"):
        await make(script, retry=Policy(attempts=3, backoff=0.001)).read_bytes("alice/sales/q1.csv")
    assert [body.taken for body in bodies] == [1, 1, 1]


async def test_checksum_mismatch_leaves_no_file(make: Clients, tmp_path: Path) -> None:
    script = Script(content(b"received", **{"X-Storage-Sha256": "0" * 64}))
    target = tmp_path / "q1.csv"
    with pytest.raises(ChecksumMismatch) as caught:
        await make(script).download("alice/sales/q1.csv", target)
    assert caught.value.expected == "0" * 64
    assert caught.value.actual == hashlib.sha256(b"received").hexdigest()
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # noqa: ASYNC240 - a test's own check


async def test_checksum_mismatch_keeps_an_existing_target(make: Clients, tmp_path: Path) -> None:
    target = tmp_path / "q1.csv"
    target.write_bytes(b"before")
    script = Script(content(b"received", **{"X-Storage-Sha256": "0" * 64}))
    with pytest.raises(ChecksumMismatch):
        await make(script).download("alice/sales/q1.csv", target)
    assert target.read_bytes() == b"before"


async def test_part_received_differently_is_a_checksum_mismatch(make: Clients) -> None:
    other = {"sha256": "0" * 64, "crc32c": checksum.encode(checksum.crc32c(b"xyz"))}
    script = Script(httpx.Response(200, json={"number": 1, "size": 3, **other}))
    with pytest.raises(ChecksumMismatch):
        await make(script).put_part("alice/sales/q1.csv", "u1", 1, b"abc")
    script = Script(httpx.Response(200, json={"number": 1, "size": 3, **other}))
    with pytest.raises(ChecksumMismatch):
        await make(script).put_part("alice/sales/q1.csv", "u1", 1, b"abc", verify="sha256")


def test_backoff_grows_exponentially_with_full_jitter() -> None:
    policy = Policy(backoff=1.0, max_backoff=8.0)
    for retry, ceiling in enumerate([1, 2, 4, 8, 8, 8]):
        draws = [policy.delay(retry) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling / 2  # uniform over the whole interval
    assert policy.delay(3, retry_after=2.5) == 2.5


def test_what_is_retried() -> None:
    policy = Policy()
    assert policy.retries_status(429, idempotent=False)
    assert policy.retries_status(408, idempotent=False)
    assert not policy.retries_status(503, idempotent=False)
    assert all(policy.retries_status(s, idempotent=True) for s in (500, 502, 503, 504))
    assert not any(
        policy.retries_status(s, idempotent=True) for s in (400, 401, 403, 404, 409, 412)
    )
    assert policy.retries_error(httpx.ConnectError("x"), idempotent=False)
    assert not policy.retries_error(httpx.ReadError("x"), idempotent=False)
    assert policy.retries_error(httpx.ReadError("x"), idempotent=True)
    assert not policy.retries_error(httpx.UnsupportedProtocol("x"), idempotent=True)
    with pytest.raises(ValueError, match="at least 1"):
        Policy(attempts=0)


def test_error_body_is_parsed_from_a_streamed_answer() -> None:
    body = json.dumps({"error": {"code": "not_found", "message": "no", "missing": "path"}})
    transport = httpx.MockTransport(lambda r: httpx.Response(404, content=body.encode()))
    with StorageClient(api_key="k", domain=BASE, transport=transport) as client:
        from anaconda_storage_core import NotFound

        with pytest.raises(NotFound) as caught, client.stream("alice/sales/q1.csv"):
            pass
    assert caught.value.missing == "path"


# -- a write whose answer was lost, sent again (see settle.py) --------------------------

ALICE = {"id": "u1", "name": "alice", "kind": "user"}
BOB = {"id": "u2", "name": "bob", "kind": "user"}
BEFORE = "5f0c6ad4-0000-4000-8000-000000000000"
OTHER = "5f0c6ad4-0000-4000-8000-0000000000ff"


def lost(request: httpx.Request) -> httpx.Response:
    """The server got the request (and, for all the client can tell, did it); the
    connection broke before its answer arrived."""
    request.read()
    raise httpx.ReadError("connection reset by peer")


def precondition_failed(current: str | None) -> httpx.Response:
    body = {"error": {"code": "precondition_failed", "message": "no", "current": current}}
    return httpx.Response(412, json=body)


def not_found(missing: str) -> httpx.Response:
    body = {"error": {"code": "not_found", "message": f"no such {missing}", "missing": missing}}
    return httpx.Response(404, json=body)


def revision(
    id: str, data: bytes | None = None, *, by: dict[str, str] = ALICE, index: int = 0
) -> dict[str, Any]:
    return {
        "id": id,
        "created_at": "2024-05-01T12:00:00Z",
        "created_by": by,
        "deleted": data is None,
        "size": len(data or b""),
        "sha256": None if data is None else hashlib.sha256(data).hexdigest(),
        "index": index,
    }


def history(*revisions: dict[str, Any]) -> httpx.Response:
    items = [{**r, "index": -i} for i, r in enumerate(revisions)]
    return httpx.Response(200, json={"items": items, "next_cursor": None})


def account(who: dict[str, str] = ALICE) -> httpx.Response:
    return httpx.Response(200, json={**who, "organizations": []})


def file_json(data: bytes, revision_id: str = REVISION) -> dict[str, Any]:
    return {
        "type": "file",
        "path": "q1.csv",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "revision": revision_id,
        "modified_by": ALICE,
    }


def routes(script: Script) -> list[str]:
    return [f"{r.method} {r.url.raw_path.decode()}" for r in script.requests]


SETTLED = [
    "GET /api/storage/projects/alice/sales/revisions/q1.csv?limit=2",
    "GET /api/account",
    f"GET /api/storage/projects/alice/sales/meta/q1.csv?revision={REVISION}",
]


async def test_exclusive_create_whose_answer_was_lost_succeeds(make: Clients) -> None:
    data = b"region,total\nwest,10\n"
    script = Script(
        lost,  # the server created the file; its answer never came
        precondition_failed(REVISION),  # so the retry finds the file there
        history(revision(REVISION, data)),
        account(),
        httpx.Response(200, json=file_json(data)),
    )
    info = await make(script).upload("alice/sales/q1.csv", data, if_none_match="*")
    assert (info.revision, info.sha256) == (REVISION, hashlib.sha256(data).hexdigest())
    assert routes(script) == ["PUT /api/storage/projects/alice/sales/files/q1.csv"] * 2 + SETTLED
    assert script.requests[1].headers["If-None-Match"] == "*"


async def test_exclusive_create_after_a_deletion_is_settled(make: Clients) -> None:
    data = b"new life"
    script = Script(
        lost,
        precondition_failed(REVISION),
        history(revision(REVISION, data), revision(OTHER), revision(BEFORE, b"old")),
        account(),
        httpx.Response(200, json=file_json(data)),
    )
    info = await make(script).upload("alice/sales/q1.csv", data, if_none_match="*")
    assert info.revision == REVISION


@pytest.mark.parametrize(
    ("current", "before", "caller", "why"),
    [
        (revision(REVISION, b"someone else's"), None, ALICE, "other bytes"),
        (revision(REVISION, b"mine", by=BOB), None, ALICE, "made by another user"),
        (revision(REVISION, b"mine"), revision(BEFORE, b"old"), ALICE, "a live file before"),
        (revision(REVISION), revision(BEFORE, b"mine"), ALICE, "deleted since"),
    ],
)
async def test_exclusive_create_that_met_a_file_still_fails(
    make: Clients,
    current: dict[str, Any],
    before: dict[str, Any] | None,
    caller: dict[str, str],
    why: str,
) -> None:
    from anaconda_storage_core import PreconditionFailed

    listed = [current] if before is None else [current, before]
    script = Script(
        lost,
        precondition_failed(REVISION),
        history(*listed),
        account(caller),
        httpx.Response(500),  # never asked for
    )
    with pytest.raises(PreconditionFailed) as caught:
        await make(script).upload("alice/sales/q1.csv", b"mine", if_none_match="*")
    assert isinstance(caught.value, FileExistsError)
    assert caught.value.current == REVISION
    assert "/meta/" not in " ".join(routes(script)), why


async def test_a_412_to_a_first_attempt_is_not_looked_into(make: Clients) -> None:
    from anaconda_storage_core import PreconditionFailed

    script = Script(precondition_failed(REVISION))
    with pytest.raises(PreconditionFailed):
        await make(script).upload("alice/sales/q1.csv", b"x", if_none_match="*")
    assert len(script.requests) == 1


async def test_a_412_after_a_503_is_not_looked_into(make: Clients) -> None:
    # A 503 says the server did not act: the retry's 412 is about someone else's file.
    from anaconda_storage_core import PreconditionFailed

    script = Script(error(503, "unavailable"), precondition_failed(REVISION))
    with pytest.raises(PreconditionFailed):
        await make(script).upload("alice/sales/q1.csv", b"x", if_none_match="*")
    assert len(script.requests) == 2


async def test_a_412_after_a_502_is_looked_into(make: Clients) -> None:
    # A gateway's 502 may hide an answer the server gave.
    data = b"x"
    script = Script(
        error(502, "bad_gateway"),
        precondition_failed(REVISION),
        history(revision(REVISION, data)),
        account(),
        httpx.Response(200, json=file_json(data)),
    )
    info = await make(script).upload("alice/sales/q1.csv", data, if_none_match="*")
    assert info.revision == REVISION


async def test_compare_and_swap_whose_answer_was_lost_succeeds(make: Clients) -> None:
    data = b"version 2"
    script = Script(
        lost,
        precondition_failed(REVISION),
        history(revision(REVISION, data), revision(BEFORE, b"version 1")),
        account(),
        httpx.Response(200, json=file_json(data)),
    )
    info = await make(script).upload("alice/sales/q1.csv", data, if_match=BEFORE)
    assert info.revision == REVISION
    assert script.requests[1].headers["If-Match"] == f'"{BEFORE}"'


async def test_compare_and_swap_on_another_base_still_fails(make: Clients) -> None:
    from anaconda_storage_core import PreconditionFailed

    data = b"version 2"
    script = Script(
        lost,
        precondition_failed(REVISION),
        # The same bytes, but written on another revision than the one named: not ours.
        history(revision(REVISION, data), revision(OTHER, b"version 1b")),
    )
    with pytest.raises(PreconditionFailed):
        await make(script).upload("alice/sales/q1.csv", data, if_match=BEFORE)
    assert len(script.requests) == 3


async def test_a_file_upload_is_settled_with_the_sha256_computed_on_the_way(
    make: Clients, tmp_path: Path
) -> None:
    data = b"streamed from a file" * 1000
    local = tmp_path / "q1.csv"
    local.write_bytes(data)
    script = Script(
        lost,
        precondition_failed(REVISION),
        history(revision(REVISION, data)),
        account(),
        httpx.Response(200, json=file_json(data)),
    )
    info = await make(script).upload("alice/sales/q1.csv", local, if_none_match="*")
    assert info.revision == REVISION


async def test_a_history_that_cannot_be_read_leaves_the_error(make: Clients) -> None:
    from anaconda_storage_core import PreconditionFailed

    script = Script(lost, precondition_failed(REVISION), not_found("path"))
    with pytest.raises(PreconditionFailed):
        await make(script).upload("alice/sales/q1.csv", b"x", if_none_match="*")


DELETE = "DELETE /api/storage/projects/alice/sales/files/q1.csv"
HISTORY = "GET /api/storage/projects/alice/sales/revisions/q1.csv?limit=2"


async def test_delete_whose_answer_was_lost_succeeds(make: Clients) -> None:
    script = Script(
        lost,
        not_found("path"),
        history(revision(REVISION), revision(BEFORE, b"content")),
        account(),
    )
    assert await make(script).delete("alice/sales/q1.csv") is None
    assert routes(script) == [DELETE, DELETE, HISTORY, "GET /api/account"]


async def test_conditional_delete_whose_answer_was_lost_succeeds(make: Clients) -> None:
    script = Script(
        lost,
        not_found("path"),
        history(revision(REVISION), revision(BEFORE, b"content")),
        account(),
    )
    await make(script).delete("alice/sales/q1.csv", if_match=BEFORE)
    assert script.requests[1].headers["If-Match"] == f'"{BEFORE}"'


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        (lambda: [not_found("path")], "the path never held a file"),
        (
            lambda: [history(revision(REVISION, by=BOB), revision(BEFORE, b"c")), account()],
            "bob deleted it",
        ),
        (lambda: [history(revision(REVISION, b"back"), revision(OTHER))], "a live file again"),
    ],
)
async def test_delete_that_found_no_file_still_fails(
    make: Clients, answers: Callable[[], list[httpx.Response]], why: str
) -> None:
    from anaconda_storage_core import NotFound

    script = Script(lost, not_found("path"), *answers())
    with pytest.raises(NotFound) as caught:
        await make(script).delete("alice/sales/q1.csv")
    assert isinstance(caught.value, FileNotFoundError)
    assert caught.value.missing == "path", why


async def test_conditional_delete_of_another_revision_still_fails(make: Clients) -> None:
    from anaconda_storage_core import NotFound

    script = Script(
        lost,
        not_found("path"),
        history(revision(REVISION), revision(OTHER, b"content")),
        account(),
    )
    with pytest.raises(NotFound):
        await make(script).delete("alice/sales/q1.csv", if_match=BEFORE)


async def test_remove_directory_whose_answer_was_lost_succeeds(make: Clients) -> None:
    script = Script(
        lost,
        not_found("path"),
        history(revision(REVISION), revision(BEFORE, b"")),
        account(),
    )
    await make(script).remove_directory("alice/sales/dir")
    assert routes(script)[2] == "GET /api/storage/projects/alice/sales/revisions/dir/.keep?limit=2"


class Multipart:
    """A MockTransport handler for a multipart upload whose completion's answer is lost
    once; what follows is answered from `after`."""

    def __init__(self, *after: httpx.Response) -> None:
        self.after = list(after)
        self.parts: dict[int, bytes] = {}
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.completed = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "POST" and path.endswith("/uploads"):
            return httpx.Response(201, json={"id": "u1", "path": "q1.csv", "parts": []})
        if request.method == "PUT" and "/parts/" in path:
            data = request.read()
            number = int(path.rsplit("/", 1)[1])
            self.parts[number] = data
            digest = hashlib.sha256(data).hexdigest()
            return httpx.Response(200, json={"number": number, "size": len(data), "sha256": digest})
        if path.endswith("/complete") and not self.completed:
            self.completed = True
            raise httpx.ReadError("connection reset by peer")
        return self.after.pop(0)

    def content(self) -> bytes:
        return b"".join(self.parts[n] for n in sorted(self.parts))


@pytest.mark.parametrize("source", ["bytes", "iterator"])
async def test_multipart_completion_whose_answer_was_lost_succeeds(
    make: Clients, source: str
) -> None:
    data = bytes(range(256)) * (24 * 1024)  # 6 MiB: two parts of 5 MiB and 1 MiB
    script = Multipart(
        not_found("upload"),  # the first completion consumed the session
        history(revision(REVISION, data)),
        account(),
        httpx.Response(201, json=file_json(data)),
    )
    sent: Any = data if source == "bytes" else iter([data[:3_000_000], data[3_000_000:]])
    client = make(script)
    info = await client.upload(
        "alice/sales/q1.csv", sent, if_none_match="*", part_size=5 * 2**20, multipart_threshold=0
    )
    assert info.revision == REVISION
    assert script.content() == data
    completions = [r for r in script.requests if r.url.path.endswith("/complete")]
    assert len(completions) == 2
    assert not [r for r in script.requests if r.method == "DELETE"]  # no abort


async def test_multipart_completion_that_failed_its_condition_still_fails(make: Clients) -> None:
    from anaconda_storage_core import PreconditionFailed

    data = bytes(range(256)) * (24 * 1024)
    script = Multipart(
        precondition_failed(OTHER),  # the session is kept on a 412: it answers again
        history(revision(OTHER, b"someone else's")),
    )
    client = make(script)
    with pytest.raises(PreconditionFailed):
        await client.upload(
            "alice/sales/q1.csv",
            data,
            if_none_match="*",
            part_size=5 * 2**20,
            multipart_threshold=0,
        )


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Unread(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers from a `Script` without reading the request's body, as a server that
    answers 412 before the body's end."""

    def __init__(self, script: Script) -> None:
        self.script = script

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.script(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.script(request)


async def test_a_file_whose_retry_was_answered_early_is_hashed_again(
    kind: str, tmp_path: Path
) -> None:
    data = b"a file" * 100_000
    local = tmp_path / "q1.csv"
    local.write_bytes(data)

    def early(request: httpx.Request) -> httpx.Response:
        chunks = iter(request.stream)  # type: ignore[call-overload]
        next(chunks)  # the first chunk of the body sent again, then the answer
        chunks.close()
        return precondition_failed(REVISION)

    def sent_then_lost(request: httpx.Request) -> httpx.Response:
        for _ in request.stream:  # type: ignore[union-attr]
            pass  # the whole body, as a transport sends it (not cached, as read() does)
        raise httpx.ReadError("connection reset by peer")

    script = Script(
        sent_then_lost,  # the server kept the file, then the connection broke
        early,  # answered before the body was sent again
        history(revision(REVISION, data)),
        account(),
        httpx.Response(200, json=file_json(data)),
    )
    common: dict[str, Any] = {"api_key": "k", "domain": BASE, "retry": RetryPolicy(backoff=0)}
    if kind == "sync":
        with StorageClient(transport=Unread(script), **common) as client:
            info = client.upload("alice/sales/q1.csv", local, if_none_match="*")
    else:
        async with AsyncStorageClient(transport=Unread(script), **common) as aclient:
            info = await aclient.upload("alice/sales/q1.csv", local, if_none_match="*")
    assert info.revision == REVISION
