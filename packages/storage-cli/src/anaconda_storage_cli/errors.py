"""Exit codes, and the one table that turns an exception into a one-line message.

Every command runs under :func:`report_errors` (through the app's group class), so no
traceback ever reaches a user: the first row of :func:`error_table` whose type matches the
exception gives the exit code and the message. ``ANACONDA_STORAGE_DEBUG=1`` (or the
``anaconda --verbose`` flag) prints the traceback before the message.

The exit codes, documented in the README ("Errors and exit codes")::

    0    ok
    1    error (server, network, anything not below)
    2    usage: bad option, invalid URI, permission string or attribute, writing history,
         an API key that would go to a domain it was not given for
    3    not found
    4    permission denied
    5    conflict: exists already, not empty, file/directory clash, changed meanwhile
    6    partial failure: some files of a transfer failed, the others were transferred
    7    not logged in
    130  interrupted (Ctrl-C)
    141  stdout closed early (``cat ... | head``): silent, as SIGPIPE would be
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anaconda_storage_core.errors import (
        AuthenticationRequired,
        PermissionDenied,
        StorageConnectionError,
    )

__all__ = [
    "DEBUG_VARIABLE",
    "ErrorRow",
    "ExitCode",
    "FilesFailed",
    "UsageProblem",
    "describe",
    "error_table",
    "exit_code_of",
]

DEBUG_VARIABLE = "ANACONDA_STORAGE_DEBUG"

LOGIN_HINT = (
    "log in with `anaconda login`, or set ANACONDA_CLOUD_API_KEY"
    " (and ANACONDA_CLOUD_API_DOMAIN for another server)"
)


class ExitCode(IntEnum):
    """The exit status of ``anaconda storage``; scripts may rely on each value."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    PERMISSION_DENIED = 4
    CONFLICT = 5
    PARTIAL = 6
    NOT_LOGGED_IN = 7
    INTERRUPTED = 130
    BROKEN_PIPE = 141


class UsageProblem(ValueError):
    """A command line that cannot work as written (``cp`` of a directory without ``-r``)."""


class FilesFailed(Exception):
    """Files of a multi-file command failed; the summary has listed each already.

    Attributes:
        failed: How many failed.
        total: How many were attempted.
        code: :data:`ExitCode.PARTIAL` when others were done; when none was, the code of
            the first failure (so a transfer that could not start at all exits as "not
            found" or "not logged in" would).
        message: The line to print; by default "N of M files failed". A command of one
            file that failed says why in this one line instead (``rm missing.csv``).
    """

    def __init__(
        self,
        failed: int,
        total: int,
        code: ExitCode = ExitCode.PARTIAL,
        message: str | None = None,
    ) -> None:
        self.failed = failed
        self.total = total
        self.code = code
        noun = "file" if total == 1 else "files"
        what = (
            f"all {total} {noun}"
            if failed == total and total > 1
            else f"{failed} of {total} {noun}"
        )
        self.message = message
        super().__init__(message or f"{what} failed")

    def __reduce__(
        self,
    ) -> tuple[type[FilesFailed], tuple[int, int, ExitCode, str | None]]:
        return (type(self), (self.failed, self.total, self.code, self.message))


@dataclass(frozen=True)
class ErrorRow:
    """One row of the table: exceptions of ``kind`` exit with ``code``, saying ``message``."""

    kind: type[BaseException]
    code: ExitCode | Callable[[Any], ExitCode]
    message: Callable[[Any], str]

    def exit_code(self, exc: BaseException) -> ExitCode:
        """The exit code for ``exc``, an instance of ``kind``."""
        return self.code if isinstance(self.code, ExitCode) else self.code(exc)


def _not_logged_in(exc: AuthenticationRequired) -> str:
    # The core's message ends with its own login hint; ours names the CLI's ways in.
    from anaconda_storage_core.errors import LOGIN_HINT as CORE_HINT

    reason = str(exc).replace(f": {CORE_HINT}", "").replace(CORE_HINT, "").strip(" :")
    if reason in ("", "not logged in"):  # no key at all: nothing more to say
        return f"not logged in; {LOGIN_HINT}"
    return f"not logged in ({reason}); {LOGIN_HINT}"


def _permission_denied(exc: PermissionDenied) -> str:
    message = str(exc)
    if exc.required and exc.required not in message:
        message += f" ({exc.required} permission required)"
    return message


def _connection(exc: StorageConnectionError) -> str:
    return f"{exc} (is ANACONDA_CLOUD_API_DOMAIN right?)"


def _local_os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.strerror.lower()}: {exc.filename}"
    return str(exc) or type(exc).__name__


def _unexpected(exc: BaseException) -> str:
    return (
        f"unexpected {type(exc).__name__}: {exc} (set {DEBUG_VARIABLE}=1 to see the traceback"
        " and please report it)"
    )


@lru_cache(maxsize=1)
def error_table() -> tuple[ErrorRow, ...]:
    """The table, ordered: the first row whose type matches wins, so subclasses come before
    their bases (PreconditionFailed before Conflict, the core's errors before the builtins
    they mix in). Built on first use: the core (and httpx) load only when an error needs
    them, not each time the ``anaconda`` CLI starts."""
    from anaconda_storage_core.attributes import InvalidAttribute
    from anaconda_storage_core.config import ApiKeyDomainMismatch
    from anaconda_storage_core.errors import (
        AuthenticationRequired,
        ChecksumMismatch,
        Conflict,
        InvalidRequest,
        NotFound,
        PermissionDenied,
        PreconditionFailed,
        ReadOnlyError,
        ServerError,
        StorageConnectionError,
        StorageError,
    )
    from anaconda_storage_core.permission import InvalidPermission
    from anaconda_storage_core.uri import InvalidURI

    return (
        ErrorRow(KeyboardInterrupt, ExitCode.INTERRUPTED, lambda _: "interrupted"),
        ErrorRow(FilesFailed, lambda exc: exc.code, str),
        ErrorRow(UsageProblem, ExitCode.USAGE, str),
        ErrorRow(InvalidURI, ExitCode.USAGE, str),
        ErrorRow(InvalidPermission, ExitCode.USAGE, str),
        ErrorRow(InvalidAttribute, ExitCode.USAGE, str),
        ErrorRow(ReadOnlyError, ExitCode.USAGE, str),
        ErrorRow(ApiKeyDomainMismatch, ExitCode.USAGE, str),
        ErrorRow(AuthenticationRequired, ExitCode.NOT_LOGGED_IN, _not_logged_in),
        ErrorRow(PermissionDenied, ExitCode.PERMISSION_DENIED, _permission_denied),
        ErrorRow(NotFound, ExitCode.NOT_FOUND, str),
        ErrorRow(PreconditionFailed, ExitCode.CONFLICT, str),
        ErrorRow(Conflict, ExitCode.CONFLICT, str),
        ErrorRow(InvalidRequest, ExitCode.ERROR, str),
        ErrorRow(StorageConnectionError, ExitCode.ERROR, _connection),
        ErrorRow(ChecksumMismatch, ExitCode.ERROR, str),
        ErrorRow(ServerError, ExitCode.ERROR, str),
        ErrorRow(StorageError, ExitCode.ERROR, str),
        # Local files (upload's sources, download's destinations).
        ErrorRow(FileNotFoundError, ExitCode.NOT_FOUND, _local_os_error),
        ErrorRow(PermissionError, ExitCode.PERMISSION_DENIED, _local_os_error),
        ErrorRow(FileExistsError, ExitCode.CONFLICT, _local_os_error),
        ErrorRow(OSError, ExitCode.ERROR, _local_os_error),
        ErrorRow(Exception, ExitCode.ERROR, _unexpected),
    )


def _row(exc: BaseException) -> ErrorRow | None:
    for row in error_table():
        if isinstance(exc, row.kind):
            return row
    return None


def exit_code_of(exc: BaseException) -> ExitCode:
    """The exit code for ``exc`` (:data:`ExitCode.ERROR` for anything unknown)."""
    row = _row(exc)
    return row.exit_code(exc) if row else ExitCode.ERROR


def describe(exc: BaseException) -> str:
    """The one-line message for ``exc``, without the ``error:`` prefix."""
    row = _row(exc)
    text = row.message(exc) if row else _unexpected(exc)
    return " ".join(text.split("\n")) if text else type(exc).__name__


def debug_enabled() -> bool:
    """Whether ``ANACONDA_STORAGE_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def format_traceback(exc: BaseException) -> str:
    """The traceback of ``exc``, as Python prints it."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
