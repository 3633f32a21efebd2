"""The one mapping from HTTP answers to typed exceptions, and the exceptions themselves."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest

from anaconda_storage_core import StorageClient, errors
from anaconda_storage_core.errors import (
    AuthenticationRequired,
    ChecksumMismatch,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RangeNotSatisfiable,
    ReadOnlyError,
    RequestTooLarge,
    ServerError,
    StorageConnectionError,
    StorageError,
    error_from_response,
    raise_for_response,
)


def answer(status: int, error: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", "https://storage.example/api/storage/owners/alice")
    body = {"error": error} if error is not None else None
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "code", "kind", "builtin"),
    [
        (400, "invalid", InvalidRequest, ValueError),
        (401, "auth_required", AuthenticationRequired, PermissionError),
        (403, "permission_denied", PermissionDenied, PermissionError),
        (404, "not_found", NotFound, FileNotFoundError),
        (409, "conflict", Conflict, FileExistsError),
        (412, "precondition_failed", PreconditionFailed, FileExistsError),
        (413, "too_large", RequestTooLarge, ValueError),
        (416, "range_not_satisfiable", RangeNotSatisfiable, ValueError),
        (429, "too_many_requests", ServerError, OSError),
        (500, "internal", ServerError, OSError),
        (503, "unavailable", ServerError, OSError),
    ],
)
def test_status_table(status: int, code: str, kind: type, builtin: type) -> None:
    error = error_from_response(answer(status, {"code": code, "message": "m"}))
    assert type(error) is kind
    assert isinstance(error, StorageError)
    assert isinstance(error, builtin)
    assert (error.status, error.code) == (status, code)


def test_extra_fields() -> None:
    missing = error_from_response(
        answer(404, {"code": "not_found", "message": "m", "missing": "checkpoint"})
    )
    assert isinstance(missing, NotFound)
    assert missing.missing == "checkpoint"
    denied = error_from_response(
        answer(403, {"code": "permission_denied", "message": "no", "required": "owner"})
    )
    assert isinstance(denied, PermissionDenied)
    assert denied.required == "owner"
    assert "owner permission required" in str(denied)
    failed = error_from_response(
        answer(412, {"code": "precondition_failed", "message": "m", "current": "r1"})
    )
    assert isinstance(failed, PreconditionFailed)
    assert failed.current == "r1"
    invalid = error_from_response(
        answer(400, {"code": "invalid", "message": "bad", "field": "limit"})
    )
    assert isinstance(invalid, InvalidRequest)
    assert invalid.field == "limit"
    outside = error_from_response(
        answer(
            416,
            {"code": "range_not_satisfiable", "message": "m"},
            **{"Content-Range": "bytes */42"},
        )
    )
    assert isinstance(outside, RangeNotSatisfiable)
    assert outside.size == 42
    limited = error_from_response(
        answer(429, {"code": "too_many_requests", "message": "m"}, **{"Retry-After": "3"})
    )
    assert isinstance(limited, ServerError)
    assert limited.retry_after == 3.0


def test_messages_name_what_is_missing_and_how_to_log_in() -> None:
    gone = error_from_response(
        answer(404, {"code": "not_found", "missing": "path"}), "alice/sales/q1.csv"
    )
    assert str(gone) == "path not found: alice/sales/q1.csv"
    told = error_from_response(
        answer(
            404,
            {"code": "not_found", "message": "project alice/sales not found", "missing": "project"},
        ),
        "alice/sales/q1.csv",
    )
    assert "project alice/sales not found" in str(told)
    assert "alice/sales/q1.csv" in str(told)
    auth = error_from_response(answer(401, {"code": "auth_required", "message": "unknown key"}))
    assert "anaconda login" in str(auth)
    assert "ANACONDA_CLOUD_API_KEY" in str(auth)


def test_a_body_that_is_not_the_contracts() -> None:
    request = httpx.Request("GET", "https://storage.example/")
    error = error_from_response(
        httpx.Response(502, text="<html>bad gateway</html>", request=request)
    )
    assert isinstance(error, ServerError)
    assert error.status == 502
    assert error.code is None
    assert isinstance(error_from_response(httpx.Response(404, request=request)), NotFound)
    assert isinstance(error_from_response(httpx.Response(418, request=request)), InvalidRequest)


def test_raise_for_response_chains_the_http_error() -> None:
    raise_for_response(answer(200))
    with pytest.raises(NotFound) as caught:
        raise_for_response(answer(404, {"code": "not_found", "message": "m"}))
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)


EXAMPLES = [
    StorageError("base", status=500, code="internal"),
    AuthenticationRequired("who", status=401, code="auth_required"),
    PermissionDenied("no", required="write", status=403, code="permission_denied"),
    ReadOnlyError("history is read-only"),
    NotFound("gone", missing="path", status=404, code="not_found"),
    Conflict("exists", status=409, code="conflict"),
    PreconditionFailed("changed", current="r1", status=412, code="precondition_failed"),
    InvalidRequest("bad", field="limit", status=400, code="invalid"),
    RequestTooLarge("big", status=413, code="too_large"),
    RangeNotSatisfiable("outside", size=42, status=416, code="range_not_satisfiable"),
    ServerError("down", retry_after=3.0, status=503, code="unavailable"),
    StorageConnectionError("refused"),
    ChecksumMismatch("differs", expected="a" * 64, actual="b" * 64),
]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_exceptions_pickle(error: StorageError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


def test_every_exception_is_in_the_tree() -> None:
    documented = errors.__doc__ or ""
    for name in errors.__all__:
        item = getattr(errors, name)
        if isinstance(item, type):
            assert issubclass(item, StorageError)
            assert name in documented


def test_permission_denied_names_the_level_once() -> None:
    denied = error_from_response(
        answer(
            403,
            {
                "code": "permission_denied",
                "message": "write access to alice/sales is needed (you have read)",
                "required": "write",
            },
        ),
        "alice/sales/q1.csv",
    )
    assert str(denied).count("write") == 1
    assert "alice/sales/q1.csv" in str(denied)


def test_no_api_key_fails_before_sending(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without a key nothing is sent: the error says how to log in, not that a host failed."""
    for variable in ("ANACONDA_CLOUD_API_KEY", "ANACONDA_AUTH_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"status": "ok", "version": "test"})

    with StorageClient(
        domain="http://127.0.0.1:9", transport=httpx.MockTransport(record)
    ) as client:
        assert client.config.api_key is None
        assert client.health().status == "ok"  # the one open route is still sent
        with pytest.raises(AuthenticationRequired, match="anaconda login"):
            list(client.list_owners())
        with pytest.raises(AuthenticationRequired, match="ANACONDA_CLOUD_API_KEY"):
            client.read_bytes("alice/sales/q1.csv")
    assert [request.url.path for request in sent] == ["/api/health"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("given", "shown"),
    [
        # Issue 11, 3.2: the checkpoint was printed after the path, as a revision.
        ("{p}#2024-05-01T12:00:00/q1.csv", "{p}#2024-05-01T12:00:00/q1.csv"),
        ("anaconda://{p}#2024-05-01T12:00:00Z/dir/q1.csv", "{p}#2024-05-01T12:00:00/dir/q1.csv"),
        ("{p}#-1/q1.csv", "{p}#-1/q1.csv"),
        ("{p}/q1.csv#-2", "{p}/q1.csv#-2"),
        ("{p}/a%23b%3F.csv", "{p}/a%23b%3F.csv"),
        ("{p}/100%25.csv#-1", "{p}/100%25.csv#-1"),
    ],
)
async def test_errors_name_the_uri_in_its_canonical_form(
    client: Any, project: str, given: str, shown: str
) -> None:
    await client.create_checkpoint(project)  # so that "#-1" names one
    uri = given.format(p=project)
    for attempt in (lambda: client.read_bytes(uri), lambda: client.info(uri)):
        with pytest.raises(errors.NotFound) as caught:
            await attempt()
        message = str(caught.value)
        assert shown.format(p=project) in message, message
