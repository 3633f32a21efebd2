"""Models read the contract's JSON, ignore fields they do not know, and pickle."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

from anaconda_storage_core.models import (
    Account,
    Checkpoint,
    CopyResult,
    DeleteResult,
    DirectoryInfo,
    FileInfo,
    Page,
    ProjectInfo,
    Revision,
    Upload,
    entry_from_json,
    parse_timestamp,
)

OWNER = {"id": "u1", "name": "alice", "kind": "user"}
FILE = {
    "type": "file",
    "path": "dir/q1.csv",
    "size": 12,
    "sha256": "ab" * 32,
    "revision": "r1",
    "modified": "2024-05-01T12:00:00.123456Z",
    "created_at": "2024-04-01T00:00:00Z",
    "modified_by": OWNER,
    "description": "d",
    "metadata": {"k": "v"},
    "a_field_from_the_future": 1,
}


def test_timestamps() -> None:
    parsed = parse_timestamp("2024-05-01T12:00:00.123456Z")
    assert parsed == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert parse_timestamp("2024-05-01T14:00:00+02:00") == datetime(
        2024, 5, 1, 12, tzinfo=timezone.utc
    )
    assert parse_timestamp(None) is None
    assert parse_timestamp("") is None


def test_a_listing_shares_its_owners_and_parses_each_timestamp_as_written() -> None:
    first = FileInfo.from_json(FILE)
    second = FileInfo.from_json({**FILE, "path": "b.csv", "created_at": FILE["modified"]})
    assert first.modified_by is second.modified_by  # one Owner for the same owner
    assert first.modified_by is not None
    assert (first.modified_by.id, first.modified_by.name, first.modified_by.kind) == (
        "u1",
        "alice",
        "user",
    )
    assert first.created_at == datetime(2024, 4, 1, tzinfo=timezone.utc)
    assert second.created_at == second.modified == first.modified
    # Owners the cache does not hold are read all the same.
    long_name = {**OWNER, "name": "x" * 300}
    assert FileInfo.from_json({**FILE, "modified_by": long_name}).modified_by == (
        FileInfo.from_json({**FILE, "modified_by": long_name}).modified_by
    )
    odd = FileInfo.from_json({**FILE, "modified_by": {**OWNER, "kind": ["org"]}})
    assert odd.modified_by is not None
    assert odd.modified_by.kind == ["org"]  # type: ignore[comparison-overlap]
    assert FileInfo.from_json({**FILE, "modified_by": None, "metadata": None}).metadata == {}


def test_file_and_directory() -> None:
    entry = entry_from_json(FILE)
    assert isinstance(entry, FileInfo)
    assert (entry.name, entry.size, entry.metadata, entry.modified_by) == (
        "q1.csv",
        12,
        {"k": "v"},
        entry.modified_by,
    )
    assert entry.modified is not None
    assert entry.modified.microsecond == 123456
    directory = entry_from_json({"type": "directory", "path": "dir/sub/"})
    assert directory == DirectoryInfo("dir/sub")
    assert directory.name == "sub"
    assert hash(entry) == hash(entry_from_json(FILE))  # metadata is left out of the hash


def test_project_info() -> None:
    data = {
        "id": "p1",
        "owner": OWNER,
        "name": "sales",
        "tags": ["data"],
        "access": "owner",
        "size": 3,
        "file_count": 1,
        "permissions": {
            "owner": OWNER,
            "grants": [{"principal": {**OWNER, "name": "bob"}, "level": "r"}],
        },
        "checkpoints": [
            {"id": "c1", "created_at": "2024-01-01T00:00:00Z", "created_by": OWNER, "message": "m"}
        ],
    }
    info = ProjectInfo.from_json(data)
    assert info.full_name == "alice/sales"
    assert info.tags == ("data",)
    assert info.permissions is not None
    assert info.permissions.grants[0].principal.name == "bob"
    assert info.checkpoints[0].message == "m"


def test_time_point_checkpoint() -> None:
    point = Checkpoint.from_json({"id": None, "created_at": "2024-01-01T00:00:00Z"})
    assert point.id is None
    assert point.created_by is None


def test_others() -> None:
    account = Account.from_json(
        {**OWNER, "organizations": [{"id": "o1", "name": "team", "kind": "org"}]}
    )
    assert account.organizations[0].kind == "org"
    revision = Revision.from_json(
        {
            "id": "r1",
            "created_at": "2024-01-01T00:00:00Z",
            "deleted": True,
            "size": 0,
            "sha256": None,
            "index": -1,
        }
    )
    assert (revision.deleted, revision.sha256, revision.index) == (True, None, -1)
    upload = Upload.from_json(
        {
            "id": "u1",
            "path": "big.bin",
            "parts": [
                {"number": 2, "size": 1, "sha256": "b"},
                {"number": 1, "size": 1, "sha256": "a"},
            ],
        }
    )
    assert [p.number for p in upload.parts] == [1, 2]
    copied = CopyResult.from_json({"items": [{"source": "a", "destination": "b", "revision": "r"}]})
    assert copied.items[0].destination == "b"
    deleted = DeleteResult.from_json({"deleted": ["a"], "missing": ["b"]})
    assert (deleted.deleted, deleted.missing) == (("a",), ("b",))
    page = Page.from_json({"items": [OWNER], "next_cursor": None}, Account.from_json)
    assert page.next_cursor is None
    assert page.items[0].name == "alice"


@pytest.mark.parametrize(
    "model",
    [
        FileInfo.from_json(FILE),
        DirectoryInfo("d"),
        Revision.from_json(
            {"id": "r", "created_at": "2024-01-01T00:00:00Z", "metadata": {"a": "b"}}
        ),
        Upload.from_json(
            {"id": "u", "path": "p", "parts": [{"number": 1, "size": 1, "sha256": "a"}]}
        ),
    ],
    ids=lambda m: type(m).__name__,
)
def test_models_pickle(model: object) -> None:
    assert pickle.loads(pickle.dumps(model)) == model
