"""--verify on the commands that download: crc32c (the default), sha256, none.

The real server never announces a wrong checksum, so a transport between the CLI's client
and the server replaces one of the checksums of each content answer (`X-Storage-Crc32c` or
`X-Storage-Sha256`): the check that reads that header fails, the other one passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_core import StorageClient, checksum

CONTENT = b"a,b\n1,2\n"
WRONG = {checksum.HEADER: checksum.encode(0), "X-Storage-Sha256": "0" * 64}


class Tampering(httpx.BaseTransport):
    """Real HTTP, with one header of every content answer replaced by a wrong value."""

    def __init__(self, header: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.header = header

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "GET" and self.header in response.headers:
            response.headers[self.header] = WRONG[self.header]
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def project(cli: Any) -> str:
    name = f"{cli.account.name}/p"
    cli("mkdir", name).ok()
    cli("cp", "-", f"{name}/dir/a.csv", input=CONTENT).ok()
    return name


@pytest.fixture
def tamper(cli: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`tamper(header)`: from now on, the CLI's client sees `header` wrong."""

    def start(header: str) -> None:
        def connect() -> StorageClient:
            account = cli.account
            return StorageClient(
                api_key=account.api_key, domain=account.url, transport=Tampering(header)
            )

        monkeypatch.setattr("anaconda_storage_cli.remote.connect", connect)

    return start


def test_download_checks_the_crc32c_by_default(
    cli: Any, project: str, tmp_path: Path, tamper: Any
) -> None:
    tamper(checksum.HEADER)
    target = tmp_path / "out.csv"
    failed = cli("download", f"{project}/dir/a.csv", str(target))
    assert failed.code != 0
    assert "checksum mismatch" in failed.err.lower(), failed
    assert not target.exists()
    assert list(tmp_path.glob(".*.part")) == []
    cli("download", "--verify", "sha256", f"{project}/dir/a.csv", str(target)).ok()
    assert target.read_bytes() == CONTENT
    target.unlink()
    cli("download", "--verify", "none", f"{project}/dir/a.csv", str(target)).ok()
    assert target.read_bytes() == CONTENT


def test_download_verify_sha256_checks_the_sha256(
    cli: Any, project: str, tmp_path: Path, tamper: Any
) -> None:
    tamper("X-Storage-Sha256")
    target = tmp_path / "out.csv"
    cli("download", f"{project}/dir/a.csv", str(target)).ok()  # the CRC32C is right
    target.unlink()
    failed = cli("download", "--verify", "SHA256", f"{project}/dir/a.csv", str(target))
    assert failed.code != 0
    assert "sha256" in failed.err, failed
    assert not target.exists()


def test_cat_and_cp_to_stdout(cli: Any, project: str, tamper: Any) -> None:
    tamper(checksum.HEADER)
    for command in (["cat"], ["cp"]):
        extra = ["-"] if command == ["cp"] else []
        failed = cli(*command, f"{project}/dir/a.csv", *extra)
        assert failed.code != 0, command
        assert "checksum mismatch" in failed.err.lower(), failed
        done = cli(*command, "--verify", "sha256", f"{project}/dir/a.csv", *extra).ok()
        assert done.out_bytes == CONTENT


def test_sync_to_local(cli: Any, project: str, tmp_path: Path, tamper: Any) -> None:
    tamper(checksum.HEADER)
    local = tmp_path / "copy"
    failed = cli("sync", f"{project}/dir/", str(local))
    assert failed.code != 0
    assert not (local / "a.csv").exists()
    cli("sync", "--verify", "sha256", f"{project}/dir/", str(local)).ok()
    assert (local / "a.csv").read_bytes() == CONTENT


def test_an_unknown_check_is_a_usage_error(cli: Any, project: str, tmp_path: Path) -> None:
    result = cli("download", "--verify", "md5", f"{project}/dir/a.csv", str(tmp_path / "x"))
    assert result.code == 2
    assert "md5" in result.err
    assert not (tmp_path / "x").exists()
