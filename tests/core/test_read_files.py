"""`read_files`: many files' contents in few requests (`POST .../read`, docs/api.md
"Reading many files"), with both clients.

First against a scripted server on `httpx.MockTransport` (what the real one never does:
hostile answers, answers cut at a chosen byte, a server without the route), then end to
end against the real local server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from anaconda_storage_core import (
    AsyncStorageClient,
    AuthenticationRequired,
    ChecksumMismatch,
    FileRead,
    InvalidRequest,
    InvalidURI,
    NotFound,
    RetryPolicy,
    ServerError,
    StorageClient,
    StorageConnectionError,
    StorageURI,
    checksum,
    parse_uri,
)
from anaconda_storage_core.operations.call import Api
from anaconda_storage_core.operations.reading import WantedFile
from anaconda_storage_core.operations.reading import read_files as read_files_call
from anaconda_storage_core.transfer import reading as many

pytestmark = pytest.mark.anyio

BASE = "https://storage.example"
READ = "/api/storage/projects/alice/sales/read"
FILES_TYPE = "application/x-storage-files"


def revision_of(path: str, data: bytes) -> str:
    """The fake server's revision of a content: one per path and content."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{path}:{hashlib.sha256(data).hexdigest()}"))


def header(path: str, data: bytes, **changes: Any) -> dict[str, Any]:
    fields = {
        "path": path,
        "revision": revision_of(path, data),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "crc32c": checksum.encode(checksum.crc32c(data)),
        "modified": "2024-05-01T12:00:00.000000Z",
        "inline": True,
    }
    fields.update(changes)
    return fields


def frame(fields: dict[str, Any], data: bytes = b"") -> bytes:
    return json.dumps(fields).encode() + b"\n" + (data if fields.get("inline") else b"")


def not_found(path: str, missing: str = "path") -> bytes:
    message = f"no file {path!r}" if missing == "path" else f"{path!r} has no such revision"
    return frame(
        {"path": path, "error": {"code": "not_found", "message": message, "missing": missing}}
    )


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An answer's body in chunks of `size` bytes; with `cut`, it breaks after that many
    bytes, as a reset connection does."""

    def __init__(self, data: bytes, size: int = 1000, cut: int | None = None) -> None:
        self.data = data if cut is None else data[:cut]
        self.size = size
        self.cut = cut

    def _chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.size):
            yield self.data[start : start + self.size]
        if self.cut is not None:
            raise httpx.ReadError("connection reset by peer (injected)")

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk


class Server:
    """A MockTransport handler that answers `POST .../read` as the contract says, from
    `files` (path: content; every content served stays readable at its revision).

    Args:
        files: The project's files.
        before: Answers (or exceptions) given, in turn, before any answer with frames.
        cuts: For each answer with frames in turn, the bytes after which it breaks (None:
            it does not).
        mangle: Rewrites each answer's body (a hostile server).
        chunk: The size of the body's chunks.
        body: What sends an answer's body.
    """

    def __init__(
        self,
        files: dict[str, bytes] | None = None,
        *,
        before: list[httpx.Response | Exception] | None = None,
        cuts: list[int | None] | None = None,
        mangle: Any = None,
        chunk: int = 1000,
        body: type[Body] = Body,
    ) -> None:
        self.files = dict(files or {})
        self.body = body
        self.history = {revision_of(p, d): d for p, d in self.files.items()}
        self.before = list(before or [])
        self.cuts = list(cuts or [])
        self.mangle = mangle
        self.chunk = chunk
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict[str, Any]] = []
        self.sleeps: list[float] = []
        self.on_answer: Any = None  # called once an answer with frames is built

    def write(self, path: str, data: bytes) -> None:
        self.files[path] = data
        self.history[revision_of(path, data)] = data

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before:
            answer = self.before.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        body = json.loads(request.content)
        self.bodies.append(body)
        frames = b"".join(self._frame(item) for item in body["files"])
        if self.mangle is not None:
            frames = self.mangle(frames)
        cut = self.cuts.pop(0) if self.cuts else None
        headers = {"Content-Type": FILES_TYPE}
        if body.get("checkpoint"):
            headers["X-Storage-Checkpoint-At"] = "2024-05-01T12:00:00Z"
        if self.on_answer is not None:
            self.on_answer()
        return httpx.Response(200, headers=headers, stream=self.body(frames, self.chunk, cut))

    def _frame(self, item: dict[str, Any]) -> bytes:
        path = item["path"]
        revision = item.get("revision")
        if revision is not None:
            data = self.history.get(revision)
            if data is None:
                return not_found(path, "revision")
        else:
            data = self.files.get(path)
            if data is None:
                return not_found(path)
        limit = 1024 * 1024 if self.last_limit is None else self.last_limit
        if len(data) > limit:
            return frame(header(path, data, inline=False))
        return frame(header(path, data), data)

    @property
    def last_limit(self) -> int | None:
        return self.bodies[-1].get("inline_limit") if self.bodies else None

    def asked(self) -> list[list[tuple[str, str | None]]]:
        """The files each request asked for: (path, revision)."""
        return [[(f["path"], f.get("revision")) for f in b["files"]] for b in self.bodies]


def error(status: int, code: str, **fields: Any) -> httpx.Response:
    body = {"error": {"code": code, "message": f"{code} here", **fields}}
    return httpx.Response(status, json=body)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Reader:
    """A client of either kind on a `Server`; `read` gathers `read_files`' reads."""

    def __init__(self, kind: str, server: Server, **kwargs: Any) -> None:
        kwargs.setdefault("retry", RetryPolicy(attempts=3, backoff=0.5))
        common = {"api_key": "secret-key", "domain": BASE, **kwargs}
        transport = httpx.MockTransport(server)
        self.kind = kind
        if kind == "sync":
            client = StorageClient(transport=transport, **common)
            client._runner.sleep = lambda seconds: server.sleeps.append(float(seconds))
            self.client: Any = client
        else:
            self.client = AsyncStorageClient(transport=transport, **common)

            async def sleep(seconds: float) -> None:
                server.sleeps.append(seconds)

            self.client._runner.sleep = sleep

    async def read(self, uris: Any, **kwargs: Any) -> list[FileRead]:
        reads = self.client.read_files(uris, **kwargs)
        if self.kind == "sync":
            return list(reads)
        return [read async for read in reads]


def alice(*paths: str) -> list[str]:
    return [f"alice/sales/{path}" for path in paths]


# -- what the answer holds -----------------------------------------------------------------


async def test_reads_come_in_the_order_asked_duplicates_and_missing_files_included(
    kind: str,
) -> None:
    server = Server({"a.csv": b"a,b\n1,2\n", "dir/b.bin": b"\x00" * 5000, "empty": b""})
    reads = await Reader(kind, server).read(
        alice("dir/b.bin", "a.csv", "nope.csv", "a.csv", "empty")
    )
    assert server.asked() == [
        [("dir/b.bin", None), ("a.csv", None), ("nope.csv", None), ("a.csv", None), ("empty", None)]
    ]
    assert [read.uri for read in reads] == [
        parse_uri(uri) for uri in alice("dir/b.bin", "a.csv", "nope.csv", "a.csv", "empty")
    ]
    assert [read.data for read in reads] == [
        b"\x00" * 5000,
        b"a,b\n1,2\n",
        None,
        b"a,b\n1,2\n",
        b"",
    ]
    assert [read.inline for read in reads] == [True, True, False, True, True]
    first = reads[1]
    assert first.error is None
    assert first.info is not None
    assert first.info.size == 8
    assert first.info.revision == revision_of("a.csv", b"a,b\n1,2\n")
    assert first.info.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert first.info.last_modified == "2024-05-01T12:00:00.000000Z"
    assert first.pinned == parse_uri(f"alice/sales/a.csv#{first.info.revision}")
    missing = reads[2]
    assert isinstance(missing.error, NotFound)
    assert missing.error.missing == "path"
    assert str(missing.error) == "no file 'nope.csv' (alice/sales/nope.csv)"
    assert missing.info is None
    assert missing.pinned == missing.uri


async def test_a_file_over_the_inline_limit_is_announced_with_its_revision(kind: str) -> None:
    big = b"x" * 3000
    server = Server({"big.bin": big, "small": b"s"})
    reads = await Reader(kind, server).read(alice("big.bin", "small"), inline_limit=1000)
    assert server.bodies[0]["inline_limit"] == 1000
    big_read, small = reads
    assert (big_read.inline, big_read.data, big_read.error) == (False, None, None)
    assert big_read.info is not None
    assert (big_read.info.size, big_read.info.length) == (3000, 0)
    assert big_read.pinned.revision == revision_of("big.bin", big)
    assert small.data == b"s"


async def test_files_are_grouped_by_project_and_checkpoint_and_come_back_in_order(
    kind: str,
) -> None:
    files = {"a": b"A", "b": b"B", "c": b"C"}
    server = Server(files)
    revision = revision_of("b", b"B")
    uris = [
        "alice/sales/a",
        "alice/other/b",
        f"alice/sales/b#{revision}",  # a revision is read at no checkpoint
        "alice/sales#-1/c",
        "bob/sales/c",
        "alice/sales#-1/a",
        "alice/other/c",
    ]
    reads = await Reader(kind, server).read(uris)
    assert [read.data for read in reads] == [b"A", b"B", b"B", b"C", b"C", b"A", b"C"]
    assert [read.uri for read in reads] == [parse_uri(uri) for uri in uris]
    # Sorted: the asyncio client sends them at once, in any order.
    sent = sorted(
        (r.url.path, json.dumps(json.loads(r.content), sort_keys=True)) for r in server.requests
    )
    assert sent == sorted(
        (path, json.dumps(body, sort_keys=True))
        for path, body in [
            (
                READ,
                {
                    "files": [{"path": "a"}, {"path": "b", "revision": revision}],
                    "inline_limit": 1048576,
                },
            ),
            (
                "/api/storage/projects/alice/other/read",
                {"files": [{"path": "b"}, {"path": "c"}], "inline_limit": 1048576},
            ),
            (
                READ,
                {
                    "files": [{"path": "c"}, {"path": "a"}],
                    "checkpoint": "-1",
                    "inline_limit": 1048576,
                },
            ),
            (
                "/api/storage/projects/bob/sales/read",
                {"files": [{"path": "c"}], "inline_limit": 1048576},
            ),
        ]
    )
    at_checkpoint = reads[3].info
    assert at_checkpoint is not None
    assert at_checkpoint.checkpoint_at is not None
    assert reads[0].info is not None
    assert reads[0].info.checkpoint_at is None


async def test_a_request_carries_at_most_1000_files(kind: str) -> None:
    server = Server({"f": b"1"})
    reads = await Reader(kind, server).read(alice(*["f"] * 2500), concurrency=1)
    assert [len(body["files"]) for body in server.bodies] == [1000, 1000, 500]
    assert [read.data for read in reads] == [b"1"] * 2500


async def test_files_are_taken_lazily_and_reads_handed_out_as_requests_finish(kind: str) -> None:
    server = Server({"f": b"1"})
    taken = 0

    def uris() -> Iterator[str]:
        nonlocal taken
        for _ in range(10_000):
            taken += 1
            yield "alice/sales/f"

    reader = Reader(kind, server)
    reads = reader.client.read_files(uris(), concurrency=2)
    first = next(reads) if kind == "sync" else await reads.__anext__()
    assert first.data == b"1"
    assert taken == 2000  # two requests' worth, not the 10,000
    assert len(server.bodies) in (1, 2)  # the second may have started (asyncio)
    rest = list(reads) if kind == "sync" else [read async for read in reads]
    assert len(rest) == 9_999
    assert taken == 10_000
    assert [len(body["files"]) for body in server.bodies] == [1000] * 10


# -- checking contents ---------------------------------------------------------------------


def corrupt(path: str) -> Any:
    """A mangle that flips the last byte of `path`'s content (its header is left as is)."""

    def mangle(body: bytes) -> bytes:
        start = body.index(b'{"path": ' + json.dumps(path).encode())
        end = body.index(b"\n", start)
        last = end + json.loads(body[start:end])["size"]
        return body[:last] + bytes([body[last] ^ 1]) + body[last + 1 :]

    return mangle


async def test_the_async_client_hands_out_each_read_as_its_frame_arrives() -> None:
    # The answer's second chunk is sent only once the first file was handed out: a client
    # that held the reads until the answer ended would wait for it in vain.
    files = {f"{i}.csv": f"file {i}".encode() for i in range(3)}
    handed_out = asyncio.Event()

    class Held(Body):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            chunks = list(self._chunks())
            yield chunks[0]
            await asyncio.wait_for(handed_out.wait(), 10)
            for chunk in chunks[1:]:
                yield chunk

    first = len(frame(header("0.csv", files["0.csv"]), files["0.csv"]))
    server = Server(files, chunk=first, body=Held)
    reads = []
    async for read in Reader("async", server).client.read_files(alice(*files)):
        reads.append(read.data)
        handed_out.set()
    assert reads == list(files.values())
    assert len(server.requests) == 1


def test_the_blocking_client_hands_out_each_read_as_its_frame_arrives() -> None:
    files = {f"{i}.csv": f"file {i}".encode() for i in range(3)}
    reads: list[bytes | None] = []

    class Checked(Body):
        def __iter__(self) -> Iterator[bytes]:
            chunks = list(self._chunks())
            yield chunks[0]
            assert reads, "the next chunk was read before the first file was handed out"
            yield from chunks[1:]

    first = len(frame(header("0.csv", files["0.csv"]), files["0.csv"]))
    server = Server(files, chunk=first, body=Checked)
    with StorageClient(
        api_key="secret-key", domain=BASE, transport=httpx.MockTransport(server)
    ) as c:
        for read in c.read_files(alice(*files)):
            reads.append(read.data)
    assert reads == list(files.values())


async def test_a_corrupted_content_is_that_files_checksum_mismatch_only(kind: str) -> None:
    server = Server({"a": b"first", "b": b"second", "c": b"third"}, mangle=corrupt("b"))
    reads = await Reader(kind, server).read(alice("a", "b", "c"))
    assert [read.data for read in reads] == [b"first", None, b"third"]
    mismatch = reads[1].error
    assert isinstance(mismatch, ChecksumMismatch)
    assert "alice/sales/b" in str(mismatch)
    assert mismatch.expected == checksum.encode(checksum.crc32c(b"second"))
    assert reads[1].info is None


async def test_verify_false_hands_out_the_content_as_received(kind: str) -> None:
    server = Server({"b": b"second"}, mangle=corrupt("b"))
    [read] = await Reader(kind, server).read(alice("b"), verify=False)
    assert read.data == b"secone"  # the last byte flipped
    assert read.error is None


async def test_verify_sha256_checks_the_sha256_rather_than_the_crc(kind: str) -> None:
    data = b"content"
    wrong_sha = header("a", data, sha256="0" * 64)
    server = Server(mangle=lambda body: frame(wrong_sha, data))
    [by_crc] = await Reader(kind, server).read(alice("a"))
    assert by_crc.data == data  # the CRC32C is right: the default does not look further
    [by_sha] = await Reader(kind, server).read(alice("a"), verify="sha256")
    assert isinstance(by_sha.error, ChecksumMismatch)
    assert by_sha.error.expected == "0" * 64


async def test_without_a_crc32c_the_sha256_is_checked(kind: str) -> None:
    data = b"content"
    no_crc = header("a", data, crc32c=None, sha256=hashlib.sha256(b"other").hexdigest())
    server = Server(mangle=lambda body: frame(no_crc, data))
    [read] = await Reader(kind, server).read(alice("a"))
    assert isinstance(read.error, ChecksumMismatch)


# -- errors --------------------------------------------------------------------------------


async def test_a_missing_revision_and_an_unknown_error_code_are_that_files_errors(
    kind: str,
) -> None:
    unknown = frame({"path": "b", "error": {"code": "frozen", "message": "frozen for now"}})
    server = Server(
        mangle=lambda body: not_found("a", "revision") + unknown + frame(header("c", b"c"), b"c")
    )
    reads = await Reader(kind, server).read(alice("a#-3", "b", "c"))
    assert isinstance(reads[0].error, NotFound)
    assert reads[0].error.missing == "revision"
    assert "alice/sales/a#-3" in str(reads[0].error)
    assert isinstance(reads[1].error, ServerError)
    assert reads[1].error.code == "frozen"
    assert "frozen for now" in str(reads[1].error)
    assert reads[2].data == b"c"


@pytest.mark.parametrize(
    ("answer", "raised", "attribute"),
    [
        (error(404, "not_found", missing="project"), NotFound, ("missing", "project")),
        (error(404, "not_found", missing="checkpoint"), NotFound, ("missing", "checkpoint")),
        (error(400, "invalid", field="files"), InvalidRequest, ("field", "files")),
        (error(401, "auth_required"), AuthenticationRequired, ("status", 401)),
    ],
)
async def test_a_request_level_error_raises_its_typed_error(
    kind: str, answer: httpx.Response, raised: type[Exception], attribute: tuple[str, Any]
) -> None:
    server = Server({"a": b"1"}, before=[answer])
    with pytest.raises(raised) as caught:
        await Reader(kind, server).read(alice("a"))
    assert getattr(caught.value, attribute[0]) == attribute[1]
    assert len(server.requests) == 1


async def test_5xx_and_failed_connections_are_retried_before_the_body(kind: str) -> None:
    server = Server(
        {"a": b"1"},
        before=[error(503, "unavailable"), httpx.ConnectError("refused")],
    )
    reads = await Reader(kind, server).read(alice("a"))
    assert [read.data for read in reads] == [b"1"]
    assert len(server.requests) == 3
    assert len(server.sleeps) == 2


async def test_5xx_once_retries_are_spent_is_a_server_error(kind: str) -> None:
    server = Server({"a": b"1"}, before=[error(503, "unavailable")] * 3)
    with pytest.raises(ServerError) as caught:
        await Reader(kind, server).read(alice("a"))
    assert caught.value.status == 503
    assert "alice/sales" in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [error(404, "not_found"), error(405, "method_not_allowed"), httpx.Response(404, text="nope")],
    ids=["404-no-missing", "405", "404-not-json"],
)
async def test_a_server_without_the_route_leaves_the_files_to_be_read_one_by_one(
    kind: str, answer: httpx.Response
) -> None:
    server = Server({"a": b"1"}, before=[answer])
    reader = Reader(kind, server)
    uris = alice("a", "b", "a")
    reads = await reader.read(uris)
    assert reads == [FileRead(parse_uri(uri), None, None, None) for uri in uris]
    assert [read.pinned for read in reads] == [parse_uri(uri) for uri in uris]
    again = await reader.read(alice("a"))
    assert again == [FileRead(parse_uri("alice/sales/a"), None, None, None)]
    assert len(server.requests) == 1  # remembered: not asked again


# -- an answer that breaks -----------------------------------------------------------------


def offset_in(server: Server, uris: list[str], path: str, into: int) -> int:
    """The offset of byte `into` of `path`'s frame in the uncut answer to `uris`."""
    body = b"".join(server._frame({"path": parse_uri(uri).path}) for uri in uris)
    return body.index(json.dumps(path).encode()) - len('{"path": ') + into


async def test_an_answer_cut_in_a_content_resumes_pinned_to_its_revision(kind: str) -> None:
    files = {"a": b"A" * 100, "b": b"B" * 3000, "c": b"C" * 100}
    server = Server(files)
    uris = alice("a", "b", "c")
    cut = offset_in(server, uris, "b", 1500)  # inside b's content
    server.cuts = [cut]
    # b is rewritten once the answer is under way: the resumed read still gets the old one.

    def rewrite_once() -> None:
        server.write("b", b"new")
        server.on_answer = None

    server.on_answer = rewrite_once
    reads = await Reader(kind, server).read(uris)
    assert [read.data for read in reads] == [b"A" * 100, b"B" * 3000, b"C" * 100]
    old = revision_of("b", b"B" * 3000)
    assert server.asked() == [[("a", None), ("b", None), ("c", None)], [("b", old), ("c", None)]]
    assert reads[1].info is not None
    assert reads[1].info.revision == old
    assert len(server.sleeps) == 1


async def test_an_answer_cut_between_frames_asks_again_for_the_rest_only(kind: str) -> None:
    server = Server({"a": b"A", "b": b"B", "c": b"C"})
    uris = alice("a", "b", "c")
    server.cuts = [offset_in(server, uris, "b", 10)]  # inside b's header
    reads = await Reader(kind, server).read(uris)
    assert [read.data for read in reads] == [b"A", b"B", b"C"]
    assert server.asked() == [[("a", None), ("b", None), ("c", None)], [("b", None), ("c", None)]]


async def test_a_checkpoint_read_cut_in_a_content_asks_for_the_pinned_file_alone(
    kind: str,
) -> None:
    server = Server({"a": b"A" * 100, "b": b"B" * 3000, "c": b"C"})
    uris = ["alice/sales#-1/a", "alice/sales#-1/b", "alice/sales#-1/c"]
    server.cuts = [offset_in(server, uris, "b", 1500)]
    reads = await Reader(kind, server).read(uris)
    assert [read.data for read in reads] == [b"A" * 100, b"B" * 3000, b"C"]
    old = revision_of("b", b"B" * 3000)
    assert [body.get("checkpoint") for body in server.bodies] == ["-1", None, "-1"]
    assert server.asked() == [
        [("a", None), ("b", None), ("c", None)],
        [("b", old)],  # a revision and a checkpoint do not go together
        [("c", None)],
    ]
    for read in reads:
        assert read.info is not None
        assert read.info.checkpoint_at is not None


async def test_a_pinned_answer_broken_once_complete_leaves_the_rest_unpinned(kind: str) -> None:
    server = Server({"a": b"A" * 100, "b": b"B" * 3000, "c": b"C"})
    uris = ["alice/sales#-1/a", "alice/sales#-1/b", "alice/sales#-1/c"]
    b_alone = server._frame({"path": "b"})
    server.cuts = [offset_in(server, uris, "b", 1500), len(b_alone)]
    reads = await Reader(kind, server).read(uris)
    assert [read.data for read in reads] == [b"A" * 100, b"B" * 3000, b"C"]
    assert [body.get("checkpoint") for body in server.bodies] == ["-1", None, "-1"]
    assert server.asked()[1:] == [[("b", revision_of("b", b"B" * 3000))], [("c", None)]]
    assert len(server.sleeps) == 1  # the second break lost nothing: no wait, no retry


async def test_an_answer_that_keeps_breaking_is_a_connection_error(kind: str) -> None:
    server = Server({"a": b"A" * 3000}, cuts=[100, 100, 100])
    with pytest.raises(StorageConnectionError, match="/api/storage/projects/alice/sales/read"):
        await Reader(kind, server).read(alice("a"))
    assert len(server.requests) == 3  # policy.attempts


async def test_an_answer_that_ends_early_is_resumed_like_a_break(kind: str) -> None:
    server = Server({"a": b"A", "b": b"B"})
    uris = alice("a", "b")
    # The first answer lacks b's last byte; the second (b alone) is whole.
    server.mangle = lambda body: body[:-1] if len(server.bodies) == 1 else body
    reads = await Reader(kind, server).read(uris)
    assert [read.data for read in reads] == [b"A", b"B"]
    assert server.asked()[1] == [("b", revision_of("b", b"B"))]


async def test_a_break_once_every_frame_is_in_loses_nothing(kind: str) -> None:
    server = Server({"a": b"A"})
    whole = server._frame({"path": "a"})
    server.cuts = [len(whole)]
    reads = await Reader(kind, server).read(alice("a"))
    assert [read.data for read in reads] == [b"A"]
    assert len(server.requests) == 1


# -- hostile answers -----------------------------------------------------------------------


A = header("a", b"1")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"<html>oops</html>\n", "not JSON"),
        (b"\xff\xfe\n", "not UTF-8"),
        (b"[" * 60_000 + b"\n", "not JSON"),  # nested too deep to parse
        (b'["a"]\n', "not a JSON object"),
        (frame({**A, "path": "b"}, b"1"), "names path 'b', not 'a'"),
        (frame({**A, "path": None}, b"1"), "names path None"),
        (frame({**A, "size": "1"}, b"1"), "size '1' is not a size"),
        (frame({**A, "size": -1}, b"1"), "size -1 is not a size"),
        (frame({**A, "size": 2**64}, b"1"), "is not a size"),
        (frame({**A, "size": True}, b"1"), "size True is not a size"),
        (frame({**A, "size": 1.0}, b"1"), "size 1.0 is not a size"),
        (frame({**A, "revision": 7}, b"1"), "revision 7 is not a revision"),
        (frame({**A, "revision": "-1"}, b"1"), "is not a revision"),
        (frame({**A, "inline": "yes"}, b"1"), "inline is 'yes'"),
        (frame({**A, "sha256": 5}, b"1"), "are strings"),
        (frame({**A, "size": 2000}, b"1" * 2000), "over the inline limit"),
        (frame({"path": "a", "error": "gone"}), "not an error object"),
        (frame({"path": "a", "error": {"message": "no code"}}), "not an error object"),
        (frame(A, b"1") + b"extra", "bytes follow the last frame"),
        (b'{"path": "' + b"a" * 70_000, "longer than 65536 bytes"),
        (b'{"path": "' + b"a" * 70_000 + b'"}\n', "longer than 65536 bytes"),
    ],
)
async def test_an_answer_the_contract_does_not_allow_is_a_server_error(
    kind: str, body: bytes, detail: str
) -> None:
    server = Server(mangle=lambda _: body)
    with pytest.raises(ServerError) as caught:
        await Reader(kind, server).read(alice("a"), inline_limit=1000)
    message = str(caught.value)
    assert message.startswith("invalid answer reading many files of alice/sales, at frame 1 of 1")
    assert detail in message
    assert len(server.requests) == 1  # not retried: it would say the same


async def test_a_hostile_frame_later_in_the_answer_names_its_place(kind: str) -> None:
    server = Server(mangle=lambda _: frame(A, b"1") + b"{}\n")
    with pytest.raises(ServerError, match="at frame 2 of 2: the header names path None"):
        await Reader(kind, server).read(alice("a", "b"))


# -- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inline_limit": -1}, "inline_limit"),
        ({"inline_limit": 2**30 + 1}, "inline_limit"),
        ({"inline_limit": True}, "inline_limit"),
        ({"concurrency": 0}, "concurrency"),
        ({"verify": "md5"}, "verify"),
    ],
)
async def test_arguments_out_of_range_are_refused_before_anything_is_sent(
    kind: str, kwargs: dict[str, Any], message: str
) -> None:
    server = Server()
    with pytest.raises(ValueError, match=message):
        Reader(kind, server).client.read_files(alice("a"), **kwargs)
    assert server.requests == []


@pytest.mark.parametrize("uri", ["alice/sales", "alice", "alice/sales/a#x"])
async def test_a_uri_that_names_no_file_is_invalid(kind: str, uri: str) -> None:
    server = Server()
    with pytest.raises(InvalidURI):
        await Reader(kind, server).read([uri])
    assert server.requests == []


# -- the parts, alone ----------------------------------------------------------------------


def test_a_window_is_split_into_requests_of_about_the_same_size() -> None:
    uris = [f"alice/sales/{i}" for i in range(2500)] + ["alice/other/x"]
    batches = list(many.plan(uris, per_request=1000, window=4000))
    assert [(b.project, len(b.uris)) for b in batches] == [
        ("sales", 834),
        ("sales", 834),
        ("sales", 832),
        ("other", 1),
    ]
    assert [p for b in batches for p in b.positions] == list(range(2501))


@pytest.mark.parametrize("character", ["a", '"', "é", "\U0001f600"])
def test_a_request_body_stays_within_the_servers_limit(character: str) -> None:
    # 1,000 paths of 1,021 characters: in JSON, up to 12 MB (an astral character is
    # escaped as two \\uXXXX), past the 1 MiB a server takes; plan cuts them in requests
    # whose bodies stay within it, in order, none lost.
    segments = [character * 255] * 3
    uris = [
        parse_uri("alice/sales/" + "/".join([*segments, f"{character * 252}{i % 10}"]))
        for i in range(1000)
    ]
    batches = list(many.plan(uris, per_request=1000, window=1000))
    api = Api(base_url="http://storage.test", headers={"Authorization": "Bearer k"})
    for batch in batches:
        wanted = [WantedFile(uri.path) for uri in batch.uris]
        call = read_files_call(api, "alice", "sales", wanted)
        assert len(call.request.read()) <= 1024 * 1024
    assert [p for b in batches for p in b.positions] == list(range(1000))
    assert len(batches) > 1
    # Names of an ordinary length all go in one request.
    ordinary = [f"alice/sales/2024/{character * 40}-{i:04d}.csv" for i in range(1000)]
    assert len(list(many.plan(ordinary, per_request=1000, window=1000))) == 1


def test_reads_are_handed_out_once_those_before_them_are_in() -> None:
    uris = [parse_uri(f"alice/{'sales' if i % 2 else 'other'}/{i}") for i in range(6)]
    batches = list(many.plan(uris, per_request=2, window=6))
    assert [b.positions for b in batches] == [[0, 2], [4], [1, 3], [5]]
    order = many.InOrder()

    def reads(batch: many.Batch) -> list[FileRead]:
        return [FileRead(uri, None, None, None) for uri in batch.uris]

    handed: list[StorageURI] = []
    for batch in batches:
        handed += [read.uri for read in order.place(batch.positions, reads(batch))]
        if batch.positions == [4]:
            assert handed == [uris[0]]  # 1 is not in yet
    assert handed == uris


def test_frames_are_parsed_whatever_the_chunks() -> None:
    files = {"a": b"1" * 10, "b": b"", "c": b"\n" * 20}
    body = b"".join(frame(header(p, d), d) for p, d in files.items()) + not_found("d")
    uris = [parse_uri(f"alice/sales/{p}") for p in [*files, "d"]]
    for size in (1, 2, 7, len(body)):
        frames = many.Frames(uris, "alice/sales", True, 1024)
        for start in range(0, len(body), size):
            frames.feed(body[start : start + size])
        assert frames.complete
        assert [read.data for read in frames.done] == [*files.values(), None]
        assert isinstance(frames.done[3].error, NotFound)


# -- end to end, against the local server --------------------------------------------------


async def gather(reads: Any) -> list[FileRead]:
    return [read async for read in reads]


async def test_e2e_order_duplicates_missing_and_deleted_files(client: Any, project: str) -> None:
    await client.upload(f"{project}/a.csv", b"a,b\n1,2\n")
    await client.upload(f"{project}/dir/b.bin", b"\x00\x01" * 3000)
    await client.upload(f"{project}/gone", b"soon deleted")
    await client.delete(f"{project}/gone")
    await client.upload(f"{project}/empty", b"")
    paths = ["dir/b.bin", "a.csv", "nope", "a.csv", "gone", "empty", "dir"]
    reads = await gather(client.read_files([f"{project}/{p}" for p in paths]))
    assert [read.uri.path for read in reads] == paths
    assert [read.data for read in reads] == [
        b"\x00\x01" * 3000,
        b"a,b\n1,2\n",
        None,
        b"a,b\n1,2\n",
        None,
        b"",
        None,
    ]
    for missing in (reads[2], reads[4], reads[6]):  # no file, deleted, a directory
        assert isinstance(missing.error, NotFound)
        assert missing.error.missing == "path"
        assert missing.info is None
    info = await client.info(f"{project}/a.csv")
    assert reads[1].info is not None
    assert (reads[1].info.revision, reads[1].info.sha256) == (info.revision, info.sha256)
    assert reads[1].info.crc32c == checksum.encode(checksum.crc32c(b"a,b\n1,2\n"))


async def test_e2e_revisions_checkpoints_and_several_projects(
    client: Any, project: str, user: Any
) -> None:
    first = await client.upload(f"{project}/q.csv", b"v1")
    await client.create_checkpoint(project, "before v2")
    await client.upload(f"{project}/q.csv", b"v2")
    other = f"{user.name}/second"
    await client.create_project(other)
    await client.upload(f"{other}/q.csv", b"other")
    uris = [
        f"{project}/q.csv",
        f"{other}/q.csv",
        f"{project}/q.csv#-1",  # the revision before the current one
        f"{project}#-1/q.csv",  # at the latest checkpoint
        f"{project}/q.csv#{first.revision}",
        f"{other}/q.csv",
        f"{project}/q.csv#-5",
    ]
    reads = await gather(client.read_files(uris))
    assert [read.data for read in reads] == [b"v2", b"other", b"v1", b"v1", b"v1", b"other", None]
    assert isinstance(reads[6].error, NotFound)
    assert reads[6].error.missing == "revision"
    at_checkpoint = reads[3].info
    assert at_checkpoint is not None
    assert at_checkpoint.revision == first.revision
    assert at_checkpoint.checkpoint_at is not None
    assert reads[2].pinned == parse_uri(f"{project}/q.csv#{first.revision}")


async def test_e2e_a_file_over_the_inline_limit_is_read_at_its_pinned_revision(
    client: Any, project: str
) -> None:
    await client.upload(f"{project}/big.bin", b"old" * 1000)
    await client.upload(f"{project}/small", b"s")
    big, small = await gather(
        client.read_files([f"{project}/big.bin", f"{project}/small"], inline_limit=1000)
    )
    assert (big.inline, big.data, small.data) == (False, None, b"s")
    assert big.info is not None
    assert big.info.size == 3000
    await client.upload(f"{project}/big.bin", b"new")
    assert await client.read_bytes(big.pinned) == b"old" * 1000
    assert await client.read_bytes(big.uri) == b"new"


@pytest.mark.parametrize("verify", [True, "crc32c", "sha256", False])
async def test_e2e_every_verify_mode_reads_the_contents(
    client: Any, project: str, verify: Any
) -> None:
    await client.upload(f"{project}/a", b"alpha")
    await client.upload(f"{project}/b", b"beta" * 100_000)
    reads = await gather(client.read_files([f"{project}/a", f"{project}/b"], verify=verify))
    assert [read.data for read in reads] == [b"alpha", b"beta" * 100_000]


async def test_e2e_request_level_errors(client: Any, project: str, other_user: Any) -> None:
    with pytest.raises(NotFound) as caught:
        await gather(client.read_files([f"{project}-nope/a"]))
    assert caught.value.missing == "project"
    with pytest.raises(NotFound) as caught:
        await gather(client.read_files([f"{project}#-9/a"]))
    assert caught.value.missing == "checkpoint"
    with pytest.raises(NotFound) as caught:  # a project the caller cannot read
        await gather(client.read_files([f"{other_user.name}/private/a"]))
    assert caught.value.missing == "project"


class Rewrite:
    """A transport around httpx's own that reads each answer whole and hands it on
    rewritten by `change(request, body)` (the last byte of a content flipped...)."""

    def __init__(self, change: Any) -> None:
        self.change = change
        self.inner: Any = None

    def around(self, inner: Any) -> Rewrite:
        self.inner = inner
        return self

    def _rewritten(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        body = self.change(request, response.content)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        return self._rewritten(request, response)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        return self._rewritten(request, response)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_e2e_a_corrupted_content_is_that_files_error_only(
    make_client: Any, user: Any, project: str
) -> None:
    def flip_last_byte(request: httpx.Request, body: bytes) -> bytes:
        if not request.url.path.endswith("/read"):
            return body
        return body[:-1] + bytes([body[-1] ^ 1])

    writer = make_client(user)
    await writer.upload(f"{project}/a", b"first")
    await writer.upload(f"{project}/b", b"second")
    client = make_client(user, tap=Rewrite(flip_last_byte))
    reads = await gather(client.read_files([f"{project}/a", f"{project}/b"]))
    assert reads[0].data == b"first"
    assert isinstance(reads[1].error, ChecksumMismatch)
    [unchecked] = await gather(client.read_files([f"{project}/b"], verify=False))
    assert unchecked.data == b"secone"


async def test_e2e_an_answer_cut_mid_content_resumes_at_the_revision_it_named(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    old = bytes(range(256)) * 800  # 200 KiB: a cut at 100 KiB falls in its content
    writer = make_client(user)
    first = await writer.upload(f"{project}/big.bin", old)
    await writer.upload(f"{project}/small", b"small")
    cut_once: list[int] = []

    def cut(request: httpx.Request) -> int | None:
        if not request.url.path.endswith("/read") or cut_once:
            return None
        cut_once.append(1)
        # Rewritten while the answer is under way: the resumed read must not see it.
        httpx.put(
            f"{user.url}/api/storage/projects/{project}/files/big.bin",
            content=b"rewritten",
            headers={"Authorization": f"Bearer {user.api_key}"},
        ).raise_for_status()
        return 100 * 1024

    tap = tap_class(cut=cut)
    client = make_client(user, tap=tap, retry=RetryPolicy(attempts=3, backoff=0.01))
    uris = [f"{project}/big.bin", f"{project}/small", f"{project}/big.bin"]
    reads = await gather(client.read_files(uris))
    assert reads[0].data == old
    assert reads[0].info is not None
    assert reads[0].info.revision == first.revision
    assert reads[1].data == b"small"
    assert reads[2].data == b"rewritten"  # asked again, unpinned: the current content
    posts = [r for r in tap.requests if r.method == "POST"]
    assert [json.loads(r.content)["files"] for r in posts] == [
        [{"path": "big.bin"}, {"path": "small"}, {"path": "big.bin"}],
        [{"path": "big.bin", "revision": first.revision}, {"path": "small"}, {"path": "big.bin"}],
    ]
