"""The transfer checksum: CRC32C by default, sha256 on request, none with verify=False.

A damaged body is one the real server cannot produce, so the downloads here are answered
by an `httpx.MockTransport`; the round trips against the real server are at the end.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_core import AsyncStorageClient, ChecksumMismatch, StorageClient, checksum
from anaconda_storage_core.transfer.digest import ContentCheck, content_check

pytestmark = pytest.mark.anyio

BASE = "https://storage.example"
REVISION = "5f0c6ad4-0000-4000-8000-000000000001"
SENT = b"the content the server sent"
DAMAGED = b"the content the server sEnt"  # one bit flipped on the way


def crc(data: bytes) -> str:
    return checksum.encode(checksum.crc32c(data))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def answer(body: bytes, **headers: str) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"ETag": f'"{REVISION}"', **headers})

    return handle


class Caller:
    """The same call on the blocking or the asyncio client, awaited either way."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    async def call(self, handler: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        common: dict[str, Any] = {
            "api_key": "k",
            "domain": BASE,
            "transport": httpx.MockTransport(handler),
        }
        if self.kind == "sync":
            with StorageClient(**common) as client:
                return getattr(client, method)("alice/sales/q1.csv", *args, **kwargs)
        async with AsyncStorageClient(**common) as aclient:
            return await getattr(aclient, method)("alice/sales/q1.csv", *args, **kwargs)

    async def download(self, handler: Any, dest: Any, **kwargs: Any) -> Any:
        return await self.call(handler, "download", dest, **kwargs)


@pytest.fixture(params=["sync", "async"])
def caller(request: pytest.FixtureRequest) -> Caller:
    return Caller(request.param)


def test_wire_form_and_check_values() -> None:
    assert checksum.crc32c(b"123456789") == 0xE3069283  # CRC-32/ISCSI's check value
    assert checksum.encode(0xE3069283) == "4waSgw=="
    assert checksum.decode("4waSgw==") == 0xE3069283
    whole = checksum.crc32c(b"123456789")
    assert checksum.combine(checksum.crc32c(b"1234"), checksum.crc32c(b"56789"), 5) == whole
    running = checksum.Crc32c()
    for piece in (b"12", b"", b"3456789"):
        running.update(piece)
    assert running.value == whole
    assert running.length == 9
    for bad in ("", "AAAA", "AAAAAAAA", "not base64!"):
        with pytest.raises(ValueError, match="CRC32C"):
            checksum.decode(bad)


def test_which_check() -> None:
    both = (crc(SENT), sha(SENT))
    check = content_check(True, *both)
    assert isinstance(check, ContentCheck)
    assert check.algorithm == "crc32c"
    assert content_check("crc32c", *both).algorithm == "crc32c"  # type: ignore[union-attr]
    assert content_check("sha256", *both).algorithm == "sha256"  # type: ignore[union-attr]
    assert content_check(False, *both) is None
    # A server that sends no CRC32C (or a malformed one): sha256 instead.
    assert content_check(True, None, sha(SENT)).algorithm == "sha256"  # type: ignore[union-attr]
    assert content_check(True, "junk", sha(SENT)).algorithm == "sha256"  # type: ignore[union-attr]
    assert content_check(True, None, None) is None


async def test_damaged_download_is_caught_by_crc32c(caller: Caller, tmp_path: Path) -> None:
    # The server's sha256 is made to match the damaged body: only the CRC32C can tell.
    handler = answer(DAMAGED, **{"X-Storage-Crc32c": crc(SENT), "X-Storage-Sha256": sha(DAMAGED)})
    target = tmp_path / "q1.csv"
    with pytest.raises(ChecksumMismatch) as caught:
        await caller.download(handler, target)
    assert (caught.value.expected, caught.value.actual) == (crc(SENT), crc(DAMAGED))
    assert "CRC32C" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # noqa: ASYNC240 - a test's own check
    # verify="sha256" checks the sha256 instead (which matches here); False checks nothing.
    info = await caller.download(handler, target, verify="sha256")
    assert target.read_bytes() == DAMAGED
    assert info.crc32c == crc(SENT)
    target.unlink()
    await caller.download(handler, target, verify=False)
    assert target.read_bytes() == DAMAGED


async def test_damaged_download_is_caught_by_sha256_on_request(
    caller: Caller, tmp_path: Path
) -> None:
    handler = answer(DAMAGED, **{"X-Storage-Crc32c": crc(DAMAGED), "X-Storage-Sha256": sha(SENT)})
    target = tmp_path / "q1.csv"
    await caller.download(handler, target)  # the CRC32C matches: accepted
    target.unlink()
    with pytest.raises(ChecksumMismatch) as caught:
        await caller.download(handler, target, verify="sha256")
    assert (caught.value.expected, caught.value.actual) == (sha(SENT), sha(DAMAGED))
    assert not target.exists()


async def test_without_a_crc32c_the_sha256_is_checked(caller: Caller, tmp_path: Path) -> None:
    handler = answer(DAMAGED, **{"X-Storage-Sha256": sha(SENT)})
    with pytest.raises(ChecksumMismatch):
        await caller.download(handler, tmp_path / "q1.csv")


async def test_download_into_a_file_object(caller: Caller, tmp_path: Path) -> None:
    handler = answer(DAMAGED, **{"X-Storage-Crc32c": crc(SENT)})
    with (tmp_path / "out").open("wb") as file, pytest.raises(ChecksumMismatch):
        await caller.download(handler, file)
    with (tmp_path / "out").open("wb") as file:
        await caller.download(handler, file, verify=False)


async def test_an_unknown_verify_is_refused(caller: Caller, tmp_path: Path) -> None:
    handler = answer(SENT, **{"X-Storage-Crc32c": crc(SENT)})
    with pytest.raises(ValueError, match="verify"):
        await caller.download(handler, tmp_path / "q1.csv", verify="md5")


async def test_read_bytes_of_a_whole_file_is_checked(caller: Caller) -> None:
    handler = answer(DAMAGED, **{"X-Storage-Crc32c": crc(SENT), "X-Storage-Sha256": sha(DAMAGED)})
    with pytest.raises(ChecksumMismatch, match=r"reading alice/sales/q1\.csv") as caught:
        await caller.call(handler, "read_bytes")
    assert (caught.value.expected, caught.value.actual) == (crc(SENT), crc(DAMAGED))
    with pytest.raises(ChecksumMismatch):
        await caller.call(handler, "read_bytes", 0)  # from byte 0 to the end: the whole file
    assert await caller.call(handler, "read_bytes", verify="sha256") == DAMAGED
    assert await caller.call(handler, "read_bytes", verify=False) == DAMAGED
    strong = answer(DAMAGED, **{"X-Storage-Crc32c": crc(DAMAGED), "X-Storage-Sha256": sha(SENT)})
    assert await caller.call(strong, "read_bytes") == DAMAGED
    with pytest.raises(ChecksumMismatch, match="sha256"):
        await caller.call(strong, "read_bytes", verify="sha256")
    with pytest.raises(ValueError, match="verify"):
        await caller.call(handler, "read_bytes", verify="md5")


async def test_a_range_is_not_checked(caller: Caller) -> None:
    # A range carries no digest of its own; the whole content's cannot check it.
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Range"] == "bytes=4-10"
        headers = {
            "ETag": f'"{REVISION}"',
            "Content-Range": f"bytes 4-10/{len(SENT)}",
            "X-Storage-Sha256": sha(SENT),
        }
        return httpx.Response(206, content=DAMAGED[4:11], headers=headers)

    assert await caller.call(handler, "read_bytes", 4, 11) == DAMAGED[4:11]


# -- against the real server -----------------------------------------------------------------


def test_round_trip_with_the_server(user: Any, project_name: str, tmp_path: Path) -> None:
    sent: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [sent.append]})
    with http, StorageClient(api_key=user.api_key, domain=user.url, http_client=http) as client:
        uri = f"{user.name}/{project_name}"
        client.create_project(uri)
        info = client.upload(f"{uri}/small.bin", SENT)
        assert info.crc32c == crc(SENT)
        assert sent[-1].headers["X-Storage-Crc32c"] == crc(SENT)
        assert "X-Storage-Sha256" not in sent[-1].headers
        big = tmp_path / "big.bin"
        big.write_bytes(SENT * 50_000)
        info = client.upload(f"{uri}/big.bin", big, multipart_threshold=0, part_size=5 << 20)
        assert info.crc32c == crc(SENT * 50_000)
        assert info.sha256 == sha(SENT * 50_000)
        got = client.download(f"{uri}/big.bin", tmp_path / "back.bin")
        assert got.crc32c == crc(SENT * 50_000)
        assert (tmp_path / "back.bin").read_bytes() == SENT * 50_000
        assert client.info(f"{uri}/big.bin").crc32c == crc(SENT * 50_000)  # type: ignore[union-attr]
        info = client.upload(f"{uri}/strong.bin", SENT, verify="sha256")
        assert sent[-1].headers["X-Storage-Sha256"] == sha(SENT)
        client.download(f"{uri}/strong.bin", tmp_path / "strong.bin", verify="sha256")
        assert client.read_bytes(f"{uri}/big.bin") == SENT * 50_000
        assert client.read_bytes(f"{uri}/strong.bin", verify="sha256") == SENT
        assert client.read_bytes(f"{uri}/big.bin", 3, 9) == (SENT * 50_000)[3:9]


async def test_async_read_bytes_with_the_server(user: Any, project_name: str) -> None:
    async with AsyncStorageClient(api_key=user.api_key, domain=user.url) as client:
        uri = f"{user.name}/{project_name}"
        await client.create_project(uri)
        await client.upload(f"{uri}/small.bin", SENT)
        assert await client.read_bytes(f"{uri}/small.bin") == SENT
        assert await client.read_bytes(f"{uri}/small.bin", verify="sha256") == SENT
        assert await client.read_bytes(f"{uri}/small.bin", -4) == SENT[-4:]


def test_the_servers_checksum_mismatch_is_the_integrity_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "checksum_mismatch", "message": "damaged on the way"}}
        return httpx.Response(400, json=body)

    transport = httpx.MockTransport(handler)
    client = StorageClient(api_key="k", domain=BASE, transport=transport)
    with client, pytest.raises(ChecksumMismatch, match="damaged on the way") as caught:
        client.upload("alice/sales/q1.csv", SENT)
    assert caught.value.status == 400
