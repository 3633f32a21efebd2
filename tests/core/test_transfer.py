"""Uploads and downloads end to end, with both clients: sources, multipart, resuming,
atomic and verified downloads."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_core import (
    ChecksumMismatch,
    RetryPolicy,
    StorageConnectionError,
    UploadSettings,
)

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024
SMALL_PARTS = UploadSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=1)


def payload(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB, not all alike
    return (block * (size // len(block) + 1))[:size]


def part_numbers(tap: Any) -> list[int]:
    return [int(m[1]) for m in (re.search(r"/parts/(\d+)$", r) for r in tap.routes("PUT")) if m]


@pytest.mark.parametrize("kind", ["bytes", "path", "file", "iterator", "bytearray"])
async def test_upload_sources(client: Any, project: str, tmp_path: Path, kind: str) -> None:
    data = payload(300_000, seed=1)
    local = tmp_path / "local.bin"
    local.write_bytes(b"ignored-prefix" + data)
    sources: dict[str, Any] = {
        "bytes": data,
        "bytearray": bytearray(data),
        "path": str(tmp_path / "plain.bin"),
        "iterator": (data[i : i + 70_000] for i in range(0, len(data), 70_000)),
    }
    (tmp_path / "plain.bin").write_bytes(data)
    if kind == "file":
        with open(local, "rb") as file:  # noqa: ASYNC230 - the source under test
            file.seek(len(b"ignored-prefix"))  # a file object is read from its position
            info = await client.upload(f"{project}/f.bin", file)
    else:
        info = await client.upload(f"{project}/f.bin", sources[kind])
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert await client.read_bytes(f"{project}/f.bin") == data


async def test_upload_rejects_other_sources(client: Any, project: str) -> None:
    with pytest.raises(TypeError, match="cannot upload"):
        await client.upload(f"{project}/x", 42)


async def test_multipart_from_path(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    tap = tap_class()
    client = make_client(user, tap=tap, upload_settings=SMALL_PARTS)
    data = payload(12 * MiB + 123, seed=2)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    seen: list[int] = []
    info = await client.upload(f"{project}/big.bin", local, progress=seen.append)
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert part_numbers(tap) == [1, 2, 3]
    assert sum(seen) == len(data)
    assert await client.read_bytes(f"{project}/big.bin") == data
    # No session is left behind.
    assert [u async for u in client.list_uploads(project)] == []


async def test_multipart_concurrent_parts(client: Any, project: str) -> None:
    data = payload(16 * MiB, seed=3)
    info = await client.upload(
        f"{project}/c.bin", data, part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=3
    )
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert (
        await client.read_bytes(f"{project}/c.bin", 5 * MiB - 3, 5 * MiB + 3)
        == data[5 * MiB - 3 : 5 * MiB + 3]
    )


async def test_multipart_from_iterator_one_part_at_a_time(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    tap = tap_class()
    client = make_client(user, tap=tap, upload_settings=SMALL_PARTS)
    data = payload(11 * MiB, seed=4)
    chunks = (data[i : i + 777_777] for i in range(0, len(data), 777_777))
    info = await client.upload(f"{project}/it.bin", chunks)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert part_numbers(tap) == [1, 2, 3]
    assert await client.read_bytes(f"{project}/it.bin") == data


async def test_multipart_with_conditions(client: Any, project: str) -> None:
    data = payload(6 * MiB, seed=5)
    first = await client.upload(
        f"{project}/cond.bin", data, if_none_match="*", part_size=5 * MiB, multipart_threshold=0
    )
    from anaconda_storage_core import PreconditionFailed

    with pytest.raises(PreconditionFailed):
        await client.upload(
            f"{project}/cond.bin", data, if_none_match="*", part_size=5 * MiB, multipart_threshold=0
        )
    second = await client.upload(
        f"{project}/cond.bin", data[::-1], if_match=first.revision, multipart_threshold=0
    )
    assert await client.read_bytes(f"{project}/cond.bin") == data[::-1]
    assert second.revision != first.revision


async def test_resumable_upload_sends_only_missing_parts(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    data = payload(20 * MiB, seed=6)  # four parts of 5 MiB
    local = tmp_path / "resume.bin"
    local.write_bytes(data)
    uri = f"{project}/resume.bin"

    def fail_on_part_3(request: httpx.Request) -> None:
        if request.method == "PUT" and request.url.path.endswith("/parts/3"):
            raise httpx.ReadError("connection reset by peer (injected)")

    broken = tap_class(fail=fail_on_part_3)
    first = make_client(
        user, tap=broken, upload_settings=SMALL_PARTS, retry=RetryPolicy(attempts=1)
    )
    with pytest.raises(StorageConnectionError):
        await first.upload(uri, local)
    assert part_numbers(broken) == [1, 2, 3]

    tap = tap_class()
    again = make_client(user, tap=tap, upload_settings=SMALL_PARTS)
    info = await again.upload(uri, local)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert part_numbers(tap) == [3, 4]
    assert [r.split("?")[0].rsplit("/", 1)[-1] for r in tap.routes("GET")][:1] == ["uploads"]
    assert len(tap.routes("POST")) == 1  # complete; no new session
    assert await again.read_bytes(uri) == data


async def test_resume_resends_parts_that_changed(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    data = payload(15 * MiB, seed=7)
    local = tmp_path / "changed.bin"
    local.write_bytes(data)
    uri = f"{project}/changed.bin"

    def fail_on_part_3(request: httpx.Request) -> None:
        if request.url.path.endswith("/parts/3"):
            raise httpx.ReadError("injected")

    first = make_client(
        user,
        tap=tap_class(fail=fail_on_part_3),
        upload_settings=SMALL_PARTS,
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(StorageConnectionError):
        await first.upload(uri, local)
    changed = bytearray(data)
    changed[10] ^= 0xFF  # part 1 differs now
    local.write_bytes(bytes(changed))
    tap = tap_class()
    again = make_client(user, tap=tap, upload_settings=SMALL_PARTS)
    await again.upload(uri, local)
    assert part_numbers(tap) == [1, 3]
    assert await again.read_bytes(uri) == bytes(changed)


async def test_resume_can_be_turned_off(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    data = payload(10 * MiB + 1, seed=8)
    local = tmp_path / "noresume.bin"
    local.write_bytes(data)
    uri = f"{project}/noresume.bin"
    await make_client(user).create_upload(uri)  # a stale session for the same path
    tap = tap_class()
    client = make_client(user, tap=tap, upload_settings=SMALL_PARTS)
    await client.upload(uri, local, resume=False)
    assert part_numbers(tap) == [1, 2, 3]
    assert not any("uploads?" in r for r in tap.routes("GET"))


async def test_multipart_primitives(client: Any, project: str) -> None:
    uri = f"{project}/manual.bin"
    session = await client.create_upload(uri)
    assert session.path == "manual.bin"
    one = await client.put_part(uri, session.id, 1, b"hello ")
    two = await client.put_part(project, session.id, 2, b"world")
    assert (one.number, one.size) == (1, 6)
    listed = [u async for u in client.list_uploads(uri)]
    assert [u.id for u in listed] == [session.id]
    fetched = await client.get_upload(project, session.id)
    assert [p.number for p in fetched.parts] == [1, 2]
    info = await client.complete_upload(project, session.id, [one, two])
    assert info.size == 11
    assert await client.read_bytes(uri) == b"hello world"

    from anaconda_storage_core import NotFound

    other = await client.create_upload(uri)
    await client.put_part(uri, other.id, 1, b"x")
    await client.abort_upload(uri, other.id)
    with pytest.raises(NotFound) as caught:
        await client.get_upload(uri, other.id)
    assert caught.value.missing == "upload"
    third = await client.create_upload(uri)
    await client.put_part(uri, third.id, 2, b"b")
    await client.put_part(uri, third.id, 1, b"a")
    assert (await client.complete_upload(uri, third.id)).size == 2
    assert await client.read_bytes(uri) == b"ab"


async def test_download_to_path(client: Any, project: str, tmp_path: Path) -> None:
    data = payload(3 * MiB + 5, seed=9)
    written = await client.upload(f"{project}/d.bin", data)
    target = tmp_path / "out" / "d.bin"
    target.parent.mkdir()
    seen: list[int] = []
    info = await client.download(f"{project}/d.bin", target, progress=seen.append)
    assert target.read_bytes() == data
    assert (info.revision, info.size, info.sha256) == (written.revision, len(data), written.sha256)
    assert sum(seen) == len(data)
    assert sorted(p.name for p in target.parent.iterdir()) == ["d.bin"]
    await client.upload(f"{project}/d.bin", b"new")
    await client.download(f"{project}/d.bin#-1", str(target))
    assert target.read_bytes() == data
    await client.upload(f"{project}/empty.bin", b"")
    await client.download(f"{project}/empty.bin", tmp_path / "empty.bin")
    assert (tmp_path / "empty.bin").read_bytes() == b""


class _Ends(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that records, in `ended`, each time it is read to its end."""

    def __init__(self, inner: Any, ended: list[bool]) -> None:
        self.inner = inner
        self.ended = ended

    def __iter__(self) -> Any:
        yield from self.inner
        self.ended.append(True)

    async def __aiter__(self) -> Any:
        async for chunk in self.inner:
            yield chunk
        self.ended.append(True)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_an_answer_is_read_to_its_end(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    # An answer closed before its body's end leaves the body's iterators unfinished, which
    # asyncio finalizes later with a task for each of their layers: a tenth of the time of
    # a `get` of many small files. Once the last byte is in, one more read ends them.
    await make_client(user).upload(f"{project}/e.bin", b"0123456789")
    ended: list[bool] = []

    class Watch(tap_class):  # type: ignore[misc,valid-type]
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self._watch(super().handle_request(request))

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return self._watch(await super().handle_async_request(request))

        def _watch(self, response: httpx.Response) -> httpx.Response:
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=_Ends(response.stream, ended),
                extensions=response.extensions,
            )

    client = make_client(user, tap=Watch())
    await client.download(f"{project}/e.bin", tmp_path / "e.bin")
    assert await client.read_bytes(f"{project}/e.bin") == b"0123456789"
    assert ended == [True, True]
    assert (tmp_path / "e.bin").read_bytes() == b"0123456789"


async def test_download_to_file_object(client: Any, project: str) -> None:
    data = payload(2 * MiB, seed=10)
    await client.upload(f"{project}/f.bin", data)
    buffer = io.BytesIO()
    await client.download(f"{project}/f.bin", buffer)
    assert buffer.getvalue() == data


async def test_broken_download_resumes_with_range(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    data = payload(4 * MiB, seed=11)
    written = await make_client(user).upload(f"{project}/r.bin", data)
    cuts = iter([1 * MiB, 2 * MiB + 7])

    def cut(request: httpx.Request) -> int | None:
        return next(cuts, None) if request.method == "GET" else None

    tap = tap_class(cut=cut)
    client = make_client(user, tap=tap, retry=RetryPolicy(attempts=3, backoff=0.01))
    target = tmp_path / "r.bin"
    await client.download(f"{project}/r.bin", target)
    assert target.read_bytes() == data
    gets = [r for r in tap.requests if r.method == "GET"]
    assert [r.headers.get("Range") for r in gets] == [
        None,
        f"bytes={MiB}-",
        f"bytes={3 * MiB + 7}-",
    ]
    assert [r.url.params.get("revision") for r in gets] == [
        None,
        written.revision,
        written.revision,
    ]
    # Reading bytes resumes the same way.
    cuts = iter([100_000])
    assert await client.read_bytes(f"{project}/r.bin") == data


async def test_failed_download_resumes_on_the_next_run(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    data = payload(3 * MiB, seed=12)
    written = await make_client(user).upload(f"{project}/again.bin", data)
    target = tmp_path / "again.bin"
    broken = make_client(
        user,
        tap=tap_class(cut=lambda r: MiB if r.method == "GET" else None),
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(StorageConnectionError):
        await broken.download(f"{project}/again.bin", target)
    assert not target.exists()
    partial = tmp_path / f".again.bin.{written.revision}.part"
    assert partial.stat().st_size == MiB

    tap = tap_class()
    client = make_client(user, tap=tap)
    await client.download(f"{project}/again.bin", target)
    assert target.read_bytes() == data
    assert not partial.exists()
    # The first answer names the revision, whose partial file is then found: the rest is
    # asked for, pinned to that revision.
    assert [r.method for r in tap.requests] == ["GET", "GET"]
    assert "Range" not in tap.requests[0].headers
    assert tap.requests[1].headers["Range"] == f"bytes={MiB}-"
    assert tap.requests[1].url.params["revision"] == written.revision


async def test_download_finds_its_partial_without_listing_the_directory(
    client: Any, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A get of n files into one directory must not list it n times (O(n^2)).
    def listed(*args: object, **kwargs: object) -> None:
        raise AssertionError("the target's directory was listed")

    monkeypatch.setattr(Path, "glob", listed)
    monkeypatch.setattr(Path, "iterdir", listed)
    monkeypatch.setattr(os, "scandir", listed)
    monkeypatch.setattr(os, "listdir", listed)
    written = await client.upload(f"{project}/n.bin", b"0123456789")
    partial = tmp_path / f".n.bin.{written.revision}.part"
    partial.write_bytes(b"01234")  # half of it, left by an earlier download
    await client.download(f"{project}/n.bin", tmp_path / "n.bin")
    assert (tmp_path / "n.bin").read_bytes() == b"0123456789"
    assert not partial.exists()


async def test_complete_partial_is_verified_and_renamed(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    written = await make_client(user).upload(f"{project}/c.bin", b"all of it")
    (tmp_path / f".c.bin.{written.revision}.part").write_bytes(b"all of it")
    tap = tap_class()
    await make_client(user, tap=tap).download(f"{project}/c.bin", tmp_path / "c.bin")
    assert (tmp_path / "c.bin").read_bytes() == b"all of it"
    assert [r.method for r in tap.requests] == ["GET"]  # closed after its headers


async def test_partial_longer_than_the_content_is_dropped(
    client: Any, project: str, tmp_path: Path
) -> None:
    written = await client.upload(f"{project}/l.bin", b"short")
    partial = tmp_path / f".l.bin.{written.revision}.part"
    partial.write_bytes(b"longer than the content")
    await client.download(f"{project}/l.bin", tmp_path / "l.bin")
    assert (tmp_path / "l.bin").read_bytes() == b"short"
    assert not partial.exists()


async def test_partial_of_another_revision_is_not_used(
    client: Any, project: str, tmp_path: Path
) -> None:
    await client.upload(f"{project}/s.bin", b"current")
    target = tmp_path / "s.bin"
    stale = tmp_path / ".s.bin.00000000-0000-0000-0000-000000000000.part"
    stale.write_bytes(b"stale bytes")
    await client.download(f"{project}/s.bin", target)
    assert target.read_bytes() == b"current"
    # Only the partial file of the revision the answer names is looked for (no listing of
    # the directory): another revision's is left alone.
    assert stale.read_bytes() == b"stale bytes"


async def test_corrupted_download_is_not_kept(
    make_client: Any, user: Any, project: str, tmp_path: Path, tap_class: Any
) -> None:
    await make_client(user).upload(f"{project}/bad.bin", b"the real content")

    class Corrupt(tap_class):  # type: ignore[misc,valid-type]
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self._corrupt(super().handle_request(request))

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=response.content.upper()
            )

        def _corrupt(self, response: httpx.Response) -> httpx.Response:
            response.read()
            return httpx.Response(
                response.status_code, headers=response.headers, content=response.content.upper()
            )

    client = make_client(user, tap=Corrupt())
    target = tmp_path / "bad.bin"
    with pytest.raises(ChecksumMismatch):
        await client.download(f"{project}/bad.bin", target)
    assert list(tmp_path.iterdir()) == []  # noqa: ASYNC240 - a test's own check


# -- async iterables (AsyncStorageClient only) -------------------------------------------


def async_client(user: Any, tap: Any = None, **kwargs: Any) -> Any:
    from anaconda_storage_core import AsyncStorageClient

    if tap is not None:
        kwargs["transport"] = tap.around(httpx.AsyncHTTPTransport())
    return AsyncStorageClient(api_key=user.api_key, domain=user.url, **kwargs)


@pytest.fixture
async def async_project(user: Any, project_name: str) -> str:
    """A new project of `user`, made without the sync/async `client` (async-only tests)."""
    async with async_client(user) as client:
        await client.create_project(f"{user.name}/{project_name}")
    return f"{user.name}/{project_name}"


async def chunks_of(data: bytes, size: int, pulled: list[int] | None = None) -> Any:
    for start in range(0, len(data), size):
        if pulled is not None:
            pulled.append(min(start + size, len(data)))
        yield data[start : start + size]


class SourceBroke(Exception):
    """What the test's source raises."""


async def test_upload_from_an_async_generator(
    user: Any, async_project: str, tmp_path: Path, tap_class: Any
) -> None:
    data = payload(300_000, seed=20)

    async def source() -> Any:
        yield data[:100_000]
        yield b""  # an empty chunk is not the end
        yield bytearray(data[100_000:200_000])
        yield memoryview(data[200_000:])

    tap = tap_class()
    async with async_client(user, tap) as client:
        info = await client.upload(f"{async_project}/a.bin", source())
        assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        # One PUT, of known length and checksum: the server checks it, a retry resends it.
        assert len(tap.routes("PUT")) == 1
        put = tap.requests[0]
        assert put.headers["Content-Length"] == str(len(data))
        assert put.headers["X-Storage-Crc32c"] == info.crc32c
        target = tmp_path / "a.bin"
        downloaded = await client.download(f"{async_project}/a.bin", target)
    assert target.read_bytes() == data
    assert downloaded.sha256 == info.sha256


async def test_upload_from_an_async_file(user: Any, async_project: str) -> None:
    data = payload(3 * MiB + 1, seed=21)

    class AsyncFile:  # the shape of aiofiles' and anyio's files: an awaitable read
        def __init__(self) -> None:
            self.buffer = io.BytesIO(data)

        async def read(self, size: int = -1) -> bytes:
            return self.buffer.read(size)

    async with async_client(user) as client:  # on the default (aiohttp) transport
        info = await client.upload(f"{async_project}/f.bin", AsyncFile())
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert await client.read_bytes(f"{async_project}/f.bin") == data


async def test_multipart_from_an_async_generator(
    user: Any, async_project: str, tmp_path: Path, tap_class: Any
) -> None:
    data = payload(17 * MiB + 5, seed=22)
    chunk = 777_777
    pulled: list[int] = []  # bytes read from the source, after each chunk
    read_when_sent: list[int] = []

    class Watch(tap_class):  # type: ignore[misc,valid-type]
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if "/parts/" in request.url.path:
                read_when_sent.append(pulled[-1])
            return await super().handle_async_request(request)

    tap = Watch()
    seen: list[int] = []
    async with async_client(user, tap, upload_settings=SMALL_PARTS) as client:
        info = await client.upload(
            f"{async_project}/big.bin", chunks_of(data, chunk, pulled), progress=seen.append
        )
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert part_numbers(tap) == [1, 2, 3, 4]
        assert sum(seen) == len(data)
        part = SMALL_PARTS.part_size
        # Memory stays bounded: when part n goes, at most part n + 1 has been read (the
        # next part is read while one is sent), and the threshold's worth before part 1.
        for number, read in enumerate(read_when_sent, start=1):
            assert read <= max(SMALL_PARTS.multipart_threshold, (number + 1) * part) + chunk
        target = tmp_path / "big.bin"
        await client.download(f"{async_project}/big.bin", target)
        assert [u async for u in client.list_uploads(async_project)] == []
    assert hashlib.sha256(target.read_bytes()).hexdigest() == info.sha256


async def test_upload_from_a_download_stream(user: Any, async_project: str) -> None:
    data = payload(11 * MiB, seed=25)
    async with async_client(user, upload_settings=SMALL_PARTS) as client:
        await client.upload(f"{async_project}/src.bin", data)
        async with client.stream(f"{async_project}/src.bin") as content:
            info = await client.upload(f"{async_project}/dst.bin", content)
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert await client.read_bytes(f"{async_project}/dst.bin") == data


@pytest.mark.parametrize("after", [7 * MiB, 12 * MiB])
async def test_async_source_that_fails_aborts_the_upload(
    user: Any, async_project: str, tap_class: Any, after: int
) -> None:
    data = payload(after, seed=23)

    async def source() -> Any:
        async for chunk in chunks_of(data, 1_000_000):
            yield chunk
        raise SourceBroke("the source broke")

    tap = tap_class()
    async with async_client(user, tap, upload_settings=SMALL_PARTS) as client:
        with pytest.raises(SourceBroke, match="the source broke"):
            await client.upload(f"{async_project}/broken.bin", source())
        assert part_numbers(tap)  # a part was sent before the source broke
        assert any(r.startswith("DELETE") and "/uploads/" in r for r in tap.routes())
        with pytest.raises(FileNotFoundError):
            await client.info(f"{async_project}/broken.bin")
        assert [u async for u in client.list_uploads(async_project)] == []


async def test_async_source_that_fails_early_sends_nothing(
    user: Any, async_project: str, tap_class: Any
) -> None:
    async def source() -> Any:
        yield b"some"
        raise SourceBroke("early")

    tap = tap_class()
    async with async_client(user, tap) as client:
        with pytest.raises(SourceBroke):
            await client.upload(f"{async_project}/early.bin", source())
    assert tap.requests == []


async def test_iterator_that_fails_aborts_the_upload(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    def source() -> Any:
        yield payload(6 * MiB, seed=24)
        raise SourceBroke("the iterator broke")

    tap = tap_class()
    client = make_client(user, tap=tap, upload_settings=SMALL_PARTS)
    with pytest.raises(SourceBroke):
        await client.upload(f"{project}/broken.bin", source())
    assert part_numbers(tap) == [1]
    assert [u async for u in client.list_uploads(project)] == []


@pytest.mark.parametrize(("items", "kind"), [(["text"], "str"), ([b"a", None], "NoneType")])
async def test_source_of_other_items_is_rejected(
    client: Any, project: str, items: list[Any], kind: str
) -> None:
    with pytest.raises(TypeError, match=f"gave a {kind}, not bytes"):  # not the end
        await client.upload(f"{project}/x", iter(items))


def test_blocking_client_rejects_an_async_iterable(user: Any, tap_class: Any) -> None:
    from anaconda_storage_core import StorageClient

    async def source() -> Any:
        yield b"never read"

    class AsyncFile:
        async def read(self, size: int = -1) -> bytes:
            raise AssertionError("never read")

    tap = tap_class()
    with StorageClient(
        api_key=user.api_key, domain=user.url, transport=tap.around(httpx.HTTPTransport())
    ) as client:
        for given in (source(), AsyncFile()):
            with pytest.raises(TypeError, match="cannot read an async iterable"):
                client.upload(f"{user.name}/p/x.bin", given)
    assert tap.requests == []  # rejected before anything was sent


async def test_async_downloads_are_not_read_in_small_pieces(
    user: Any, async_project: str, tmp_path: Path
) -> None:
    # httpx-aiohttp reads 16 KiB at a time unless told otherwise (transports.py, _LargeReads):
    # 8 MiB would then take at least 512 pieces, each written and hashed on its own.
    data = os.urandom(8 * MiB)
    pieces: list[int] = []
    async with async_client(user) as client:
        await client.upload(f"{async_project}/big.bin", data)
        await client.download(
            f"{async_project}/big.bin", tmp_path / "big.bin", progress=pieces.append
        )
    assert sum(pieces) == len(data)
    assert len(pieces) < len(data) // (16 * 1024)
    assert (tmp_path / "big.bin").read_bytes() == data


async def test_reading_files_leaves_no_reference_cycles(
    client: Any, project: str, tmp_path: Path
) -> None:
    # httpx's stream of a response refers back to the response; left to the garbage
    # collector, these cycles cost a tenth of the CPU of reading many small files.
    # Streamed content and JSON answers alike.
    for i in range(5):
        await client.upload(f"{project}/c{i}.bin", payload(4096, seed=i))
    await client.download(f"{project}/c0.bin", tmp_path / "warm.bin")  # connections made
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for i in range(5):
            await client.download(f"{project}/c{i}.bin", tmp_path / f"c{i}.bin")
            assert await client.read_bytes(f"{project}/c{i}.bin") == payload(4096, seed=i)
            assert (await client.info(f"{project}/c{i}.bin")).size == 4096  # a JSON answer
        gc.collect()
        cyclic = [type(o).__name__ for o in gc.garbage if isinstance(o, httpx.Response)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert cyclic == []


def test_save_whole_writes_beside_the_target_then_renames(tmp_path: Path) -> None:
    from anaconda_storage_core.transfer.download import partial_path, save_whole

    target = tmp_path / "q1.csv"
    target.write_bytes(b"old")
    data = b"a,b\r\n1,2\n" + bytes(range(256)) * 1024  # binary, newlines kept as they are
    save_whole(target, data, "rev-1")
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q1.csv"]  # no partial file left
    save_whole(str(tmp_path / "empty"), b"", "rev-2")
    assert (tmp_path / "empty").read_bytes() == b""
    # A partial file an earlier download of that revision left is replaced, not appended to.
    partial_path(target, "rev-3").write_bytes(b"stale bytes of an interrupted download")
    save_whole(target, b"new", "rev-3")
    assert target.read_bytes() == b"new"
    assert not partial_path(target, "rev-3").exists()


def test_save_whole_that_fails_leaves_the_target_and_no_partial_file(tmp_path: Path) -> None:
    from anaconda_storage_core.transfer.download import save_whole

    target = tmp_path / "q1.csv"
    target.write_bytes(b"kept")
    # Failing once the partial file is open: something that is not bytes to write.
    with pytest.raises(TypeError):
        save_whole(target, "not bytes", "rev-1")  # type: ignore[arg-type]
    assert target.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q1.csv"]
    # A directory where the file would go: the rename fails, the partial file is removed.
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "inside").write_bytes(b"x")
    with pytest.raises((IsADirectoryError, PermissionError)):  # PermissionError: Windows
        save_whole(tmp_path / "dir", b"new", "rev-2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "q1.csv"]
    assert (tmp_path / "dir" / "inside").read_bytes() == b"x"
