"""`await fs.open_async(path, mode)`: asynchronous files, read pinned to a revision, written
in parts of the block size, aborted when the `async with` block raises."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from anaconda_storage_core import ReadOnlyError
from anaconda_storage_fsspec import AnacondaFileSystem
from anaconda_storage_fsspec.files import AsyncAnacondaFile

pytestmark = pytest.mark.anyio

DATA = bytes(range(256)) * 40  # 10,240 bytes


class Boom(Exception):
    pass


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the client's transport is aiohttp


@pytest.fixture
async def afs(account: object) -> AsyncIterator[AnacondaFileSystem]:
    """The module's user, through a filesystem used on the test's own loop."""
    fs = AnacondaFileSystem(
        **account.options,  # type: ignore[attr-defined]
        asynchronous=True,
        skip_instance_cache=True,
    )
    yield fs
    await fs._close()


async def _uploads(fs: AnacondaFileSystem, project: str) -> list[object]:
    client = await fs._client()
    return [upload async for upload in client.list_uploads(project)]


async def _write_then_fail(
    fs: AnacondaFileSystem, path: str, data: bytes, block_size: int | None = None
) -> None:
    async with await fs.open_async(path, "wb", block_size=block_size) as f:
        await f.write(data)
        if len(data) > (block_size or fs.blocksize):
            assert f._session is not None  # parts were sent
        raise Boom


async def test_a_round_trip(afs: AnacondaFileSystem, project: str) -> None:
    path = f"{project}/dir/a.bin"
    async with await afs.open_async(path, "wb") as f:
        assert isinstance(f, AsyncAnacondaFile)
        assert f.writable()
        assert not f.readable()
        assert await f.write(DATA[:100]) == 100
        await f.write(DATA[100:])
        assert not await afs._exists(path)  # nothing is visible before close
    assert f.closed
    async with await afs.open_async(path) as f:
        assert f.readable()
        assert not f.writable()
        assert f.size == len(DATA)
        assert await f.read() == DATA
        assert await f.read() == b""
    assert await afs._cat_file(path) == DATA
    assert (await afs._ls(f"{project}/dir", detail=False)) == [path]  # listings refreshed


async def test_reads_take_ranges_seek_and_tell(afs: AnacondaFileSystem, project: str) -> None:
    path = f"{project}/ranges.bin"
    await afs._pipe_file(path, DATA)
    f = await afs.open_async(path, "rb")
    assert await f.read(10) == DATA[:10]
    assert f.tell() == 10
    assert await f.read(5) == DATA[10:15]
    assert f.seek(1000) == 1000
    assert await f.read(24) == DATA[1000:1024]
    assert f.seek(-40, os.SEEK_END) == len(DATA) - 40
    assert await f.read(100) == DATA[-40:]  # a read past the end stops there
    f.seek(5, os.SEEK_SET)
    f.seek(5, os.SEEK_CUR)
    assert await f.read(-1) == DATA[10:]
    f.seek(len(DATA) + 10)
    assert await f.read() == b""
    await f.close()
    with pytest.raises(ValueError, match="closed"):
        await f.read()


async def test_a_reader_is_pinned_to_the_revision_it_opened(
    afs: AnacondaFileSystem, project: str
) -> None:
    path = f"{project}/pinned.bin"
    old, new = os.urandom(4096), os.urandom(5000)
    await afs._pipe_file(path, old)
    async with await afs.open_async(path) as f:
        head = await f.read(1000)
        await afs._pipe_file(path, new)  # a concurrent overwrite
        rest = await f.read()
        assert f.revision == (await afs._info(f"{path}#-1"))["revision"]
    assert head + rest == old
    assert await afs._cat_file(path) == new


async def test_history_opens_for_reading(afs: AnacondaFileSystem, project: str) -> None:
    path = f"{project}/h.txt"
    await afs._pipe_file(path, b"v1")
    checkpoint = await afs._checkpoint(project)
    await afs._pipe_file(path, b"v2")
    owner, name = project.split("/")
    for address in (f"{path}#-1", f"{owner}/{name}#{checkpoint['id']}/h.txt"):
        async with await afs.open_async(address) as f:
            assert await f.read() == b"v1"


async def test_a_large_write_goes_in_parts_of_the_block_size(
    afs: AnacondaFileSystem, project: str
) -> None:
    path = f"{project}/parts.bin"
    data = os.urandom(10_000)
    async with await afs.open_async(path, "wb", block_size=1024) as f:
        for start in range(0, len(data), 700):
            await f.write(data[start : start + 700])
            assert len(f.buffer.getvalue()) < 1024 + 700  # memory bounded by a block
        assert f._session is not None
        assert len(await _uploads(afs, project)) == 1  # a session, not yet a file
        assert not await afs._exists(path)
    assert await afs._cat_file(path) == data
    assert [p.size for p in f._parts] == [1024] * 9 + [784]
    assert await _uploads(afs, project) == []


async def test_an_exception_in_the_with_block_writes_nothing(
    afs: AnacondaFileSystem, project: str
) -> None:
    small, large = f"{project}/small.txt", f"{project}/large.bin"
    with pytest.raises(Boom):
        await _write_then_fail(afs, small, b"half")
    with pytest.raises(Boom):
        await _write_then_fail(afs, large, os.urandom(5000), block_size=1024)
    assert not await afs._exists(small)
    assert not await afs._exists(large)
    assert await _uploads(afs, project) == []  # the session was aborted


async def test_xb_and_ab(afs: AnacondaFileSystem, project: str) -> None:
    path = f"{project}/log.txt"
    async with await afs.open_async(path, "xb") as f:
        await f.write(b"one\n")
    with pytest.raises(FileExistsError):
        await afs.open_async(path, "xb")
    async with await afs.open_async(path, "ab") as f:
        await f.write(b"two\n")
    big = os.urandom(3000)
    async with await afs.open_async(path, "ab", block_size=1024) as f:  # old and new, in parts
        await f.write(big)
    assert await afs._cat_file(path) == b"one\ntwo\n" + big
    f = await afs.open_async(path, "ab")
    await f.write(b"lost\n")
    await afs._pipe_file(path, b"other\n")
    with pytest.raises(FileExistsError):  # nobody's write is lost
        await f.close()
    assert await afs._cat_file(path) == b"other\n"


@pytest.mark.parametrize("mode", ["wb", "ab", "xb"])
async def test_history_is_read_only(
    afs: AnacondaFileSystem, fs: AnacondaFileSystem, project: str, mode: str
) -> None:
    await afs._pipe_file(f"{project}/f.txt", b"v1")
    owner, name = project.split("/")
    for path in (f"{owner}/{name}#-1/f.txt", f"{owner}/{name}#2024-01-01T00:00:00/f.txt"):
        with pytest.raises(ReadOnlyError, match="read-only") as async_error:
            await afs.open_async(path, mode)
        with pytest.raises(ReadOnlyError) as sync_error:
            fs.open(path, mode)  # the same error as the blocking open's
        assert str(async_error.value) == str(sync_error.value)
    with pytest.raises(PermissionError, match="read-only"):
        await afs.open_async(f"{project}/f.txt#-1", mode)


async def test_missing_files_and_directories(afs: AnacondaFileSystem, project: str) -> None:
    with pytest.raises(FileNotFoundError):
        await afs.open_async(f"{project}/nothing.txt")
    await afs._makedirs(f"{project}/dir", exist_ok=True)
    with pytest.raises(IsADirectoryError):
        await afs.open_async(f"{project}/dir")
    with pytest.raises(FileNotFoundError):
        await afs.open_async(f"{project}-missing/file.txt")


async def test_only_binary_modes_without_compression(afs: AnacondaFileSystem, project: str) -> None:
    with pytest.raises(ValueError, match="binary"):
        await afs.open_async(f"{project}/t.txt", "r")
    with pytest.raises(ValueError, match="binary"):
        await afs.open_async(f"{project}/t.txt", "wb", compression="gzip")
    with pytest.raises(ValueError, match="not supported"):
        await afs.open_async(f"{project}/t.txt", "r+b")
    f = await afs.open_async(f"{project}/t.txt", "wb")
    with pytest.raises(TypeError, match="async with"), f:
        pass
    with pytest.raises(ValueError, match="read mode"):
        await f.read()
    await f.discard()


def _readme_async_example() -> str:
    """The README's `copy_head` example, as a user copies it."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    return next(block for block in blocks if "async def copy_head" in block)


@pytest.mark.parametrize("runner", ["asyncio.run", "asyncio.Runner"])
def test_the_readme_async_example_leaves_nothing_unclosed(
    runner: str, fs: AnacondaFileSystem, account: object, project: str, tmp_path: Path
) -> None:
    # Issue 11, 3.5: aiohttp printed "Unclosed client session" / "Unclosed connector" at
    # exit: the filesystem outlived the loop its session belonged to.
    fs.pipe_file(f"{project}/2024/q1.csv", DATA)
    code = _readme_async_example()
    code = code.replace('api_key="..."', f"api_key={account.api_key!r}")  # type: ignore[attr-defined]
    code = code.replace('domain="http://127.0.0.1:8765"', f"domain={account.url!r}")  # type: ignore[attr-defined]
    code = code.replace("alice/sales", project)
    if runner == "asyncio.Runner":
        if sys.version_info < (3, 11):
            pytest.skip("asyncio.Runner is new in Python 3.11")
        code = code.replace("asyncio.run(", "with asyncio.Runner() as runner:\n    runner.run(")
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, "-X", "dev", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Unclosed" not in done.stderr
    assert "unclosed" not in done.stderr
    assert fs.cat_file(f"{project}/2024/q1-head.csv") == DATA[100:1124]


def test_a_filesystem_used_on_two_loops_closes_each(account: object, project: str) -> None:
    # Each asyncio.run closes the client of its loop as it ends; the filesystem makes a
    # new one on the next loop.
    afs = AnacondaFileSystem(**account.options, asynchronous=True, skip_instance_cache=True)  # type: ignore[attr-defined]
    clients = []

    async def use(name: str) -> None:
        await afs._pipe_file(f"{project}/{name}", DATA)
        clients.append(await afs._client())

    asyncio.run(use("one.bin"))
    asyncio.run(use("two.bin"))
    first, second = clients
    assert first is not second
    assert first.http.is_closed
    assert second.http.is_closed
    assert afs._sessions.clients == {}
    assert afs._sessions.closers == {}
