"""Directory routes and deleting many files (docs/api.md, "Directories", "Deleting many files").

A directory is virtual: it exists while some live file lies below it. An empty one is kept
by a marker file `dir/.keep`, which is an ordinary (empty) file with its own history.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from anaconda_storage_server import checksums
from anaconda_storage_server.access import open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.changes import check_file_path, record
from anaconda_storage_server.context import FILE_PATH, Context, caller, context, json_body
from anaconda_storage_server.errors import conflict, invalid, not_found
from anaconda_storage_server.files import write_path
from anaconda_storage_server.history import current_version, directory_json, is_directory, versions
from anaconda_storage_server.names import KEEP, check_path, check_prefix

MAX_PATHS = 1000


def _make(state: Context, user: Owner, owner: str, name: str, path: str) -> bool:
    with state.database.write() as transaction:
        connection = transaction.connection
        project = open_project(connection, user, owner, name, "write")
        if current_version(connection, project.id, path) is not None:
            raise conflict(f"{path!r} is a file; a directory cannot have its path")
        marker = f"{path}/{KEEP}"
        check_file_path(connection, project.id, marker)
        existed = is_directory(connection, project.id, path)
        if current_version(connection, project.id, marker) is None:
            sha256 = state.blobs.store_bytes(b"")
            checksums.remember(transaction, sha256, 0)  # the CRC32C of no bytes
            record(transaction, project.id, marker, user, size=0, sha256=sha256)
        return not existed


async def put_directory(request: Request) -> JSONResponse:
    user = await caller(request)
    path = write_path(request)
    state = context(request)
    params = request.path_params
    created = await state.run(_make, state, user, params["owner"], params["project"], path)
    return JSONResponse(directory_json(path), status_code=201 if created else 200)


def _remove(state: Context, user: Owner, owner: str, name: str, path: str) -> None:
    with state.database.write() as transaction:
        connection = transaction.connection
        project = open_project(connection, user, owner, name, "write")
        marker = f"{path}/{KEEP}"
        inside = versions(connection, project.id, prefix=f"{path}/", limit=2)
        if not inside:
            raise not_found("path", f"no directory {path!r}")
        if any(version.path != marker for version in inside):
            raise conflict(f"directory {path!r} is not empty")
        record(transaction, project.id, marker, user, deleted=True)


async def delete_directory(request: Request) -> Response:
    user = await caller(request)
    path = write_path(request)
    state = context(request)
    params = request.path_params
    await state.run(_remove, state, user, params["owner"], params["project"], path)
    return Response(status_code=204)


def _delete_many(
    state: Context, user: Owner, owner: str, name: str, paths: list[str] | None, prefix: str | None
) -> dict[str, list[str]]:
    deleted: list[str] = []
    missing: list[str] = []
    with state.database.write() as transaction:
        connection = transaction.connection
        project = open_project(connection, user, owner, name, "write")
        if prefix is not None:
            targets = [version.path for version in versions(connection, project.id, prefix=prefix)]
        else:
            assert paths is not None
            targets = list(dict.fromkeys(paths))
        for path in targets:
            if current_version(connection, project.id, path) is None:
                missing.append(path)
            else:
                record(transaction, project.id, path, user, deleted=True)
                deleted.append(path)
    return {"deleted": deleted, "missing": missing}


async def delete_many(request: Request) -> JSONResponse:
    user = await caller(request)
    body = await json_body(request)
    paths, prefix = body.get("paths"), body.get("prefix")
    if (paths is None) == (prefix is None):
        raise invalid("give either paths or prefix")
    if paths is not None:
        if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
            raise invalid("paths must be a list of paths", field="paths")
        if len(paths) > MAX_PATHS:
            raise invalid(f"at most {MAX_PATHS} paths at once", field="paths")
        paths = [check_path(path, field="paths") for path in paths]
    elif not isinstance(prefix, str):
        raise invalid("prefix must be a path prefix", field="prefix")
    else:
        prefix = check_prefix(prefix)
    state = context(request)
    params = request.path_params
    answer: dict[str, Any] = await state.run(
        _delete_many, state, user, params["owner"], params["project"], paths, prefix
    )
    return JSONResponse(answer)


PROJECT = "/api/storage/projects/{owner}/{project}"
routes = [
    Route(f"{PROJECT}/directories/{FILE_PATH}", put_directory, methods=["PUT"]),
    Route(f"{PROJECT}/directories/{FILE_PATH}", delete_directory, methods=["DELETE"]),
    Route(f"{PROJECT}/delete", delete_many, methods=["POST"]),
]
