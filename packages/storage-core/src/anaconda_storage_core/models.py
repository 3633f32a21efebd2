"""The objects of the Storage API (docs/api.md, "Resources") as frozen dataclasses.

Each model has a `from_json` class method that reads the contract's JSON object; fields the
client does not know are ignored, so a newer server does not break an older client.
Timestamps become timezone-aware `datetime`s in UTC. Models hold plain data only: they
compare, hash (mapping fields excluded), and pickle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:  # annotations only: importing the models loads neither httpx nor the grammar
    from .errors import StorageError
    from .uri import StorageURI

__all__ = [
    "Account",
    "Checkpoint",
    "ContentInfo",
    "CopiedFile",
    "CopyResult",
    "DeleteResult",
    "DirectoryInfo",
    "Entry",
    "FileInfo",
    "FileRead",
    "Grant",
    "Health",
    "Owner",
    "Page",
    "Permissions",
    "Project",
    "ProjectInfo",
    "Revision",
    "Upload",
    "UploadPart",
]

T = TypeVar("T")
JSON = Mapping[str, Any]


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (`2024-05-01T12:00:00.123456Z`) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    parsed = datetime.fromisoformat(text)  # Python 3.10 wants an offset, not "Z"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _required_timestamp(value: Any) -> datetime:
    parsed = parse_timestamp(value)
    if parsed is None:
        raise ValueError(f"expected an RFC 3339 timestamp, got {value!r}")
    return parsed


def _str_map(value: Any) -> dict[str, str]:
    if not value:  # the common case, without the abstract Mapping's isinstance
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Owner:
    """A user or an organization: the owner of projects, or a principal of a grant."""

    id: str
    name: str
    kind: Literal["user", "org"]

    @classmethod
    def from_json(cls, data: JSON) -> Owner:
        """Read the contract's `Owner` object."""
        return cls(id=str(data["id"]), name=str(data["name"]), kind=data.get("kind", "user"))


def _owner_or_none(value: Any) -> Owner | None:
    if not isinstance(value, Mapping):
        return None
    uid, name, kind = value.get("id"), value.get("name"), value.get("kind", "user")
    if type(uid) is str and type(name) is str and type(kind) is str and len(uid + name) <= 200:
        # One Owner per (id, name, kind), shared (it is immutable): a listing names the
        # same few owners on every one of its entries. (Only names as short as the grammar
        # allows are remembered: a hostile answer's cannot fill the memory.)
        return _owner(uid, name, kind)
    return Owner.from_json(value)


@functools.lru_cache(maxsize=1024)
def _owner(uid: str, name: str, kind: Any) -> Owner:
    return Owner(id=uid, name=name, kind=kind)


@dataclass(frozen=True)
class Account:
    """The caller (`GET /api/account`): a user and the organizations it belongs to."""

    id: str
    name: str
    kind: Literal["user", "org"]
    organizations: tuple[Owner, ...] = ()

    @classmethod
    def from_json(cls, data: JSON) -> Account:
        """Read the answer of `GET /api/account`."""
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            kind=data.get("kind", "user"),
            organizations=tuple(Owner.from_json(o) for o in data.get("organizations", ())),
        )


@dataclass(frozen=True)
class Health:
    """The answer of `GET /api/health`."""

    status: str
    version: str

    @classmethod
    def from_json(cls, data: JSON) -> Health:
        """Read the answer of `GET /api/health`."""
        return cls(status=str(data.get("status", "")), version=str(data.get("version", "")))


@dataclass(frozen=True)
class Checkpoint:
    """A named instant of a whole project.

    Attributes:
        id: The ad-hoc checkpoint's UUID; None for a time point resolved by the server.
        created_at: The instant the checkpoint stands for.
        created_by: Who created it (None for a time point).
        message: The message given at creation.
    """

    id: str | None
    created_at: datetime
    created_by: Owner | None = None
    message: str = ""

    @classmethod
    def from_json(cls, data: JSON) -> Checkpoint:
        """Read the contract's `Checkpoint` object."""
        return cls(
            id=None if data.get("id") is None else str(data["id"]),
            created_at=_required_timestamp(data["created_at"]),
            created_by=_owner_or_none(data.get("created_by")),
            message=str(data.get("message") or ""),
        )


@dataclass(frozen=True)
class Grant:
    """A permission granted on a project: `r` (read) or `w` (write, implies read)."""

    principal: Owner
    level: Literal["r", "w"]

    @classmethod
    def from_json(cls, data: JSON) -> Grant:
        """Read the contract's `Grant` object."""
        return cls(principal=Owner.from_json(data["principal"]), level=data["level"])


@dataclass(frozen=True)
class Permissions:
    """Who owns a project and who else may read or write it."""

    owner: Owner
    grants: tuple[Grant, ...] = ()

    @classmethod
    def from_json(cls, data: JSON) -> Permissions:
        """Read `{"owner": Owner, "grants": [Grant]}`."""
        return cls(
            owner=Owner.from_json(data["owner"]),
            grants=tuple(Grant.from_json(g) for g in data.get("grants", ())),
        )


@dataclass(frozen=True)
class Project:
    """A project: a versioned tree of files owned by a user or an organization.

    Attributes:
        access: The caller's level on it: `read`, `write` or `owner`.
        size: Total bytes of its live files; file_count: how many there are.
    """

    id: str
    owner: Owner
    name: str
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    hidden: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    size: int = 0
    file_count: int = 0
    access: Literal["read", "write", "owner"] = "read"

    @property
    def full_name(self) -> str:
        """`owner/project`."""
        return f"{self.owner.name}/{self.name}"

    @classmethod
    def _fields_from_json(cls, data: JSON) -> dict[str, Any]:
        return {
            "id": str(data["id"]),
            "owner": Owner.from_json(data["owner"]),
            "name": str(data["name"]),
            "title": str(data.get("title") or ""),
            "description": str(data.get("description") or ""),
            "tags": tuple(data.get("tags") or ()),
            "hidden": bool(data.get("hidden", False)),
            "created_at": parse_timestamp(data.get("created_at")),
            "updated_at": parse_timestamp(data.get("updated_at")),
            "size": int(data.get("size") or 0),
            "file_count": int(data.get("file_count") or 0),
            "access": data.get("access", "read"),
        }

    @classmethod
    def from_json(cls, data: JSON) -> Project:
        """Read the contract's `Project` object."""
        return cls(**cls._fields_from_json(data))


@dataclass(frozen=True)
class ProjectInfo(Project):
    """A project with its permissions and its most recent ad-hoc checkpoints (newest first;
    at most 100: page the rest with `list_checkpoints`)."""

    permissions: Permissions | None = None
    checkpoints: tuple[Checkpoint, ...] = ()

    @classmethod
    def from_json(cls, data: JSON) -> ProjectInfo:
        """Read the answer of `GET /api/storage/projects/{owner}/{project}`."""
        permissions = data.get("permissions")
        return cls(
            **cls._fields_from_json(data),
            permissions=Permissions.from_json(permissions) if permissions else None,
            checkpoints=tuple(Checkpoint.from_json(c) for c in data.get("checkpoints", ())),
        )


@dataclass(frozen=True)
class FileInfo:
    """A file's metadata at its current revision (or at the revision or checkpoint read).

    Attributes:
        path: The path inside the project (`dir/q1.csv`).
        revision: The UUID of the revision described.
        crc32c: The content's CRC32C, the transfer checksum (base64 of its 4 bytes), when
            the server sent it.
        modified: When that revision was made; created_at: the first revision of the
            path's current life.
        metadata: String keys and values set with chattr.
    """

    path: str
    size: int
    sha256: str | None
    revision: str
    modified: datetime | None = None
    created_at: datetime | None = None
    modified_by: Owner | None = None
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)
    type: Literal["file"] = "file"
    crc32c: str | None = None

    @property
    def name(self) -> str:
        """The last segment of the path."""
        return self.path.rsplit("/", 1)[-1]

    @classmethod
    def from_json(cls, data: JSON) -> FileInfo:
        """Read the contract's `File` object."""
        written, created = data.get("modified"), data.get("created_at")
        modified = parse_timestamp(written)
        return cls(
            path=str(data["path"]),
            size=int(data.get("size") or 0),
            sha256=data.get("sha256"),
            revision=str(data.get("revision") or ""),
            modified=modified,
            # The first revision of a file's life is often the current one: parsed once.
            created_at=modified if created == written else parse_timestamp(created),
            modified_by=_owner_or_none(data.get("modified_by")),
            description=str(data.get("description") or ""),
            metadata=_str_map(data.get("metadata")),
            crc32c=_str_or_none(data.get("crc32c")),
        )


@dataclass(frozen=True)
class DirectoryInfo:
    """A virtual directory: it exists while some live file's path starts with `path/`."""

    path: str
    type: Literal["directory"] = "directory"

    @property
    def name(self) -> str:
        """The last segment of the path."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @classmethod
    def from_json(cls, data: JSON) -> DirectoryInfo:
        """Read the contract's `Directory` object."""
        return cls(path=str(data["path"]).rstrip("/"))


Entry: TypeAlias = FileInfo | DirectoryInfo
"""An item of a tree listing or the answer of `info`: a file or a virtual directory."""


def entry_from_json(data: JSON) -> Entry:
    """A `File` or a `Directory` object, told apart by its `type`."""
    if data.get("type") == "directory":
        return DirectoryInfo.from_json(data)
    return FileInfo.from_json(data)


@dataclass(frozen=True)
class Revision:
    """One change to a file: an upload, a metadata change, a copy or move onto it, or a
    deletion (`deleted` true, `size` 0, `sha256` None).

    Attributes:
        index: 0 for the current revision, -1 for the one before, and so on.
    """

    id: str
    created_at: datetime
    created_by: Owner | None = None
    deleted: bool = False
    size: int = 0
    sha256: str | None = None
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)
    index: int = 0
    crc32c: str | None = None

    @classmethod
    def from_json(cls, data: JSON) -> Revision:
        """Read the contract's `Revision` object."""
        return cls(
            id=str(data["id"]),
            created_at=_required_timestamp(data["created_at"]),
            created_by=_owner_or_none(data.get("created_by")),
            deleted=bool(data.get("deleted", False)),
            size=int(data.get("size") or 0),
            sha256=data.get("sha256"),
            description=str(data.get("description") or ""),
            metadata=_str_map(data.get("metadata")),
            index=int(data.get("index") or 0),
            crc32c=_str_or_none(data.get("crc32c")),
        )


@dataclass(frozen=True)
class UploadPart:
    """A part received by a multipart upload session."""

    number: int
    size: int
    sha256: str
    crc32c: str | None = None

    @classmethod
    def from_json(cls, data: JSON) -> UploadPart:
        """Read `{"number", "size", "sha256", "crc32c"}`."""
        return cls(
            number=int(data["number"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]),
            crc32c=_str_or_none(data.get("crc32c")),
        )


@dataclass(frozen=True)
class Upload:
    """A multipart upload session in progress.

    Attributes:
        parts: The parts received so far, by number (empty in listings).
    """

    id: str
    path: str
    created_at: datetime | None = None
    expires_at: datetime | None = None
    parts: tuple[UploadPart, ...] = ()

    @classmethod
    def from_json(cls, data: JSON) -> Upload:
        """Read the contract's `Upload` object."""
        parts = sorted((UploadPart.from_json(p) for p in data.get("parts") or ()), key=_number)
        return cls(
            id=str(data["id"]),
            path=str(data["path"]),
            created_at=parse_timestamp(data.get("created_at")),
            expires_at=parse_timestamp(data.get("expires_at")),
            parts=tuple(parts),
        )


def _number(part: UploadPart) -> int:
    return part.number


@dataclass(frozen=True)
class CopiedFile:
    """One file written by a server-side copy or move."""

    source: str
    destination: str
    revision: str

    @classmethod
    def from_json(cls, data: JSON) -> CopiedFile:
        """Read `{"source", "destination", "revision"}`."""
        return cls(
            source=str(data["source"]),
            destination=str(data["destination"]),
            revision=str(data["revision"]),
        )


@dataclass(frozen=True)
class CopyResult:
    """The answer of a server-side copy or move: every file written, source to destination."""

    items: tuple[CopiedFile, ...] = ()

    @classmethod
    def from_json(cls, data: JSON) -> CopyResult:
        """Read `{"items": [...]}`."""
        return cls(items=tuple(CopiedFile.from_json(i) for i in data.get("items", ())))


@dataclass(frozen=True)
class DeleteResult:
    """The answer of deleting many files: the paths deleted and those that held no file."""

    deleted: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: JSON) -> DeleteResult:
        """Read `{"deleted": [...], "missing": [...]}`."""
        return cls(
            deleted=tuple(str(p) for p in data.get("deleted", ())),
            missing=tuple(str(p) for p in data.get("missing", ())),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, and the cursor of the next page (None on the last)."""

    items: tuple[T, ...]
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, data: JSON, item: Callable[[JSON], T]) -> Page[T]:
        """Read `{"items": [...], "next_cursor": ...}`, each item with `item`."""
        cursor = data.get("next_cursor")
        return cls(
            items=tuple(item(i) for i in data.get("items", ())),
            next_cursor=str(cursor) if cursor else None,
        )


@dataclass(frozen=True)
class ContentInfo:
    """What the headers of a file's content say (`GET`/`HEAD .../files/{path}`).

    Attributes:
        size: The whole content's size in bytes (not the range's).
        revision: The revision served (the ETag).
        sha256: The whole content's sha256 (`X-Storage-Sha256`), when sent.
        crc32c: The whole content's CRC32C (`X-Storage-Crc32c`, base64), sent only with the
            whole content (not with a range).
        start: The first byte served (0 unless a range was asked).
        length: How many bytes this answer carries.
        checkpoint_at: The instant a checkpoint resolved to, when read at one.
    """

    size: int
    revision: str
    sha256: str | None = None
    last_modified: str | None = None
    start: int = 0
    length: int = 0
    checkpoint_at: datetime | None = None
    crc32c: str | None = None


@dataclass(frozen=True)
class FileRead:
    """One file of `read_files`: its content, or why not.

    Attributes:
        uri: The file as it was asked for (parsed).
        info: What the answer's header said of it: size, revision, sha256, crc32c and
            `last_modified` (the header's `modified`); `checkpoint_at` when read at a
            checkpoint. None for an error, or when the server cannot read many files at
            once (then read the file on its own).
        data: The content, checked as `verify` asked; None for an error, or for a file not
            sent inline (larger than the `inline_limit`: read `pinned` on its own).
        error: Why the file could not be read: `NotFound` (no such file or revision, a
            deleted file), `ChecksumMismatch` (the content received is not what the header
            announced). The other files of the call are not affected.
    """

    uri: StorageURI
    info: ContentInfo | None
    data: bytes | None
    error: StorageError | None

    @property
    def inline(self) -> bool:
        """Whether the content came with the answer (`data` holds it)."""
        return self.data is not None

    @property
    def pinned(self) -> StorageURI:
        """`uri` at the revision the answer named: how to read a file that was not sent
        inline on its own, at the same revision, whatever was written since; `uri` itself
        when there is no `info`."""
        if self.info is None:
            return self.uri
        return replace(self.uri, checkpoint=None, revision=self.info.revision)
