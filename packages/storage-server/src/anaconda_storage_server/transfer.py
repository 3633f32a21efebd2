"""Server-side copy and move (docs/api.md, "Server-side copy and move").

No content is re-sent or even read: a destination revision points at its source's blob
(blobs are content-addressed). Everything happens in one write transaction, across
projects too: every destination revision and, for a move, every source deletion, or none.

A move deletes its sources before writing its destinations, so that moving `a/b` onto
`a` (whose only content is `a/b`) sees `a` as free, as `mv` would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from anaconda_storage_server import origins
from anaconda_storage_server.access import Project, open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.changes import check_file_path, record
from anaconda_storage_server.context import Context, caller, context, json_body
from anaconda_storage_server.database import Transaction
from anaconda_storage_server.errors import conflict, invalid, not_found
from anaconda_storage_server.history import (
    Version,
    checkpoint_instant,
    current_version,
    is_directory,
    revision_of,
    version_at,
    versions,
)
from anaconda_storage_server.names import (
    below,
    check_owner_name,
    check_path,
    check_project_name,
    parse_checkpoint,
    parse_revision,
)


@dataclass(frozen=True)
class Transfer:
    """A checked copy or move request."""

    move: bool
    source_owner: str
    source_project: str
    source_path: str
    revision: str | None
    checkpoint: str | None
    destination_owner: str
    destination_project: str
    destination_path: str
    recursive: bool
    overwrite: bool


def _location(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise invalid(f"{name} must be an object", field=name)
    for key in ("owner", "project", "path"):
        if not isinstance(value.get(key), str):
            raise invalid(f"{name}.{key} must be a string", field=f"{name}.{key}")
    check_owner_name(value["owner"], field=f"{name}.owner")
    check_project_name(value["project"], field=f"{name}.project")
    return value


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f"{name} must be true or false", field=name)
    return value


def parse_transfer(body: dict[str, Any], *, move: bool) -> Transfer:
    """Check a copy or move body (400 for anything malformed)."""
    source = _location(body, "source")
    destination = _location(body, "destination")
    recursive = _flag(body, "recursive", False)
    revision, checkpoint = source.get("revision"), source.get("checkpoint")
    for field, value in (("revision", revision), ("checkpoint", checkpoint)):
        if value is not None and not isinstance(value, str):
            raise invalid(f"source.{field} must be a string", field=f"source.{field}")
    if move and (revision is not None or checkpoint is not None):
        raise invalid("a move takes no revision or checkpoint (history is read-only)")
    if revision is not None and checkpoint is not None:
        raise invalid("give a revision or a checkpoint, not both", field="source.revision")
    if revision is not None:
        parse_revision(revision)
    if checkpoint is not None:
        parse_checkpoint(checkpoint)
    source_path = check_path(source["path"], field="source.path", allow_root=recursive)
    destination_path = check_path(
        destination["path"], field="destination.path", allow_root=recursive
    )
    return Transfer(
        move=move,
        source_owner=source["owner"],
        source_project=source["project"],
        source_path=source_path,
        revision=revision,
        checkpoint=checkpoint,
        destination_owner=destination["owner"],
        destination_project=destination["project"],
        destination_path=destination_path,
        recursive=recursive,
        overwrite=_flag(body, "overwrite", True),
    )


def _sources(transaction: Transaction, project: Project, request: Transfer) -> list[Version]:
    """The source files: one file, or every file below a directory (recursive)."""
    connection = transaction.connection
    path = request.source_path
    if request.revision is not None:
        version = revision_of(connection, project.id, path, parse_revision(request.revision))
        if version.deleted:
            raise not_found("path", f"{path!r} was deleted at revision {version.id}")
        return [version]
    instant = None
    if request.checkpoint is not None:
        instant = checkpoint_instant(connection, project.id, parse_checkpoint(request.checkpoint))
    if path:
        if instant is None:
            file = current_version(connection, project.id, path)
        else:
            file = version_at(connection, project.id, path, instant)
        if file is not None:
            return [file]
        if not request.recursive:
            if is_directory(connection, project.id, path, instant):
                raise invalid(f"{path!r} is a directory: set recursive", field="recursive")
            raise not_found("path", f"no file {path!r}")
    files = versions(connection, project.id, prefix=below(path), instant=instant)
    if not files:
        raise not_found("path", f"no file or directory {path!r}")
    return files


def _destination(request: Transfer, source: Version, single: bool) -> str:
    if single:
        if not request.destination_path:
            raise invalid("a file needs a destination path", field="destination.path")
        return request.destination_path
    relative = source.path[len(below(request.source_path)) :]
    path = f"{below(request.destination_path)}{relative}"
    return check_path(path, field="destination.path")


def _run(state: Context, user: Owner, request: Transfer) -> list[dict[str, str]]:
    needed = "write" if request.move else "read"
    with state.database.write() as transaction:
        connection = transaction.connection
        source_project = open_project(
            connection, user, request.source_owner, request.source_project, needed
        )
        destination_project = open_project(
            connection, user, request.destination_owner, request.destination_project, "write"
        )
        sources = _sources(transaction, source_project, request)
        single = len(sources) == 1 and sources[0].path == request.source_path
        plan = [(source, _destination(request, source, single)) for source in sources]
        if request.move and source_project.id == destination_project.id:
            src, dst = request.source_path, request.destination_path
            if src == "" or dst == src or dst.startswith(f"{src}/"):
                raise invalid("a move onto itself or into its own subtree is not possible")
        if request.move:
            for source, _ in plan:
                record(transaction, source_project.id, source.path, user, deleted=True)
        items = []
        for source, path in plan:
            current = current_version(connection, destination_project.id, path)
            if current is None:
                check_file_path(connection, destination_project.id, path)
            elif not request.overwrite:
                raise conflict(f"{path!r} exists (overwrite is false)")
            version = record(
                transaction,
                destination_project.id,
                path,
                user,
                size=source.size,
                sha256=source.sha256,
                description=source.description,
                metadata=source.metadata,
            )
            if request.move and source_project.id == destination_project.id:
                origins.note(
                    transaction,
                    version.seq,
                    origins.MOVED,
                    source_path=source.path,
                    source_revision=source.id,
                )
            items.append({"source": source.path, "destination": path, "revision": version.id})
        return items


async def _transfer(request: Request, *, move: bool) -> JSONResponse:
    user = await caller(request)
    checked = parse_transfer(await json_body(request), move=move)
    state = context(request)
    items = await state.run(_run, state, user, checked)
    return JSONResponse({"items": items})


async def copy(request: Request) -> JSONResponse:
    return await _transfer(request, move=False)


async def move(request: Request) -> JSONResponse:
    return await _transfer(request, move=True)


routes = [
    Route("/api/storage/copy", copy, methods=["POST"]),
    Route("/api/storage/move", move, methods=["POST"]),
]
