"""A full server disk (`507 insufficient_storage`) is `InsufficientStorage`: a `ServerError`
and an `OSError` with `errno.ENOSPC`, not retried, picklable (issue 11, item 10)."""

from __future__ import annotations

import errno
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anaconda_storage_core import InsufficientStorage, ServerError, StorageClient
from anaconda_storage_core.errors import error_from_response
from anaconda_storage_server.testing import LocalServer

MiB = 1024 * 1024
FULL_AFTER = 2 * MiB
PART = 5 * MiB  # the smallest part a client sends, over the server's limit here


@pytest.fixture(scope="module")
def full_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A local server whose content files fail as on a full disk past 2 MiB (its test aid)."""
    data_dir = tmp_path_factory.mktemp("disk-full")
    aid = ["--fault-disk-full-after", str(FULL_AFTER)]
    with LocalServer(data_dir, extra_args=aid) as server:
        yield server


@pytest.fixture
def client(full_server: LocalServer) -> Iterator[tuple[StorageClient, str]]:
    """A client of a new user on that server, and the user's project `<name>/p`."""
    name = f"u{uuid.uuid4().hex[:8]}"
    key = full_server.add_user(name)
    with StorageClient(api_key=key, domain=full_server.url) as storage:
        storage.create_project(f"{name}/p")
        yield storage, f"{name}/p"


def _check(error: InsufficientStorage) -> None:
    assert isinstance(error, ServerError)
    assert isinstance(error, OSError)
    assert error.errno == errno.ENOSPC
    assert error.status == 507
    assert error.code == "insufficient_storage"
    assert "disk is full" in str(error)


@pytest.mark.parametrize("size", [FULL_AFTER + 1, 3 * PART], ids=["put", "multipart"])
def test_upload_to_a_full_disk_raises_insufficient_storage(
    client: tuple[StorageClient, str], size: int
) -> None:
    storage, project = client
    with pytest.raises(InsufficientStorage) as raised:
        storage.upload(f"{project}/big.bin", b"x" * size, multipart_threshold=PART, part_size=PART)
    _check(raised.value)
    assert project in str(raised.value)  # what it was about: the file, or its upload part
    assert storage.upload(f"{project}/small.bin", b"fits").size == 4  # still serving


def test_insufficient_storage_pickles_with_its_errno() -> None:
    request = httpx.Request("PUT", "https://storage.example/api/storage/projects/a/p/files/f")
    body = {"error": {"code": "insufficient_storage", "message": "the server's disk is full"}}
    error = error_from_response(httpx.Response(507, json=body, request=request), "a/p/f")
    assert isinstance(error, InsufficientStorage)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is InsufficientStorage
    _check(copy)
    assert str(copy) == str(error)
    assert copy.strerror == error.strerror


def test_a_507_is_not_retried(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []

    def full(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        error = {"code": "insufficient_storage", "message": "the server's disk is full"}
        return httpx.Response(507, json={"error": error})

    with (
        StorageClient(
            api_key="k", domain="http://storage.example", transport=httpx.MockTransport(full)
        ) as storage,
        pytest.raises(InsufficientStorage),
    ):
        storage.upload("alice/p/f.bin", b"content")
    assert len(sent) == 1
