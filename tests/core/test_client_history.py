"""Acting on history with both clients, end to end: log, restore, diff, the trash."""

from __future__ import annotations

from typing import Any

import pytest

from anaconda_storage_core import InvalidURI, LogEntry, NotFound

pytestmark = pytest.mark.anyio


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def test_log_of_a_project_a_directory_and_a_file(client: Any, project: str) -> None:
    await client.upload(f"{project}/dir/a.csv", b"1")
    await client.upload(f"{project}/b.csv", b"2")
    await client.create_checkpoint(project, "before the change")
    await client.upload(f"{project}/dir/a.csv", b"three")
    await client.delete(f"{project}/b.csv")

    entries = await collect(client.log(project, page_size=2))
    assert all(isinstance(e, LogEntry) for e in entries)
    assert [(e.action, e.path or e.message) for e in entries] == [
        ("deleted", "b.csv"),
        ("modified", "dir/a.csv"),
        ("checkpoint", "before the change"),
        ("created", "b.csv"),
        ("created", "dir/a.csv"),
    ]
    assert entries[1].size == 5
    assert entries[2].checkpoint is not None

    in_dir = await collect(client.log(f"{project}/dir", checkpoints=False))
    assert [(e.action, e.path) for e in in_dir] == [
        ("modified", "dir/a.csv"),
        ("created", "dir/a.csv"),
    ]
    since = await collect(client.log(project, since="-1"))
    assert [e.path for e in since] == ["b.csv", "dir/a.csv"]
    # A checkpoint in the URI is where the log ends.
    until = await collect(client.log(f"{project}#-1", checkpoints=False))
    assert [e.path for e in until] == ["b.csv", "dir/a.csv"]

    with pytest.raises(InvalidURI):
        await collect(client.log(f"{project}/b.csv#-1"))
    with pytest.raises(NotFound):
        await collect(client.log(project, until="-5"))
