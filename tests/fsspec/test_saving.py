"""A `get` of two lists writes its files on a worker thread, a run at a time (saving.py):
the files land as given, a directory in the way is left, a write that fails is raised and
leaves nothing half-written, and nothing is written after `get` has returned or raised."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import pytest
from fsspec.callbacks import NoOpCallback

from anaconda_storage_core.models import ContentInfo, FileRead
from anaconda_storage_core.uri import parse_uri
from anaconda_storage_fsspec import AnacondaFileSystem, saving
from anaconda_storage_fsspec.saving import Saving


@pytest.fixture
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of two files, so that a few files make several runs."""
    monkeypatch.setattr(saving, "RUN_FILES", 2)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob(".*.part"))


@pytest.mark.usefixtures("small_runs")
def test_files_of_many_runs_land_as_given_and_the_last_of_one_target_is_left(
    fs: AnacondaFileSystem, project: str, tmp_path: Path
) -> None:
    contents = {f"{project}/s/{i}.txt": f"content {i}".encode() for i in range(7)}
    fs.pipe(contents)
    rpaths = [*contents, f"{project}/s/0.txt", f"{project}/s/6.txt"]
    lpaths = [str(tmp_path / f"{i}.txt") for i in range(7)] + [str(tmp_path / "same.txt")] * 2
    fs.get(rpaths, lpaths)
    for i in range(7):
        assert (tmp_path / f"{i}.txt").read_bytes() == f"content {i}".encode()
    assert (tmp_path / "same.txt").read_bytes() == b"content 6"  # the later one, as given
    assert _leftovers(tmp_path) == []


@pytest.mark.usefixtures("small_runs")
def test_a_directory_in_the_way_is_left_and_the_files_around_it_written(
    fs: AnacondaFileSystem, project: str, tmp_path: Path
) -> None:
    contents = {f"{project}/d/{name}": name.encode() for name in ("a", "b", "c")}
    fs.pipe(contents)
    (tmp_path / "b" / "inside").mkdir(parents=True)
    fs.get(list(contents), [str(tmp_path / name) for name in ("a", "b", "c")])
    assert (tmp_path / "a").read_bytes() == b"a"
    assert (tmp_path / "c").read_bytes() == b"c"
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["inside"]
    assert _leftovers(tmp_path) == []


@pytest.mark.usefixtures("small_runs")
def test_a_write_that_fails_is_raised_and_the_files_after_it_are_not_written(
    fs: AnacondaFileSystem, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full disk, say: the server cannot make this, so the write is made to fail.
    names = [f"{i}.txt" for i in range(6)]
    fs.pipe({f"{project}/w/{name}": name.encode() for name in names})
    real = saving.save_whole

    def failing(dest: str, data: bytes, revision: str) -> None:
        if dest.endswith("2.txt"):
            raise OSError(28, "No space left on device", dest)
        real(dest, data, revision)

    monkeypatch.setattr(saving, "save_whole", failing)
    with pytest.raises(OSError, match="No space left"):
        fs.get([f"{project}/w/{name}" for name in names], [str(tmp_path / n) for n in names])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.txt", "1.txt"]


def _read(data: bytes) -> FileRead:
    info = ContentInfo(size=len(data), revision="0" * 8 + "-0000-0000-0000-" + "0" * 12)
    return FileRead(parse_uri("anaconda://o/p/f"), info, data, None)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_cancelled_get_waits_for_the_run_being_written(
    anyio_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saving, "RUN_FILES", 1)
    started, release = threading.Event(), threading.Event()
    real = saving.save_whole

    def held(dest: str, data: bytes, revision: str) -> None:
        started.set()
        release.wait(30)
        real(dest, data, revision)

    monkeypatch.setattr(saving, "save_whole", held)
    files = Saving(NoOpCallback())
    await files.add("o/p/a", str(tmp_path / "a"), _read(b"a"))  # handed out, held
    second = asyncio.ensure_future(files.add("o/p/b", str(tmp_path / "b"), _read(b"b")))
    await asyncio.to_thread(started.wait, 30)
    second.cancel()  # it waits on the first run before handing out its own
    with contextlib.suppress(asyncio.CancelledError):
        await second
    abandoned = asyncio.ensure_future(files.abandon())
    await asyncio.sleep(0.05)
    assert not abandoned.done()  # the thread is still writing "a"
    release.set()
    await abandoned
    assert (tmp_path / "a").read_bytes() == b"a"
    assert not (tmp_path / "b").exists()
    assert _leftovers(tmp_path) == []
