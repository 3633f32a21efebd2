"""Owners, projects, checkpoints and permissions, end to end, with both clients."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from anaconda_storage_core import (
    AuthenticationRequired,
    Checkpoint,
    Conflict,
    InvalidAttribute,
    InvalidPermission,
    InvalidURI,
    NotFound,
    PermissionChange,
    PermissionDenied,
    Project,
    ProjectInfo,
    ReadOnlyError,
)

pytestmark = pytest.mark.anyio


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def test_health_and_account(client: Any, user: Any) -> None:
    health = await client.health()
    assert health.status == "ok"
    account = await client.account()
    assert account.name == user.name
    assert account.kind == "user"


async def test_unknown_key_is_authentication_required(make_client: Any, user: Any) -> None:
    anonymous = make_client(user, api_key="not-a-key")
    with pytest.raises(AuthenticationRequired, match="anaconda login"):
        await anonymous.account()


async def test_owners(client: Any, user: Any) -> None:
    names = [owner.name for owner in await collect(client.list_owners())]
    assert user.name in names
    owner = await client.get_owner(user.name)
    assert owner.name == user.name
    with pytest.raises(NotFound) as caught:
        await client.get_owner("nobody-here-at-all")
    assert caught.value.missing == "owner"


async def test_project_lifecycle(client: Any, user: Any, project_name: str) -> None:
    uri = f"{user.name}/{project_name}"
    created = await client.create_project(
        uri, title="Sales", description="q1", tags=["data"], hidden=False
    )
    assert isinstance(created, Project)
    assert (created.name, created.title, created.tags, created.access) == (
        project_name,
        "Sales",
        ("data",),
        "owner",
    )
    assert created.full_name == uri
    with pytest.raises(Conflict):
        await client.create_project(uri)

    info = await client.get_project(f"anaconda://{uri}")
    assert isinstance(info, ProjectInfo)
    assert info.permissions is not None
    assert info.permissions.owner.name == user.name
    assert info.checkpoints == ()

    updated = await client.update_project(uri, title="Sales 2024", tags=["data", "notebook"])
    assert updated.title == "Sales 2024"
    assert updated.tags == ("data", "notebook")
    with pytest.raises(InvalidAttribute):
        await client.update_project(uri, tags=["nope"])
    with pytest.raises(InvalidAttribute):
        await client.update_project(uri)

    renamed = await client.update_project(uri, name=f"{project_name}-new")
    assert renamed.name == f"{project_name}-new"
    with pytest.raises(NotFound) as caught:
        await client.get_project(uri)
    assert caught.value.missing == "project"

    await client.delete_project(f"{uri}-new")
    with pytest.raises(NotFound):
        await client.get_project(f"{uri}-new")


async def test_list_projects_pages_and_hidden(client: Any, user: Any) -> None:
    for index in range(5):
        await client.create_project(f"{user.name}/page-{index}", hidden=index == 4)
    listed = await collect(client.list_projects(user.name, page_size=2))
    assert [p.name for p in listed] == [f"page-{i}" for i in range(4)]
    with_hidden = await collect(client.list_projects(user.name, include_hidden=True, page_size=3))
    assert len(with_hidden) == 5


async def test_delete_project_not_empty_needs_recursive(client: Any, project: str) -> None:
    await client.upload(f"{project}/a.txt", b"a")
    with pytest.raises(Conflict):
        await client.delete_project(project)
    await client.delete_project(project, recursive=True)
    with pytest.raises(NotFound):
        await client.get_project(project)


async def test_delete_project_that_holds_history_needs_a_flag(client: Any, project: str) -> None:
    await client.upload(f"{project}/data.csv", b"a,b\n")
    await client.delete(f"{project}/data.csv")
    with pytest.raises(Conflict, match="holds history"):
        await client.delete_project(project)
    with pytest.raises(Conflict, match="holds history"):
        await client.remove_directory(project)
    assert await client.read_bytes(f"{project}/data.csv#-1") == b"a,b\n"
    await client.upload(f"{project}/live.txt", b"x")
    with pytest.raises(Conflict, match="not empty"):
        await client.delete_project(project, discard_history=True)
    await client.delete(f"{project}/live.txt")
    await client.delete_project(project, discard_history=True)
    with pytest.raises(NotFound):
        await client.get_project(project)


async def test_project_uri_checks(client: Any, project: str) -> None:
    with pytest.raises(InvalidURI):
        await client.get_project("alice")
    with pytest.raises(ReadOnlyError, match="read-only"):
        await client.update_project(f"{project}#-1", title="x")
    with pytest.raises(ReadOnlyError):
        await client.delete_project(f"{project}#2024-01-01T00:00:00")


async def test_checkpoints(client: Any, project: str) -> None:
    await client.upload(f"{project}/f.txt", b"one")
    first = await client.create_checkpoint(project, "first")
    assert isinstance(first, Checkpoint)
    assert first.message == "first"
    await asyncio.sleep(0.01)
    await client.upload(f"{project}/f.txt", b"two")
    second = await client.create_checkpoint(project)
    listed = await collect(client.list_checkpoints(project, page_size=1))
    assert [c.id for c in listed] == [second.id, first.id]
    assert (await client.get_checkpoint(f"{project}#-2")).id == first.id
    assert (await client.get_checkpoint(project, first.id)).id == first.id
    point = await client.get_checkpoint(project, "2024-01-01T00:00:00")
    assert point.id is None
    with pytest.raises(NotFound) as caught:
        await client.get_checkpoint(project, "-9")
    assert caught.value.missing == "checkpoint"
    info = await client.get_project(project)
    assert [c.id for c in info.checkpoints] == [second.id, first.id]
    # Reading at a checkpoint: the content as it was.
    assert await client.read_bytes(f"{project}#-2/f.txt") == b"one"
    assert await client.read_bytes(f"{project}#{first.id}/f.txt") == b"one"
    with pytest.raises(ReadOnlyError):
        await client.create_checkpoint(f"{project}#-1")


async def test_permissions(make_client: Any, user: Any, other_user: Any, project: str) -> None:
    owner = make_client(user)
    other = make_client(other_user)
    await owner.upload(f"{project}/shared.txt", b"hello")
    with pytest.raises(NotFound):
        await other.read_bytes(f"{project}/shared.txt")

    granted = await owner.chmod(project, [f"u/{other_user.name}+r"])
    assert [(g.principal.name, g.level) for g in granted.grants] == [(other_user.name, "r")]
    assert await other.read_bytes(f"{project}/shared.txt") == b"hello"
    with pytest.raises(PermissionDenied) as caught:
        await other.upload(f"{project}/shared.txt", b"nope")
    assert caught.value.required == "write"

    change = PermissionChange("user", other_user.name, True, "w")
    await owner.chmod(project, [change])
    await other.upload(f"{project}/shared.txt", b"yes")
    permissions = await owner.get_permissions(project)
    assert [g.level for g in permissions.grants] == ["w"]
    with pytest.raises(PermissionDenied) as caught:
        await other.chmod(project, [f"u/{other_user.name}+w"])
    assert caught.value.required == "owner"

    await owner.chmod(project, [f"u/{other_user.name}-r"])
    assert (await owner.get_permissions(project)).grants == ()
    with pytest.raises(InvalidPermission):
        await owner.chmod(project, ["u/bob+x"])
    with pytest.raises(NotFound) as caught:
        await owner.chmod(project, ["u/nobody-at-all+r"])
    assert caught.value.missing == "owner"


async def test_transfer_ownership_to_an_organization(
    client: Any, user: Any, project: str, storage_server: Any
) -> None:
    org = f"org-{user.name}"
    storage_server.add_org(org, [user.name])
    account = await client.account()
    assert org in [o.name for o in account.organizations]
    await client.upload(f"{project}/kept.txt", b"kept")
    result = await client.chmod(project, [f"o/{org}+o"])
    assert (result.owner.name, result.owner.kind) == (org, "org")
    moved = f"{org}/{project.split('/')[1]}"
    assert await client.read_bytes(f"{moved}/kept.txt") == b"kept"
    with pytest.raises(NotFound):
        await client.get_project(project)
    created = await client.create_project(f"{org}/made-by-a-member")
    assert created.owner.name == org


async def test_create_project_for_another_user_is_denied(client: Any, other_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        await client.create_project(f"{other_user.name}/not-mine")
