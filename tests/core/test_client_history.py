"""Acting on history with both clients, end to end: log, restore, diff, the trash."""

from __future__ import annotations

from typing import Any

import pytest

from anaconda_storage_core import (
    Conflict,
    DeletedProject,
    DiffEntry,
    InvalidURI,
    LogEntry,
    NotFound,
    PermissionDenied,
    Restoration,
)

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


async def test_restore_a_file_a_deleted_file_and_a_directory(
    client: Any, project: str, make_client: Any, user: Any, tap_class: Any
) -> None:
    await client.upload(f"{project}/q1.csv", b"first")
    await client.upload(f"{project}/q1.csv", b"second")
    result = await client.restore(f"{project}/q1.csv#-1")
    assert isinstance(result, Restoration)
    assert [(c.path, c.change) for c in result.changes] == [("q1.csv", "modified")]
    assert await client.read_bytes(f"{project}/q1.csv") == b"first"

    await client.delete(f"{project}/q1.csv")
    plan = await client.restore(f"{project}/q1.csv#-1", dry_run=True)
    assert plan.dry_run
    assert [(c.change, c.revision) for c in plan.changes] == [("added", None)]
    with pytest.raises(NotFound):
        await client.read_bytes(f"{project}/q1.csv")

    # A directory at a checkpoint, through a tap that sees every request: one, no content.
    await client.upload(f"{project}/dir/a.csv", b"a")
    await client.create_checkpoint(project)
    await client.delete_many(project, prefix="dir/")
    tap = tap_class()
    tapped = make_client(user, tap=tap)
    result = await tapped.restore(f"{project}#-1/dir")
    assert tap.routes() == [f"POST /api/storage/projects/{project}/restore"]
    assert len(tap.requests[0].content) < 200
    assert [(c.path, c.change) for c in result.changes] == [("dir/a.csv", "added")]
    assert await client.read_bytes(f"{project}/dir/a.csv") == b"a"
    entries = await collect(client.log(project, checkpoints=False))
    assert entries[0].action == "restored"
    assert entries[0].source is not None
    assert entries[0].source.checkpoint is not None

    with pytest.raises(InvalidURI, match="names no past state"):
        await client.restore(f"{project}/dir/a.csv")
    with pytest.raises(NotFound):
        await client.restore(f"{project}/never.csv#-1")


async def test_restore_needs_write(
    client: Any, project: str, make_client: Any, other_user: Any
) -> None:
    await client.upload(f"{project}/q1.csv", b"first")
    await client.upload(f"{project}/q1.csv", b"second")
    await client.chmod(project, [f"u/{other_user.name}+r"])
    reader = make_client(other_user)
    with pytest.raises(PermissionDenied):
        await reader.restore(f"{project}/q1.csv#-1")
    assert len(await collect(reader.log(project))) == 2


async def test_diff_between_checkpoints_and_now(client: Any, project: str) -> None:
    await client.upload(f"{project}/dir/a.csv", b"a")
    await client.upload(f"{project}/dir/b.csv", b"b")
    await client.create_checkpoint(project)
    await client.upload(f"{project}/dir/a.csv", b"aaa")
    await client.move(f"{project}/dir/b.csv", f"{project}/dir/c.csv")
    await client.create_checkpoint(project)
    await client.upload(f"{project}/later.csv", b"later")

    entries = await collect(client.diff(f"{project}#-2/dir", "-1", page_size=1))
    assert all(isinstance(e, DiffEntry) for e in entries)
    assert [(e.path, e.change) for e in entries] == [
        ("dir/a.csv", "modified"),
        ("dir/b.csv", "deleted"),
        ("dir/c.csv", "added"),
    ]
    assert (entries[0].before.size, entries[0].after.size) == (1, 3)
    backwards = await collect(client.diff(f"{project}#-1", f"{project}#-2"))
    assert [(e.path, e.change) for e in backwards] == [
        ("dir/a.csv", "modified"),
        ("dir/b.csv", "added"),
        ("dir/c.csv", "deleted"),
    ]
    to_now = await collect(client.diff(f"{project}#-1"))
    assert [(e.path, e.change) for e in to_now] == [("later.csv", "added")]

    with pytest.raises(InvalidURI, match="starts at a checkpoint"):
        await collect(client.diff(project))
    with pytest.raises(InvalidURI, match="same project and path"):
        await collect(client.diff(f"{project}#-1/dir", f"{project}#-2"))


async def test_a_deleted_project_comes_back(client: Any, project: str, user: Any) -> None:
    await client.upload(f"{project}/q1.csv", b"data")
    await client.create_checkpoint(project, "kept")
    await client.delete_project(project, recursive=True)
    with pytest.raises(NotFound):
        await client.get_project(project)

    deleted = await collect(client.list_deleted_projects(user.name))
    assert isinstance(deleted[0], DeletedProject)
    assert deleted[0].project.full_name == project
    assert deleted[0].purge_at > deleted[0].deleted_at

    # Its name is free; it comes back under another one.
    await client.create_project(project)
    with pytest.raises(Conflict):
        await client.restore_project(project)
    back = await client.restore_project(project, name=f"{project.split('/')[1]}-back")
    assert back.id == deleted[0].project.id
    assert await client.read_bytes(f"{back.full_name}/q1.csv") == b"data"
    assert [c.message for c in await collect(client.list_checkpoints(back.full_name))] == ["kept"]

    # Purged: from the trash, or at once.
    await client.delete_project(back.full_name, recursive=True)
    await client.purge_project(f"{user.name}/{back.id}")
    assert await collect(client.list_deleted_projects(user.name)) == []
    await client.delete_project(project, purge=True)
    assert await collect(client.list_deleted_projects(user.name)) == []
    with pytest.raises(NotFound):
        await client.restore_project(project)


async def test_only_the_owner_sees_the_trash(
    client: Any, project: str, user: Any, make_client: Any, other_user: Any
) -> None:
    await client.chmod(project, [f"u/{other_user.name}+w"])
    await client.delete_project(project)
    writer = make_client(other_user)
    with pytest.raises(PermissionDenied):
        await collect(writer.list_deleted_projects(user.name))
    with pytest.raises(NotFound):
        await writer.restore_project(project)
