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
    is_directory,
    ordered_paths,
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
    """The first `limit` entries after `after` of the directory listing below `prefix`.

    It walks the paths in order from `after` on, one index seek per subdirectory (whose
    files it skips), so a page costs the same wherever it starts and however large the
    project is. Entries sort by their own path, which is not the files' path order: a
    directory `a` (its files are `a/...`) sorts before a file `a-b.txt`, whose path sorts
    before `a/...` since `-` is below `/`. So a directory may sort before an entry the walk
    met earlier only if its name is that entry's name cut before a character below `/`;
    those names are checked with one seek each before the page is cut.
    """
    low, high = prefix_bounds(prefix)
    connection = state.database.connection()
    directories: set[str] = set()
    files: dict[str, int] = {}  # entry -> seq
    start = max(low, f"{after}\0") if after else low
    while len(directories) + len(files) < limit:
        skip_to = None
        for path, seq in ordered_paths(connection, project_id, start, high, instant):
            if not path.startswith(prefix):
                break  # past the prefix's range: nothing after it starts with the prefix
            slash = path.find("/", len(prefix))
            if slash < 0:
                files[path] = seq
                if len(directories) + len(files) >= limit:
                    break
                continue
            directory = path[:slash]
            if directory > after:
                directories.add(directory)
            skip_to = path_after(f"{directory}/")  # the directory's files are one entry
            break
        else:
            break  # the walk reached the end of the listing
        if skip_to is None:
            break
        start = skip_to
    # Directories that sort before entries the walk took but whose files it did not reach.
    for name in list(files) + list(directories):
        cuts = [i for i in range(len(prefix), len(name)) if name[i] < "/"]
        for cut in cuts:
            candidate = name[:cut]
            if (
                candidate > after
                and candidate not in directories
                and is_directory(connection, project_id, candidate, instant)
            ):
                directories.add(candidate)
    names = sorted(directories.union(files))[:limit]
    found = versions_by_seq(connection, [files[name] for name in names if name in files])
    return [
        (name, directory_json(name))
        if name in directories
        else (name, found[files[name]].file_json())
        for name in names
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
