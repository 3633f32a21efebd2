"""`StorageClient`: every call of the Storage API, on `httpx.Client` (blocking).

GENERATED from `async_client.py` by `packages/storage-core/scripts/unasync.py`: do not
edit by hand. Edit `async_client.py`, then run the script (a test fails while they differ).

The client only sends: each method builds its request(s) with the sans-IO `operations`
(or runs a flow of `transfer`) and hands them to its runner.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, TypeVar

import httpx

from . import locations
from .attributes import validate_file_attributes, validate_project_attributes
from .config import StorageConfig, VerifyTypes, resolve_config
from .effects import Flow
from .history import DeletedProject, DiffEntry, LogEntry, Restoration
from .locations import Location
from .models import (
    Account,
    Checkpoint,
    ContentInfo,
    CopyResult,
    DeleteResult,
    DirectoryInfo,
    Entry,
    FileInfo,
    FileRead,
    Health,
    Owner,
    Page,
    Permissions,
    Project,
    ProjectInfo,
    Revision,
    Upload,
    UploadPart,
)
from .operations import (
    account,
    batch,
    checkpoints,
    directories,
    files,
    history,
    owners,
    permissions,
    projects,
    trash,
    tree,
    uploads,
)
from .operations.call import Api, Call
from .operations.reading import MAX_INLINE_LIMIT
from .permission import PermissionChange, parse_permissions
from .retry import RetryPolicy, Review, Settle, send
from .runner import ContentStream, Runner, default_http_client
from .settle import review_deletions, settle_delete
from .transfer import download as downloads
from .transfer import reading as many
from .transfer import upload as uploading
from .transfer.digest import Verify, check_verify
from .transfer.resume import MultipartUpload
from .transfer.upload import Source, UploadSettings
from .uri import InvalidURI, parse_uri

__all__ = ["StorageClient"]

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
KEEP = ".keep"


def _not_a_marker(entry: Entry) -> bool:
    return not (isinstance(entry, FileInfo) and entry.path.rsplit("/", 1)[-1] == KEEP)


class StorageClient:
    """A client of the Storage API (blocking).

    Every location is a `str` or a `StorageURI`: `"alice/sales"`,
    `"anaconda://alice/sales/2024/q1.csv#-1"`, `"alice/sales#2024-01-01T00:00:00/dir"`.

    Example:
        >>> with StorageClient(domain="http://127.0.0.1:8765") as client:
        ...     client.upload("alice/sales/q1.csv", b"a,b\\n1,2\\n")
        ...     data = client.read_bytes("alice/sales/q1.csv")

    Args:
        api_key: The API key; default: the URI option, `ANACONDA_CLOUD_API_KEY`, then
            what `anaconda login` stored (see `config.resolve_config`).
        domain: The Storage API's domain (`anaconda.com`, `http://127.0.0.1:8765`).
        api_version: Sent as `Api-Version` (default `2023.11.28`).
        extra_headers: More headers, a dict or a JSON string; never overriding the client's.
        verify: TLS verification: True (default), False, a CA bundle path, an SSLContext.
        options: Query options of a URI (`StorageURI.options`), below the arguments.
        config: An already resolved configuration (then the arguments above are unused).
        timeout: Per-request timeouts (default 60 s, 15 s to connect).
        retry: A `RetryPolicy`, or how many attempts (default 5).
        http_client: An `httpx.Client` to send with (not closed by this client).
        transport: An `httpx.BaseTransport` for a client made here (tests, proxies).
        limits: Connection pool limits of a client made here (default 100 connections).
        trust_env: Whether a client made here reads proxies and CA settings from the
            environment (`HTTPS_PROXY`, `SSL_CERT_FILE`...).
        upload_settings: Part size, multipart threshold, concurrency and resume defaults.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        domain: str | None = None,
        api_version: str | None = None,
        extra_headers: Mapping[str, str] | str | None = None,
        verify: VerifyTypes | None = None,
        options: Mapping[str, str] | None = None,
        config: StorageConfig | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        trust_env: bool = True,
        upload_settings: UploadSettings | None = None,
    ) -> None:
        self.config = config or resolve_config(
            api_key=api_key,
            domain=domain,
            api_version=api_version,
            extra_headers=extra_headers,
            verify=verify,
            options=options,
        )
        self._api = Api.from_config(self.config)
        if isinstance(retry, int):
            retry = RetryPolicy(attempts=retry)
        self.retry = retry or RetryPolicy()
        self.upload_settings = upload_settings or UploadSettings()
        if http_client is not None and transport is not None:
            raise ValueError("give http_client or transport, not both")
        self._owns_http = http_client is None
        self.http = http_client or default_http_client(self.config, limits, transport, trust_env)
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        elif not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout)
        self._runner = Runner(
            self.http, timeout, max_workers=max(16, self.upload_settings.concurrency)
        )
        self._read_route = many.ReadRoute()  # whether the server can read many files at once

    @classmethod
    def from_uri(cls, uri: Location, **kwargs: Any) -> StorageClient:
        """A client configured by a URI's query options (`?api_key=&domain=...`) and kwargs.

        Args:
            uri: Any URI; only its options are used.
            **kwargs: As for the constructor; they take precedence over the options.
        """
        return cls(options=parse_uri(uri).options, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(domain={self.config.domain!r})"

    def __enter__(self) -> StorageClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections (of an `http_client` made here; an injected one stays open)."""
        if self._owns_http:
            self.http.close()

    # -- plumbing --------------------------------------------------------------------------

    def _send(
        self, call: Call[T], settle: Settle[T] | None = None, review: Review[T] | None = None
    ) -> T:
        return self._runner.run(send(call, self.retry, settle, review))

    def _items(
        self,
        page: Callable[[str | None], Call[Page[T]]],
        keep: Callable[[T], bool] | None = None,
    ) -> Iterator[T]:
        # The next page is started as soon as a page arrives, before its items are handed
        # out: on asyncio, the caller's work on one page overlaps the request for the next
        # (the blocking runner's `start` defers the request to `finish`).
        pending = self._runner.start(send(page(None), self.retry))
        try:
            while pending is not None:
                result = self._runner.finish(pending)
                pending = None  # type: ignore[assignment]
                if result.next_cursor:
                    pending = self._runner.start(send(page(result.next_cursor), self.retry))
                for item in result.items:
                    if keep is None or keep(item):
                        yield item
        finally:
            self._runner.abandon(pending)

    @staticmethod
    def _project(uri: Location) -> tuple[str, str]:
        parsed = locations.project_location(uri)
        assert parsed.owner is not None
        assert parsed.project is not None
        return parsed.owner, parsed.project

    @staticmethod
    def _writable_project(uri: Location, action: str) -> tuple[str, str]:
        parsed = locations.writable(uri, action)
        if parsed.path:
            raise InvalidURI(parsed.format(), "names a path: write owner/project")
        assert parsed.owner is not None
        assert parsed.project is not None
        return parsed.owner, parsed.project

    @staticmethod
    def _writable_file(uri: Location, action: str) -> locations.FileLocation:
        return locations.file_location(locations.writable(uri, action))

    # -- the caller and owners -------------------------------------------------------------

    def health(self) -> Health:
        """Whether the server is up (`GET /api/health`; no key needed)."""
        return self._send(account.get_health(self._api))

    def account(self) -> Account:
        """The caller: the user the API key belongs to, and its organizations.

        Raises:
            AuthenticationRequired: No API key, or an unknown one.
        """
        return self._send(account.get_account(self._api))

    def list_owners(self, *, page_size: int | None = None) -> Iterator[Owner]:
        """The owners the caller can see: itself, its organizations, and the owners of
        projects shared with it, by name (paged transparently).

        Args:
            page_size: Items per request (1 to 1000; server default 100).
        """
        return self._items(
            lambda cursor: owners.list_owners(self._api, limit=page_size, cursor=cursor)
        )

    def get_owner(self, owner: str) -> Owner:
        """A user or organization by name or UUID.

        Raises:
            NotFound: No such owner (`missing == "owner"`).
        """
        return self._send(owners.get_owner(self._api, owner))

    # -- projects --------------------------------------------------------------------------

    def list_projects(
        self, owner: Location, *, include_hidden: bool = False, page_size: int | None = None
    ) -> Iterator[Project]:
        """The owner's projects the caller can read, by name (paged transparently).

        Args:
            owner: The owner (`"alice"`, `"anaconda://alice"`).
            include_hidden: Include hidden projects.
            page_size: Items per request.
        """
        name = parse_uri(owner).owner
        if name is None:
            raise InvalidURI(str(owner), "names no owner")
        return self._items(
            lambda cursor: projects.list_projects(
                self._api, name, include_hidden=include_hidden, limit=page_size, cursor=cursor
            )
        )

    def create_project(
        self,
        uri: Location,
        *,
        title: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        hidden: bool | None = None,
    ) -> Project:
        """Create the project `owner/project`.

        Args:
            uri: `owner/project`; the owner is the caller or one of its organizations.
            title: At most 120 characters.
            description: At most 1024 characters.
            tags: A subset of `data`, `notebook`.
            hidden: Whether listings leave it out.

        Raises:
            Conflict: The name is taken.
            PermissionDenied: The owner is not the caller or one of its organizations.
            InvalidAttribute: An attribute breaks its rule (checked before sending).
        """
        owner, name = self._writable_project(uri, "create the project")
        given = {"title": title, "description": description, "tags": tags, "hidden": hidden}
        attributes = (
            validate_project_attributes(**given)  # type: ignore[arg-type]
            if any(value is not None for value in given.values())
            else {}
        )
        return self._send(projects.create_project(self._api, owner, name, attributes))

    def get_project(self, uri: Location) -> ProjectInfo:
        """A project with its permissions and its 100 most recent checkpoints.

        Raises:
            NotFound: No such project, or one the caller cannot read.
        """
        return self._send(projects.get_project(self._api, *self._project(uri)))

    def update_project(
        self,
        uri: Location,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        hidden: bool | None = None,
    ) -> Project:
        """Change a project's attributes (chattr); owner permission.

        Args:
            uri: `owner/project`.
            name: A new name (`[a-z0-9-_]{1,120}`): renames the project.
            title: At most 120 characters (`""` clears it).
            description: At most 1024 characters (`""` clears it).
            tags: A subset of `data`, `notebook` (`[]` clears them).
            hidden: Whether listings leave it out.

        Raises:
            InvalidAttribute: No attribute given, or one breaks its rule.
            Conflict: The new name is taken.
            PermissionDenied: The caller is not an owner.
        """
        owner, project = self._writable_project(uri, "change the attributes of")
        attributes = validate_project_attributes(
            name=name, title=title, description=description, tags=tags, hidden=hidden
        )
        return self._send(projects.update_project(self._api, owner, project, attributes))

    def delete_project(
        self,
        uri: Location,
        *,
        recursive: bool = False,
        discard_history: bool = False,
        purge: bool = False,
    ) -> None:
        """Delete a project; owner permission. It goes to its owner's trash, whole, for the
        server's retention period (`restore_project` brings it back), unless `purge`.

        Without `recursive` or `discard_history` only an empty project goes: one that
        holds nothing but `.keep` markers and has no history (no revision of a file,
        deleted or not, no checkpoint).

        Args:
            uri: `owner/project`.
            recursive: Delete it whatever it holds: files and history.
            discard_history: Delete it if it holds no file, with its history.
            purge: Delete it and its history for good, not into the trash.

        Raises:
            Conflict: It holds files and `recursive` is False, or history and neither flag
                is set.
        """
        owner, project = self._writable_project(uri, "delete the project")
        self._send(
            projects.delete_project(
                self._api,
                owner,
                project,
                recursive=recursive,
                discard_history=discard_history,
                purge=purge,
            )
        )

    # -- checkpoints -----------------------------------------------------------------------

    def create_checkpoint(self, uri: Location, message: str = "") -> Checkpoint:
        """Create an ad-hoc checkpoint of a project as it is now; write permission."""
        owner, project = self._writable_project(uri, "create a checkpoint of")
        return self._send(checkpoints.create_checkpoint(self._api, owner, project, message))

    def list_checkpoints(
        self, uri: Location, *, page_size: int | None = None
    ) -> Iterator[Checkpoint]:
        """A project's ad-hoc checkpoints, newest first (paged transparently)."""
        owner, project = self._project(uri)
        return self._items(
            lambda cursor: checkpoints.list_checkpoints(
                self._api, owner, project, limit=page_size, cursor=cursor
            )
        )

    def get_checkpoint(self, uri: Location, ref: str | None = None) -> Checkpoint:
        """Resolve a checkpoint reference: `-N`, a UUID, or a time point.

        Args:
            uri: The project, maybe with its checkpoint (`alice/sales#-1`).
            ref: The reference, if not in the URI. A time point answers a `Checkpoint`
                whose `id` is None and `created_at` the instant.

        Raises:
            NotFound: No such checkpoint (`missing == "checkpoint"`).
        """
        parsed = locations.project_location(uri)
        reference = ref if ref is not None else parsed.checkpoint
        if reference is None:
            raise InvalidURI(parsed.format(), "names no checkpoint: write owner/project#<ref>")
        owner, project = self._project(parsed)
        return self._send(checkpoints.get_checkpoint(self._api, owner, project, reference))

    # -- acting on history -----------------------------------------------------------------

    def log(
        self,
        uri: Location,
        *,
        since: str | None = None,
        until: str | None = None,
        checkpoints: bool = True,
        page_size: int | None = None,
    ) -> Iterator[LogEntry]:
        """The changes to a project, a directory or a file, newest first (paged
        transparently): each revision (created, modified, attributes, deleted, restored,
        moved) and each ad-hoc checkpoint, with its message.

        Args:
            uri: `owner/project`, a directory or a file. A checkpoint in the URI
                (`alice/sales#-1`) is where the log ends, unless `until` is given.
            since: Only changes from then on: a time point (`2024-05-01T12:00:00`, from
                the start of that second), or `-N` / a checkpoint UUID (the changes after
                that checkpoint).
            until: Only changes made at or before it (a time point, `-N`, a UUID).
            checkpoints: Whether checkpoints appear in the log.
            page_size: Entries per request.

        Raises:
            NotFound: No such project, or an unknown `since` / `until` checkpoint.
            InvalidURI: The URI names a revision.
        """
        parsed = locations.project_location(uri)
        if parsed.revision is not None:
            raise InvalidURI(parsed.format(), "a log covers every revision: drop the '#...'")
        owner, project = self._project(parsed)
        end = until if until is not None else parsed.checkpoint
        return self._items(
            lambda cursor: history.get_log(
                self._api,
                owner,
                project,
                parsed.path,
                since=since,
                until=end,
                checkpoints=checkpoints,
                limit=page_size,
                cursor=cursor,
            )
        )

    def diff(
        self, since: Location, until: Location | None = None, *, page_size: int | None = None
    ) -> Iterator[DiffEntry]:
        """What changed in a project or directory between two states, by path (paged
        transparently): each path added, deleted or modified, with the file before and
        after. A move shows as its source deleted and its destination added.

        Args:
            since: The first state: a project or directory at a checkpoint
                (`alice/sales#-1/dir`, `alice/sales#2024-05-01T12:00:00`).
            until: The second state: the same project and path at another checkpoint, a
                bare reference (`"-2"`, `"#-2"`), or None for the current state. It may be
                earlier than `since`: the diff then goes backwards.
            page_size: Entries per request.

        Raises:
            InvalidURI: `since` names no checkpoint, or `until` another project or path.
            NotFound: No such project or checkpoint.
        """
        first = locations.project_location(since)
        if first.checkpoint is None or first.revision is not None:
            raise InvalidURI(
                first.format(), "a diff starts at a checkpoint: write owner/project#<ref>/path"
            )
        owner, project = self._project(first)
        end = locations.other_state(first, until)
        return self._items(
            lambda cursor: history.get_diff(
                self._api,
                owner,
                project,
                first.path,
                since=first.checkpoint or "",
                until=end,
                limit=page_size,
                cursor=cursor,
            )
        )

    def restore(self, uri: Location, *, dry_run: bool = False) -> Restoration:
        """Make the live state equal to a past one, server-side, as new revisions (write
        permission); no content passes through this client.

        `alice/sales/q1.csv#-2` (or `#<uuid>`): the file's content and attributes become
        that revision's; `alice/sales/q1.csv#-1` brings back a deleted file.
        `alice/sales#-1/dir` or `alice/sales#2024-05-01T12:00:00`: the directory (or the
        whole project) becomes exactly as it was: files changed since go back, files
        deleted since come back, files created since are deleted. Each change is a new
        revision that the log shows as `restored`, naming where it came from. Paths that
        are already as they were are left alone.

        Args:
            uri: The past state to restore.
            dry_run: Only say what would change.

        Returns:
            The changes made (or planned).

        Raises:
            InvalidURI: The URI names no past state.
            NotFound: No such project, path, revision or checkpoint.
            PermissionDenied: The caller cannot write to the project.
            Conflict: A restored file would clash with a directory outside the restored one.
        """
        parsed = locations.project_location(uri)
        if parsed.checkpoint is None and parsed.revision is None:
            raise InvalidURI(
                parsed.format(),
                "names no past state: add #<revision> to a file or #<checkpoint> to the project",
            )
        owner, project = self._project(parsed)
        return self._send(
            history.restore(
                self._api,
                owner,
                project,
                parsed.path,
                revision=parsed.revision,
                checkpoint=parsed.checkpoint,
                dry_run=dry_run,
            )
        )

    # -- the trash -------------------------------------------------------------------------

    def list_deleted_projects(
        self, owner: Location, *, page_size: int | None = None
    ) -> Iterator[DeletedProject]:
        """An owner's deleted projects, newest deletion first, each with when it is purged
        (paged transparently); owner permission.

        Raises:
            PermissionDenied: The caller is not the owner (nor a member of the organization).
        """
        name = locations.owner_name(owner)
        return self._items(
            lambda cursor: trash.list_trash(self._api, name, limit=page_size, cursor=cursor)
        )

    def restore_project(self, uri: Location, *, name: str | None = None) -> Project:
        """Bring a deleted project back from the trash, with its history, checkpoints and
        permissions; owner permission.

        Args:
            uri: `owner/project` (the latest deleted of that name) or `owner/<project id>`.
            name: Another name for it, if its own was taken since.

        Raises:
            NotFound: No such project in the trash.
            Conflict: The name is taken.
        """
        owner, project = self._writable_project(uri, "restore the project")
        return self._send(trash.restore_project(self._api, owner, project, name=name))

    def purge_project(self, uri: Location) -> None:
        """Delete a project in the trash for good (by name or id); owner permission.

        Raises:
            NotFound: No such project in the trash.
        """
        owner, project = self._writable_project(uri, "purge the project")
        self._send(trash.purge_project(self._api, owner, project))

    # -- permissions -----------------------------------------------------------------------

    def get_permissions(self, uri: Location) -> Permissions:
        """A project's owner and grants."""
        return self._send(permissions.get_permissions(self._api, *self._project(uri)))

    def chmod(self, uri: Location, changes: Iterable[str | PermissionChange]) -> Permissions:
        """Grant, revoke or transfer (all changes or none); owner permission.

        Args:
            uri: `owner/project`.
            changes: Permission strings (`u/bob+r`, `o/team-w`, `o/team+o`) or
                `PermissionChange`s.

        Returns:
            The permissions after the change. After a transfer (`+o`) the project lives
            at `<org>/<project>`.

        Raises:
            InvalidPermission: A change is malformed (checked before sending).
            NotFound: A principal is unknown (`missing == "owner"`).
            PermissionDenied: The caller is not an owner, or not a member of the
                organization it transfers to.
        """
        owner, project = self._writable_project(uri, "change the permissions of")
        body = [
            {
                "principal_type": change.principal_type,
                "principal": change.principal,
                "grant": change.grant,
                "level": change.level,
            }
            for change in parse_permissions(changes)
        ]
        return self._send(permissions.change_permissions(self._api, owner, project, body))

    # -- listing and metadata --------------------------------------------------------------

    def list_tree(
        self,
        uri: Location,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        include_markers: bool = False,
        page_size: int | None = None,
    ) -> Iterator[Entry]:
        """The files (and with `delimiter="/"` the directories) of a project, by path.

        Args:
            uri: A project, maybe at a checkpoint (`alice/sales#2024-01-01T00:00:00`), or a
                directory in it (`alice/sales/2024`, then paths start with `2024/`).
            prefix: Only paths starting with it, below the URI's directory (`q1`, `dir/`).
            delimiter: `/` lists one level (S3-style directories); None every file.
            include_markers: Include the `.keep` files that keep empty directories.
            page_size: Items per request.

        Yields:
            `FileInfo` and `DirectoryInfo` entries, paths relative to the project.
        """
        parsed = locations.project_location(uri)
        owner, project = self._project(parsed)
        full_prefix = (f"{parsed.path}/" if parsed.path else "") + (prefix or "")
        return self._items(
            lambda cursor: tree.list_tree(
                self._api,
                owner,
                project,
                prefix=full_prefix or None,
                delimiter=delimiter,
                checkpoint=parsed.checkpoint,
                limit=page_size,
                cursor=cursor,
            ),
            keep=None if include_markers else _not_a_marker,
        )

    def info(self, uri: Location) -> Entry:
        """A file's metadata, or a `DirectoryInfo` for a virtual directory.

        Args:
            uri: A path, maybe at a revision (`...q1.csv#-1`) or in a checkpoint.

        Raises:
            NotFound: No live file or directory there (`missing == "path"`).
        """
        where = locations.file_location(uri)
        return self._send(
            files.get_file_info(
                self._api,
                where.owner,
                where.project,
                where.path,
                revision=where.revision,
                checkpoint=where.checkpoint,
            )
        )

    def list_revisions(self, uri: Location, *, page_size: int | None = None) -> Iterator[Revision]:
        """A file's revisions, newest first, deletions included (paged transparently).

        Raises:
            NotFound: The path never held a file.
        """
        where = locations.file_location(uri)
        return self._items(
            lambda cursor: files.list_revisions(
                self._api, where.owner, where.project, where.path, limit=page_size, cursor=cursor
            )
        )

    def update_file(
        self,
        uri: Location,
        *,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
    ) -> FileInfo:
        """Change a file's description and/or metadata (chattr): a new revision with the
        same content.

        Args:
            uri: The file (not at a revision or checkpoint).
            description: At most 1024 characters (`""` clears it).
            metadata: String keys and values (`{}` clears it).
            if_match: Only if this is the current revision.

        Raises:
            InvalidAttribute: No attribute given, or one breaks its rule.
            PreconditionFailed: `if_match` is not the current revision.
        """
        where = self._writable_file(uri, "change the attributes of")
        attributes = validate_file_attributes(description=description, metadata=metadata)
        return self._send(
            files.update_file(
                self._api, where.owner, where.project, where.path, attributes, if_match=if_match
            )
        )

    # -- reading content -------------------------------------------------------------------

    def content_info(self, uri: Location) -> ContentInfo:
        """The content's size, revision and sha256 (`HEAD`), without the content."""
        where = locations.file_location(uri)
        return self._runner.run(downloads.head(self._api, self.retry, where))

    def read_bytes(
        self,
        uri: Location,
        start: int | None = None,
        end: int | None = None,
        *,
        verify: Verify = True,
    ) -> bytes:
        """A file's content, or the bytes `[start, end)` of it (Python slice bounds).

        Args:
            uri: The file, maybe at a revision or a checkpoint.
            start: First byte (negative: from the end).
            end: Byte after the last (negative: from the end); None: to the end.
            verify: How a whole content (no `start`, no `end`) is checked, as `download`'s:
                by its CRC32C (True, the default, or `"crc32c"`), by its sha256
                (`"sha256"`), or not (False). A range is never checked (the server
                announces the whole content's digests only).

        Returns:
            The bytes; `b""` for a range past the end.

        Raises:
            ChecksumMismatch: The whole content is not what the server announced.
            NotFound: No such file.
            StorageConnectionError: The read kept breaking (it resumes where it broke).
        """
        where = locations.file_location(uri)
        check = check_verify(verify)
        return self._runner.run(
            downloads.read_bytes(self._api, self.retry, where, start, end, verify=check)
        )

    def read_files(
        self,
        uris: Iterable[Location],
        *,
        verify: Verify = True,
        inline_limit: int = 1024 * 1024,
        concurrency: int = 4,
    ) -> Iterator[FileRead]:
        """Many files' contents in few requests (`POST .../read`): for many small files,
        what one `read_bytes` each costs in requests is most of the work.

        The files are grouped by project and checkpoint, at most 1,000 to a request, and
        `concurrency` requests run at once (the blocking client sends them one after
        another). Each file is handed out as its frame arrives, once those before it are
        out; at most that many requests' files are held, so any number may be read. A
        connection that breaks mid-answer is resumed with the files not yet complete, each
        pinned to the revision its answer named.

        Example:
            >>> for read in client.read_files(["alice/sales/q1.csv", "alice/sales/q2.csv"]):
            ...     if read.error is not None:
            ...         print(read.uri, read.error)
            ...     elif read.inline:
            ...         sink(read.uri, read.data)
            ...     else:  # larger than inline_limit, or a server without the route
            ...         sink(read.uri, client.read_bytes(read.pinned))

        Args:
            uris: The files, each maybe at a revision or a checkpoint, of any projects; a
                file may be listed more than once.
            verify: How each content is checked, as `read_bytes`'s: by its CRC32C (True,
                the default, or `"crc32c"`), by its sha256 (`"sha256"`), or not (False).
            inline_limit: The largest content sent in the answer (0 to 1 GiB); a larger
                file's read has its `info` but no `data`: read its `pinned` URI on its own.
            concurrency: Requests sent at once (at least 1).

        Yields:
            One `FileRead` per URI, in the order given. A file that cannot be read has its
            `error` (`NotFound`: no such file or revision, a deleted file;
            `ChecksumMismatch`: the content received is not what was announced), and the
            other files are read all the same. From a server that cannot read many files
            at once, every read has neither `info` nor `data` (read each on its own); the
            client then does not ask again.

        Raises:
            InvalidURI: A URI is malformed or names no file (raised when it is reached).
            NotFound: No such project, or an unknown checkpoint (`missing` says which).
            StorageConnectionError: An answer kept breaking.
            ServerError: The server kept failing, or answered what the contract does not
                allow.
            ValueError: `inline_limit` or `concurrency` out of range.
        """
        check = check_verify(verify)
        if type(inline_limit) is not int or not 0 <= inline_limit <= MAX_INLINE_LIMIT:
            raise ValueError(f"inline_limit is 0 to {MAX_INLINE_LIMIT} bytes, not {inline_limit!r}")
        if type(concurrency) is not int or concurrency < 1:
            raise ValueError(f"concurrency is at least 1, not {concurrency!r}")
        per_request = many.FILES_PER_REQUEST
        batches = many.plan(uris, per_request=per_request, window=per_request * concurrency)
        return self._file_reads(batches, check, inline_limit, concurrency)

    def _file_reads(
        self, batches: Iterable[many.Batch], verify: Verify, inline_limit: int, concurrency: int
    ) -> Iterator[FileRead]:
        # Up to `concurrency` batches run while the reads of the oldest are handed out as
        # their frames complete (on asyncio; the blocking runner runs each batch in turn).
        order = many.InOrder()
        started: deque[tuple[many.Batch, Any]] = deque()
        try:
            for batch in batches:
                flow = functools.partial(
                    many.read_batch,
                    self._api,
                    self.retry,
                    batch,
                    self._read_route,
                    verify=verify,
                    inline_limit=inline_limit,
                )
                started.append((batch, self._runner.start_delivering(flow)))
                if len(started) < concurrency:
                    continue
                for due in self._due(order, started):
                    for read in due:
                        yield read
            while started:
                for due in self._due(order, started):
                    for read in due:
                        yield read
        finally:
            for _, pending in started:
                self._runner.abandon(pending)

    def _due(
        self, order: many.InOrder, started: deque[tuple[many.Batch, Any]]
    ) -> Iterator[list[FileRead]]:
        """The reads now due, a run at a time, as the oldest batch's flow delivers its
        own; then that batch is no longer `started`."""
        batch, pending = started[0]
        offset = 0
        for reads in self._runner.delivered(pending):
            end = offset + len(reads)
            yield order.place(batch.positions[offset:end], reads)
            offset = end
        started.popleft()

    @contextlib.contextmanager
    def stream(
        self, uri: Location, start: int | None = None, end: int | None = None
    ) -> Iterator[ContentStream]:
        """Open a file's content for reading chunk by chunk.

        Example:
            >>> with client.stream("alice/sales/big.bin") as content:
            ...     print(content.info.size)
            ...     for chunk in content:
            ...         sink.write(chunk)

        Args:
            uri: The file, maybe at a revision or a checkpoint.
            start: First byte (negative: from the end).
            end: Byte after the last; None: to the end.

        Yields:
            The open content: its `info`, then its chunks. A broken connection is resumed
            at the same revision.
        """
        where = locations.file_location(uri)

        def flow(
            sink: Callable[[bytes], object], opened: Callable[[ContentInfo], None]
        ) -> Flow[ContentInfo]:
            return downloads.read_range(self._api, self.retry, where, sink, start, end, opened)

        content = ContentStream(self._runner, flow)
        try:
            content.open()
            yield content
        finally:
            content.close()

    def download(
        self,
        uri: Location,
        dest: str | os.PathLike[str] | IO[bytes],
        *,
        progress: Callable[[int], None] | None = None,
        verify: Verify = True,
    ) -> ContentInfo:
        """Download a file, checked against the checksum the server announced.

        To a path, the download is atomic: it is written to a temporary file beside the
        target (`.name.<revision>.part`) and renamed only once complete and verified. A
        broken connection is resumed with a `Range` request at the same revision, and a
        download that failed for good resumes from its temporary file when run again.

        Args:
            uri: The file, maybe at a revision or a checkpoint.
            dest: A local path, or an open binary file (written from its position).
            progress: Called with the size of each chunk written.
            verify: How the content is checked: by its CRC32C, at wire speed (True, the
                default, or `"crc32c"`; by sha256 from a server that sends no CRC32C),
                by its sha256, a full cryptographic check (`"sha256"`), or not (False).
                (TLS verification is the client's own `verify`.)

        Returns:
            What was downloaded: size, revision, sha256, crc32c.

        Raises:
            ChecksumMismatch: The content is not what the server announced (a target path
                is then left untouched).
            NotFound: No such file.
        """
        where = locations.file_location(uri)
        check = check_verify(verify)
        if isinstance(dest, (str, os.PathLike)):
            flow = downloads.download_to_path(
                self._api, self.retry, where, dest, progress=progress, verify=check
            )
        else:
            flow = downloads.download_to_file(
                self._api, self.retry, where, dest, progress=progress, verify=check
            )
        return self._runner.run(flow)

    # -- writing ---------------------------------------------------------------------------

    def upload(
        self,
        uri: Location,
        source: Source,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        part_size: int | None = None,
        multipart_threshold: int | None = None,
        concurrency: int | None = None,
        resume: bool | None = None,
        progress: Callable[[int], None] | None = None,
        on_multipart: Callable[[MultipartUpload], None] | None = None,
        verify: Verify | None = None,
    ) -> FileInfo:
        """Write a file: its new revision's content is `source`, streamed.

        Up to `multipart_threshold` bytes go in one `PUT`; more go in parts, memory
        bounded by a part whatever the size. An interrupted upload of a local file
        (an error, a cancelled task, a killed process) keeps its session and the parts
        the server saved: run again, it sends only the parts the server does not hold.

        A write sent again after its answer was lost (a reset connection) and answered
        412 (or, for a multipart upload, 404: its session consumed) is checked against
        the file's history: when the current revision holds the bytes sent, made by the
        caller on the revision the condition named, the upload succeeded and its
        `FileInfo` is returned (see `settle.py`).

        Args:
            uri: The file (not at a revision or checkpoint).
            source: bytes, a local path, a binary file (from its position), an iterable
                of bytes (up to `multipart_threshold` held in memory and sent in one
                `PUT`, beyond that sent one part at a time; never resumed), or, with the
                asyncio client only, an async iterable of bytes or an async binary file
                (the same way; the next part is read while one is sent). The blocking
                client raises `TypeError` for those before sending anything.
            if_match: Only if this revision is the current one.
            if_none_match: `"*"`: only if the path holds no live file.
            part_size: Bytes per part (default 16 MiB, at least 5 MiB).
            multipart_threshold: Larger sources go in parts (default 64 MiB).
            concurrency: Parts sent at once (default 4).
            resume: Continue an interrupted upload of the same path (default True).
            verify: How what the server received is checked: by CRC32C, at wire speed
                (True, the default, or `"crc32c"`: sent in a header from memory, compared
                with the server's answer for a file streamed from disk), by sha256
                (`"sha256"`), or not (False).
            progress: Called with the size of each chunk sent (and, resuming, of each
                part already on the server).
            on_multipart: Called when a local file goes in parts, once its session is
                known (new or resumed), with the `MultipartUpload` that the upload keeps
                current: what the server holds of it, to show on resuming or interruption.

        Returns:
            The new revision's metadata.

        Raises:
            ReadOnlyError: The URI is at a revision or checkpoint (nothing is sent).
            PreconditionFailed: A condition does not hold.
            Conflict: A directory has that path.
            ChecksumMismatch: The server received other bytes than those sent.
            TypeError: A source of another kind. An exception raised by an iterable
                source propagates, and its multipart session is aborted.
        """
        where = self._writable_file(uri, "upload to")
        settings = self.upload_settings
        settings = UploadSettings(
            part_size=part_size or settings.part_size,
            multipart_threshold=(
                settings.multipart_threshold if multipart_threshold is None else multipart_threshold
            ),
            concurrency=concurrency or settings.concurrency,
            resume=settings.resume if resume is None else resume,
            verify=settings.verify if verify is None else verify,
        )
        return self._runner.run(
            uploading.upload(
                self._api,
                self.retry,
                where,
                source,
                settings,
                if_match=if_match,
                if_none_match=if_none_match,
                progress=progress,
                on_multipart=on_multipart,
            )
        )

    def delete(self, uri: Location, *, if_match: str | None = None) -> None:
        """Delete a file (a deletion revision: its history stays).

        A deletion sent again after its answer was lost and answered 404 succeeded when
        the file's latest revision is a deletion by the caller (of `if_match`, if given).

        Raises:
            NotFound: No live file there.
            PreconditionFailed: `if_match` is not the current revision.
        """
        where = self._writable_file(uri, "delete")
        owner, project, path = where.owner, where.project, where.path
        self._send(
            files.delete_file(self._api, owner, project, path, if_match=if_match),
            settle_delete(self._api, self.retry, owner, project, path, if_match=if_match),
        )

    def delete_many(
        self,
        uri: Location,
        paths: Sequence[str] | None = None,
        *,
        prefix: str | None = None,
    ) -> DeleteResult:
        """Delete many files of a project, 1,000 per request, each request one transaction.

        Args:
            uri: The project (or a directory in it, which `paths` and `prefix` are below).
            paths: The files to delete, relative to `uri`; or
            prefix: everything below it (`"dir/"`), `.keep` markers included.

        Returns:
            The paths deleted and those that held no live file. When a request's answer
            was lost and its retry found paths gone, their history tells which this caller
            deleted (see `settle.py`; not for `prefix`).
        """
        parsed = locations.writable(uri, "delete from")
        owner, project = self._project(parsed)
        base = f"{parsed.path}/" if parsed.path else ""
        if paths is None and prefix is None:
            if not base:
                raise ValueError("give paths or a prefix (prefix='' deletes every file)")
            prefix = ""
        if paths is None:
            return self._send(
                batch.delete_files(self._api, owner, project, prefix=base + (prefix or ""))
            )
        deleted: list[str] = []
        missing: list[str] = []
        listed = [base + path for path in paths]
        review = review_deletions(self._api, self.retry, owner, project)
        for start in range(0, len(listed), batch.MAX_DELETE_PATHS):
            chunk = listed[start : start + batch.MAX_DELETE_PATHS]
            result = self._send(
                batch.delete_files(self._api, owner, project, paths=chunk), review=review
            )
            deleted += result.deleted
            missing += result.missing
        return DeleteResult(deleted=tuple(deleted), missing=tuple(missing))

    def make_directory(self, uri: Location) -> DirectoryInfo:
        """Make a directory (writes `path/.keep`); a project URI creates the project.

        Raises:
            Conflict: A file has that path (or the project exists, for a project URI).
        """
        parsed = locations.writable(uri, "make a directory at")
        if not parsed.path:
            self.create_project(parsed)
            return DirectoryInfo(path="")
        where = locations.file_location(parsed)
        return self._send(
            directories.make_directory(self._api, where.owner, where.project, where.path)
        )

    def remove_directory(self, uri: Location) -> None:
        """Remove an empty directory (only its `.keep`); a project URI deletes an empty
        project, one with no file and no history (see `delete_project`).

        Raises:
            Conflict: The directory (or project) is not empty, or the project holds history.
            NotFound: No such directory.
        """
        parsed = locations.writable(uri, "remove the directory")
        if not parsed.path:
            self.delete_project(parsed)
            return
        where = locations.file_location(parsed)
        owner, project, path = where.owner, where.project, where.path
        self._send(
            directories.remove_directory(self._api, owner, project, path),
            # Sent again after its answer was lost: the marker's history tells.
            settle_delete(self._api, self.retry, owner, project, f"{path}/{KEEP}"),
        )

    def copy(
        self,
        source: Location,
        destination: Location,
        *,
        recursive: bool = False,
        overwrite: bool = True,
    ) -> CopyResult:
        """Copy on the server (no content is sent): a file to exactly `destination`, or
        with `recursive` everything below a directory (or a whole project) to below it.

        Args:
            source: A file or directory, maybe at a revision or checkpoint.
            destination: Where to (a file path, or the directory to copy into).
            recursive: Copy a directory's contents, keeping relative paths.
            overwrite: False makes an existing destination file a `Conflict`.
        """
        src = locations.project_location(source)
        dst = locations.writable(destination, "copy to")
        return self._send(
            batch.copy_files(
                self._api,
                (src.owner or "", src.project or "", src.path),
                (dst.owner or "", dst.project or "", dst.path),
                revision=src.revision,
                checkpoint=src.checkpoint,
                recursive=recursive,
                overwrite=overwrite,
            )
        )

    def move(
        self,
        source: Location,
        destination: Location,
        *,
        recursive: bool = False,
        overwrite: bool = True,
    ) -> CopyResult:
        """Move on the server: a copy that deletes its sources in the same transaction.

        Raises:
            InvalidRequest: A move onto itself or into its own subtree.
        """
        src = locations.writable(source, "move")
        dst = locations.writable(destination, "move to")
        return self._send(
            batch.move_files(
                self._api,
                (src.owner or "", src.project or "", src.path),
                (dst.owner or "", dst.project or "", dst.path),
                recursive=recursive,
                overwrite=overwrite,
            )
        )

    # -- multipart primitives --------------------------------------------------------------

    def create_upload(
        self, uri: Location, *, if_match: str | None = None, if_none_match: str | None = None
    ) -> Upload:
        """Open a multipart upload session for a file (`upload` does all of this for you)."""
        where = self._writable_file(uri, "upload to")
        return self._send(
            uploads.create_upload(
                self._api,
                where.owner,
                where.project,
                where.path,
                if_match=if_match,
                if_none_match=if_none_match,
            )
        )

    def list_uploads(self, uri: Location, *, page_size: int | None = None) -> Iterator[Upload]:
        """The sessions in progress in a project (for one path, if the URI names one)."""
        parsed = locations.project_location(uri)
        owner, project = self._project(parsed)
        return self._items(
            lambda cursor: uploads.list_uploads(
                self._api, owner, project, path=parsed.path or None, limit=page_size, cursor=cursor
            )
        )

    def get_upload(self, uri: Location, upload_id: str) -> Upload:
        """A session with its parts. `uri` names the project (or the file)."""
        owner, project = self._project(uri)
        return self._send(uploads.get_upload(self._api, owner, project, upload_id))

    def put_part(
        self, uri: Location, upload_id: str, number: int, data: bytes, *, verify: Verify = True
    ) -> UploadPart:
        """Send part `number` (1 to 10,000) of a session; sent again, it replaces the earlier.

        Args:
            verify: The checksum sent with the part, which the server checks: CRC32C (True,
                `"crc32c"`), sha256 (`"sha256"`), or none (False).

        Raises:
            ChecksumMismatch: The server received other bytes.
        """
        parsed = locations.writable(uri, "upload to")
        owner, project = self._project(parsed)
        where = locations.FileLocation(owner, project, parsed.path, None, None)
        return self._runner.run(
            uploading.send_part(
                self._api, self.retry, where, upload_id, number, data, verify=check_verify(verify)
            )
        )

    def complete_upload(
        self,
        uri: Location,
        upload_id: str,
        parts: Sequence[UploadPart | tuple[int, str | None]] | None = None,
    ) -> FileInfo:
        """Join a session's parts into the file's new revision.

        Args:
            uri: The project (or the file).
            upload_id: The session.
            parts: The parts in order, with their sha256 (checked by the server); None:
                every uploaded part, by number.

        Raises:
            InvalidRequest: A listed part is missing or has another sha256.
            PreconditionFailed: The session's condition no longer holds.
        """
        owner, project = self._project(uri)
        return self._send(uploads.complete_upload(self._api, owner, project, upload_id, parts))

    def abort_upload(self, uri: Location, upload_id: str) -> None:
        """Discard a session and its parts."""
        owner, project = self._project(uri)
        self._send(uploads.abort_upload(self._api, owner, project, upload_id))
