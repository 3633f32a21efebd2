"""The permission matrix of docs/api.md, "Permissions", and the rules of changing grants.

Levels: `read` < `write` < `owner`. A project the caller cannot read does not exist for it
(404 missing=project); one it can read but not change answers 403 with `required`; no key or
an unknown key is 401.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from tests.conftest import Account
    from tests.server.conftest import Api, ServerUser

LEVELS = {"read": 1, "write": 2, "owner": 3}
CONTENT = b"hello"


@dataclass(frozen=True)
class Cast:
    """The principals of the matrix, made once per module."""

    owner: ServerUser
    reader: ServerUser
    writer: ServerUser
    org_reader: ServerUser
    org_writer: ServerUser
    org_owner: ServerUser
    org_creator: ServerUser
    stranger: ServerUser
    readers_org: str
    writers_org: str
    owning_org: str


@pytest.fixture(scope="module")
def cast(api: Api) -> Cast:
    org_reader = api.new_user("orgr")
    org_writer = api.new_user("orgw")
    org_owner = api.new_user("orgo")
    org_creator = api.new_user("orgc")
    return Cast(
        owner=api.new_user("owner"),
        reader=api.new_user("reader"),
        writer=api.new_user("writer"),
        org_reader=org_reader,
        org_writer=org_writer,
        org_owner=org_owner,
        org_creator=org_creator,
        stranger=api.new_user("stranger"),
        readers_org=api.new_org("readers", [org_reader]),
        writers_org=api.new_org("writers", [org_writer]),
        owning_org=api.new_org("owning", [org_owner, org_creator]),
    )


@dataclass(frozen=True)
class Scene:
    """One fresh project of the matrix: `o/p` holding `f.txt` and `d/g.txt`."""

    owner_client: httpx.Client
    o: str
    p: str
    outsider: str  # a user with no grant, to grant to


def set_scene(api: Api, cast: Cast, owner_client: httpx.Client, o: str) -> Scene:
    p = api.create_project(owner_client, o)["name"]
    api.put(owner_client, o, p, "f.txt", CONTENT)
    api.put(owner_client, o, p, "d/g.txt", b"g")
    api.grant(
        owner_client,
        o,
        p,
        ("user", cast.reader.name, True, "r"),
        ("user", cast.writer.name, True, "w"),
        ("org", cast.readers_org, True, "r"),
        ("org", cast.writers_org, True, "w"),
    )
    return Scene(owner_client, o, p, cast.stranger.name)


# -- actions: (required level, request, success status, check of the effect) ----------------


def read_file(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.get(api.files_url(s.o, s.p, "f.txt"))


def read_file_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    if happened:
        assert response.content == CONTENT


def list_tree(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.get(api.tree_url(s.o, s.p))


def list_tree_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    if happened:
        assert [x["path"] for x in response.json()["items"]] == ["d/g.txt", "f.txt"]


def write_file(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.put(api.files_url(s.o, s.p, "new.txt"), content=b"new")


def write_file_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    r = s.owner_client.get(api.files_url(s.o, s.p, "new.txt"))
    assert r.status_code == (200 if happened else 404)


def delete_file(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.delete(api.files_url(s.o, s.p, "f.txt"))


def delete_file_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    r = s.owner_client.get(api.files_url(s.o, s.p, "f.txt"))
    assert r.status_code == (404 if happened else 200)


def chmod(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return api.chmod(c, s.o, s.p, ("user", s.outsider, True, "r"))


def chmod_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    r = s.owner_client.get(f"{api.project_url(s.o, s.p)}/permissions")
    assert (s.outsider in {g["principal"]["name"] for g in r.json()["grants"]}) == happened


def project_chattr(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.patch(api.project_url(s.o, s.p), json={"title": "changed"})


def project_chattr_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    r = s.owner_client.get(api.project_url(s.o, s.p))
    assert r.json()["title"] == ("changed" if happened else "")


def file_chattr(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.patch(api.meta_url(s.o, s.p, "f.txt"), json={"description": "changed"})


def file_chattr_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    r = s.owner_client.get(api.meta_url(s.o, s.p, "f.txt"))
    assert r.json()["description"] == ("changed" if happened else "")
    assert len(api.revisions(s.owner_client, s.o, s.p, "f.txt")) == (2 if happened else 1)


def checkpoint(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.post(f"{api.project_url(s.o, s.p)}/checkpoints", json={"message": "cp"})


def checkpoint_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    listed = api.list_all(s.owner_client, f"{api.project_url(s.o, s.p)}/checkpoints")
    assert len(listed) == (1 if happened else 0)


def delete_project(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.delete(api.project_url(s.o, s.p), params={"recursive": "true"})


def delete_project_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    r = s.owner_client.get(api.project_url(s.o, s.p))
    assert r.status_code == (404 if happened else 200)


def read_log(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.get(f"{api.project_url(s.o, s.p)}/log", params={"path": "f.txt"})


def read_log_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    if happened:
        assert [x["action"] for x in response.json()["items"]] == ["created"]


def restore_file(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    # f.txt as it was in 2000: absent, so the restore deletes it.
    body = {"path": "f.txt", "checkpoint": "2000-01-01T00:00:00"}
    return c.post(f"{api.project_url(s.o, s.p)}/restore", json=body)


def restore_file_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    r = s.owner_client.get(api.files_url(s.o, s.p, "f.txt"))
    assert r.status_code == (404 if happened else 200)


def read_diff(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    return c.get(f"{api.project_url(s.o, s.p)}/diff", params={"from": "2000-01-01T00:00:00"})


def read_diff_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    if happened:
        assert [(x["path"], x["change"]) for x in response.json()["items"]] == [
            ("d/g.txt", "added"),
            ("f.txt", "added"),
        ]


def read_many(api: Api, c: httpx.Client, s: Scene) -> httpx.Response:
    body = {"files": [{"path": "f.txt"}, {"path": "d/g.txt"}]}
    return c.post(f"{api.project_url(s.o, s.p)}/read", json=body)


def read_many_effect(api: Api, s: Scene, response: httpx.Response, happened: bool) -> None:
    if happened:
        # Two frames: a header line, then the content, for each file.
        first, _, rest = response.content.partition(b"\n")
        assert json.loads(first)["path"] == "f.txt"
        assert rest.startswith(CONTENT)
        second, _, content = rest[len(CONTENT) :].partition(b"\n")
        assert json.loads(second)["path"] == "d/g.txt"
        assert content == b"g"
    else:
        assert CONTENT not in response.content


Request = Callable[["Api", httpx.Client, Scene], httpx.Response]
Effect = Callable[["Api", Scene, httpx.Response, bool], None]


@dataclass(frozen=True)
class Action:
    required: str
    request: Request
    success: int
    effect: Effect


ACTIONS = {
    "read file": Action("read", read_file, 200, read_file_effect),
    "list tree": Action("read", list_tree, 200, list_tree_effect),
    "write file": Action("write", write_file, 201, write_file_effect),
    "delete file": Action("write", delete_file, 204, delete_file_effect),
    "chmod": Action("owner", chmod, 200, chmod_effect),
    "project chattr": Action("owner", project_chattr, 200, project_chattr_effect),
    "file chattr": Action("write", file_chattr, 200, file_chattr_effect),
    "create checkpoint": Action("write", checkpoint, 201, checkpoint_effect),
    "delete project": Action("owner", delete_project, 204, delete_project_effect),
    "read log": Action("read", read_log, 200, read_log_effect),
    "restore": Action("write", restore_file, 200, restore_file_effect),
    "read diff": Action("read", read_diff, 200, read_diff_effect),
    "read many files": Action("read", read_many, 200, read_many_effect),
}

# principal -> its level on the scene's project; None: cannot see it; "401": not a caller.
PRINCIPALS: dict[str, str | None] = {
    "owner": "owner",
    "user with r grant": "read",
    "user with w grant": "write",
    "member of an org with r grant": "read",
    "member of an org with w grant": "write",
    "member of the owning org": "owner",
    "stranger": None,
    "anonymous": "401",
    "bad key": "401",
}


@pytest.mark.parametrize("action_name", list(ACTIONS))
@pytest.mark.parametrize("principal", list(PRINCIPALS))
def test_permission_matrix(api: Api, cast: Cast, principal: str, action_name: str) -> None:
    action = ACTIONS[action_name]
    level = PRINCIPALS[principal]
    if principal == "member of the owning org":
        setup_account, o = cast.org_creator, cast.owning_org
    else:
        setup_account, o = cast.owner, cast.owner.name
    callers: dict[str, dict[str, Any]] = {
        "owner": {"account": cast.owner},
        "user with r grant": {"account": cast.reader},
        "user with w grant": {"account": cast.writer},
        "member of an org with r grant": {"account": cast.org_reader},
        "member of an org with w grant": {"account": cast.org_writer},
        "member of the owning org": {"account": cast.org_owner},
        "stranger": {"account": cast.stranger},
        "anonymous": {},
        "bad key": {"key": "not-a-real-key"},
    }
    with api.client(setup_account) as owner_client, api.client(**callers[principal]) as c:
        scene = set_scene(api, cast, owner_client, o)
        response = action.request(api, c, scene)

        if level == "401":
            api.check_error(response, 401, "auth_required")
            happened = False
        elif level is None:
            api.check_error(response, 404, "not_found", missing="project")
            happened = False
        elif LEVELS[level] >= LEVELS[action.required]:
            assert response.status_code == action.success, response.text
            happened = True
        else:
            api.check_error(response, 403, "permission_denied", required=action.required)
            happened = False

        action.effect(api, scene, response, happened)


@pytest.mark.parametrize(
    ("principal", "access"),
    [("owner", "owner"), ("reader", "read"), ("writer", "write"), ("org_reader", "read")],
)
def test_project_access_field_is_the_callers_level(
    api: Api, cast: Cast, principal: str, access: str
) -> None:
    with api.client(cast.owner) as owner_client, api.client(getattr(cast, principal)) as c:
        scene = set_scene(api, cast, owner_client, cast.owner.name)
        r = c.get(api.project_url(scene.o, scene.p))
        assert r.status_code == 200, r.text
        assert r.json()["access"] == access
        listed = api.list_all(c, f"/api/storage/projects/{scene.o}")
        assert {x["name"]: x["access"] for x in listed}[scene.p] == access
        # Permissions are read level.
        r = c.get(f"{api.project_url(scene.o, scene.p)}/permissions")
        assert r.status_code == 200, r.text


def test_projects_are_created_only_for_the_caller_or_its_orgs(
    api: Api, user: Account, other_user: Account
) -> None:
    member_of = api.new_org("mine", [user])
    not_member_of = api.new_org("theirs", [other_user])
    with api.client(user) as c:
        api.check_error(
            c.post(f"/api/storage/projects/{other_user.name}", json={"name": "x"}),
            403,
            "permission_denied",
        )
        api.check_error(
            c.post(f"/api/storage/projects/{not_member_of}", json={"name": "x"}),
            403,
            "permission_denied",
        )
        project = api.create_project(c, member_of, "shared")
        assert project["owner"]["name"] == member_of
        assert project["owner"]["kind"] == "org"
        assert project["access"] == "owner"
    with api.client(other_user) as c:
        assert [
            x["name"] for x in api.list_all(c, f"/api/storage/projects/{other_user.name}")
        ] == []


# -- ownership transfer -----------------------------------------------------------------------


def test_transfer_ownership_to_an_org_the_caller_belongs_to(
    api: Api, user: Account, other_user: Account
) -> None:
    org = api.new_org("team", [user, other_user])
    with api.client(user) as c, api.client(other_user) as teammate:
        p = api.create_project(c, user.name, "moving")["name"]
        api.put(c, user.name, p, "a.txt", b"a")
        answer = api.grant(c, user.name, p, ("org", org, True, "o"))
        assert answer["owner"]["name"] == org
        assert answer["owner"]["kind"] == "org"
        # The project keeps its name and moves to /{org}/{p}.
        api.check_error(c.get(api.project_url(user.name, p)), 404, "not_found", missing="project")
        r = c.get(api.project_url(org, p))
        assert r.status_code == 200, r.text
        assert r.json()["owner"]["name"] == org
        assert r.json()["access"] == "owner"
        assert api.get_content(c, org, p, "a.txt") == b"a"
        # Every member of the owning organization is an owner.
        r = teammate.patch(api.project_url(org, p), json={"title": "team's"})
        assert r.status_code == 200, r.text


def test_transfer_ownership_to_an_org_the_caller_is_not_in_is_403(
    api: Api, user: Account, other_user: Account
) -> None:
    foreign = api.new_org("foreign", [other_user])
    with api.client(user) as c:
        p = api.create_project(c, user.name)["name"]
        r = api.chmod(c, user.name, p, ("org", foreign, True, "o"))
        api.check_error(r, 403, "permission_denied")
        r = c.get(api.project_url(user.name, p))
        assert r.status_code == 200
        assert r.json()["owner"]["name"] == user.name


def test_transfer_ownership_to_a_user_is_403(api: Api, user: Account, other_user: Account) -> None:
    # "`+o` transfers ownership to an organization the caller is a member of (403 otherwise)".
    with api.client(user) as c:
        p = api.create_project(c, user.name)["name"]
        r = api.chmod(c, user.name, p, ("user", other_user.name, True, "o"))
        api.check_error(r, 403, "permission_denied")
        assert c.get(api.project_url(user.name, p)).json()["owner"]["name"] == user.name


def test_transfer_ownership_onto_a_taken_name_is_409(api: Api, user: Account) -> None:
    org = api.new_org("taken", [user])
    with api.client(user) as c:
        api.create_project(c, org, "same")
        api.create_project(c, user.name, "same")
        r = api.chmod(c, user.name, "same", ("org", org, True, "o"))
        api.check_error(r, 409, "conflict")
        assert c.get(api.project_url(user.name, "same")).status_code == 200


def test_only_the_owner_transfers_ownership(api: Api, user: Account, other_user: Account) -> None:
    org = api.new_org("writers-org", [other_user])
    with api.client(user) as c, api.client(other_user) as writer:
        p = api.create_project(c, user.name)["name"]
        api.grant(c, user.name, p, ("user", other_user.name, True, "w"))
        r = api.chmod(writer, user.name, p, ("org", org, True, "o"))
        api.check_error(r, 403, "permission_denied", required="owner")


# -- grants -----------------------------------------------------------------------------------


def grants_of(api: Api, c: httpx.Client, o: str, p: str) -> list[tuple[str, str, str]]:
    r = c.get(f"{api.project_url(o, p)}/permissions")
    assert r.status_code == 200, r.text
    api.check_permissions(r.json())
    return sorted(
        (g["principal"]["kind"], g["principal"]["name"], g["level"]) for g in r.json()["grants"]
    )


def test_w_grant_implies_read_and_minus_w_lowers_it_to_read(
    api: Api, user: Account, other_user: Account
) -> None:
    with api.client(user) as c, api.client(other_user) as bob:
        p = api.create_project(c, user.name)["name"]
        api.put(c, user.name, p, "a.txt", b"a")
        api.grant(c, user.name, p, ("user", other_user.name, True, "w"))
        assert grants_of(api, c, user.name, p) == [("user", other_user.name, "w")]
        assert api.get_content(bob, user.name, p, "a.txt") == b"a"
        api.put(bob, user.name, p, "b.txt", b"b")

        answer = api.grant(c, user.name, p, ("user", other_user.name, False, "w"))
        assert [(g["principal"]["name"], g["level"]) for g in answer["grants"]] == [
            (other_user.name, "r")
        ]
        assert grants_of(api, c, user.name, p) == [("user", other_user.name, "r")]
        assert api.get_content(bob, user.name, p, "a.txt") == b"a"
        api.check_error(
            bob.put(api.files_url(user.name, p, "c.txt"), content=b"c"),
            403,
            "permission_denied",
            required="write",
        )


def test_minus_r_removes_the_grant(api: Api, user: Account, other_user: Account) -> None:
    org = api.new_org("readers", [other_user])
    with api.client(user) as c, api.client(other_user) as bob:
        p = api.create_project(c, user.name)["name"]
        api.grant(c, user.name, p, ("user", other_user.name, True, "w"), ("org", org, True, "r"))
        assert grants_of(api, c, user.name, p) == [
            ("org", org, "r"),
            ("user", other_user.name, "w"),
        ]
        api.grant(c, user.name, p, ("user", other_user.name, False, "r"))
        assert grants_of(api, c, user.name, p) == [("org", org, "r")]
        # Still a reader through the organization.
        assert bob.get(api.project_url(user.name, p)).json()["access"] == "read"
        api.grant(c, user.name, p, ("org", org, False, "r"))
        assert grants_of(api, c, user.name, p) == []
        api.check_error(bob.get(api.project_url(user.name, p)), 404, "not_found", missing="project")


def test_grant_by_uuid(api: Api, user: Account, other_user: Account) -> None:
    with api.client(user) as c:
        bob_id = c.get(f"/api/storage/owners/{other_user.name}").json()["id"]
        p = api.create_project(c, user.name)["name"]
        answer = api.grant(c, user.name, p, ("user", bob_id, True, "r"))
        assert [(g["principal"]["id"], g["principal"]["name"]) for g in answer["grants"]] == [
            (bob_id, other_user.name)
        ]


@pytest.mark.parametrize("principal_type", ["user", "org"])
def test_unknown_principal_is_404(api: Api, user: Account, principal_type: str) -> None:
    with api.client(user) as c:
        p = api.create_project(c, user.name)["name"]
        r = api.chmod(c, user.name, p, (principal_type, "nobody-by-this-name", True, "r"))
        api.check_error(r, 404, "not_found", missing="owner")


def test_permission_changes_are_all_or_nothing(
    api: Api, user: Account, other_user: Account
) -> None:
    foreign = api.new_org("elsewhere", [other_user])
    with api.client(user) as c:
        p = api.create_project(c, user.name)["name"]
        good = ("user", other_user.name, True, "w")
        unknown = ("user", "nobody-at-all", True, "r")
        transfer = ("org", foreign, True, "o")
        r = api.chmod(c, user.name, p, good, unknown)
        api.check_error(r, 404, "not_found", missing="owner")
        assert grants_of(api, c, user.name, p) == []
        r = api.chmod(c, user.name, p, good, transfer)
        api.check_error(r, 403, "permission_denied")
        assert grants_of(api, c, user.name, p) == []
        r = c.get(api.project_url(user.name, p))
        assert r.json()["owner"]["name"] == user.name


@pytest.mark.parametrize(
    "change",
    [
        {"principal_type": "group", "principal": "x", "grant": True, "level": "r"},
        {"principal_type": "user", "principal": "x", "grant": True, "level": "x"},
        {"principal_type": "user", "principal": "x", "grant": "yes", "level": "r"},
        {"principal_type": "user", "grant": True, "level": "r"},
    ],
)
def test_malformed_permission_change_is_400(
    api: Api, user: Account, change: dict[str, Any]
) -> None:
    with api.client(user) as c:
        p = api.create_project(c, user.name)["name"]
        r = c.post(f"{api.project_url(user.name, p)}/permissions", json={"changes": [change]})
        api.check_error(r, 400, "invalid")


# -- the trash: owner level only; a deleted project is no one else's business --------------

TRASH_CALLERS = {
    "owner": ("owner", {}),
    "member of the owning org": ("owner", {}),
    "user with r grant": (None, {}),
    "user with w grant": (None, {}),
    "stranger": (None, {}),
    "anonymous": ("401", {}),
}


@pytest.mark.parametrize("principal", list(TRASH_CALLERS))
def test_trash_needs_the_owner_level(api: Api, cast: Cast, principal: str) -> None:
    level, _ = TRASH_CALLERS[principal]
    if principal == "member of the owning org":
        setup_account, o = cast.org_creator, cast.owning_org
    else:
        setup_account, o = cast.owner, cast.owner.name
    callers: dict[str, dict[str, Any]] = {
        "owner": {"account": cast.owner},
        "member of the owning org": {"account": cast.org_owner},
        "user with r grant": {"account": cast.reader},
        "user with w grant": {"account": cast.writer},
        "stranger": {"account": cast.stranger},
        "anonymous": {},
    }
    with api.client(setup_account) as owner_client, api.client(**callers[principal]) as c:
        scene = set_scene(api, cast, owner_client, o)
        r = owner_client.delete(api.project_url(o, scene.p), params={"recursive": "true"})
        assert r.status_code == 204, r.text
        listing = c.get(f"/api/storage/trash/{o}")
        restored = c.post(f"/api/storage/trash/{o}/{scene.p}/restore")
        if level == "401":
            api.check_error(listing, 401, "auth_required")
            api.check_error(restored, 401, "auth_required")
        elif level is None:
            api.check_error(listing, 403, "permission_denied", required="owner")
            api.check_error(restored, 404, "not_found", missing="project")
        else:
            assert listing.status_code == 200, listing.text
            assert scene.p in [x["project"]["name"] for x in listing.json()["items"]]
            assert restored.status_code == 200, restored.text
        back = owner_client.get(api.files_url(o, scene.p, "f.txt"))
        assert back.status_code == (200 if level == "owner" else 404)
        if level != "owner":
            purged = c.delete(f"/api/storage/trash/{o}/{scene.p}")
            assert purged.status_code == (401 if level == "401" else 404)
            still = owner_client.get(f"/api/storage/trash/{o}")
            assert scene.p in [x["project"]["name"] for x in still.json()["items"]]
