"""Resume that users can count on (issue 11, section 4): an interrupted multipart upload of a
local file keeps what the server saved, and the same upload run again sends only the rest;
through a network that cuts connections mid-body, and across a server killed with -9."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anaconda_storage_core import (
    AsyncStorageClient,
    MultipartUpload,
    RetryPolicy,
    StorageClient,
    StorageError,
    UploadSettings,
)
from anaconda_storage_server.proxy import NetworkProxy
from anaconda_storage_server.testing import LocalServer

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024
SMALL_PARTS = UploadSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=1)


def payload(size: int, seed: int) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB, not all alike
    return (block * (size // len(block) + 1))[:size]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Interrupted(BaseException):
    """What a Ctrl-C is to the upload: a BaseException raised from inside it."""


class Counting:
    """A progress callback: bytes reported, and those reported once the session was known
    (what was sent, kept parts aside)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.total = 0
        self.stop_after = stop_after
        self.states: list[MultipartUpload] = []
        self.at_start: tuple[int, int, bool] | None = None  # kept, kept_parts, resumed
        self.after_session = 0
        self.passed = threading.Event()

    def __call__(self, amount: int) -> None:
        self.total += amount
        if self.states:
            self.after_session += amount
        if self.stop_after is not None and self.total > self.stop_after:
            self.passed.set()
            raise Interrupted()

    def on_multipart(self, state: MultipartUpload) -> None:
        self.states.append(state)
        self.at_start = (state.kept, state.kept_parts, state.resumed)


def parts_on_server(client: StorageClient, uri: str) -> list[tuple[int, int]]:
    sessions = list(client.list_uploads(uri))
    assert len(sessions) == 1, sessions
    return [(p.number, p.size) for p in client.get_upload(uri, sessions[0].id).parts]


def test_an_interrupted_upload_keeps_its_parts_and_the_rerun_sends_the_rest(
    user: Any, tmp_path: Path
) -> None:
    data = payload(20 * MiB, seed=1)  # four parts of 5 MiB, sent one at a time
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    client = StorageClient(api_key=user.api_key, domain=user.url, upload_settings=SMALL_PARTS)
    client.create_project(f"{user.name}/resume")
    uri = f"{user.name}/resume/big.bin"

    first = Counting(stop_after=11 * MiB)  # inside part 3: parts 1 and 2 are saved
    with pytest.raises(Interrupted):
        client.upload(uri, local, progress=first, on_multipart=first.on_multipart)
    [state] = first.states
    assert (state.parts, state.kept_parts, state.kept, state.resumed) == (4, 2, 10 * MiB, False)
    assert parts_on_server(client, uri) == [(1, 5 * MiB), (2, 5 * MiB)]

    again = Counting()
    info = client.upload(uri, local, progress=again, on_multipart=again.on_multipart)
    [resumed] = again.states
    assert resumed.upload_id == state.upload_id
    assert again.at_start == (10 * MiB, 2, True)
    assert again.after_session == 10 * MiB  # parts 3 and 4 only
    assert again.total == len(data)  # the kept parts count as done
    assert (resumed.kept, resumed.kept_parts) == (len(data), 4)  # kept current
    assert info.sha256 == sha256(data)
    assert client.read_bytes(uri) == data
    assert list(client.list_uploads(uri)) == []
    client.close()


async def test_a_cancelled_async_upload_keeps_its_parts(user: Any, tmp_path: Path) -> None:
    data = payload(20 * MiB, seed=2)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    uri = f"{user.name}/cancelled/big.bin"
    async with AsyncStorageClient(
        api_key=user.api_key, domain=user.url, upload_settings=SMALL_PARTS
    ) as client:
        await client.create_project(f"{user.name}/cancelled")
        progress = Counting()
        reached = asyncio.Event()

        def watch(amount: int) -> None:
            progress(amount)
            if progress.total > 11 * MiB:
                reached.set()

        task = asyncio.ensure_future(
            client.upload(uri, local, progress=watch, on_multipart=progress.on_multipart)
        )
        await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        [state] = progress.states
        sessions = [s async for s in client.list_uploads(uri)]
        assert [s.id for s in sessions] == [state.upload_id]  # not aborted
        held = (await client.get_upload(uri, state.upload_id)).parts
        assert [p.number for p in held][:2] == [1, 2]
        # Part 3 was in flight: the server may have read all of it from the socket before
        # the cancellation reached the connection, and then keeps it unbeknown to the
        # client. What the client counted is what it was told of, a lower bound.
        on_server = sum(p.size for p in held)
        assert 10 * MiB <= state.kept <= on_server

        again = Counting()
        info = await client.upload(uri, local, progress=again, on_multipart=again.on_multipart)
        assert again.at_start == (on_server, len(held), True)
        assert again.after_session == len(data) - on_server
        assert info.sha256 == sha256(data)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_multipart_upload_through_a_network_that_cuts_connections(
    user: Any, tmp_path: Path, kind: str
) -> None:
    data = payload(20 * MiB, seed=3)
    local = tmp_path / "cut.bin"
    local.write_bytes(data)
    settings = UploadSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=2)
    project = f"{user.name}/cut{kind}"
    # Three connections are cut 2 MiB into what they carry: mid-body of a part.
    with NetworkProxy(user.url, cut_after=2 * MiB, cuts=3) as proxy:
        options: dict[str, Any] = {
            "api_key": user.api_key,
            "domain": proxy.url,
            "upload_settings": settings,
            "retry": RetryPolicy(attempts=5, backoff=0.05),
        }
        if kind == "sync":
            with StorageClient(**options) as client:
                client.create_project(project)
                info = client.upload(f"{project}/cut.bin", local)
        else:
            async with AsyncStorageClient(**options) as aclient:
                await aclient.create_project(project)
                info = await aclient.upload(f"{project}/cut.bin", local)
        assert proxy.cut == 3
    assert info.sha256 == sha256(data)
    assert info.size == len(data)
    with StorageClient(api_key=user.api_key, domain=user.url) as direct:
        assert sha256(direct.read_bytes(f"{project}/cut.bin")) == sha256(data)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[LocalServer]:
    server = LocalServer(tmp_path / "data")
    server.start()
    yield server
    server.stop()


def test_upload_resumes_after_the_server_is_killed_and_restarted(
    own_server: LocalServer, tmp_path: Path
) -> None:
    key = own_server.add_user("crash")
    data = payload(30 * MiB, seed=4)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    uri = "crash/p/big.bin"
    settings = UploadSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=2)
    # Slow enough (8 MiB/s) that the server dies with the upload half-way.
    with (
        NetworkProxy(own_server.url, bandwidth=8 * MiB) as proxy,
        StorageClient(api_key=key, domain=own_server.url) as direct,
    ):
        direct.create_project("crash/p")
        client = StorageClient(
            api_key=key,
            domain=proxy.url,
            upload_settings=settings,
            retry=RetryPolicy(attempts=2, backoff=0.05),
        )
        errors: list[BaseException] = []

        def upload() -> None:
            try:
                client.upload(uri, local)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=upload)
        thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sessions = list(direct.list_uploads(uri))
            if sessions and len(direct.get_upload(uri, sessions[0].id).parts) >= 2:
                break
            time.sleep(0.02)
        own_server.kill()
        thread.join(60)
        assert not thread.is_alive()
        assert len(errors) == 1
        assert isinstance(errors[0], StorageError), errors
        client.close()

        own_server.start()  # the same data directory, the same port
        held = parts_on_server(direct, uri)
        assert len(held) >= 2
        sent_before = proxy.forwarded
        progress = Counting()
        with StorageClient(api_key=key, domain=proxy.url, upload_settings=settings) as again:
            info = again.upload(uri, local, progress=progress, on_multipart=progress.on_multipart)
        kept = sum(size for _, size in held)
        assert progress.at_start == (kept, len(held), True)
        assert progress.after_session == len(data) - kept
        assert proxy.forwarded - sent_before < len(data) - kept + 1 * MiB  # requests aside
        assert info.sha256 == sha256(data)
        assert sha256(direct.read_bytes(uri)) == sha256(data)


async def test_small_reads_cut_mid_body_by_the_server_are_read_again_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The local server cuts half of its content answers after half their body. A small
    # file is read whole with its answer: each cut read is sent again, pinned to
    # the revision first answered, until the whole content arrives and checks out.
    caplog.set_level(logging.INFO, logger="anaconda_storage_core")
    files = {f"f{i}.bin": payload(64 * 1024 + i, seed=i) for i in range(12)}
    with LocalServer(tmp_path / "data", cut_rate=0.5) as server:
        key = server.add_user("cuts")
        retry = RetryPolicy(attempts=40, backoff=0.001)
        with StorageClient(api_key=key, domain=server.url, retry=retry) as client:
            client.create_project("cuts/p")
            for name, data in files.items():
                client.upload(f"cuts/p/{name}", data)
            for name, data in files.items():
                assert client.read_bytes(f"cuts/p/{name}") == data
                client.download(f"cuts/p/{name}", tmp_path / name)
                assert (tmp_path / name).read_bytes() == data
        async with AsyncStorageClient(api_key=key, domain=server.url, retry=retry) as aclient:
            for name, data in files.items():
                assert await aclient.read_bytes(f"cuts/p/{name}") == data
    resumed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("resuming")]
    assert len(resumed) >= 5  # cuts did happen (36 reads, each cut with odds of one half)
    assert all(" at byte 0 " in message for message in resumed)  # read again whole
