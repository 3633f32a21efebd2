"""Downloads read small files together (`downloads.py`): `download` and
`sync` to a local directory read the files of at most 256 KiB through core's `read_files`
(`POST .../read`), a thousand to a request, each file still its own job: its own progress,
failure, line of the summary and exit code.

The server keeps no request log, so the CLI's client is spied on in-process: every
`StorageClient.read_files` and `StorageClient.download` call is recorded, then run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_core import StorageClient, checksum

KiB = 1024
SMALL = 50
LARGE = 300 * KiB  # over the 256 KiB read together


def content(i: int) -> bytes:
    # Sizes from 0 to ~12 KiB, binary, with "\n" and "\r\n" that must arrive as they are.
    return (f"file {i}\r\n".encode() + bytes(range(256))) * (i % 50)


def everything(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and directory (None) below `root`, by relative path."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


@dataclass
class Spy:
    """The CLI client's read_files calls (the URIs of each) and downloads (the URI)."""

    reads: list[list[str]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.reads.clear()
        self.downloads.clear()

    @property
    def read_together(self) -> list[str]:
        return sorted(uri for call in self.reads for uri in call)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    seen = Spy()
    real_read_files, real_download = StorageClient.read_files, StorageClient.download

    def read_files(self: StorageClient, uris: Any, **kwargs: Any) -> Iterator[Any]:
        uris = list(uris)
        seen.reads.append([str(uri) for uri in uris])
        return real_read_files(self, uris, **kwargs)

    def download(self: StorageClient, uri: Any, dest: Any, **kwargs: Any) -> Any:
        seen.downloads.append(str(uri))
        return real_download(self, uri, dest, **kwargs)

    monkeypatch.setattr(StorageClient, "read_files", read_files)
    monkeypatch.setattr(StorageClient, "download", download)
    return seen


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A local folder: 50 small files (two levels), one large, one empty directory."""
    root = tmp_path / "source"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    for i in range(SMALL):
        where = root if i < 20 else root / "sub" if i < 40 else root / "sub" / "deeper"
        (where / f"f{i:02}.bin").write_bytes(content(i))
    (root / "sub" / "large.bin").write_bytes(bytes(range(256)) * (LARGE // 256))
    return root


@pytest.fixture
def project(cli: Any, source: Path) -> str:
    """`<user>/p/d`, holding `source`'s contents."""
    name = f"{cli.account.name}/p"
    cli("mkdir", name).ok()
    cli("upload", "-q", f"{source}/", f"{name}/d").ok()
    return name


def small_uris(project: str, source: Path) -> list[str]:
    return sorted(
        f"anaconda://{project}/d/{p.relative_to(source).as_posix()}" for p in source.rglob("f*.bin")
    )


def test_download_reads_the_small_files_together(
    cli: Any, project: str, source: Path, tmp_path: Path, spy: Spy
) -> None:
    target = tmp_path / "out"
    result = cli("download", f"{project}/d/", str(target)).ok()
    assert everything(target) == everything(source)  # the same tree, the empty directory too
    assert list(target.rglob(".*.part")) == []  # no partial file left
    assert len(spy.reads) == 1  # one read_files call for the 50 small files
    assert spy.read_together == small_uris(project, source)
    assert spy.downloads == [f"anaconda://{project}/d/sub/large.bin"]  # streamed alone
    total = sum(len(content(i)) for i in range(SMALL)) + LARGE
    assert "Downloaded 51 files" in result.err
    assert "1 empty directory made" in result.err
    # Each file still has its own line, with its own size.
    assert f"downloaded anaconda://{project}/d/f07.bin -> {target / 'f07.bin'} (" in result.err
    assert result.err.count("\ndownloaded ") + result.err.startswith("downloaded ") == 51

    spy.clear()
    again = tmp_path / "again"
    summary = json.loads(cli("download", "--json", "-q", f"{project}/d", str(again)).ok().out)
    assert summary["operation"] == "download"
    assert summary["failed"] == []
    assert summary["bytes"] == total
    assert len(summary["files"]) == 51
    assert all(len(f["revision"]) == 36 for f in summary["files"])
    sizes = {Path(f["destination"]).name: f["size"] for f in summary["files"]}
    assert sizes["f07.bin"] == len(content(7))
    assert sizes["f00.bin"] == 0
    assert sizes["large.bin"] == LARGE
    assert summary["directories"] == [str(again / "d" / "empty")]
    assert everything(again / "d") == everything(source)
    assert len(spy.reads) == 1


def test_a_file_alone_is_downloaded_as_before(
    cli: Any, project: str, source: Path, tmp_path: Path, spy: Spy
) -> None:
    cli("download", f"{project}/d/f07.bin", str(tmp_path / "one.bin")).ok()
    assert (tmp_path / "one.bin").read_bytes() == content(7)
    assert spy.reads == []  # one GET, not a read of many files
    assert spy.downloads == [f"anaconda://{project}/d/f07.bin"]


def test_a_thousand_files_a_request(cli: Any, tmp_path: Path, spy: Spy) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1005):
        (folder / f"n{i:04}.txt").write_text(str(i))
    project = f"{cli.account.name}/many"
    cli("mkdir", project).ok()
    cli("upload", "-q", "-j", "16", f"{folder}/", project).ok()
    spy.clear()
    target = tmp_path / "out"
    cli("download", "-q", f"{project}/", str(target)).ok()
    assert sorted(len(call) for call in spy.reads) == [5, 1000]
    assert spy.downloads == []
    assert everything(target) == everything(folder)


def test_a_file_deleted_after_the_listing_fails_alone(
    cli: Any,
    user: Any,
    project: str,
    source: Path,
    tmp_path: Path,
    spy: Spy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    direct = StorageClient(api_key=user.api_key, domain=user.url)
    gone = f"{project}/d/sub/f25.bin"
    spied = StorageClient.read_files

    def deleting_first(self: StorageClient, uris: Any, **kwargs: Any) -> Any:
        direct.delete(gone)  # between the listing and the read
        return spied(self, uris, **kwargs)

    monkeypatch.setattr(StorageClient, "read_files", deleting_first)
    target = tmp_path / "out"
    result = cli("download", "--json", f"{project}/d/", str(target))
    assert result.code == 6, result  # some files failed, others were done
    summary = json.loads(result.out)
    assert [f["source"] for f in summary["failed"]] == [f"anaconda://{project}/d/sub/f25.bin"]
    assert summary["failed"][0]["exit_code"] == 3  # not found, as a GET of it alone
    assert "f25.bin" in summary["failed"][0]["error"]
    assert len(summary["files"]) == 50
    expected = everything(source)
    del expected["sub/f25.bin"]
    assert everything(target) == expected
    assert list(target.rglob(".*.part")) == []
    assert len(spy.reads) == 1
    assert "f25.bin" in result.err  # the failure is also said on stderr


class ReadRouteTransport(httpx.BaseTransport):
    """Real HTTP, except for `POST .../read`: answered 405 (a server without the route), or
    with the `header` checksum of every file's frame replaced by a wrong value."""

    def __init__(self, *, header: str | None = None, missing: bool = False) -> None:
        self.inner = httpx.HTTPTransport()
        self.header = header
        self.missing = missing

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reading = request.method == "POST" and request.url.path.endswith("/read")
        if reading and self.missing:
            return httpx.Response(405, json={"detail": "Method Not Allowed"})
        response = self.inner.handle_request(request)
        if not reading or self.header is None or response.status_code != 200:
            return response
        response.read()
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding")
        }
        return httpx.Response(200, headers=headers, content=self._tampered(response.content))

    def _tampered(self, body: bytes) -> bytes:
        # Not 0: the CRC32C of the empty file is 0.
        wrong = {"crc32c": checksum.encode(0x12345678), "sha256": "0" * 64}
        out, position = bytearray(), 0
        while position < len(body):
            end = body.index(b"\n", position)
            header = json.loads(body[position:end])
            size = header.get("size", 0) if header.get("inline") else 0
            if "error" not in header:
                header[self.header] = wrong[self.header]
            out += json.dumps(header).encode() + b"\n" + body[end + 1 : end + 1 + size]
            position = end + 1 + size
        return bytes(out)

    def close(self) -> None:
        self.inner.close()


def through(monkeypatch: pytest.MonkeyPatch, cli: Any, transport: httpx.BaseTransport) -> None:
    def connect() -> StorageClient:
        account = cli.account
        return StorageClient(api_key=account.api_key, domain=account.url, transport=transport)

    monkeypatch.setattr("anaconda_storage_cli.remote.connect", connect)


def test_verify_checks_what_is_read_together(
    cli: Any,
    project: str,
    source: Path,
    tmp_path: Path,
    spy: Spy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    through(monkeypatch, cli, ReadRouteTransport(header="crc32c"))
    failed = cli("download", "--json", f"{project}/d/", str(tmp_path / "crc"))
    assert failed.code == 6, failed  # the large file, streamed, was right
    summary = json.loads(failed.out)
    assert len(summary["failed"]) == SMALL
    assert all("checksum mismatch" in f["error"].lower() for f in summary["failed"])
    assert [Path(f["destination"]).name for f in summary["files"]] == ["large.bin"]
    assert not list((tmp_path / "crc").rglob("f*.bin"))
    assert list((tmp_path / "crc").rglob(".*.part")) == []
    cli("download", "-q", "--verify", "sha256", f"{project}/d/", str(tmp_path / "sha")).ok()
    assert everything(tmp_path / "sha") == everything(source)
    cli("download", "-q", "--verify", "none", f"{project}/d/", str(tmp_path / "none")).ok()
    assert everything(tmp_path / "none") == everything(source)

    through(monkeypatch, cli, ReadRouteTransport(header="sha256"))
    cli("download", "-q", f"{project}/d/", str(tmp_path / "crc-ok")).ok()  # the CRC32C holds
    failed = cli("download", "--json", "--verify", "sha256", f"{project}/d/", str(tmp_path / "x"))
    assert failed.code == 6, failed
    assert len(json.loads(failed.out)["failed"]) == SMALL
    assert all(len(call) == SMALL for call in spy.reads)


def test_a_server_without_the_route_gets_one_get_a_file(
    cli: Any,
    project: str,
    source: Path,
    tmp_path: Path,
    spy: Spy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    through(monkeypatch, cli, ReadRouteTransport(missing=True))
    target = tmp_path / "out"
    cli("download", "-q", f"{project}/d/", str(target)).ok()
    assert everything(target) == everything(source)
    assert len(spy.reads) == 1
    assert len(spy.downloads) == SMALL + 1


def test_sync_to_a_local_directory_reads_together(
    cli: Any, project: str, source: Path, tmp_path: Path, spy: Spy
) -> None:
    target = tmp_path / "y"
    result = cli("sync", "--json", project, str(target)).ok()
    assert json.loads(result.out)["copied"] == SMALL + 1
    assert everything(target / "p" / "d") == everything(source)
    assert spy.read_together == small_uris(project, source)
    assert spy.downloads == [f"anaconda://{project}/d/sub/large.bin"]
    # What was written is known to the hash cache: nothing differs, nothing is read.
    spy.clear()
    again = json.loads(cli("sync", "--json", project, str(target)).ok().out)
    assert again["copied"] == 0
    assert again["skipped"] == SMALL + 1
    assert spy.reads == spy.downloads == []


# -- interruptions, with a client that reads nothing -----------------------------------


class FakeClient:
    """A client whose `read_files` waits for `go` and then does as told; downloads are
    recorded and write nothing."""

    def __init__(self, failure: BaseException | None = None) -> None:
        self.failure = failure
        self.fetching = threading.Event()
        self.go = threading.Event()
        self.downloads: list[str] = []

    def read_files(self, uris: list[Any], **kwargs: Any) -> Iterator[Any]:
        from anaconda_storage_core.transfer.reading import unread

        self.fetching.set()
        assert self.go.wait(30)
        if self.failure is not None:
            raise self.failure
        return iter(unread(uris))  # as from a server without the route

    def download(self, uri: Any, dest: Any, **kwargs: Any) -> Any:
        self.downloads.append(str(uri))
        kwargs["progress"](1)

        class Info:
            revision = "r"

        return Info()


def small_jobs(client: FakeClient, tmp_path: Path, count: int) -> list[Any]:
    from anaconda_storage_cli.downloads import Downloads
    from anaconda_storage_cli.options import Verification
    from anaconda_storage_cli.transfers import Job
    from anaconda_storage_core.uri import parse_uri

    downloads = Downloads(client, Verification.crc32c)  # type: ignore[arg-type]
    jobs = []
    for i in range(count):
        uri = parse_uri(f"alice/p/f{i}.bin")
        local = tmp_path / f"f{i}"
        fetch = downloads.run(uri, local, 10)
        jobs.append(Job(str(uri), str(local), 10, lambda advance, f=fetch: f(advance).revision))
    return jobs


def test_ctrl_c_while_a_batch_is_read_stops_every_job_of_it(tmp_path: Path) -> None:
    from anaconda_storage_cli.progress import SilentReporter
    from anaconda_storage_cli.transfers import Job, run_jobs

    client = FakeClient()

    def ctrl_c(advance: Any) -> None:
        # Ctrl-C once the batch is being read: what the main thread raises on SIGINT.
        assert client.fetching.wait(30)
        threading.Timer(0.2, client.go.set).start()  # the read ends a while later
        raise KeyboardInterrupt

    jobs = [*small_jobs(client, tmp_path, 5), Job("ctrl-c", "", None, ctrl_c)]
    raised: list[BaseException] = []

    def run() -> None:
        try:
            run_jobs("download", jobs, workers=len(jobs), reporter=SilentReporter())
        except BaseException as exc:
            raised.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "a job waiting for its batch hung"
    assert [type(exc) for exc in raised] == [KeyboardInterrupt]
    # No job went on to download its file on its own once interrupted (the reading job's
    # own download stops at its first byte).
    assert len(client.downloads) <= 1


@pytest.mark.parametrize("stopped", [True, False])
def test_a_batch_whose_read_stopped_releases_its_other_jobs(tmp_path: Path, stopped: bool) -> None:
    from anaconda_storage_core import ServerError

    failure: BaseException = KeyboardInterrupt() if stopped else ServerError("broken", status=500)
    client = FakeClient(failure)
    jobs = small_jobs(client, tmp_path, 4)
    outcomes: dict[int, Any] = {}

    def run(index: int) -> None:
        try:
            outcomes[index] = jobs[index].run(lambda amount: None)
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(0,))]
    threads[0].start()
    assert client.fetching.wait(30)  # job 0 reads the batch; the others wait for it
    threads += [threading.Thread(target=run, args=(i,)) for i in (1, 2, 3)]
    for thread in threads[1:]:
        thread.start()
    client.go.set()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a job waited for ever"
    assert outcomes[0] is failure
    if stopped:
        # The reading job was stopped, not the run: the others read their files alone.
        assert [outcomes[i] for i in (1, 2, 3)] == ["r", "r", "r"]
        assert sorted(client.downloads) == [f"anaconda://alice/p/f{i}.bin" for i in (1, 2, 3)]
    else:
        # The batch's read failed: so does every file of it, with that error.
        assert all(outcomes[i] is failure for i in (1, 2, 3))
        assert client.downloads == []
