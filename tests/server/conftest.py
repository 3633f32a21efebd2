"""Fixtures of the black-box Storage API suite (tests/server/test_api_*.py).

The suite speaks only docs/api.md, over real loopback HTTP, with plain `httpx.Client`s: it
never imports the server's modules. Test modules cannot import this file (pytest runs with
`--import-mode=importlib` and tests/ is no package), so the helpers live on one object, the
session-scoped `api` fixture:

- accounts and organizations: `api.new_user(prefix)`, `api.new_org(prefix, members)`
  (usable from module-scoped fixtures, unlike the function-scoped `user` fixtures);
- clients: `api.client(account)`, `api.client(None)` (anonymous), `api.client(key=...)`;
  each is an `httpx.Client` the caller closes (`with api.client(user) as c:`);
- URLs: `api.project_url(o, p)`, `api.files_url(o, p, path)`, ... with each path segment
  percent-encoded as the contract says (`#`, `?`, `%` and spaces always);
- the contract's objects: `api.check_file(obj)`, `api.check_project(obj)`, ...
  and `api.check_error(response, status, code, **extra)`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx
import pytest

from anaconda_storage_core import checksum
from anaconda_storage_server.testing import LocalServer

API_VERSION = "2023.11.28"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# docs/api.md, "Timestamps": RFC 3339 in UTC with microseconds.
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# The documented objects, field by field (docs/api.md, "Resources"). Exact key sets, so that
# a field added to or dropped from either side shows up as a failure here.
OWNER_KEYS = {"id", "name", "kind"}
PROJECT_KEYS = {
    "id",
    "owner",
    "name",
    "title",
    "description",
    "tags",
    "hidden",
    "created_at",
    "updated_at",
    "size",
    "file_count",
    "access",
}
CHECKPOINT_KEYS = {"id", "created_at", "created_by", "message"}
GRANT_KEYS = {"principal", "level"}
FILE_KEYS = {
    "type",
    "path",
    "size",
    "sha256",
    "crc32c",
    "revision",
    "modified",
    "created_at",
    "modified_by",
    "description",
    "metadata",
}
DIRECTORY_KEYS = {"type", "path"}
REVISION_KEYS = {
    "id",
    "created_at",
    "created_by",
    "deleted",
    "size",
    "sha256",
    "crc32c",
    "description",
    "metadata",
    "index",
}
UPLOAD_KEYS = {"id", "path", "created_at", "expires_at"}
PART_KEYS = {"number", "size", "sha256", "crc32c"}
ERROR_EXTRA_KEYS = {"field", "required", "missing", "current"}
ERROR_CODES = {
    400: "invalid",
    401: "auth_required",
    403: "permission_denied",
    404: "not_found",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    416: "range_not_satisfiable",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


class Credentials(Protocol):
    """What a client needs of an account: the tests' `Account` and `ServerUser` both fit."""

    @property
    def name(self) -> str: ...

    @property
    def api_key(self) -> str: ...

    @property
    def url(self) -> str: ...


@dataclass(frozen=True)
class ServerUser:
    """A user made by `api.new_user`, same shape as the shared `Account`."""

    name: str
    api_key: str
    url: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crc32c(data: bytes) -> str:
    """The wire form of the CRC32C of `data` (docs/api.md, "Checksums")."""
    return checksum.encode(checksum.crc32c(data))


def quote_path(path: str) -> str:
    """Percent-encode every segment of a file path (docs/api.md, "Names and paths")."""
    return quote(path, safe="/")


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant as an aware datetime (`Z` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Api:
    """Accounts, clients, URLs and the contract's shapes, for the tests of this folder."""

    sha256 = staticmethod(sha256)
    crc32c = staticmethod(crc32c)
    quote_path = staticmethod(quote_path)
    parse_instant = staticmethod(parse_instant)
    EMPTY_SHA256 = EMPTY_SHA256

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.url: str = server.url

    # -- accounts -------------------------------------------------------------------------

    def new_user(self, prefix: str = "user", server: LocalServer | None = None) -> ServerUser:
        """A new user on `server` (default: the session's), with a unique name."""
        server = server or self.server
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        return ServerUser(name=name, api_key=server.add_user(name), url=server.url)

    def new_org(self, prefix: str, members: Sequence[Credentials]) -> str:
        """A new organization with these members; its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.server.add_org(name, members=[m.name for m in members])
        return name

    def client(
        self,
        account: Credentials | None = None,
        *,
        key: str | None = None,
        url: str | None = None,
    ) -> httpx.Client:
        """A client for `account`, for a raw `key`, or anonymous; the caller closes it."""
        headers = {"Api-Version": API_VERSION}
        if account is not None:
            key = account.api_key
            url = url or account.url
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=url or self.url, headers=headers, timeout=60)

    # -- URLs -----------------------------------------------------------------------------

    @staticmethod
    def project_url(owner: str, project: str) -> str:
        return f"/api/storage/projects/{owner}/{project}"

    def files_url(self, owner: str, project: str, path: str) -> str:
        return f"{self.project_url(owner, project)}/files/{quote_path(path)}"

    def meta_url(self, owner: str, project: str, path: str) -> str:
        return f"{self.project_url(owner, project)}/meta/{quote_path(path)}"

    def revisions_url(self, owner: str, project: str, path: str) -> str:
        return f"{self.project_url(owner, project)}/revisions/{quote_path(path)}"

    def directories_url(self, owner: str, project: str, path: str) -> str:
        return f"{self.project_url(owner, project)}/directories/{quote_path(path)}"

    def tree_url(self, owner: str, project: str) -> str:
        return f"{self.project_url(owner, project)}/tree"

    def uploads_url(self, owner: str, project: str) -> str:
        return f"{self.project_url(owner, project)}/uploads"

    # -- common calls ---------------------------------------------------------------------

    def create_project(
        self, client: httpx.Client, owner: str, name: str | None = None, **attrs: Any
    ) -> dict[str, Any]:
        """Create a project (default: a fresh name) and return the `Project`."""
        name = name or f"p-{uuid.uuid4().hex[:12]}"
        response = client.post(f"/api/storage/projects/{owner}", json={"name": name, **attrs})
        assert response.status_code == 201, response.text
        project = response.json()
        self.check_project(project)
        return project

    def put(
        self,
        client: httpx.Client,
        owner: str,
        project: str,
        path: str,
        content: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Upload `content` to `path` (expecting success) and return the `File`."""
        response = client.put(
            self.files_url(owner, project, path), content=content, headers=headers
        )
        assert response.status_code in (200, 201), response.text
        file = response.json()
        self.check_file(file)
        assert file["path"] == path
        assert file["size"] == len(content)
        assert file["sha256"] == sha256(content)
        return file

    def get_content(
        self, client: httpx.Client, owner: str, project: str, path: str, **params: Any
    ) -> bytes:
        response = client.get(self.files_url(owner, project, path), params=params)
        assert response.status_code == 200, response.text
        return response.content

    def list_all(
        self, client: httpx.Client, url: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a paged list, following `next_cursor` (at most 1,000 pages)."""
        items: list[dict[str, Any]] = []
        query = dict(params or {})
        for _ in range(1000):
            response = client.get(url, params=query)
            assert response.status_code == 200, response.text
            page_items, cursor = self.check_page(response.json())
            items.extend(page_items)
            if cursor is None:
                return items
            query["cursor"] = cursor
        raise AssertionError(f"{url}: more than 1,000 pages")

    def tree(self, client: httpx.Client, owner: str, project: str, **params: Any) -> list[str]:
        """The paths of a project's tree (every page)."""
        return [
            item["path"] for item in self.list_all(client, self.tree_url(owner, project), params)
        ]

    def revisions(
        self, client: httpx.Client, owner: str, project: str, path: str
    ) -> list[dict[str, Any]]:
        items = self.list_all(client, self.revisions_url(owner, project, path))
        for item in items:
            self.check_revision(item)
        return items

    def chmod(
        self,
        client: httpx.Client,
        owner: str,
        project: str,
        *changes: tuple[str, str, Any, str],
    ) -> httpx.Response:
        """POST permission changes `(principal_type, principal, grant, level)`; the response."""
        body = {
            "changes": [
                {"principal_type": t, "principal": p, "grant": g, "level": level}
                for t, p, g, level in changes
            ]
        }
        return client.post(f"{self.project_url(owner, project)}/permissions", json=body)

    def grant(
        self,
        client: httpx.Client,
        owner: str,
        project: str,
        *changes: tuple[str, str, Any, str],
    ) -> dict[str, Any]:
        """Apply permission changes (expecting success); the `{"owner", "grants"}` answer."""
        response = self.chmod(client, owner, project, *changes)
        assert response.status_code == 200, response.text
        answer = response.json()
        self.check_permissions(answer)
        return answer

    @staticmethod
    def transfer(
        client: httpx.Client,
        kind: str,
        source: tuple[str, str, str],
        destination: tuple[str, str, str],
        *,
        recursive: bool = False,
        overwrite: bool = True,
        revision: str | None = None,
        checkpoint: str | None = None,
    ) -> httpx.Response:
        """POST /api/storage/{kind} (copy or move) from `(o, p, path)` to `(o, p, path)`."""
        body = {
            "source": {
                "owner": source[0],
                "project": source[1],
                "path": source[2],
                "revision": revision,
                "checkpoint": checkpoint,
            },
            "destination": {
                "owner": destination[0],
                "project": destination[1],
                "path": destination[2],
            },
            "recursive": recursive,
            "overwrite": overwrite,
        }
        return client.post(f"/api/storage/{kind}", json=body)

    # -- shapes ---------------------------------------------------------------------------

    @staticmethod
    def check_uuid(value: Any) -> None:
        assert isinstance(value, str), value
        assert UUID_RE.match(value), value

    @staticmethod
    def check_timestamp(value: Any) -> None:
        assert isinstance(value, str), value
        assert TIMESTAMP_RE.match(value), value

    @staticmethod
    def check_sha256(value: Any) -> None:
        assert isinstance(value, str), value
        assert SHA256_RE.match(value), value

    def check_owner(self, obj: Any) -> None:
        assert isinstance(obj, dict), obj
        assert set(obj) == OWNER_KEYS, obj
        self.check_uuid(obj["id"])
        assert isinstance(obj["name"], str), obj
        assert obj["kind"] in ("user", "org"), obj

    def check_project(self, obj: Any, *, detailed: bool = False) -> None:
        """A `Project`; `detailed`: the single-project answer with permissions and checkpoints."""
        assert isinstance(obj, dict), obj
        extra = {"permissions", "checkpoints"} if detailed else set()
        assert set(obj) == PROJECT_KEYS | extra, obj
        self.check_uuid(obj["id"])
        self.check_owner(obj["owner"])
        assert re.fullmatch(r"[a-z0-9-_]{1,120}", obj["name"]), obj
        assert isinstance(obj["title"], str), obj
        assert isinstance(obj["description"], str), obj
        assert isinstance(obj["tags"], list), obj
        assert set(obj["tags"]) <= {"data", "notebook"}, obj
        assert isinstance(obj["hidden"], bool), obj
        self.check_timestamp(obj["created_at"])
        self.check_timestamp(obj["updated_at"])
        assert isinstance(obj["size"], int), obj
        assert obj["size"] >= 0, obj
        assert isinstance(obj["file_count"], int), obj
        assert obj["file_count"] >= 0, obj
        assert obj["access"] in ("read", "write", "owner"), obj
        if detailed:
            self.check_permissions(obj["permissions"])
            assert isinstance(obj["checkpoints"], list), obj
            for checkpoint in obj["checkpoints"]:
                self.check_checkpoint(checkpoint)

    def check_permissions(self, obj: Any) -> None:
        assert isinstance(obj, dict), obj
        assert set(obj) == {"owner", "grants"}, obj
        self.check_owner(obj["owner"])
        assert isinstance(obj["grants"], list), obj
        for grant in obj["grants"]:
            assert isinstance(grant, dict), grant
            assert set(grant) == GRANT_KEYS, grant
            self.check_owner(grant["principal"])
            assert grant["level"] in ("r", "w"), grant

    def check_checkpoint(self, obj: Any) -> None:
        assert isinstance(obj, dict), obj
        assert set(obj) == CHECKPOINT_KEYS, obj
        self.check_uuid(obj["id"])
        self.check_timestamp(obj["created_at"])
        self.check_owner(obj["created_by"])
        assert isinstance(obj["message"], str), obj

    def check_file(self, obj: Any) -> None:
        assert isinstance(obj, dict), obj
        assert set(obj) == FILE_KEYS, obj
        assert obj["type"] == "file", obj
        assert isinstance(obj["path"], str), obj
        assert obj["path"], obj
        assert isinstance(obj["size"], int), obj
        assert obj["size"] >= 0, obj
        self.check_sha256(obj["sha256"])
        self.check_crc32c(obj["crc32c"])
        self.check_uuid(obj["revision"])
        self.check_timestamp(obj["modified"])
        self.check_timestamp(obj["created_at"])
        assert obj["created_at"] <= obj["modified"], obj
        self.check_owner(obj["modified_by"])
        assert isinstance(obj["description"], str), obj
        self.check_metadata(obj["metadata"])

    def check_directory(self, obj: Any) -> None:
        assert isinstance(obj, dict), obj
        assert set(obj) == DIRECTORY_KEYS, obj
        assert obj["type"] == "directory", obj
        assert isinstance(obj["path"], str), obj
        assert obj["path"], obj
        assert not obj["path"].endswith("/"), obj

    def check_entry(self, obj: Any) -> None:
        """A tree entry: a `File` or a `Directory`."""
        assert isinstance(obj, dict), obj
        if obj.get("type") == "directory":
            self.check_directory(obj)
        else:
            self.check_file(obj)

    def check_revision(self, obj: Any) -> None:
        assert isinstance(obj, dict), obj
        assert set(obj) == REVISION_KEYS, obj
        self.check_uuid(obj["id"])
        self.check_timestamp(obj["created_at"])
        self.check_owner(obj["created_by"])
        assert isinstance(obj["deleted"], bool), obj
        assert isinstance(obj["size"], int), obj
        if obj["deleted"]:
            # "A deletion revision has size 0 and sha256 null."
            assert obj["size"] == 0, obj
            assert obj["sha256"] is None, obj
            assert obj["crc32c"] is None, obj
        else:
            self.check_sha256(obj["sha256"])
            self.check_crc32c(obj["crc32c"])
        assert isinstance(obj["description"], str), obj
        self.check_metadata(obj["metadata"])
        assert isinstance(obj["index"], int), obj
        assert obj["index"] <= 0, obj

    def check_upload(self, obj: Any, *, with_parts: bool) -> None:
        assert isinstance(obj, dict), obj
        assert set(obj) == (UPLOAD_KEYS | {"parts"} if with_parts else UPLOAD_KEYS), obj
        self.check_uuid(obj["id"])
        assert isinstance(obj["path"], str), obj
        self.check_timestamp(obj["created_at"])
        self.check_timestamp(obj["expires_at"])
        assert obj["created_at"] < obj["expires_at"], obj
        if with_parts:
            assert isinstance(obj["parts"], list), obj
            for part in obj["parts"]:
                self.check_part(part)
            numbers = [part["number"] for part in obj["parts"]]
            assert numbers == sorted(set(numbers)), obj

    def check_part(self, obj: Any) -> None:
        assert isinstance(obj, dict), obj
        assert set(obj) == PART_KEYS, obj
        assert isinstance(obj["number"], int), obj
        assert 1 <= obj["number"] <= 10_000, obj
        assert isinstance(obj["size"], int), obj
        self.check_sha256(obj["sha256"])
        self.check_crc32c(obj["crc32c"])

    @staticmethod
    def check_crc32c(value: Any) -> None:
        """The transfer checksum: base64 of the 4 bytes of a CRC32C (docs/api.md)."""
        assert isinstance(value, str), value
        assert len(base64.b64decode(value, validate=True)) == 4, value

    @staticmethod
    def check_metadata(obj: Any) -> None:
        assert isinstance(obj, dict), obj
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in obj.items()), obj

    @staticmethod
    def check_page(obj: Any) -> tuple[list[dict[str, Any]], str | None]:
        """A page `{"items": [...], "next_cursor": ...}`: its items and cursor."""
        assert isinstance(obj, dict), obj
        assert set(obj) == {"items", "next_cursor"}, obj
        assert isinstance(obj["items"], list), obj
        cursor = obj["next_cursor"]
        assert cursor is None or (isinstance(cursor, str) and cursor), obj
        return obj["items"], cursor

    @staticmethod
    def check_error(
        response: httpx.Response, status: int, code: str, **extra: Any
    ) -> dict[str, Any]:
        """An error answer: `status`, `{"error": {"code", "message", ...}}`, these extras.

        Each keyword is an extra field the error must carry with that value.
        """
        assert response.status_code == status, (
            f"{response.request.method} {response.request.url}: expected {status} {code}, "
            f"got {response.status_code} {response.text[:500]}"
        )
        assert response.headers.get("content-type", "").startswith("application/json"), (
            response.headers
        )
        body = response.json()
        assert isinstance(body, dict), body
        assert set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error, dict), body
        assert error.get("code") == code, body
        assert isinstance(error.get("message"), str), body
        assert error["message"], body
        assert set(error) - {"code", "message"} <= ERROR_EXTRA_KEYS, body
        for key, value in extra.items():
            assert key in error, body
            assert error[key] == value, body
        return error


@pytest.fixture(scope="session")
def api(storage_server: LocalServer) -> Api:
    """Helpers bound to the session's local server (see the module docstring)."""
    return Api(storage_server)


@pytest.fixture(scope="module")
def account(api: Api) -> ServerUser:
    """One user shared by the tests of a module that each work in a project of their own.

    Cheaper than the per-test `user` (a new user is a `users add` subprocess); tests that
    look at what a user owns or sees as a whole (its projects, its owners) take `user`.
    """
    return api.new_user("shared")


@pytest.fixture(scope="module")
def expiring_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A second local server whose upload sessions expire after one idle second."""
    with LocalServer(tmp_path_factory.mktemp("expiring-data"), upload_expiry=1) as server:
        yield server


@dataclass
class RawResponse:
    status: int
    head: str


def raw_request(url: str, request: bytes, *, read_answer: bool = True) -> RawResponse | None:
    """Send raw bytes to the server's socket; its status line and headers, or None.

    For what httpx will not send: a body cut off before its declared end, dot segments.
    """
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        if not read_answer:
            return None
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status = int(head.split(" ", 2)[1])
    return RawResponse(status=status, head=head)


@pytest.fixture(scope="session")
def raw() -> Any:
    """`raw(url, request_bytes, read_answer=True)`: see `raw_request`."""
    return raw_request


@pytest.fixture(scope="session")
def docs_api_md() -> str:
    """The text of docs/api.md, the contract this suite checks."""
    return (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
