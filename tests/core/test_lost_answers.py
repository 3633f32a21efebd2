"""Writes whose answer was lost after the real server made them, with both clients.

The loss is injected client side (a transport that lets the request through to the local
server, reads its answer, and then reports the connection reset, as when a network drops
after the server committed) and server side (`--lose-rate`: a 502 in place of a success,
as from a gateway). The retry meets the change made (a 412, a 404) and the client reads the file's
history to tell a lost success from a real failure (see anaconda_storage_core/settle.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from anaconda_storage_core import (
    NotFound,
    PreconditionFailed,
    RetryPolicy,
    ServerError,
    UploadSettings,
)
from anaconda_storage_server.testing import LocalServer

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024
RETRY = RetryPolicy(attempts=3, backoff=0.01)


def answer_lost(tap_class: Any, lose: Callable[[httpx.Request], bool]) -> Any:
    """A `Tap` that, for the first request `lose` picks, drops the server's answer."""

    class Losing(tap_class):  # type: ignore[misc,valid-type]
        lost: list[str] = []

        def _losing(self, request: httpx.Request) -> bool:
            if self.lost or not lose(request):
                return False
            self.lost.append(f"{request.method} {request.url.path}")
            return True

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            if self._losing(request):
                response.read()
                response.close()
                raise httpx.ReadError("connection reset after the answer was sent (injected)")
            return response

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            if self._losing(request):
                await response.aread()
                await response.aclose()
                raise httpx.ReadError("connection reset after the answer was sent (injected)")
            return response

    tap = Losing()
    tap.lost = []
    return tap


def method(name: str, suffix: str = "") -> Callable[[httpx.Request], bool]:
    return lambda request: request.method == name and request.url.path.endswith(suffix)


async def revisions(client: Any, uri: str) -> list[Any]:
    return [r async for r in client.list_revisions(uri)]


async def test_exclusive_create_whose_answer_was_lost(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    tap = answer_lost(tap_class, method("PUT"))
    client = make_client(user, tap=tap, retry=RETRY)
    data = b"region,total\nwest,10\n"
    info = await client.upload(f"{project}/q1.csv", data, if_none_match="*")
    assert tap.lost  # the server created the file, the client never heard
    assert tap.routes("PUT") == [tap.routes("PUT")[0]] * 2  # sent again: 412
    assert info == await client.info(f"{project}/q1.csv")
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert len(await revisions(client, f"{project}/q1.csv")) == 1
    assert await client.read_bytes(f"{project}/q1.csv") == data


async def test_exclusive_create_that_met_another_file_still_fails(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    uri = f"{project}/taken.csv"
    before = await make_client(user).upload(uri, b"someone was first")
    tap = answer_lost(tap_class, method("PUT"))
    client = make_client(user, tap=tap, retry=RETRY)
    with pytest.raises(PreconditionFailed) as caught:
        await client.upload(uri, b"mine", if_none_match="*")
    assert isinstance(caught.value, FileExistsError)
    assert caught.value.current == before.revision
    assert tap.lost  # its first 412 was lost too: the retry's is the one raised
    assert await client.read_bytes(uri) == b"someone was first"


async def test_exclusive_create_of_the_same_bytes_by_another_user_still_fails(
    make_client: Any, user: Any, other_user: Any, project: str, tap_class: Any
) -> None:
    uri = f"{project}/lock"
    await make_client(user).chmod(project, [f"u/{other_user.name}+w"])
    await make_client(other_user).upload(uri, b"locked", if_none_match="*")
    tap = answer_lost(tap_class, method("PUT"))
    client = make_client(user, tap=tap, retry=RETRY)
    with pytest.raises(PreconditionFailed):
        await client.upload(uri, b"locked", if_none_match="*")
    assert tap.lost


async def test_compare_and_swap_whose_answer_was_lost(
    make_client: Any, user: Any, project: str, tap_class: Any, tmp_path: Path
) -> None:
    uri = f"{project}/v.txt"
    first = await make_client(user).upload(uri, b"version 1")
    local = tmp_path / "v2.txt"
    local.write_bytes(b"version 2" * 400_000)  # long enough for a 412 before its end
    tap = answer_lost(tap_class, method("PUT"))
    client = make_client(user, tap=tap, retry=RETRY)
    second = await client.upload(uri, local, if_match=first.revision)
    assert tap.lost
    assert second.revision != first.revision
    assert second == await client.info(uri)
    assert [r.id for r in await revisions(client, uri)] == [second.revision, first.revision]
    # On a stale revision, its 412 lost: the retry's 412 stands. (With the same bytes as
    # `second` it would not: the history cannot tell that write from this one.)
    lossy = make_client(user, tap=answer_lost(tap_class, method("PUT")), retry=RETRY)
    with pytest.raises(PreconditionFailed):
        await lossy.upload(uri, b"version 2b", if_match=first.revision)


async def test_delete_whose_answer_was_lost(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    written = await make_client(user).upload(f"{project}/a.txt", b"a")
    await make_client(user).upload(f"{project}/b.txt", b"b")
    client = make_client(user, tap=answer_lost(tap_class, method("DELETE")), retry=RETRY)
    await client.delete(f"{project}/a.txt")
    conditional = make_client(user, tap=answer_lost(tap_class, method("DELETE")), retry=RETRY)
    b_revision = (await client.info(f"{project}/b.txt")).revision
    await conditional.delete(f"{project}/b.txt", if_match=b_revision)
    for name in ("a.txt", "b.txt"):
        with pytest.raises(NotFound):
            await client.info(f"{project}/{name}")
    history = await revisions(client, f"{project}/a.txt")
    assert [r.deleted for r in history] == [True, False]
    assert history[1].id == written.revision


async def test_delete_of_a_missing_file_still_fails(
    make_client: Any, user: Any, other_user: Any, project: str, tap_class: Any
) -> None:
    client = make_client(user, tap=answer_lost(tap_class, method("DELETE")), retry=RETRY)
    with pytest.raises(NotFound):
        await client.delete(f"{project}/never-was.txt")
    # Deleted by someone else, before: not this caller's deletion.
    await make_client(user).chmod(project, [f"u/{other_user.name}+w"])
    await make_client(user).upload(f"{project}/gone.txt", b"x")
    await make_client(other_user).delete(f"{project}/gone.txt")
    client = make_client(user, tap=answer_lost(tap_class, method("DELETE")), retry=RETRY)
    with pytest.raises(NotFound):
        await client.delete(f"{project}/gone.txt")


async def test_deleting_many_files_whose_answer_was_lost(
    make_client: Any, user: Any, other_user: Any, project: str, tap_class: Any
) -> None:
    writer = make_client(user)
    await writer.chmod(project, [f"u/{other_user.name}+w"])
    for name in ("a.txt", "b.txt", "theirs.txt"):
        await writer.upload(f"{project}/{name}", name.encode())
    await make_client(other_user).delete(f"{project}/theirs.txt")
    tap = answer_lost(tap_class, method("POST", "/delete"))
    client = make_client(user, tap=tap, retry=RETRY)
    result = await client.delete_many(project, ["a.txt", "b.txt", "never.txt", "theirs.txt"])
    assert tap.lost  # the first request deleted a.txt and b.txt; its answer never came
    assert len(tap.routes("POST")) == 2  # the retry found them gone
    # What this caller's lost request deleted counts as deleted; a path that never held
    # a file, and one someone else deleted, are still missing.
    assert sorted(result.deleted) == ["a.txt", "b.txt"]
    assert sorted(result.missing) == ["never.txt", "theirs.txt"]
    for name in ("a.txt", "b.txt"):
        assert [r.deleted for r in await revisions(client, f"{project}/{name}")] == [True, False]


async def test_deleting_many_files_with_every_answer_kept_reads_no_history(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    await make_client(user).upload(f"{project}/a.txt", b"a")
    tap = tap_class()
    client = make_client(user, tap=tap, retry=RETRY)
    result = await client.delete_many(project, ["a.txt", "never.txt"])
    assert (result.deleted, result.missing) == (("a.txt",), ("never.txt",))
    assert [r.split("?")[0].rsplit("/", 1)[-1] for r in tap.routes()] == ["delete"]


async def test_remove_directory_whose_answer_was_lost(
    make_client: Any, user: Any, project: str, tap_class: Any
) -> None:
    await make_client(user).make_directory(f"{project}/empty")
    client = make_client(user, tap=answer_lost(tap_class, method("DELETE")), retry=RETRY)
    await client.remove_directory(f"{project}/empty")
    assert [e async for e in client.list_tree(project, include_markers=True)] == []


@pytest.mark.parametrize("source", ["path", "iterator"])
async def test_multipart_completion_whose_answer_was_lost(
    make_client: Any, user: Any, project: str, tap_class: Any, tmp_path: Path, source: str
) -> None:
    data = hashlib.sha256(b"seed").digest() * (11 * MiB // 32)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    sent: Any = local if source == "path" else (data[i : i + MiB] for i in range(0, len(data), MiB))
    tap = answer_lost(tap_class, method("POST", "/complete"))
    settings = UploadSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=2)
    client = make_client(user, tap=tap, retry=RETRY, upload_settings=settings)
    uri = f"{project}/big.bin"
    info = await client.upload(uri, sent, if_none_match="*")
    assert tap.lost
    assert len(tap.routes("POST")) == 3  # the session, and its completion twice
    assert info == await client.info(uri)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert [u async for u in client.list_uploads(project)] == []
    assert await client.read_bytes(uri) == data


@pytest.fixture(scope="module")
def lossy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A server that makes every change and then answers 502 in place of each success."""
    with LocalServer(tmp_path_factory.mktemp("lossy"), lose_rate=1.0) as server:
        yield server


async def test_a_server_losing_every_success(make_client: Any, lossy_server: LocalServer) -> None:
    name = f"lossy-{uuid.uuid4().hex[:8]}"
    account = SimpleNamespace(name=name, api_key=lossy_server.add_user(name), url=lossy_server.url)
    client = make_client(account, retry=RETRY)
    # Creating a project is not idempotent, so not retried: the 502 is reported as it
    # came, although the project was made (a retry would have met 409, telling nothing).
    with pytest.raises(ServerError) as caught:
        await client.create_project(f"{name}/p")
    assert caught.value.status == 502
    assert [p.name async for p in client.list_projects(name)] == ["p"]
    uri = f"{name}/p/lock"
    created = await client.upload(uri, b"held by me", if_none_match="*")
    swapped = await client.upload(uri, b"held by me, twice", if_match=created.revision)
    assert await client.read_bytes(uri) == b"held by me, twice"
    await client.delete(uri, if_match=swapped.revision)
    history = await revisions(client, uri)
    assert [r.deleted for r in history] == [True, False, False]
    assert [r.id for r in history[1:]] == [swapped.revision, created.revision]
