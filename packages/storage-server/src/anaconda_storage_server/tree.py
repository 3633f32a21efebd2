"""The tree listing of a project: by path, with prefix, `/` delimiter, checkpoint and paging.

Without a delimiter every live file whose path starts with `prefix` is listed. With `/`,
everything below the next `/` after the prefix is one `Directory` entry, as S3 lists
common prefixes. Entries are sorted by path (a directory at the place of `dir/`). A cursor
holds the last entry's key, a path or a `dir/`; the next page starts right after it, which
for a directory means after everything below it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from anaconda_storage_server.access import open_project
from anaconda_storage_server.accounts import Owner
from anaconda_storage_server.context import Context, caller, context
from anaconda_storage_server.errors import invalid
from anaconda_storage_server.history import (
    ReadPoint,
    checkpoint_instant,
    directory_json,
    format_instant,
    versions,
)
from anaconda_storage_server.names import path_after
from anaconda_storage_server.paging import Page

MAX_PREFIX = 1024


def list_entries(
    state: Context,
    user: Owner,
    owner: str,
    name: str,
    *,
    prefix: str,
    delimited: bool,
    point: ReadPoint,
    page: Page,
) -> tuple[list[tuple[str, dict[str, Any]]], int | None]:
    """Up to `limit + 1` entries `(key, File or Directory)` and the checkpoint instant."""
    wanted = page.limit + 1
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        instant = None
        if point.checkpoint is not None:
            instant = checkpoint_instant(connection, project.id, point.checkpoint)
        start = path_after(page.after) if isinstance(page.after, str) else ""
        entries: list[tuple[str, dict[str, Any]]] = []
        while len(entries) < wanted:
            batch = versions(
                connection,
                project.id,
                prefix=prefix,
                start=start,
                instant=instant,
                limit=wanted - len(entries),
            )
            if not batch:
                break
            for version in batch:
                rest = version.path[len(prefix) :]
                if delimited and "/" in rest:
                    key = prefix + rest.split("/", 1)[0] + "/"
                    entries.append((key, directory_json(key[:-1])))
                    start = path_after(key)
                    break  # continue after everything below the directory
                entries.append((version.path, version.file_json()))
                start = path_after(version.path)
        return entries, instant


async def get_tree(request: Request) -> JSONResponse:
    user = await caller(request)
    point = ReadPoint.from_request(request, revision=False)
    prefix = request.query_params.get("prefix", "")
    delimiter = request.query_params.get("delimiter", "")
    if delimiter not in ("", "/"):
        raise invalid("the only delimiter is /", field="delimiter")
    if len(prefix) > MAX_PREFIX or any(ord(char) < 0x20 or char == "\x7f" for char in prefix):
        raise invalid("invalid prefix", field="prefix")
    page = Page.from_request(request)
    state = context(request)
    params = request.path_params
    entries, instant = await state.run(
        lambda: list_entries(
            state,
            user,
            params["owner"],
            params["project"],
            prefix=prefix,
            delimited=delimiter == "/",
            point=point,
            page=page,
        )
    )
    headers = {} if instant is None else {"X-Storage-Checkpoint-At": format_instant(instant)}
    return JSONResponse(
        page.answer(entries, lambda entry: entry[0], lambda entry: entry[1]), headers=headers
    )


routes = [Route("/api/storage/projects/{owner}/{project}/tree", get_tree, methods=["GET"])]
