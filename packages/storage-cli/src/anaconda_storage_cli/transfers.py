"""Run many file transfers at once, keep going past failures, and sum them up.

A transfer is a list of :class:`Job` s, each a callable that moves one file and reports its
bytes. :func:`run_jobs` runs them on a thread pool (the core client is thread-safe), tells
a reporter (``progress``), and returns a :class:`Summary`; a failed file does not stop the
others. :func:`finish` prints the summary (text on stderr, or JSON on stdout) and raises
what sets the exit code: nothing when all went well, else :class:`errors.FilesFailed`
(exit 6 when some files were done, the first failure's code when none was).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from anaconda_storage_cli.formats import human_size
from anaconda_storage_cli.output import Output
from anaconda_storage_cli.progress import Reporter

__all__ = ["Cancelled", "Job", "Outcome", "Summary", "finish", "run_jobs"]

# advance(n): n more bytes moved. It raises Cancelled once the run is interrupted, which is
# how a worker thread in the middle of a large file learns that it should stop (and one
# waiting for others, with advance(0)).
Advance = Callable[[int], None]


class Cancelled(BaseException):
    """Raised inside a worker when the run was interrupted.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way
    (the client's retries) mistakes it for a failure to handle.
    """


@dataclass(frozen=True)
class Job:
    """One file to move.

    Attributes:
        source: The source, as shown to the user.
        destination: The destination, as shown to the user.
        size: Its size in bytes, when known before it starts.
        run: Moves the file, calling ``advance`` with each chunk's size; returns a result
            for the summary (a revision UUID, or None).
    """

    source: str
    destination: str
    size: int | None
    run: Callable[[Advance], Any]


@dataclass
class Outcome:
    """What became of one job."""

    job: Job
    bytes: int = 0
    result: Any = None
    error: BaseException | None = None


@dataclass
class Summary:
    """The result of a transfer: what was done, what failed, how long it took.

    Attributes:
        operation: ``upload``, ``download``, ``copy``, ``move`` or ``remove``.
        done: Jobs that succeeded, in the order they finished.
        failed: Jobs that failed, with their error.
        directories: Directories created (or, in a dry run, that would be).
        seconds: Wall time.
        dry_run: Whether nothing was actually done.
    """

    operation: str
    done: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def bytes(self) -> int:
        """Bytes moved by the jobs that succeeded."""
        return sum(outcome.bytes for outcome in self.done)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form of the summary."""
        from anaconda_storage_cli.errors import describe, exit_code_of

        return {
            "operation": self.operation,
            "dry_run": self.dry_run,
            "files": [
                {
                    "source": o.job.source,
                    "destination": o.job.destination,
                    "size": _size(o, self.dry_run),
                    "revision": o.result if isinstance(o.result, str) else None,
                }
                for o in self.done
            ],
            "directories": list(self.directories),
            "failed": [
                {
                    "source": o.job.source,
                    "destination": o.job.destination,
                    "error": describe(o.error) if o.error else "",
                    "exit_code": int(exit_code_of(o.error)) if o.error else 1,
                }
                for o in self.failed
            ],
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


def _size(outcome: Outcome, dry_run: bool) -> int | None:
    # A server-side copy moves no bytes here: its size is unknown (None), not 0.
    if dry_run or (not outcome.bytes and outcome.job.size is None):
        return outcome.job.size
    return outcome.bytes


_PAST = {
    "upload": "uploaded",
    "download": "downloaded",
    "copy": "copied",
    "move": "moved",
    "remove": "removed",
}


def past(operation: str) -> str:
    """``upload`` → ``uploaded``."""
    return _PAST.get(operation, operation)


def line_for(operation: str, job: Job) -> str:
    """The log line for a job: ``uploaded ./a.csv -> alice/p/a.csv``."""
    if job.destination:
        return f"{past(operation)} {job.source} -> {job.destination}"
    return f"{past(operation)} {job.source}"


def failure_line(job: Job, error: BaseException) -> str:
    """``source: why``, without naming the source twice when the message already does."""
    from anaconda_storage_cli.errors import describe

    message = describe(error)
    return message if job.source in message else f"{job.source}: {message}"


def run_jobs(
    operation: str,
    jobs: Sequence[Job],
    *,
    workers: int,
    reporter: Reporter,
    summary: Summary | None = None,
) -> Summary:
    """Run ``jobs`` on ``workers`` threads; every job runs, whatever the others do.

    Args:
        operation: What the jobs do (for messages): ``upload``, ``download``, ...
        jobs: The files to move.
        workers: How many at once.
        reporter: Told about each job's start, bytes and end.
        summary: A summary to add to (with directories already made); a new one if None.

    Returns:
        The summary.

    Raises:
        KeyboardInterrupt: When interrupted; the jobs in flight stop at their next chunk.
    """
    summary = summary or Summary(operation)
    started = time.monotonic()
    cancelled = threading.Event()
    reporter.start(len(jobs), sum(job.size or 0 for job in jobs))

    def work(key: int, job: Job) -> Outcome:
        outcome = Outcome(job)
        if cancelled.is_set():
            raise Cancelled()
        reporter.begin(key, job.source, job.size)

        def advance(amount: int) -> None:
            if cancelled.is_set():
                raise Cancelled()
            if amount:  # advance(0): only asks whether the run goes on
                outcome.bytes += amount
                reporter.advance(key, amount)

        try:
            outcome.result = job.run(advance)
        except Cancelled:
            raise
        except Exception as exc:
            outcome.error = exc
            reporter.failed(key, failure_line(job, exc))
        else:
            moved = outcome.bytes if outcome.bytes or job.size is not None else None
            reporter.done(key, line_for(operation, job), moved)
        return outcome

    executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="transfer")
    try:
        pending: set[Future[Outcome]] = {
            executor.submit(work, key, job) for key, job in enumerate(jobs)
        }
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                outcome = future.result()
                (summary.failed if outcome.error else summary.done).append(outcome)
    except BaseException:
        cancelled.set()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        executor.shutdown(wait=True)
        reporter.stop()
        summary.seconds += time.monotonic() - started
    return summary


def finish(summary: Summary, output: Output) -> None:
    """Print the summary and raise what sets the exit code.

    Text goes to stderr (not with ``-q``, except the failures); with ``--json`` the summary
    is the JSON document on stdout. A run of one file that failed prints one line, the
    failure, with its own exit code (``rm missing.csv`` is "not found", exit 3).

    Raises:
        FilesFailed: Some files failed (exit code 6), or all did (the first one's code).
    """
    from anaconda_storage_cli.errors import ExitCode, FilesFailed, exit_code_of

    alone = not summary.done and not summary.directories and len(summary.failed) == 1
    if output.json:
        output.data(summary.to_json())
    elif alone:
        failure = summary.failed[0]
        assert failure.error is not None
        line = failure_line(failure.job, failure.error)
        raise FilesFailed(1, 1, exit_code_of(failure.error), message=line)
    elif not output.quiet:
        output.info(_summary_line(summary))
    for outcome in summary.failed:
        assert outcome.error is not None
        output.error(failure_line(outcome.job, outcome.error))
    if summary.failed:
        first = summary.failed[0].error
        assert first is not None
        code = exit_code_of(first) if not summary.done else ExitCode.PARTIAL
        total = len(summary.failed) + len(summary.done)
        raise FilesFailed(len(summary.failed), total, code)


def _summary_line(summary: Summary) -> str:
    files = len(summary.done)
    noun = "file" if files == 1 else "files"
    if summary.dry_run:
        line = f"dry run: would have {past(summary.operation)} {files} {noun}"
        if summary.directories:
            count = len(summary.directories)
            line += f" and made {count} {'directory' if count == 1 else 'directories'}"
        return line + "; nothing was changed"
    line = f"{past(summary.operation).capitalize()} {files} {noun}"
    if summary.operation in ("upload", "download") or summary.bytes:
        line += f", {human_size(summary.bytes)}"
    line += f" in {summary.seconds:.1f} s"
    if summary.bytes and summary.seconds > 0:
        line += f" ({human_size(int(summary.bytes / summary.seconds))}/s)"
    if summary.directories:
        count = len(summary.directories)
        line += f"; {count} empty {'directory' if count == 1 else 'directories'} made"
    if summary.failed:
        line += f"; {len(summary.failed)} failed"
    return line
