"""The exceptions of the Storage client, and the one place HTTP answers become them.

Every error the client raises is a `StorageError`, and each also derives from the builtin
that fsspec, pathlib-style code and users already catch::

    StorageError
    ├── AuthenticationRequired (PermissionError)   401 auth_required
    ├── PermissionDenied (PermissionError)         403 permission_denied    .required
    ├── ReadOnlyError (PermissionError)            client-side: a write addressed at a
    │                                              checkpoint or a revision
    ├── NotFound (FileNotFoundError)               404 not_found            .missing
    ├── Conflict (FileExistsError)                 409 conflict
    │   └── PreconditionFailed                     412 precondition_failed  .current
    ├── InvalidRequest (ValueError)                400 invalid              .field
    │   └── RequestTooLarge                        413 too_large
    ├── RangeNotSatisfiable (ValueError)           416 range_not_satisfiable
    ├── ServerError (OSError)                      429 and 5xx once retries are spent  .status
    │   └── InsufficientStorage (errno ENOSPC)     507 insufficient_storage: the server's disk
    │                                              is full (not retried)
    ├── StorageConnectionError (OSError)           the connection failed (after retries)
    └── ChecksumMismatch (OSError)                 content whose checksum is not the expected one

`error_from_response` is the single function that maps an HTTP status and the contract's
error body (docs/api.md, "Errors") to these types; `raise_for_response` raises what it
returns. Every exception keeps only plain data (no request, no response, never the API key)
and pickles, because Dask ships exceptions between processes.
"""

from __future__ import annotations

import errno
import json
import os
from typing import Any

import httpx

__all__ = [
    "AuthenticationRequired",
    "ChecksumMismatch",
    "Conflict",
    "InsufficientStorage",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "ReadOnlyError",
    "RequestTooLarge",
    "ServerError",
    "StorageConnectionError",
    "StorageError",
    "error_from_response",
    "raise_for_response",
]

LOGIN_HINT = "log in with `anaconda login` or set the ANACONDA_CLOUD_API_KEY environment variable"


class StorageError(Exception):
    """Base of every error raised by the Storage client.

    Attributes:
        message: The human-readable message (also `str(error)`).
        status: The HTTP status that caused it, or None for client-side errors.
        code: The contract's error code (`not_found`, `conflict`, ...), or None.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        # OSError's own __str__ would format (errno, strerror); the message is what we mean.
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the message alone, then restore every attribute: subclasses may take
        # keyword arguments that BaseException's default reduction (cls(*args)) would drop.
        return (self.__class__, (self.message,), self.__dict__.copy())


class AuthenticationRequired(StorageError, PermissionError):
    """The server does not know the caller (401): no API key, or an unknown one."""


class PermissionDenied(StorageError, PermissionError):
    """The caller sees the project but lacks a permission (403).

    Attributes:
        required: The level the operation needs: `read`, `write` or `owner` (or None).
    """

    def __init__(self, message: str, *, required: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.required = required


class ReadOnlyError(StorageError, PermissionError):
    """A write addressed at a checkpoint or a revision: history is read-only.

    Raised by the client before any request is sent.
    """


class NotFound(StorageError, FileNotFoundError):
    """No such owner, project, checkpoint, revision, path or upload session (404).

    A project the caller cannot read is also reported as not found.

    Attributes:
        missing: Which kind of thing is missing: `owner`, `project`, `checkpoint`,
            `revision`, `path` or `upload` (None when the server did not say).
    """

    def __init__(self, message: str, *, missing: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.missing = missing


class Conflict(StorageError, FileExistsError):
    """The change clashes with what exists (409): a taken name, a file/directory clash, a
    directory or project that is not empty."""


class PreconditionFailed(Conflict):
    """An `If-Match` / `If-None-Match` condition does not hold (412).

    Attributes:
        current: The path's current revision, or None when it holds no live file.
    """

    def __init__(self, message: str, *, current: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.current = current


class InvalidRequest(StorageError, ValueError):
    """The server rejected the request as malformed (400): a bad name, path or parameter.

    Attributes:
        field: The offending field or parameter, when the server named it.
    """

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.field = field


class RequestTooLarge(InvalidRequest):
    """A JSON body over 1 MiB, a part over 5 GiB or more than 10,000 parts (413)."""


class RangeNotSatisfiable(StorageError, ValueError):
    """A byte range outside the content (416).

    Attributes:
        size: The content's size, from `Content-Range: bytes */size`, when known.
    """

    def __init__(self, message: str, *, size: int | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.size = size


class ServerError(StorageError, OSError):
    """The server kept failing (5xx) or rate limiting (429) once retries were spent.

    Attributes:
        status: The last HTTP status (429, 500, 503, ...).
        retry_after: The last `Retry-After` in seconds, when the server sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InsufficientStorage(ServerError):
    """The server's disk is full (507): nothing of the request was stored.

    An `OSError` with `errno.ENOSPC`, as a full local disk raises, so code that handles a
    full disk (`except OSError as e: if e.errno == errno.ENOSPC`) handles this one too.
    Not retried: space comes back when someone frees it, not in seconds.
    """

    def __init__(self, message: str, **kwargs: Any):
        super().__init__(message, **kwargs)
        # Set again when unpickled: __reduce__ calls this with the message.
        self.errno = errno.ENOSPC
        self.strerror = os.strerror(errno.ENOSPC)


class StorageConnectionError(StorageError, OSError):
    """The connection to the server failed (refused, reset, timed out), after retries."""


class ChecksumMismatch(StorageError, OSError):
    """Content whose checksum (CRC32C or sha256) differs from the one expected; also the
    server's `400 checksum_mismatch` (it received other bytes than those sent).

    Attributes:
        expected: The checksum the server announced (or the local one, for an upload).
        actual: The checksum of what was received (or what the server stored).
    """

    def __init__(
        self,
        message: str,
        *,
        expected: str | None = None,
        actual: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(message, **kwargs)
        self.expected = expected
        self.actual = actual


def _error_body(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of a contract error body, or {} when the body is something else."""
    try:
        body = json.loads(response.content)
    except (ValueError, httpx.ResponseNotRead):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare enough that the backoff schedule serves instead


def _content_size(response: httpx.Response) -> int | None:
    # `Content-Range: bytes */1234` on a 416.
    _, _, size = response.headers.get("Content-Range", "").rpartition("/")
    return int(size) if size.isdigit() else None


def error_from_response(response: httpx.Response, target: str | None = None) -> StorageError:
    """The typed exception for an error answer of the Storage API.

    Args:
        response: An answer with a status of 400 or more; its body, if read, is parsed as
            the contract's `{"error": {"code", "message", ...}}`.
        target: What the request was about (`alice/sales/q1.csv`), named in the message.

    Returns:
        The exception to raise (see the tree in this module's docstring).
    """
    status = response.status_code
    error = _error_body(response)
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message_field = error.get("message")
    server_message = message_field if isinstance(message_field, str) else ""
    about = f" ({target})" if target and target not in server_message else ""
    detail = f"{server_message}{about}" if server_message else (target or "")
    common: dict[str, Any] = {"status": status, "code": code}

    if status == 401:
        message = f"authentication required: {LOGIN_HINT}"
        if server_message:
            message = f"{server_message}: {LOGIN_HINT}"
        return AuthenticationRequired(message, **common)
    if status == 403:
        required = error.get("required")
        # The server's message usually names the level already ("write access ... is needed").
        named = isinstance(required, str) and required in server_message
        needs = f"; {required} permission required" if required and not named else ""
        return PermissionDenied(
            f"permission denied: {detail or 'forbidden'}{needs}", required=required, **common
        )
    if status == 404:
        missing = error.get("missing")
        if server_message:
            message = f"{server_message}{about}"
        else:
            message = f"{missing or 'resource'} not found" + (f": {target}" if target else "")
        return NotFound(message, missing=missing, **common)
    if status == 409:
        return Conflict(f"conflict: {detail or 'already exists'}", **common)
    if status == 412:
        current = error.get("current")
        return PreconditionFailed(
            f"precondition failed: {detail or 'the current revision differs'}",
            current=current,
            **common,
        )
    if status == 413:
        return RequestTooLarge(f"request too large: {detail}", **common)
    if status == 416:
        return RangeNotSatisfiable(
            f"range not satisfiable: {detail}", size=_content_size(response), **common
        )
    if status == 400 and code == "checksum_mismatch":
        # The server received other bytes than those sent (docs/api.md, "Checksums").
        return ChecksumMismatch(f"checksum mismatch: {detail}", **common)
    if 400 <= status < 500 and status != 429 and status != 408:
        return InvalidRequest(
            f"invalid request: {detail or response.reason_phrase}",
            field=error.get("field"),
            **common,
        )
    if status == 507:
        return InsufficientStorage(
            f"insufficient storage: {detail or 'the server has no space left'}",
            retry_after=_retry_after(response),
            **common,
        )
    reason = server_message or response.reason_phrase or "server error"
    return ServerError(
        f"server error {status}: {reason}{about}",
        retry_after=_retry_after(response),
        **common,
    )


# Request headers that carry no secret; every other value is hidden once an exchange failed.
_PLAIN_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "api-version",
        "connection",
        "content-length",
        "content-type",
        "host",
        "if-match",
        "if-none-match",
        "range",
        "transfer-encoding",
        "user-agent",
        "x-storage-sha256",
    }
)


def scrubbed(exc: httpx.HTTPError) -> httpx.HTTPError:
    """`exc` with the secrets taken out of its finished request, to be chained as a cause.

    An httpx error holds its request, whose `Authorization` (and any extra header) holds
    the API key. Pickle leaves a cause out, but tblib's pickling support, which Dask
    installs in every worker, ships causes along with their requests: so the headers are
    redacted in place. Only a request that will not be sent again may be scrubbed.
    """
    try:
        request = exc.request
    except RuntimeError:  # an error raised without a request: nothing to hide
        return exc
    request.headers = httpx.Headers(
        [
            (name, value if name.lower() in _PLAIN_HEADERS else "[hidden]")
            for name, value in request.headers.items()
        ]
    )
    return exc


def raise_for_response(response: httpx.Response, target: str | None = None) -> None:
    """Raise the typed exception for `response` if it is an error (status >= 400).

    Args:
        response: A read response.
        target: What the request was about, named in the message.

    Raises:
        StorageError: The subclass `error_from_response` picks.
    """
    if response.status_code < 400:
        return
    error = error_from_response(response, target)
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        raise error from scrubbed(exc)
    except RuntimeError:  # a response built without its request (tests): nothing to chain
        pass
    raise error
