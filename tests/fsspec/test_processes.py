"""Safe under pickle, fork and asyncio: sessions are per process and event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle

import pytest

from anaconda_storage_fsspec import AnacondaFile, AnacondaFileSystem


def test_the_filesystem_pickles(fs: AnacondaFileSystem, project: str) -> None:
    fs.pipe_file(f"{project}/a", b"a")
    copy = pickle.loads(pickle.dumps(fs))
    assert isinstance(copy, AnacondaFileSystem)
    assert copy.config.domain == fs.config.domain
    assert copy.cat_file(f"{project}/a") == b"a"
    copy.close()


def test_an_open_reader_pickles_at_its_revision_and_position(
    fs: AnacondaFileSystem, project: str
) -> None:
    path = f"{project}/r.bin"
    fs.pipe_file(path, b"0123456789")
    with fs.open(path, "rb", block_size=4) as f:
        assert f.read(3) == b"012"
        copy = pickle.loads(pickle.dumps(f))
    fs.pipe_file(path, b"abcdefghij")  # the copy reads the revision the original opened
    assert isinstance(copy, AnacondaFile)
    assert copy.read() == b"3456789"
    copy.close()
    with pytest.raises(TypeError, match="writing"), fs.open(f"{project}/w", "wb") as w:
        pickle.dumps(w)


def _read_in_child(fs: AnacondaFileSystem, path: str, queue: multiprocessing.Queue) -> None:
    queue.put(fs.cat_file(path))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_makes_its_own_session(fs: AnacondaFileSystem, project: str) -> None:
    path = f"{project}/f"
    fs.pipe_file(path, b"from the parent")
    assert fs.cat_file(path) == b"from the parent"  # the parent's session exists now
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = context.Queue()
    child = context.Process(target=_read_in_child, args=(fs, path, queue))
    child.start()
    try:
        assert queue.get(timeout=60) == b"from the parent"
        child.join(timeout=60)
    finally:
        if child.is_alive():
            child.kill()  # a child stuck on its parent's loop must not outlive the test
    assert child.exitcode == 0
    assert fs.cat_file(path) == b"from the parent"  # the parent's session still works


def test_spawned_processes_receive_a_pickled_filesystem(
    fs: AnacondaFileSystem, project: str
) -> None:
    path = f"{project}/s"
    fs.pipe_file(path, b"spawned")
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()
    child = context.Process(target=_read_in_child, args=(fs, path, queue))
    child.start()
    try:
        assert queue.get(timeout=120) == b"spawned"
        child.join(timeout=60)
    finally:
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0


def test_asynchronous_use_on_the_callers_loop(account: object, project: str) -> None:
    async def main() -> bytes:
        fs = AnacondaFileSystem(
            **account.options,  # type: ignore[attr-defined]
            asynchronous=True,
            skip_instance_cache=True,
        )
        try:
            await fs._pipe_file(f"{project}/async.txt", b"async")
            listed = await fs._ls(project, detail=False)
            assert f"{project}/async.txt" in listed
            data: bytes = await fs._cat_file(f"{project}/async.txt")
            return data
        finally:
            await fs._close()

    assert asyncio.run(main()) == b"async"
    # Each loop gets its own session: a second run works, on a new loop.
    assert asyncio.run(main()) == b"async"
