"""Every route of docs/api.md, walked once: status codes and the shapes of the answers.

The documented routes are parsed out of docs/api.md itself and every request the walk sends
is matched against them, so the contract and the server cannot drift apart unnoticed: a
route added to the document and not walked, or a request the document does not describe,
fails here.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.conftest import Account
    from tests.server.conftest import Api

METHODS = ("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE")
# `METHOD /api/...` in backticks; `...` abbreviates a project's prefix in the Files table,
# and a route may be wrapped across a line inside its backticks.
ROUTE_RE = re.compile(r"`(" + "|".join(METHODS) + r")\s+((?:/api/|\.\.\./)[^`\s]*)`")
PROJECT_PREFIX = "/api/storage/projects/{o}/{p}"


def documented_routes(text: str) -> set[tuple[str, str]]:
    """`(METHOD, template)` for every route docs/api.md names, placeholders normalized."""
    routes = set()
    for method, template in ROUTE_RE.findall(text):
        if template.startswith("..."):
            template = PROJECT_PREFIX + template[3:]
        # {owner}/{o}, {project}/{p}, {id}, {n}, {ref} all stand for one segment; {path} for
        # one or more.
        template = re.sub(r"\{(?!path\})[^}]+\}", "{}", template)
        routes.add((method, template))
    return routes


def template_regex(template: str) -> re.Pattern[str]:
    pattern = re.escape(template).replace(r"\{path\}", ".+").replace(r"\{\}", "[^/]+")
    return re.compile(pattern + "$")


def test_the_contract_documents_routes(docs_api_md: str) -> None:
    routes = documented_routes(docs_api_md)
    assert ("GET", "/api/health") in routes
    assert ("HEAD", "/api/storage/projects/{}/{}/files/{path}") in routes
    assert ("POST", "/api/storage/projects/{}/{}/checkpoints") in routes
    assert ("POST", "/api/storage/move") in routes
    assert len(routes) >= 30, routes


class RouteRecorder:
    """Matches every request a client sends against the documented routes."""

    def __init__(self, routes: set[tuple[str, str]]) -> None:
        self.routes = [(m, t, template_regex(t)) for m, t in routes]
        self.called: set[tuple[str, str]] = set()
        self.undocumented: list[str] = []
        self.without_api_version: list[str] = []

    def on_request(self, request: httpx.Request) -> None:
        matches = [
            (m, t)
            for m, t, regex in self.routes
            if m == request.method and regex.match(request.url.path)
        ]
        if len(matches) == 1:
            self.called.add(matches[0])
        else:
            self.undocumented.append(f"{request.method} {request.url.path} -> {matches}")

    def on_response(self, response: httpx.Response) -> None:
        # "The server answers with the Api-Version it speaks."
        if "api-version" not in response.headers:
            request = response.request
            self.without_api_version.append(f"{request.method} {request.url.path}")

    def attach(self, client: httpx.Client) -> httpx.Client:
        client.event_hooks = {"request": [self.on_request], "response": [self.on_response]}
        return client


def test_walk_every_documented_route(
    api: Api, user: Account, other_user: Account, docs_api_md: str
) -> None:
    documented = documented_routes(docs_api_md)
    recorder = RouteRecorder(documented)
    org = api.new_org("walkers", [user])
    o = user.name
    with (
        recorder.attach(api.client(user)) as c,
        recorder.attach(api.client(None)) as anonymous,
    ):
        # -- health and the caller ------------------------------------------------------
        r = anonymous.get("/api/health")
        assert r.status_code == 200
        health = r.json()
        assert health["status"] == "ok"
        assert isinstance(health["version"], str)
        assert health["version"]

        api.check_error(anonymous.get("/api/account"), 401, "auth_required")
        r = c.get("/api/account")
        assert r.status_code == 200
        account = r.json()
        assert set(account) == {"id", "name", "kind", "organizations"}
        api.check_uuid(account["id"])
        assert account["name"] == o
        assert account["kind"] == "user"
        for owner in account["organizations"]:
            api.check_owner(owner)
        assert [(x["name"], x["kind"]) for x in account["organizations"]] == [(org, "org")]

        # -- owners ---------------------------------------------------------------------
        owners = api.list_all(c, "/api/storage/owners")
        for owner in owners:
            api.check_owner(owner)
        assert {(x["name"], x["kind"]) for x in owners} == {(o, "user"), (org, "org")}
        r = c.get(f"/api/storage/owners/{o}")
        assert r.status_code == 200
        assert r.json() == {"id": account["id"], "name": o, "kind": "user"}
        r = c.get(f"/api/storage/owners/{account['id']}")
        assert r.status_code == 200
        assert r.json()["name"] == o
        api.check_error(
            c.get("/api/storage/owners/no-such-owner-x"), 404, "not_found", missing="owner"
        )

        # -- projects -------------------------------------------------------------------
        r = c.post(
            f"/api/storage/projects/{o}",
            json={"name": "walk", "title": "Walk", "description": "d", "tags": ["data"]},
        )
        assert r.status_code == 201, r.text
        project = r.json()
        api.check_project(project)
        assert project["name"] == "walk"
        assert project["title"] == "Walk"
        assert project["description"] == "d"
        assert project["tags"] == ["data"]
        assert project["hidden"] is False
        assert project["owner"]["name"] == o
        assert project["access"] == "owner"
        assert (project["size"], project["file_count"]) == (0, 0)
        api.check_error(
            c.post(f"/api/storage/projects/{o}", json={"name": "walk"}), 409, "conflict"
        )

        listed = api.list_all(c, f"/api/storage/projects/{o}")
        for item in listed:
            api.check_project(item)
        assert [x["name"] for x in listed] == ["walk"]

        p = "walk"
        base = api.project_url(o, p)
        r = c.get(base)
        assert r.status_code == 200
        detailed = r.json()
        api.check_project(detailed, detailed=True)
        assert detailed["permissions"]["owner"]["name"] == o
        assert detailed["permissions"]["grants"] == []
        assert detailed["checkpoints"] == []

        r = c.patch(base, json={"title": "Walked", "hidden": False})
        assert r.status_code == 200, r.text
        api.check_project(r.json())
        assert r.json()["title"] == "Walked"

        # -- files ----------------------------------------------------------------------
        r = c.put(api.files_url(o, p, "dir/a.txt"), content=b"first")
        assert r.status_code == 201, r.text
        api.check_file(r.json())
        r = c.put(api.files_url(o, p, "dir/a.txt"), content=b"second!")
        assert r.status_code == 200, r.text
        file = r.json()
        api.check_file(file)
        assert (file["path"], file["size"], file["sha256"]) == (
            "dir/a.txt",
            7,
            api.sha256(b"second!"),
        )
        assert file["modified_by"]["name"] == o

        r = c.head(api.files_url(o, p, "dir/a.txt"))
        assert r.status_code == 200
        assert r.content == b""
        assert r.headers["etag"] == f'"{file["revision"]}"'
        assert r.headers["content-length"] == "7"

        r = c.get(api.files_url(o, p, "dir/a.txt"))
        assert r.status_code == 200
        assert r.content == b"second!"
        assert r.headers["x-storage-revision"] == file["revision"]
        assert r.headers["x-storage-sha256"] == file["sha256"]

        r = c.get(api.meta_url(o, p, "dir/a.txt"))
        assert r.status_code == 200
        api.check_file(r.json())
        assert r.json() == file
        r = c.get(api.meta_url(o, p, "dir"))
        assert r.status_code == 200
        assert r.json() == {"type": "directory", "path": "dir"}
        api.check_error(c.get(api.meta_url(o, p, "nope")), 404, "not_found", missing="path")

        r = c.patch(
            api.meta_url(o, p, "dir/a.txt"),
            json={"description": "the a", "metadata": {"k": "v"}},
        )
        assert r.status_code == 200, r.text
        patched = r.json()
        api.check_file(patched)
        assert (patched["description"], patched["metadata"]) == ("the a", {"k": "v"})
        assert patched["sha256"] == file["sha256"]
        assert patched["revision"] != file["revision"]

        revisions = api.list_all(c, api.revisions_url(o, p, "dir/a.txt"))
        for revision in revisions:
            api.check_revision(revision)
        assert [x["index"] for x in revisions] == [0, -1, -2]
        assert [x["id"] for x in revisions[:2]] == [patched["revision"], file["revision"]]

        tree = api.list_all(c, api.tree_url(o, p))
        for entry in tree:
            api.check_entry(entry)
        assert [x["path"] for x in tree] == ["dir/a.txt"]

        r = c.post(f"{base}/read", json={"files": [{"path": "dir/a.txt"}, {"path": "nope"}]})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/x-storage-files"
        line, _, rest = r.content.partition(b"\n")
        assert json.loads(line) == {
            "path": "dir/a.txt",
            "revision": patched["revision"],
            "size": 7,
            "sha256": patched["sha256"],
            "crc32c": api.crc32c(b"second!"),
            "modified": patched["modified"],
            "inline": True,
        }
        assert rest[:7] == b"second!"
        missing = json.loads(rest[7:])
        assert missing["path"] == "nope"
        assert (missing["error"]["code"], missing["error"]["missing"]) == ("not_found", "path")

        # -- directories ----------------------------------------------------------------
        r = c.put(api.directories_url(o, p, "empty"))
        assert r.status_code == 201, r.text
        assert r.json() == {"type": "directory", "path": "empty"}
        r = c.delete(api.directories_url(o, p, "empty"))
        assert r.status_code == 204, r.text
        assert r.content == b""

        # -- checkpoints ----------------------------------------------------------------
        r = c.post(f"{base}/checkpoints", json={"message": "first"})
        assert r.status_code == 201, r.text
        checkpoint = r.json()
        api.check_checkpoint(checkpoint)
        assert checkpoint["message"] == "first"
        assert checkpoint["created_by"]["name"] == o
        listed = api.list_all(c, f"{base}/checkpoints")
        for item in listed:
            api.check_checkpoint(item)
        assert listed == [checkpoint]
        r = c.get(f"{base}/checkpoints/-1")
        assert r.status_code == 200
        assert r.json() == checkpoint
        r = c.get(f"{base}/checkpoints/{checkpoint['id']}")
        assert r.status_code == 200
        assert r.json() == checkpoint
        instant = api.parse_instant(checkpoint["created_at"]).replace(microsecond=0)
        r = c.get(f"{base}/checkpoints/{instant:%Y-%m-%dT%H:%M:%S}")
        assert r.status_code == 200, r.text
        time_point = r.json()
        assert time_point["id"] is None
        api.check_timestamp(time_point["created_at"])
        resolved = api.parse_instant(time_point["created_at"])
        assert instant <= resolved < instant + timedelta(seconds=1)

        # -- permissions ----------------------------------------------------------------
        r = c.get(f"{base}/permissions")
        assert r.status_code == 200
        api.check_permissions(r.json())
        assert r.json()["owner"]["name"] == o
        change = {"principal_type": "user", "principal": other_user.name, "grant": True}
        r = c.post(f"{base}/permissions", json={"changes": [{**change, "level": "r"}]})
        assert r.status_code == 200, r.text
        permissions = r.json()
        api.check_permissions(permissions)
        assert [(g["principal"]["name"], g["level"]) for g in permissions["grants"]] == [
            (other_user.name, "r")
        ]

        # -- copy and move --------------------------------------------------------------
        source = {
            "owner": o,
            "project": p,
            "path": "dir/a.txt",
            "revision": None,
            "checkpoint": None,
        }
        r = c.post(
            "/api/storage/copy",
            json={
                "source": source,
                "destination": {"owner": o, "project": p, "path": "b.txt"},
                "recursive": False,
                "overwrite": True,
            },
        )
        assert r.status_code == 200, r.text
        (item,) = r.json()["items"]
        assert set(r.json()) == {"items"}
        assert (item["source"], item["destination"]) == ("dir/a.txt", "b.txt")
        api.check_uuid(item["revision"])
        r = c.post(
            "/api/storage/move",
            json={
                "source": {"owner": o, "project": p, "path": "b.txt"},
                "destination": {"owner": o, "project": p, "path": "c.txt"},
                "recursive": False,
                "overwrite": True,
            },
        )
        assert r.status_code == 200, r.text
        (item,) = r.json()["items"]
        assert (item["source"], item["destination"]) == ("b.txt", "c.txt")
        assert set(item) == {"source", "destination", "revision"}

        # -- deleting -------------------------------------------------------------------
        r = c.delete(api.files_url(o, p, "c.txt"))
        assert r.status_code == 204, r.text
        api.check_error(c.delete(api.files_url(o, p, "c.txt")), 404, "not_found", missing="path")
        r = c.post(f"{base}/delete", json={"paths": ["dir/a.txt", "gone.txt"]})
        assert r.status_code == 200, r.text
        assert r.json() == {"deleted": ["dir/a.txt"], "missing": ["gone.txt"]}

        # -- multipart uploads ----------------------------------------------------------
        r = c.post(api.uploads_url(o, p), json={"path": "big.bin"})
        assert r.status_code == 201, r.text
        upload = r.json()
        api.check_upload(upload, with_parts=True)
        assert upload["path"] == "big.bin"
        assert upload["parts"] == []
        uploads_url = f"{api.uploads_url(o, p)}/{upload['id']}"
        r = c.put(f"{uploads_url}/parts/1", content=b"part one")
        assert r.status_code == 200, r.text
        api.check_part(r.json())
        assert r.json() == {
            "number": 1,
            "size": 8,
            "sha256": api.sha256(b"part one"),
            "crc32c": api.crc32c(b"part one"),
        }
        listed = api.list_all(c, api.uploads_url(o, p))
        for item in listed:
            api.check_upload(item, with_parts=False)
        assert [x["id"] for x in listed] == [upload["id"]]
        r = c.get(uploads_url)
        assert r.status_code == 200
        api.check_upload(r.json(), with_parts=True)
        assert r.json()["parts"] == [
            {
                "number": 1,
                "size": 8,
                "sha256": api.sha256(b"part one"),
                "crc32c": api.crc32c(b"part one"),
            }
        ]
        r = c.post(f"{uploads_url}/complete")
        assert r.status_code == 201, r.text
        api.check_file(r.json())
        assert r.json()["sha256"] == api.sha256(b"part one")

        r = c.post(api.uploads_url(o, p), json={"path": "abandoned.bin"})
        assert r.status_code == 201, r.text
        r = c.delete(f"{api.uploads_url(o, p)}/{r.json()['id']}")
        assert r.status_code == 204, r.text

        # -- history you can act on -----------------------------------------------------
        entries = api.list_all(c, f"{base}/log", {"path": "dir", "checkpoints": "false"})
        assert [(x["action"], x["path"]) for x in entries] == [
            ("deleted", "dir/a.txt"),
            ("attributes", "dir/a.txt"),
            ("modified", "dir/a.txt"),
            ("created", "dir/a.txt"),
        ]

        entries = api.list_all(c, f"{base}/diff", {"from": checkpoint["id"], "path": "dir"})
        assert [(x["path"], x["change"]) for x in entries] == [("dir/a.txt", "deleted")]
        r = c.post(f"{base}/restore", json={"path": "dir/a.txt", "revision": "-1"})
        assert r.status_code == 200, r.text
        assert [x["change"] for x in r.json()["changes"]] == ["added"]
        assert c.get(api.files_url(o, p, "dir/a.txt")).content == b"second!"

        # -- the project, deleted -------------------------------------------------------
        api.check_error(c.delete(base), 409, "conflict")
        r = c.delete(base, params={"recursive": "true"})
        assert r.status_code == 204, r.text
        api.check_error(c.get(base), 404, "not_found", missing="project")

        # -- the trash ------------------------------------------------------------------
        (deleted,) = api.list_all(c, f"/api/storage/trash/{o}")
        assert set(deleted) == {"project", "deleted_at", "deleted_by", "purge_at"}
        assert deleted["project"]["name"] == p
        r = c.post(f"/api/storage/trash/{o}/{p}/restore", json={"name": "walk-back"})
        assert r.status_code == 200, r.text
        api.check_project(r.json())
        assert c.get(api.files_url(o, "walk-back", "big.bin")).content == b"part one"
        r = c.delete(api.project_url(o, "walk-back"), params={"recursive": "true"})
        assert r.status_code == 204, r.text
        r = c.delete(f"/api/storage/trash/{o}/walk-back")
        assert r.status_code == 204, r.text
        assert api.list_all(c, f"/api/storage/trash/{o}") == []

    assert recorder.undocumented == []
    assert recorder.without_api_version == []
    assert sorted(documented - recorder.called) == []
    assert recorder.called == documented


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/account"),
        ("GET", "/api/storage/owners"),
        ("GET", "/api/storage/projects/someone"),
        ("POST", "/api/storage/copy"),
    ],
)
def test_unauthenticated_requests_are_401(api: Api, method: str, path: str) -> None:
    with api.client(None) as anonymous, api.client(key="not-a-key") as bad_key:
        api.check_error(anonymous.request(method, path), 401, "auth_required")
        api.check_error(bad_key.request(method, path), 401, "auth_required")
