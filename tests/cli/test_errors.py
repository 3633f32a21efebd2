"""The exception table: each error its exit code and one line, in the documented order."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from anaconda_storage_cli.errors import (
    ExitCode,
    FilesFailed,
    UsageProblem,
    debug_enabled,
    describe,
    error_table,
    exit_code_of,
)
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
)
from anaconda_storage_core.permission import InvalidPermission
from anaconda_storage_core.uri import InvalidURI


def test_exit_codes_are_the_documented_ones() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "ERROR": 1,
        "USAGE": 2,
        "NOT_FOUND": 3,
        "PERMISSION_DENIED": 4,
        "CONFLICT": 5,
        "PARTIAL": 6,
        "NOT_LOGGED_IN": 7,
        "INTERRUPTED": 130,
        "BROKEN_PIPE": 141,
    }


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (InvalidURI("a/B", "project names are lower case", 2), ExitCode.USAGE),
        (InvalidPermission("u/bob*r", "bad"), ExitCode.USAGE),
        (InvalidAttribute("tags", "'x' is not a tag"), ExitCode.USAGE),
        (UsageProblem("use -r"), ExitCode.USAGE),
        (ReadOnlyError("cannot delete a/p/f#-1"), ExitCode.USAGE),
        (ApiKeyDomainMismatch("not sending the API key to http://x"), ExitCode.USAGE),
        (
            AuthenticationRequired("authentication required: hint", status=401),
            ExitCode.NOT_LOGGED_IN,
        ),
        (PermissionDenied("permission denied: a/p", required="write"), ExitCode.PERMISSION_DENIED),
        (NotFound("project a/p not found", missing="project"), ExitCode.NOT_FOUND),
        (PreconditionFailed("precondition failed"), ExitCode.CONFLICT),
        (Conflict("conflict: exists"), ExitCode.CONFLICT),
        (InvalidRequest("invalid request: bad"), ExitCode.ERROR),
        (ServerError("server error 503"), ExitCode.ERROR),
        (StorageConnectionError("connection refused"), ExitCode.ERROR),
        (ChecksumMismatch("sha256 differs"), ExitCode.ERROR),
        (FilesFailed(2, 5), ExitCode.PARTIAL),
        (FilesFailed(3, 3, ExitCode.NOT_FOUND), ExitCode.NOT_FOUND),
        (FileNotFoundError(2, "No such file or directory", "./data"), ExitCode.NOT_FOUND),
        (PermissionError(13, "Permission denied", "/root/x"), ExitCode.PERMISSION_DENIED),
        (FileExistsError(17, "File exists", "x"), ExitCode.CONFLICT),
        (IsADirectoryError(21, "Is a directory", "x"), ExitCode.ERROR),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (RuntimeError("bug"), ExitCode.ERROR),
    ],
)
def test_exit_code_of(exc: BaseException, code: ExitCode) -> None:
    assert exit_code_of(exc) is code
    message = describe(exc)
    assert message
    assert "\n" not in message


def test_subclasses_come_before_their_bases() -> None:
    kinds = [row.kind for row in error_table()]
    for i, earlier in enumerate(kinds):
        for later in kinds[i + 1 :]:
            assert not issubclass(later, earlier) or later is earlier, (later, earlier)


def test_not_logged_in_says_how_to_log_in() -> None:
    message = describe(AuthenticationRequired("authentication required: whatever", status=401))
    assert message.startswith("not logged in")
    assert "anaconda login" in message
    assert "ANACONDA_CLOUD_API_KEY" in message


def test_permission_denied_says_which_permission() -> None:
    message = describe(PermissionDenied("permission denied: alice/sales", required="owner"))
    assert "owner permission required" in message
    # the core's own wording is not repeated
    said = describe(
        PermissionDenied("permission denied: x; write permission required", required="write")
    )
    assert said.count("write") == 1


def test_read_only_says_history_is_read_only() -> None:
    message = "cannot upload to a/p/f#-1: it is addressed at revision -1, and history is read-only"
    assert describe(ReadOnlyError(message)) == message


def test_local_os_errors_name_the_file() -> None:
    assert describe(FileNotFoundError(2, "No such file or directory", "./data")) == (
        "no such file or directory: ./data"
    )


def test_unexpected_errors_say_how_to_see_more() -> None:
    message = describe(RuntimeError("boom"))
    assert "unexpected RuntimeError: boom" in message
    assert "ANACONDA_STORAGE_DEBUG=1" in message


def test_files_failed() -> None:
    assert str(FilesFailed(2, 5)) == "2 of 5 files failed"
    assert str(FilesFailed(3, 3, ExitCode.NOT_FOUND)) == "all 3 files failed"
    assert str(FilesFailed(1, 1, ExitCode.NOT_FOUND)) == "1 of 1 file failed"
    copy = pickle.loads(pickle.dumps(FilesFailed(3, 3, ExitCode.CONFLICT)))
    assert (copy.failed, copy.total, copy.code) == (3, 3, ExitCode.CONFLICT)


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, False), ("", False), ("0", False), ("false", False), ("1", True), ("yes", True)],
)
def test_debug_variable(monkeypatch: pytest.MonkeyPatch, value: str | None, enabled: bool) -> None:
    if value is None:
        monkeypatch.delenv("ANACONDA_STORAGE_DEBUG", raising=False)
    else:
        monkeypatch.setenv("ANACONDA_STORAGE_DEBUG", value)
    assert debug_enabled() is enabled


def test_no_key_at_all_is_said_once() -> None:
    from anaconda_storage_core.errors import LOGIN_HINT as CORE_HINT

    message = describe(AuthenticationRequired(f"not logged in: {CORE_HINT}"))
    assert message.count("not logged in") == 1
    assert "anaconda login" in message


def test_errors_print_the_uri_in_its_canonical_form(cli: Any, user: Any) -> None:
    # Issue 11, 3.2: `cat 'alice/sales#2024-05-01T12:00:00/q1.csv'` printed the checkpoint
    # after the path, where a revision goes.
    project = f"{user.name}/sales"
    assert cli("mkdir", project).code == 0
    result = cli("cat", f"{project}#2024-05-01T12:00:00Z/q1.csv")
    assert result.code == ExitCode.NOT_FOUND
    assert f"{project}#2024-05-01T12:00:00/q1.csv" in result.err
    assert "q1.csv#" not in result.err
