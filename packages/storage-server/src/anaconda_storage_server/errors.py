"""The one error type of the server and the JSON body it becomes (docs/api.md, "Errors").

Every failure a route can report is an `ApiError`; `error_response` is the one place that
turns one into the documented body `{"error": {"code", "message", ...extra}}`. Starlette's own
404/405 and any unexpected exception are mapped to the same shape by the handlers in
`app.py`, so no response ever carries another error format.

A full disk is not a bug: `storing` turns the disk-full errors of the operating system
(ENOSPC, EDQUOT) and of SQLite (SQLITE_FULL) met while storing into `507
insufficient_storage`, where the contract keeps 500 for the server's own faults.

Starlette is imported only to build a response, so the `users add` command, which stores
through the same modules, starts without it.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.responses import JSONResponse

# status -> code, exactly the table of docs/api.md.
CODES: dict[int, str] = {
    400: "invalid",
    401: "auth_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    416: "range_not_satisfiable",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
    507: "insufficient_storage",
}

# What the operating system says when a disk, or the user's quota on it, is full.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL, a constant only from Python 3.11


class ApiError(Exception):
    """A failure reported to the client as a documented JSON error.

    Args:
        status: The HTTP status.
        message: A sentence for humans.
        headers: Extra response headers (`Retry-After`, `Content-Range`, `WWW-Authenticate`).
        code: A code more precise than the status's own (`checksum_mismatch` for a 400).
        **extra: Extra fields of the error object (`missing`, `required`, `field`, `current`).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
        **extra: object,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra
        self._code = code

    @property
    def code(self) -> str:
        if self._code is not None:
            return self._code
        return CODES.get(self.status, "internal" if self.status >= 500 else "invalid")


def invalid(message: str, *, field: str | None = None) -> ApiError:
    """A `400 invalid`, optionally naming the offending field or parameter."""
    return ApiError(400, message, field=field) if field else ApiError(400, message)


def checksum_mismatch(field: str, message: str) -> ApiError:
    """A `400 checksum_mismatch`: the body received is not what the `field` header says."""
    return ApiError(400, message, code="checksum_mismatch", field=field)


def not_found(missing: str, message: str) -> ApiError:
    """A `404 not_found` naming what is missing (owner, project, path, ...)."""
    return ApiError(404, message, missing=missing)


def conflict(message: str) -> ApiError:
    """A `409 conflict`."""
    return ApiError(409, message)


def forbidden(required: str, message: str) -> ApiError:
    """A `403 permission_denied` naming the level the action needs."""
    return ApiError(403, message, required=required)


def precondition_failed(current: str | None, message: str) -> ApiError:
    """A `412 precondition_failed` carrying the current revision (or null)."""
    return ApiError(412, message, current=current)


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` says that the disk (or the quota) is full: ENOSPC, EDQUOT, SQLITE_FULL."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == _SQLITE_FULL if code is not None else "disk is full" in str(exc)
    return False


def insufficient_storage(what: str) -> ApiError:
    """A `507 insufficient_storage`: the disk holding `what` is full."""
    return ApiError(
        507,
        f"the server's disk is full: {what} could not be stored; nothing was changed,"
        " try again once space is freed",
    )


@contextmanager
def storing(what: str) -> Iterator[None]:
    """Report a full disk met inside the block as `507 insufficient_storage`.

    Args:
        what: What was being stored, for the message ("the content", "the change").

    Raises:
        ApiError: 507, from the disk-full error; any other exception passes unchanged.
    """
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        if is_disk_full(exc):
            raise insufficient_storage(what) from exc
        raise


def error_object(error: ApiError) -> dict[str, object]:
    """The documented error object of `error`: `{"code", "message", ...extra}` (an error
    answer's `error`, and a read frame's, `reading.py`)."""
    body: dict[str, object] = {"code": error.code, "message": error.message}
    body.update(error.extra)
    return body


def error_response(error: ApiError) -> JSONResponse:
    """The documented JSON body of `error`, with its status and headers."""
    from starlette.responses import JSONResponse

    return JSONResponse(
        {"error": error_object(error)}, status_code=error.status, headers=error.headers
    )
