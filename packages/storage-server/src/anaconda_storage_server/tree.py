"""The tree listing of a project: by path, with prefix, `/` delimiter, checkpoint and paging.

Without a delimiter every live file whose path starts with `prefix` is listed, by path, and
a cursor continues after the last path (keyset paging on the index).

With `/`, everything below the next `/` after the prefix is one `Directory` entry, as S3
lists common prefixes, but entries are sorted by their own path (docs/api.md: a directory
`a` sorts before a file `a-b.txt`, where S3 would sort its key `a/` after it). That order is
not the order of the files' paths, so SQL computes each file's entry (its path cut at the
next `/`), groups and sorts them, and the cursor continues after the last entry's path.
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
    live_paths,
    versions,
    versions_by_seq,
)
from anaconda_storage_server.names import check_prefix, path_after, prefix_bounds
from anaconda_storage_server.paging import Page, text_key

MAX_PREFIX = 1024
Entry = tuple[str, dict[str, Any]]  # (sort key, File or Directory)


def _delimited(
    state: Context, project_id: str, prefix: str, after: str, instant: int | None, limit: int
) -> list[Entry]:
    low, high = prefix_bounds(prefix)
    connection = state.database.connection()
    # ?5: the prefix length; an entry is the path cut before the first "/" after it.
    rows = connection.execute(
        f"""WITH paths(path, seq) AS ({live_paths(instant)}),
        entries(entry, path, seq) AS (
            SELECT CASE WHEN instr(substr(path, ?5 + 1), '/') > 0
                THEN substr(path, 1, ?5 + instr(substr(path, ?5 + 1), '/') - 1)
                ELSE path END, path, seq
            FROM paths
        )
        SELECT entry, max(entry != path) AS directory,
            max(CASE WHEN entry = path THEN seq END) AS seq
        FROM entries WHERE entry > ?6 GROUP BY entry ORDER BY entry LIMIT ?7""",
        (project_id, low, high, instant, len(prefix), after, limit),
    ).fetchall()
    files = versions_by_seq(connection, [row["seq"] for row in rows if not row["directory"]])
    return [
        (row["entry"], directory_json(row["entry"]))
        if row["directory"]
        else (row["entry"], files[row["seq"]].file_json())
        for row in rows
        if row["entry"].startswith(prefix)
    ]


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
) -> tuple[list[Entry], int | None]:
    """Up to `limit + 1` entries `(path, File or Directory)` and the checkpoint instant."""
    after = page.after if isinstance(page.after, str) else None
    with state.database.read() as connection:
        project = open_project(connection, user, owner, name, "read")
        instant = None
        if point.checkpoint is not None:
            instant = checkpoint_instant(connection, project.id, point.checkpoint)
        if delimited:
            entries = _delimited(state, project.id, prefix, after or "", instant, page.limit + 1)
        else:
            found = versions(
                connection,
                project.id,
                prefix=prefix,
                start=path_after(after) if after is not None else "",
                instant=instant,
                limit=page.limit + 1,
            )
            entries = [(version.path, version.file_json()) for version in found]
        return entries, instant


async def get_tree(request: Request) -> JSONResponse:
    user = await caller(request)
    point = ReadPoint.from_request(request, revision=False)
    prefix = request.query_params.get("prefix", "")
    delimiter = request.query_params.get("delimiter", "")
    if delimiter not in ("", "/"):
        raise invalid("the only delimiter is /", field="delimiter")
    prefix = check_prefix(prefix, max_length=MAX_PREFIX)
    page = Page.from_request(request, key=text_key)
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
