"""The ``checksum`` option: downloads and whole-file reads checked by CRC32C by default,
by sha256 on request, not at all with ``"none"``.

The real server never sends a damaged body, so for the mismatch paths the filesystem's
client gets a sender that flips a bit of each whole-file body on its way in (the headers,
the server's checksums among them, stay as sent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import httpx
import pytest
from fsspec.asyn import sync

from anaconda_storage_core import ChecksumMismatch
from anaconda_storage_fsspec import AnacondaFileSystem

DATA = bytes(range(256)) * 40  # 10,240 bytes


def _damage_bodies(client: Any) -> list[httpx.Request]:
    """From now on, every whole-file body `client` receives has its last bit flipped."""
    damaged: list[httpx.Request] = []
    send = client.http.send

    async def flip(request: httpx.Request, **options: Any) -> httpx.Response:
        response = await send(request, **options)
        if request.method != "GET" or response.status_code != 200:
            return response
        if response.headers.get("Content-Type") != "application/octet-stream":
            return response  # metadata, not content
        body = await response.aread()
        await response.aclose()
        damaged.append(request)
        bad = body[:-1] + bytes([body[-1] ^ 1])
        return httpx.Response(200, headers=response.headers, content=bad, request=request)

    client.http.send = flip
    return damaged


def _damage(fs: AnacondaFileSystem) -> list[httpx.Request]:
    return _damage_bodies(sync(fs.loop, fs._client))


def _filesystem(account: Any, **options: Any) -> AnacondaFileSystem:
    return AnacondaFileSystem(**account.options, skip_instance_cache=True, **options)


@pytest.mark.parametrize("checksum", [None, True, "crc32c", "sha256", "none", False])
def test_every_choice_reads_and_downloads(
    account: Any, project: str, tmp_path: Path, checksum: Any
) -> None:
    fs = _filesystem(account, checksum=checksum)
    try:
        fs.pipe_file(f"{project}/a.bin", DATA)
        assert fs.cat_file(f"{project}/a.bin") == DATA
        fs.get_file(f"{project}/a.bin", str(tmp_path / "a.bin"))
        assert (tmp_path / "a.bin").read_bytes() == DATA
        with fs.open(f"{project}/a.bin", "rb") as f:
            assert f.read() == DATA
    finally:
        fs.close()


def test_the_option_as_fsspec_passes_it(account: Any, project: str) -> None:
    options = {**account.options, "checksum": "sha256", "skip_instance_cache": True}
    fs = fsspec.filesystem("anaconda", **options)
    assert fs.download_check == "sha256"
    nested = fsspec.filesystem("anaconda", storage_options={**account.options, "checksum": "none"})
    assert nested.download_check is False
    assert _filesystem(account).download_check is True  # the default: CRC32C
    assert callable(fs.checksum)  # fsspec's method (Dask calls it) is not shadowed
    fs.close()
    nested.close()


def test_an_unknown_checksum_is_refused(account: Any) -> None:
    with pytest.raises(ValueError, match="checksum is 'crc32c', 'sha256' or 'none'"):
        _filesystem(account, checksum="md5")


def test_a_damaged_download_is_caught(account: Any, project: str, tmp_path: Path) -> None:
    fs = _filesystem(account)
    try:
        fs.pipe_file(f"{project}/a.bin", DATA)
        damaged = _damage(fs)
        target = tmp_path / "a.bin"
        with pytest.raises(ChecksumMismatch, match="CRC32C"):
            fs.get_file(f"{project}/a.bin", str(target))
        assert damaged
        assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file
        with pytest.raises(ChecksumMismatch, match="CRC32C"):
            fs.get(f"{project}/a.bin", str(target))
        # Per call: "none" takes the damaged bytes; "sha256" catches them too.
        fs.get_file(f"{project}/a.bin", str(target), checksum="none")
        assert target.read_bytes() != DATA
        with pytest.raises(ChecksumMismatch, match="sha256"):
            fs.get_file(f"{project}/a.bin", str(tmp_path / "b.bin"), checksum="sha256")
    finally:
        fs.close()


def test_a_damaged_whole_read_is_caught(account: Any, project: str) -> None:
    fs = _filesystem(account)
    try:
        fs.pipe_file(f"{project}/a.bin", DATA)
        _damage(fs)
        with pytest.raises(ChecksumMismatch):
            fs.cat_file(f"{project}/a.bin")
        with pytest.raises(ChecksumMismatch):
            fs.cat(f"{project}/a.bin")
        with pytest.raises(ChecksumMismatch), fs.open(f"{project}/a.bin", "rb") as f:
            f.read()  # a file read whole, in one block: asked without a range, checked
        assert fs.cat_file(f"{project}/a.bin", checksum="none")[:-1] == DATA[:-1]
        # A range carries no checksum of its own: it is not checked (nor damaged here).
        assert fs.cat_file(f"{project}/a.bin", start=10, end=20) == DATA[10:20]
    finally:
        fs.close()


def test_the_option_none_checks_nothing(account: Any, project: str, tmp_path: Path) -> None:
    fs = _filesystem(account, checksum="none")
    try:
        fs.pipe_file(f"{project}/a.bin", DATA)
        _damage(fs)
        assert fs.cat_file(f"{project}/a.bin") != DATA
        fs.get_file(f"{project}/a.bin", str(tmp_path / "a.bin"))
        assert (tmp_path / "a.bin").read_bytes() != DATA
    finally:
        fs.close()


@pytest.mark.anyio
async def test_asynchronous_reads_are_checked(account: Any, project: str) -> None:
    fs = AnacondaFileSystem(**account.options, asynchronous=True, skip_instance_cache=True)
    try:
        await fs._pipe_file(f"{project}/a.bin", DATA)
        async with await fs.open_async(f"{project}/a.bin") as f:
            assert await f.read() == DATA
        _damage_bodies(await fs._client())
        with pytest.raises(ChecksumMismatch):
            await fs._cat_file(f"{project}/a.bin")
        async with await fs.open_async(f"{project}/a.bin") as f:
            with pytest.raises(ChecksumMismatch):
                await f.read()
    finally:
        await fs._close()
