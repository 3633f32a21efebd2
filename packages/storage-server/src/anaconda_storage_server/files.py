"""File routes: content (GET, HEAD, PUT, DELETE), metadata (GET, PATCH) and revisions.

Content streams both ways. An upload is read from the request chunk by chunk into a temp
file, hashed as it arrives (`blobs.receive`), and only then committed; a body cut off
before its end raises in the middle of that loop, the temp file is removed and nothing
changes. A small body (a `Content-Length` under `blobs.BUFFER_SIZE`) is read into memory
first, and then written and committed with whatever other uploads are waiting, in one
thread hop, one sync and one transaction for them all (group_commit.py; the transaction
makes every check again anyway), instead of a hop to check and open the temp file before
the body and another to commit after it. A large body is fsynced in its own thread, then
committed the same way. A download streams the blob in chunks (`content.BlobResponse`).
Memory never grows with the size of a file.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from anaconda_storage_core.attributes import InvalidAttribute, validate_file_attributes
from anaconda_storage_server import blobs, checksums
from anaconda_storage_server.access import Project, open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.changes import (
    check_conditions,
    check_file_path,
    record,
    unchanged,
)
from anaconda_storage_server.content import content_response, read_target
from anaconda_storage_server.context import FILE_PATH, Context, caller, context, json_body
from anaconda_storage_server.database import Transaction
from anaconda_storage_server.errors import invalid, not_found
from anaconda_storage_server.history import (
    ReadPoint,
    Version,
    checkpoint_instant,
    current_version,
    directory_json,
    format_instant,
    has_history,
    is_directory,
    revision_list,
    revision_of,
    version_at,
)
from anaconda_storage_server.names import bad_reference, check_path
from anaconda_storage_server.paging import Page, count_key
from anaconda_storage_server.text import ascii_integer

FILE_ATTRIBUTES = ("description", "metadata")


def write_path(request: Request) -> str:
    """The `{path}` of a write route; `revision`/`checkpoint` are refused (history is read-only)."""
    for field in ("revision", "checkpoint"):
        if field in request.query_params:
            raise bad_reference(field)
    return check_path(request.path_params["path"])


def conditions(request: Request) -> dict[str, str | None]:
    return {
        "if_match": request.headers.get("if-match"),
        "if_none_match": request.headers.get("if-none-match"),
    }


def expected_sha256(request: Request) -> str | None:
    """The `X-Storage-Sha256` header, checked for its form."""
    value = request.headers.get("x-storage-sha256")
    if value is None:
        return None
    value = value.strip().lower()
    if not blobs.SHA256.fullmatch(value):
        raise invalid("X-Storage-Sha256 must be 64 hex digits", field="X-Storage-Sha256")
    return value


def prepare_write(
    transaction: Transaction,
    user: Owner,
    owner: str,
    name: str,
    path: str,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> tuple[Project, Version | None]:
    """Check that `user` may write a file at `path` now; the project and current revision."""
    project = open_project(transaction.connection, user, owner, name, "write")
    current = current_version(transaction.connection, project.id, path)
    if current is None:
        check_file_path(transaction.connection, project.id, path)
    check_conditions(current, if_match=if_match, if_none_match=if_none_match)
    return project, current


def open_write(
    state: Context, user: Owner, owner: str, name: str, path: str, checks: dict[str, str | None]
) -> blobs.BlobWriter:
    """Check that the write may happen (fail fast, before the body) and open its temp file."""
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "write")
        current = current_version(connection, project.id, path)
        if current is None:
            check_file_path(connection, project.id, path)
        check_conditions(current, **checks)
    return state.blobs.writer()


def record_put(
    user: Owner,
    target: tuple[str, str, str],
    checks: dict[str, str | None],
    transaction: Transaction,
    writer: blobs.BlobWriter,
) -> tuple[dict[str, Any], bool]:
    """Make a placed blob the new revision of `path`; the `File` and whether it is new.

    Runs inside a group commit's transaction (group_commit.py). Everything is checked again
    there: the caller's access, the conditions, the path (another writer may have made it
    a directory meanwhile).
    """
    owner, name, path = target
    project, current = prepare_write(transaction, user, owner, name, path, **checks)
    if current is not None and unchanged(current, writer.size, writer.sha256):
        return current.file_json(), False  # no new revision
    checksums.remember(transaction, writer.sha256, writer.crc32c)
    version = record(
        transaction,
        project.id,
        path,
        user,
        size=writer.size,
        sha256=writer.sha256,
        description=current.description if current else "",
        metadata=current.metadata if current else {},
    )
    return version.file_json(), current is None


def _write_small(
    state: Context, body: bytes, sha256: str | None, crc32c: int | None
) -> blobs.BlobWriter:
    """A small body in a temp file, its digests checked, not yet fsynced (the batch syncs)."""
    writer = state.blobs.writer()
    try:
        writer.complete(body, sha256, expected_crc32c=crc32c, durable=False)
    except BaseException:
        writer.discard()
        raise
    return writer


def _finish_large(
    writer: blobs.BlobWriter, state: Context, tail: bytes, sha256: str | None, crc32c: int | None
) -> None:
    # Fsynced here, in this upload's own thread, not in its batch: the batch's one sync
    # then has only directory entries left to flush for it, however large the file.
    try:
        writer.complete(tail, sha256, expected_crc32c=crc32c, blobs=state.blobs)
    except BaseException:
        writer.discard()
        raise


async def put_file(request: Request) -> JSONResponse:
    user = await caller(request)
    path = write_path(request)
    checks = conditions(request)
    sha256 = expected_sha256(request)
    crc32c = checksums.expected_crc32c(request)
    state = context(request)
    target = (request.path_params["owner"], request.path_params["project"], path)
    apply = functools.partial(record_put, user, target, checks)
    length = ascii_integer(request.headers.get("content-length", ""))
    if length is not None and length < blobs.BUFFER_SIZE:
        # Small: the body is read first (into memory), then written with its batch; no
        # thread hop of its own. `record_put` makes every check `open_write` would have.
        body = await request.body()
        file, created = await state.commits.write(
            functools.partial(_write_small, state, body, sha256, crc32c), apply
        )
    else:
        writer = await state.run(open_write, state, user, *target, checks)
        tail = await blobs.receive(writer, request.stream())
        await state.run(_finish_large, writer, state, tail, sha256, crc32c)
        file, created = await state.commits.write(lambda: writer, apply)
    headers = {"ETag": f'"{file["revision"]}"'}
    return JSONResponse(file, status_code=201 if created else 200, headers=headers)


def _delete(
    state: Context, user: Owner, owner: str, name: str, path: str, if_match: str | None
) -> None:
    with state.database.write() as transaction:
        project = open_project(transaction.connection, user, owner, name, "write")
        current = current_version(transaction.connection, project.id, path)
        if current is None:
            raise not_found("path", f"no file {path!r}")
        check_conditions(current, if_match=if_match, if_none_match=None)
        record(transaction, project.id, path, user, deleted=True)


async def delete_file(request: Request) -> Response:
    user = await caller(request)
    path = write_path(request)
    state = context(request)
    params = request.path_params
    await state.run(
        _delete,
        state,
        user,
        params["owner"],
        params["project"],
        path,
        conditions(request)["if_match"],
    )
    return Response(status_code=204)


async def get_content(request: Request) -> Response:
    user = await caller(request)
    point = ReadPoint.from_request(request)
    path = check_path(request.path_params["path"])
    state = context(request)
    params = request.path_params
    # On the event loop, not in a worker thread: see content.py.
    target = read_target(state, user, params["owner"], params["project"], path, point)
    return await content_response(request, state, target)


def _meta(
    state: Context, user: Owner, owner: str, name: str, path: str, point: ReadPoint
) -> tuple[dict[str, Any], int | None]:
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        if point.revision is not None:
            version = revision_of(connection, project.id, path, point.revision)
            if version.deleted:
                raise not_found("path", f"{path!r} was deleted at revision {version.id}")
            return version.file_json(), None
        instant = None
        if point.checkpoint is not None:
            instant = checkpoint_instant(connection, project.id, point.checkpoint)
            found = version_at(connection, project.id, path, instant)
        else:
            found = current_version(connection, project.id, path)
        if found is not None:
            return found.file_json(), instant
        if is_directory(connection, project.id, path, instant):
            return directory_json(path), instant
        raise not_found("path", f"no file or directory {path!r}")


async def get_meta(request: Request) -> JSONResponse:
    user = await caller(request)
    point = ReadPoint.from_request(request)
    path = check_path(request.path_params["path"])
    state = context(request)
    params = request.path_params
    body, instant = await state.run(
        _meta, state, user, params["owner"], params["project"], path, point
    )
    headers = {} if instant is None else {"X-Storage-Checkpoint-At": format_instant(instant)}
    return JSONResponse(body, headers=headers)


def _patch(
    state: Context,
    user: Owner,
    owner: str,
    name: str,
    path: str,
    attributes: dict[str, Any],
    if_match: str | None,
) -> dict[str, Any]:
    with state.database.write() as transaction:
        project = open_project(transaction.connection, user, owner, name, "write")
        current = current_version(transaction.connection, project.id, path)
        if current is None:
            raise not_found("path", f"no file {path!r}")
        check_conditions(current, if_match=if_match, if_none_match=None)
        version = record(
            transaction,
            project.id,
            path,
            user,
            size=current.size,
            sha256=current.sha256,
            description=attributes.get("description", current.description),
            metadata=attributes.get("metadata", current.metadata),
        )
        return version.file_json()


async def patch_meta(request: Request) -> JSONResponse:
    user = await caller(request)
    path = write_path(request)
    body = await json_body(request)
    unknown = sorted(set(body) - set(FILE_ATTRIBUTES))
    if unknown:
        raise invalid(f"unknown file attribute {unknown[0]!r}", field=unknown[0])
    try:
        attributes = dict(validate_file_attributes(**body))
    except InvalidAttribute as exc:
        raise invalid(str(exc), field=exc.attribute) from exc
    state = context(request)
    params = request.path_params
    file = await state.run(
        _patch,
        state,
        user,
        params["owner"],
        params["project"],
        path,
        attributes,
        conditions(request)["if_match"],
    )
    return JSONResponse(file, headers={"ETag": f'"{file["revision"]}"'})


def _revisions(
    state: Context, user: Owner, owner: str, name: str, path: str, point: ReadPoint, page: Page
) -> tuple[list[tuple[Version, int]], int | None]:
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        instant = None
        if point.checkpoint is not None:
            instant = checkpoint_instant(connection, project.id, point.checkpoint)
        if not has_history(connection, project.id, path):
            raise not_found("path", f"{path!r} never existed")
        after = page.after if isinstance(page.after, int) else None
        found = revision_list(
            connection, project.id, path, before_seq=after, instant=instant, limit=page.limit + 1
        )
        return found, instant


async def list_revisions(request: Request) -> JSONResponse:
    user = await caller(request)
    point = ReadPoint.from_request(request, revision=False)
    path = check_path(request.path_params["path"])
    page = Page.from_request(request, key=count_key)
    state = context(request)
    params = request.path_params
    items, instant = await state.run(
        _revisions, state, user, params["owner"], params["project"], path, point, page
    )
    headers = {} if instant is None else {"X-Storage-Checkpoint-At": format_instant(instant)}
    return JSONResponse(
        page.answer(items, lambda item: item[0].seq, lambda item: item[0].revision_json(item[1])),
        headers=headers,
    )


PROJECT = "/api/storage/projects/{owner}/{project}"
routes = [
    Route(f"{PROJECT}/files/{FILE_PATH}", get_content, methods=["GET", "HEAD"]),
    Route(f"{PROJECT}/files/{FILE_PATH}", put_file, methods=["PUT"]),
    Route(f"{PROJECT}/files/{FILE_PATH}", delete_file, methods=["DELETE"]),
    Route(f"{PROJECT}/meta/{FILE_PATH}", get_meta, methods=["GET"]),
    Route(f"{PROJECT}/meta/{FILE_PATH}", patch_meta, methods=["PATCH"]),
    Route(f"{PROJECT}/revisions/{FILE_PATH}", list_revisions, methods=["GET"]),
]
