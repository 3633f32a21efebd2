"""The one output sink of the CLI: data on stdout, everything else on stderr.

stdout carries only what the user asked for: a listing, a table, a file's bytes, a UUID, or
with ``--json`` one JSON document. Messages, progress, warnings and errors go to stderr, so
``anaconda storage ls o/p --json | jq`` and ``anaconda storage cat o/p/f > f`` always work.

Consoles are made when a command runs, not at import: tests (and ``CliRunner``) swap
``sys.stdout`` and ``sys.stderr`` per invocation.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import IO, Any

from rich.console import Console
from rich.markup import escape

__all__ = ["Output", "error_console", "jsonable"]

# When stdout is not a terminal, rich would wrap tables at 80 columns; a pipe wants whole
# lines, so the width is only a ceiling no real table reaches.
_PIPE_WIDTH = 10_000


def error_console(file: IO[str] | None = None) -> Console:
    """A console on stderr (or ``file``) that never wraps or highlights a message."""
    return Console(file=file or sys.stderr, highlight=False, soft_wrap=True)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses and mappings become objects, tuples lists,
    datetimes RFC 3339 strings in UTC (``2024-05-01T12:00:00.123456Z``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(item) for item in value]
        return sorted(items) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, datetime):
        utc = value.astimezone(timezone.utc) if value.tzinfo else value
        return utc.isoformat().replace("+00:00", "Z")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class Output:
    """Where a command writes: the data to stdout, messages to stderr.

    Args:
        json: Print data as JSON (``--json``); human text otherwise.
        quiet: Drop informational messages and progress (``-q``); errors and warnings stay.
    """

    def __init__(self, *, json: bool = False, quiet: bool = False) -> None:
        self.json = json
        self.quiet = quiet
        self._stdout: Console | None = None
        self._stderr: Console | None = None

    # -- the two streams ---------------------------------------------------------------

    @property
    def stdout(self) -> Console:
        """A rich console on stdout, for human data (tables, listings)."""
        if self._stdout is None:
            plain = not sys.stdout.isatty()
            self._stdout = Console(
                file=sys.stdout,
                highlight=False,
                width=_PIPE_WIDTH if plain else None,
                soft_wrap=plain,
            )
        return self._stdout

    @property
    def stderr(self) -> Console:
        """A rich console on stderr, for messages and progress."""
        if self._stderr is None:
            self._stderr = error_console()
        return self._stderr

    @property
    def interactive(self) -> bool:
        """Whether stderr is a terminal: rich progress bars there, log lines otherwise."""
        return self.stderr.is_terminal

    # -- data: stdout ------------------------------------------------------------------

    def data(self, value: Any) -> None:
        """Print ``value`` as one JSON document on stdout (the ``--json`` form of a result)."""
        sys.stdout.write(json.dumps(jsonable(value), indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def lines(self, lines: Iterable[str]) -> None:
        """Print plain lines on stdout, as they are (no markup, no wrapping)."""
        for line in lines:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def rich(self, renderable: Any) -> None:
        """Print a rich renderable (a table, styled text) on stdout.

        Not on a terminal, the lines lose the padding rich gives table cells, so a pipe
        gets no trailing spaces.
        """
        if self.stdout.is_terminal:
            self.stdout.print(renderable)
            return
        with self.stdout.capture() as captured:
            self.stdout.print(renderable)
        self.lines(line.rstrip() for line in captured.get().splitlines())

    @property
    def binary_stdout(self) -> IO[bytes]:
        """stdout for bytes (``cat``, ``cp ... -``), after the text written so far."""
        sys.stdout.flush()
        return sys.stdout.buffer

    def write_bytes(self, chunk: bytes) -> None:
        """Write raw bytes on stdout."""
        self.binary_stdout.write(chunk)

    def flush(self) -> None:
        """Flush stdout."""
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.flush()

    # -- messages: stderr --------------------------------------------------------------

    def info(self, message: str) -> None:
        """A message for a person (not with ``-q``). ``message`` is plain text."""
        if not self.quiet:
            self.stderr.print(escape(message))

    def success(self, message: str) -> None:
        """What a command did (not with ``-q``), marked so it stands out on a terminal."""
        if not self.quiet:
            self.stderr.print(f"[green]✓[/green] {escape(message)}")

    def warning(self, message: str) -> None:
        """A warning: shown even with ``-q``."""
        self.stderr.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def error(self, message: str) -> None:
        """An error line: always shown."""
        self.stderr.print(f"[bold red]error:[/bold red] {escape(message)}")
