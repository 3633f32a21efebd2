"""Pure pieces of the protocol: cursors, ranges, entity tags, names, instants, errors."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from uuid import UUID

import pytest
from starlette.requests import Request

from anaconda_storage_core.uri import Relative, TimePoint, VersionId
from anaconda_storage_server.changes import check_conditions, parse_etags
from anaconda_storage_server.content import parse_range
from anaconda_storage_server.errors import ApiError, error_response
from anaconda_storage_server.history import ReadPoint, checkpoint_instant, format_instant
from anaconda_storage_server.names import (
    check_path,
    parent_directories,
    parse_checkpoint,
    path_after,
    prefix_bounds,
)
from anaconda_storage_server.paging import Page, count_key, text_key


def request(path: str = "/api/x", query: str = "", secret: bytes = b"k" * 32) -> Request:
    # Page reads the data directory's cursor secret from the app's state.
    app = SimpleNamespace(state=SimpleNamespace(context=SimpleNamespace(cursor_secret=secret)))
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": query.encode(),
            "headers": [],
            "app": app,
        }
    )


def test_a_cursor_continues_its_own_query_only() -> None:
    page = Page.from_request(request(query="prefix=a&limit=2"), key=text_key)
    assert (page.limit, page.after) == (2, None)
    body = page.answer(["a1", "a2", "a3"], lambda item: item)
    assert body["items"] == ["a1", "a2"]
    cursor = body["next_cursor"]
    assert isinstance(cursor, str)
    assert (
        Page.from_request(request(query=f"prefix=a&limit=5&cursor={cursor}"), key=text_key).after
        == "a2"
    )
    for other in (f"prefix=b&cursor={cursor}", f"cursor={cursor}"):
        with pytest.raises(ApiError) as error:
            Page.from_request(request(query=other), key=text_key)
        assert error.value.status == 400
    with pytest.raises(ApiError):
        Page.from_request(request(path="/api/y", query=f"prefix=a&cursor={cursor}"), key=text_key)


def test_the_last_page_has_no_cursor() -> None:
    page = Page.from_request(request(), key=text_key)
    assert page.limit == 100
    assert page.answer([1, 2], lambda item: item) == {"items": [1, 2], "next_cursor": None}


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "limit=x", "limit=-1", "cursor=%%%", "cursor=bm90IGpzb24"]
)
def test_bad_paging_parameters(query: str) -> None:
    with pytest.raises(ApiError) as error:
        Page.from_request(request(query=query), key=text_key)
    assert error.value.status == 400
    assert error.value.extra["field"] in ("limit", "cursor")


def test_a_cursor_is_signed_by_its_data_directory() -> None:
    body = Page.from_request(request(query="limit=1"), key=text_key).answer(["a", "b"], str)
    cursor = body["next_cursor"]
    assert isinstance(cursor, str)
    with pytest.raises(ApiError) as error:
        Page.from_request(request(query=f"limit=1&cursor={cursor}", secret=b"x" * 32), key=text_key)
    assert (error.value.status, error.value.extra["field"]) == (400, "cursor")


def test_a_cursor_of_another_shape_is_refused() -> None:
    # Defence in depth: even a signed cursor must hold the key shape its list expects.
    page = Page.from_request(request(query="limit=1"), key=text_key)
    cursor = page.answer(["a", "b"], str)["next_cursor"]
    assert Page.from_request(request(query=f"limit=1&cursor={cursor}"), key=text_key).after == "a"
    with pytest.raises(ApiError) as error:
        Page.from_request(request(query=f"limit=1&cursor={cursor}"), key=count_key)
    assert "shape" in error.value.message


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-3", 10, (0, 4)),
        ("bytes=2-", 10, (2, 8)),
        ("bytes=-3", 10, (7, 3)),
        ("bytes=-30", 10, (0, 10)),
        ("bytes=5-100", 10, (5, 5)),
        ("bytes=1-2, 5-6", 10, (1, 2)),
        ("bytes=5-2", 10, None),
        ("items=0-1", 10, None),
        ("bytes=x-y", 10, None),
        ("bytes=-", 10, None),
    ],
)
def test_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(ApiError) as error:
        parse_range(header, size)
    assert error.value.status == 416
    assert error.value.headers["Content-Range"] == f"bytes */{size}"


def test_entity_tags() -> None:
    assert parse_etags('"a", W/"b" ,c, *') == {"a", "b", "c", "*"}
    check_conditions(None, if_match=None, if_none_match="*")
    with pytest.raises(ApiError) as error:
        check_conditions(None, if_match='"x"', if_none_match=None)
    assert (error.value.status, error.value.extra) == (412, {"current": None})


@pytest.mark.parametrize("path", ["a//b", "../a", "a/./b", "a\\b", "a\x00b", "a/", "/a", "x" * 256])
def test_bad_paths(path: str) -> None:
    with pytest.raises(ApiError) as error:
        check_path(path)
    assert (error.value.status, error.value.extra["field"]) == (400, "path")


def test_path_helpers() -> None:
    assert check_path("a b/#?%/é.txt") == "a b/#?%/é.txt"
    assert check_path("", allow_root=True) == ""
    assert parent_directories("a/b/c") == ["a", "a/b"]
    assert prefix_bounds("d/") == ("d/", "d0")
    assert prefix_bounds("") == ("", None)
    assert path_after("dir/") == "dir0"
    assert path_after("file") == "file\0"


def test_references() -> None:
    assert parse_checkpoint("-2") == Relative(2)
    moment = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_checkpoint("2024-05-01T14:00:00+02:00") == TimePoint(moment)
    uuid = "0b8a2f8e-2a64-4a83-9c39-6e9b3e6c2a11"
    assert parse_checkpoint(uuid.upper()) == VersionId(UUID(uuid))
    for bad in ("yesterday", "-0", ""):
        with pytest.raises(ApiError):
            parse_checkpoint(bad)
    both = request(query="revision=-1&checkpoint=-1")
    with pytest.raises(ApiError, match="not both"):
        ReadPoint.from_request(both)
    with pytest.raises(ApiError, match="no revision"):
        ReadPoint.from_request(request(query="revision=-1"), revision=False)


def test_a_time_point_covers_its_whole_second() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    instant = checkpoint_instant(None, "", TimePoint(moment))  # type: ignore[arg-type]
    assert format_instant(instant) == "2024-05-01T12:00:00.999999Z"
    assert format_instant(0) == "1970-01-01T00:00:00.000000Z"


def test_error_bodies() -> None:
    response = error_response(ApiError(404, "gone", missing="path"))
    assert response.status_code == 404
    assert response.body == b'{"error":{"code":"not_found","message":"gone","missing":"path"}}'
    headers = error_response(ApiError(503, "later", headers={"Retry-After": "1"})).headers
    assert headers["retry-after"] == "1"
