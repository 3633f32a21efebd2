"""What a transfer shows while it runs: rich bars on a terminal, log lines elsewhere, or nothing.

- On a terminal (stderr is a tty): one overall bar with bytes, rate, ETA and files done of
  total, plus a line per file in flight, removed when the file is done. Sizes and rates
  are in IEC units (KiB, MiB/s), as everywhere in the CLI (``formats.human_size``); the
  ETA is the overall one only, from the bytes left and the byte rate, so a large file
  started last does not make it wrong, as a count of files would.
- Not a terminal (a log, CI): one plain line per file done or failed, so a log shows what
  happened without control characters.
- ``-q``: nothing; failures are still listed by the summary.

Reporters are called from the worker threads; rich's Progress has its own lock, and the log
reporter takes one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

from rich.console import Console
from rich.markup import escape

from anaconda_storage_cli.formats import human_size

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["LogReporter", "Reporter", "RichReporter", "SilentReporter", "make_reporter"]


class Reporter(Protocol):
    """What the transfer runner tells about its progress."""

    def start(self, files: int, size: int) -> None:
        """The transfer starts: ``files`` files, ``size`` bytes in all."""

    def begin(self, key: int, label: str, size: int | None) -> None:
        """File ``key`` starts."""

    def advance(self, key: int, amount: int) -> None:
        """File ``key`` moved ``amount`` more bytes."""

    def done(self, key: int, line: str, size: int | None) -> None:
        """File ``key`` is done; ``line`` says what happened."""

    def failed(self, key: int, line: str) -> None:
        """File ``key`` failed; ``line`` says which and why."""

    def stop(self) -> None:
        """The transfer is over (also after an interruption)."""


class SilentReporter:
    """``-q``: shows nothing."""

    def start(self, files: int, size: int) -> None:
        pass

    def begin(self, key: int, label: str, size: int | None) -> None:
        pass

    def advance(self, key: int, amount: int) -> None:
        pass

    def done(self, key: int, line: str, size: int | None) -> None:
        pass

    def failed(self, key: int, line: str) -> None:
        pass

    def stop(self) -> None:
        pass


class LogReporter(SilentReporter):
    """Not a terminal: a plain line per file done or failed."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._lock = threading.Lock()

    def done(self, key: int, line: str, size: int | None) -> None:
        with self._lock:
            suffix = f" ({human_size(size)})" if size is not None else ""
            self._console.print(escape(line + suffix), markup=True)

    def failed(self, key: int, line: str) -> None:
        with self._lock:
            self._console.print(f"[red]failed[/red] {escape(line)}")


class RichReporter:
    """A terminal: an overall bar (bytes, rate, ETA, files done of total) and one per file."""

    def __init__(self, console: Console, verb: str) -> None:
        self._console = console
        self._verb = verb
        self._progress: Progress | None = None
        self._overall: TaskID | None = None
        self._tasks: dict[int, TaskID] = {}
        self._files = 0
        self._finished = 0
        self._lock = threading.Lock()

    def start(self, files: int, size: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self._files = files
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(binary_units=True),
            _rate_column(),
            _eta_column(),
            console=self._console,
            transient=True,
        )
        self._overall = self._progress.add_task(
            self._overall_text(), total=size or None, overall=True
        )
        self._progress.start()

    def _overall_text(self) -> str:
        return f"{self._verb} {self._finished}/{self._files} files"

    def begin(self, key: int, label: str, size: int | None) -> None:
        if self._progress is not None:
            with self._lock:
                shown = label if len(label) <= 40 else "…" + label[-39:]
                self._tasks[key] = self._progress.add_task(f"  {shown}", total=size)

    def advance(self, key: int, amount: int) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(key)
        if task is not None:
            self._progress.advance(task, amount)
        if self._overall is not None:
            self._progress.advance(self._overall, amount)

    def _finish(self, key: int) -> None:
        assert self._progress is not None
        with self._lock:
            task = self._tasks.pop(key, None)
            self._finished += 1
            text = self._overall_text()
        if task is not None:
            self._progress.remove_task(task)
        if self._overall is not None:
            self._progress.update(self._overall, description=text)

    def done(self, key: int, line: str, size: int | None) -> None:
        if self._progress is not None:
            self._finish(key)

    def failed(self, key: int, line: str) -> None:
        if self._progress is not None:
            self._progress.console.print(f"[red]failed[/red] {escape(line)}")
            self._finish(key)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _rate_column() -> Any:
    """The rate in IEC units (``1.5 MiB/s``, as the summary writes it); blank while unknown
    (a copy on the server moves no bytes here), not rich's ``?``."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            text = "" if speed is None else f"{human_size(int(speed))}/s"
            return Text(text, style="progress.data.speed")

    return RateColumn()


def _eta_column() -> Any:
    """The time left, on the overall row only: bytes left over the byte rate."""
    from rich.progress import TimeRemainingColumn
    from rich.text import Text

    class OverallTimeRemaining(TimeRemainingColumn):
        def render(self, task: Any) -> Text:
            if not task.fields.get("overall"):
                return Text("")
            return super().render(task)

    return OverallTimeRemaining()


def make_reporter(console: Console, *, verb: str, quiet: bool) -> Reporter:
    """The reporter for this run: silent with ``-q``, bars on a terminal, lines otherwise."""
    if quiet:
        return SilentReporter()
    if console.is_terminal:
        return RichReporter(console, verb)
    return LogReporter(console)
