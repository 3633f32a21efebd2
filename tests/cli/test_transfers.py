"""The transfer runner: every job runs, failures are collected, the summary sets the code."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

from anaconda_storage_cli.errors import ExitCode, FilesFailed
from anaconda_storage_cli.output import Output
from anaconda_storage_cli.progress import LogReporter, RichReporter, SilentReporter, make_reporter
from anaconda_storage_cli.transfers import Job, Summary, finish, run_jobs
from anaconda_storage_core.errors import NotFound

Advance = Callable[[int], None]


def ok(size: int) -> Callable[[Advance], Any]:
    def run(advance: Advance) -> str:
        advance(size // 2)
        advance(size - size // 2)
        return "rev"

    return run


def failing(exc: Exception) -> Callable[[Advance], Any]:
    def run(advance: Advance) -> None:
        advance(1)
        raise exc

    return run


def jobs(specs: list[tuple[str, Callable[[Advance], Any]]]) -> list[Job]:
    return [Job(name, f"o/p/{name}", 10, run) for name, run in specs]


def test_all_jobs_run_concurrently() -> None:
    barrier = threading.Barrier(4, timeout=5)

    def meet(advance: Advance) -> None:
        barrier.wait()  # only passes if the four run at the same time
        advance(10)

    summary = run_jobs(
        "upload", jobs([(str(i), meet) for i in range(4)]), workers=4, reporter=SilentReporter()
    )
    assert len(summary.done) == 4
    assert summary.bytes == 40
    assert summary.failed == []


def test_a_failure_does_not_stop_the_others() -> None:
    specs = [("a", ok(10)), ("b", failing(NotFound("b not found"))), ("c", ok(10))]
    summary = run_jobs("download", jobs(specs), workers=1, reporter=SilentReporter())
    assert sorted(o.job.source for o in summary.done) == ["a", "c"]
    assert [o.job.source for o in summary.failed] == ["b"]
    assert summary.bytes == 20  # a failed job's bytes are not counted
    assert [o.result for o in summary.done] == ["rev", "rev"]


def test_finish_partial_failure(capsys: pytest.CaptureFixture[str]) -> None:
    specs = [("a", ok(10)), ("b", failing(NotFound("b not found")))]
    summary = run_jobs("upload", jobs(specs), workers=2, reporter=SilentReporter())
    with pytest.raises(FilesFailed) as raised:
        finish(summary, Output())
    assert raised.value.code is ExitCode.PARTIAL
    err = capsys.readouterr().err
    assert "Uploaded 1 file" in err
    assert "1 failed" in err
    assert "error: b not found" in err  # the message names the file: not twice


def test_finish_all_failed_takes_the_first_failures_code() -> None:
    summary = run_jobs(
        "upload",
        jobs([("a", failing(NotFound("a"))), ("b", failing(NotFound("b")))]),
        workers=1,
        reporter=SilentReporter(),
    )
    with pytest.raises(FilesFailed) as raised:
        finish(summary, Output(quiet=True))
    assert raised.value.code is ExitCode.NOT_FOUND
    assert str(raised.value) == "all 2 files failed"


def test_finish_json(capsys: pytest.CaptureFixture[str]) -> None:
    specs = [("a", ok(10)), ("b", failing(NotFound("b not found")))]
    summary = run_jobs("copy", jobs(specs), workers=2, reporter=SilentReporter())
    with pytest.raises(FilesFailed):
        finish(summary, Output(json=True))
    document = json.loads(capsys.readouterr().out)
    assert document["operation"] == "copy"
    assert document["files"] == [
        {"source": "a", "destination": "o/p/a", "size": 10, "revision": "rev"}
    ]
    assert document["failed"] == [
        {"source": "b", "destination": "o/p/b", "error": "b not found", "exit_code": 3}
    ]
    assert document["bytes"] == 10


def test_finish_ok_and_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    finish(Summary("upload", directories=["x"]), Output())
    assert "Uploaded 0 files, 0 B in 0.0 s; 1 empty directory made" in capsys.readouterr().err
    finish(Summary("remove", dry_run=True), Output())
    assert "dry run: would have removed 0 files; nothing was changed" in capsys.readouterr().err
    finish(Summary("upload"), Output(quiet=True))
    assert capsys.readouterr().err == ""


def test_interrupt_stops_the_jobs_in_flight() -> None:
    started = threading.Event()
    stopped: list[str] = []

    def slow(advance: Advance) -> None:
        started.set()
        try:
            for _ in range(1000):
                advance(1)
                threading.Event().wait(0.01)
        finally:
            stopped.append("slow")

    def interrupting(advance: Advance) -> None:
        started.wait(5)
        raise KeyboardInterrupt

    class Interrupting(SilentReporter):
        def failed(self, key: int, line: str) -> None:  # pragma: no cover - not reached
            pass

    with pytest.raises(KeyboardInterrupt):
        run_jobs(
            "upload",
            jobs([("slow", slow), ("int", interrupting)]),
            workers=2,
            reporter=Interrupting(),
        )
    assert stopped == ["slow"]


def test_log_reporter_prints_one_line_per_file() -> None:
    buffer = io.StringIO()
    reporter = LogReporter(Console(file=buffer, width=200))
    run_jobs(
        "upload",
        jobs([("a", ok(2048)), ("b", failing(NotFound("gone")))]),
        workers=1,
        reporter=reporter,
    )
    lines = buffer.getvalue().splitlines()
    assert "uploaded a -> o/p/a (2.0 KiB)" in lines
    assert "failed b: gone" in lines


def test_rich_reporter_runs() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=True)
    reporter = make_reporter(console, verb="Uploading", quiet=False)
    assert isinstance(reporter, RichReporter)
    run_jobs(
        "upload",
        jobs([("a", ok(10)), ("b", failing(NotFound("gone")))]),
        workers=2,
        reporter=reporter,
    )
    assert "failed" in buffer.getvalue()


def test_make_reporter() -> None:
    plain = Console(file=io.StringIO())
    assert isinstance(make_reporter(plain, verb="x", quiet=True), SilentReporter)
    assert isinstance(make_reporter(plain, verb="x", quiet=False), LogReporter)
