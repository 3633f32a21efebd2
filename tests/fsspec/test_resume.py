"""`fs.put_file` of a large file, interrupted (its task cancelled), keeps the parts the
server saved; run again, it sends only the rest (issue 11, section 4)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fsspec.callbacks import Callback

from anaconda_storage_core import UploadSettings
from anaconda_storage_fsspec import AnacondaFileSystem
from anaconda_storage_server.proxy import NetworkProxy

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the client's transport is aiohttp


@pytest.fixture
def proxy(account: object) -> Iterator[NetworkProxy]:
    """A proxy to the server, which counts the bytes sent to it."""
    with NetworkProxy(account.url) as running:  # type: ignore[attr-defined]
        yield running


@pytest.fixture
async def afs(account: object, proxy: NetworkProxy) -> AsyncIterator[AnacondaFileSystem]:
    fs = AnacondaFileSystem(
        api_key=account.api_key,  # type: ignore[attr-defined]
        domain=proxy.url,
        asynchronous=True,
        skip_instance_cache=True,
    )
    client = await fs._client()
    # Parts of 5 MiB, one at a time, so that a few MiB make a multipart upload.
    client.upload_settings = UploadSettings(
        part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=1
    )
    yield fs
    await fs._close()


class Watch(Callback):  # type: ignore[misc]
    """Counts the bytes put_file reports; `passed` once there are more than `limit`."""

    def __init__(self, limit: int | None = None) -> None:
        super().__init__()
        self.moved = 0
        self.limit = limit
        self.passed = asyncio.Event()

    def relative_update(self, inc: int = 1) -> None:
        self.moved += inc
        if self.limit is not None and self.moved > self.limit:
            self.passed.set()


async def test_interrupted_put_file_resumes(
    afs: AnacondaFileSystem, proxy: NetworkProxy, project: str, tmp_path: Path
) -> None:
    data = hashlib.sha256(b"put").digest() * (20 * MiB // 32)  # four parts
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    remote = f"{project}/big.bin"

    first = Watch(limit=11 * MiB)  # inside part 3
    task = asyncio.ensure_future(afs._put_file(str(local), remote, callback=first))
    await first.passed.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    client = await afs._client()
    [session] = [upload async for upload in client.list_uploads(remote)]
    held = (await client.get_upload(remote, session.id)).parts
    assert [part.number for part in held][:2] == [1, 2]

    kept = sum(part.size for part in held)
    assert kept >= 10 * MiB
    before = proxy.forwarded
    again = Watch()
    await afs._put_file(str(local), remote, callback=again)
    assert again.moved == len(data)  # the kept parts count as moved
    assert proxy.forwarded - before < len(data) - kept + MiB  # the rest, and small requests
    assert [upload async for upload in client.list_uploads(remote)] == []
    assert await afs._cat_file(remote) == data
