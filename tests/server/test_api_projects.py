"""Projects: creation, attributes (chattr), renaming and deletion (docs/api.md, "Projects")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import Account
    from tests.server.conftest import Api


def test_create_with_every_attribute(api: Api, user: Account) -> None:
    with api.client(user) as c:
        project = api.create_project(
            c,
            user.name,
            "full-attrs_1",
            title="T" * 120,
            description="é" * 1024,
            tags=["notebook", "data"],
            hidden=True,
        )
        assert project["title"] == "T" * 120
        assert project["description"] == "é" * 1024
        assert sorted(project["tags"]) == ["data", "notebook"]
        assert project["hidden"] is True
        assert project["created_at"] <= project["updated_at"]
        r = c.get(api.project_url(user.name, "full-attrs_1"))
        assert {k: r.json()[k] for k in project} == project


BAD_ATTRIBUTES: list[dict[str, Any]] = [
    {"name": "Upper"},
    {"name": "with space"},
    {"name": "x" * 121},
    {"name": ""},
    {"name": "dot.name"},
    {"title": "t" * 121},
    {"description": "d" * 1025},
    {"tags": ["music"]},
    {"tags": "data"},
    {"hidden": "yes"},
    {"title": 5},
]


@pytest.mark.parametrize("attributes", BAD_ATTRIBUTES, ids=lambda a: repr(a)[:40])
def test_invalid_attributes_are_400(api: Api, user: Account, attributes: dict[str, Any]) -> None:
    with api.client(user) as c:
        p = api.create_project(c, user.name)["name"]
        before = c.get(api.project_url(user.name, p)).json()
        api.check_error(c.patch(api.project_url(user.name, p), json=attributes), 400, "invalid")
        assert c.get(api.project_url(user.name, p)).json() == before
        api.check_error(
            c.post(f"/api/storage/projects/{user.name}", json={"name": "fresh", **attributes}),
            400,
            "invalid",
        )
        listed = api.list_all(c, f"/api/storage/projects/{user.name}")
        assert [x["name"] for x in listed] == [p]


def test_patch_changes_only_what_it_names(api: Api, user: Account) -> None:
    with api.client(user) as c:
        project = api.create_project(c, user.name, title="kept", tags=["data"])
        url = api.project_url(user.name, project["name"])
        r = c.patch(url, json={"description": "new description"})
        assert r.status_code == 200, r.text
        patched = r.json()
        api.check_project(patched)
        assert patched["description"] == "new description"
        assert (patched["title"], patched["tags"]) == ("kept", ["data"])
        assert patched["updated_at"] >= project["updated_at"]
        r = c.patch(url, json={"tags": []})
        assert r.json()["tags"] == []


def test_rename(api: Api, user: Account) -> None:
    o = user.name
    with api.client(user) as c:
        api.create_project(c, o, "old-name")
        api.create_project(c, o, "taken")
        api.put(c, o, "old-name", "a.txt", b"a")
        api.put(c, o, "old-name", "a.txt", b"a2")
        api.check_error(
            c.patch(api.project_url(o, "old-name"), json={"name": "taken"}), 409, "conflict"
        )
        r = c.patch(api.project_url(o, "old-name"), json={"name": "new-name"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "new-name"
        api.check_error(c.get(api.project_url(o, "old-name")), 404, "not_found", missing="project")
        assert api.get_content(c, o, "new-name", "a.txt") == b"a2"
        # History travels with the project.
        assert api.get_content(c, o, "new-name", "a.txt", revision="-1") == b"a"
        assert [x["name"] for x in api.list_all(c, f"/api/storage/projects/{o}")] == [
            "new-name",
            "taken",
        ]


def test_size_and_file_count_follow_live_files(api: Api, user: Account) -> None:
    o = user.name
    with api.client(user) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "a.txt", b"abc")
        api.put(c, o, p, "d/b.txt", b"12345")
        project = c.get(api.project_url(o, p)).json()
        assert (project["size"], project["file_count"]) == (8, 2)
        assert c.delete(api.files_url(o, p, "a.txt")).status_code == 204
        project = c.get(api.project_url(o, p)).json()
        assert (project["size"], project["file_count"]) == (5, 1)


def test_delete_a_project(api: Api, user: Account) -> None:
    o = user.name
    with api.client(user) as c:
        p = api.create_project(c, o)["name"]
        # Only markers: no live file, so no recursive needed.
        assert c.put(api.directories_url(o, p, "empty/inner")).status_code == 201
        assert c.delete(api.project_url(o, p)).status_code == 204
        api.check_error(c.get(api.project_url(o, p)), 404, "not_found", missing="project")

        q = api.create_project(c, o)["name"]
        api.put(c, o, q, "a.txt", b"a")
        assert c.delete(api.files_url(o, q, "a.txt")).status_code == 204
        api.put(c, o, q, "b.txt", b"b")
        api.check_error(c.delete(api.project_url(o, q)), 409, "conflict")
        assert api.tree(c, o, q) == ["b.txt"]
        assert c.delete(api.project_url(o, q), params={"recursive": "true"}).status_code == 204
        api.check_error(c.get(api.project_url(o, q)), 404, "not_found", missing="project")
        api.check_error(c.delete(api.project_url(o, q)), 404, "not_found", missing="project")

        # The project and its history are gone: a new project of that name starts empty.
        api.create_project(c, o, q)
        assert api.tree(c, o, q) == []
        api.check_error(c.get(api.revisions_url(o, q, "a.txt")), 404, "not_found", missing="path")
        api.check_error(c.get(api.revisions_url(o, q, "b.txt")), 404, "not_found", missing="path")
        assert api.list_all(c, f"{api.project_url(o, q)}/checkpoints") == []


def test_delete_refuses_a_project_that_holds_history(api: Api, user: Account) -> None:
    # Issue 11: no live file is not "empty" while `#-1` or a checkpoint still reads something.
    o = user.name
    with api.client(user) as c:
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "data.csv", b"a,b\n")
        assert c.delete(api.files_url(o, p, "data.csv")).status_code == 204
        error = api.check_error(c.delete(api.project_url(o, p)), 409, "conflict")
        assert error["message"] == (
            f"project {o}/{p} holds history (revisions of deleted files or checkpoints),"
            " which deleting it would take away (delete with discard_history=true; the"
            " project then waits in the trash, where its owner can restore it)"
        )
        assert api.get_content(c, o, p, "data.csv", revision="-1") == b"a,b\n"
        # discard_history drops the history, never a live file.
        api.put(c, o, p, "live.txt", b"x")
        refused = api.check_error(
            c.delete(api.project_url(o, p), params={"discard_history": "true"}), 409, "conflict"
        )
        assert "not empty" in refused["message"]
        assert c.delete(api.files_url(o, p, "live.txt")).status_code == 204
        r = c.delete(api.project_url(o, p), params={"discard_history": "true"})
        assert r.status_code == 204, r.text
        api.check_error(c.get(api.project_url(o, p)), 404, "not_found", missing="project")

        # A checkpoint alone is history too; recursive=true deletes whatever is there.
        q = api.create_project(c, o)["name"]
        r = c.post(f"{api.project_url(o, q)}/checkpoints", json={"message": "empty"})
        assert r.status_code == 201, r.text
        api.check_error(c.delete(api.project_url(o, q)), 409, "conflict")
        assert c.delete(api.project_url(o, q), params={"recursive": "true"}).status_code == 204

        # Markers made and removed are no history: the project is still empty.
        e = api.create_project(c, o)["name"]
        assert c.put(api.directories_url(o, e, "gone")).status_code == 201
        assert c.delete(api.directories_url(o, e, "gone")).status_code == 204
        assert c.delete(api.project_url(o, e)).status_code == 204


@pytest.mark.parametrize("name", ["Bad", "x" * 121, "a.b"])
def test_bad_project_name_in_a_route_is_400(api: Api, user: Account, name: str) -> None:
    with api.client(user) as c:
        api.check_error(c.get(api.project_url(user.name, name)), 400, "invalid")


def test_unknown_owner_or_project_is_404(api: Api, user: Account) -> None:
    with api.client(user) as c:
        api.check_error(
            c.get(api.project_url("no-such-owner-zz", "p")), 404, "not_found", missing="owner"
        )
        api.check_error(
            c.get(api.project_url(user.name, "no-such-project")),
            404,
            "not_found",
            missing="project",
        )
        api.check_error(
            c.get(api.files_url(user.name, "no-such-project", "a")),
            404,
            "not_found",
            missing="project",
        )


def test_an_owner_is_named_or_identified(api: Api, user: Account) -> None:
    """`{owner}`: a user or organization name or its UUID, in every route."""
    o = user.name
    org = api.new_org("by-id", [user])
    with api.client(user) as c:
        user_id = c.get(f"/api/storage/owners/{o}").json()["id"]
        org_id = c.get(f"/api/storage/owners/{org}").json()["id"]
        p = api.create_project(c, user_id, "by-uuid")["name"]
        assert c.get(api.project_url(o, p)).json()["owner"]["name"] == o
        api.put(c, user_id, p, "a.txt", b"a")
        assert api.get_content(c, o, p, "a.txt") == b"a"
        assert api.tree(c, user_id, p) == ["a.txt"]
        assert [x["name"] for x in api.list_all(c, f"/api/storage/projects/{user_id}")] == [p]
        q = api.create_project(c, org_id, "org-by-uuid")
        assert q["owner"] == {"id": org_id, "name": org, "kind": "org"}
        r = api.transfer(c, "copy", (user_id, p, "a.txt"), (org_id, "org-by-uuid", "b.txt"))
        assert r.status_code == 200, r.text
        assert api.get_content(c, org, "org-by-uuid", "b.txt") == b"a"
