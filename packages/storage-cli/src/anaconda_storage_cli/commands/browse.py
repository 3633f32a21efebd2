"""Reading: ``ls``, ``stat`` and ``cat``. Each reads history too: ``o/p#<checkpoint>/...``
lists or shows a project as it was, ``o/p/f#<revision>`` a file as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from anaconda_storage_cli import remote
from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.formats import columns, human_size, instant, short_id
from anaconda_storage_cli.options import (
    JsonOpt,
    LongOpt,
    OptionalPathArg,
    PathsArg,
    Verification,
    VerifyOpt,
)
from anaconda_storage_cli.output import Output

if TYPE_CHECKING:
    from anaconda_storage_core import (
        DirectoryInfo,
        FileInfo,
        Owner,
        Project,
        ProjectInfo,
        Revision,
        StorageClient,
        StorageURI,
    )

__all__ = ["COMMANDS", "cat", "ls", "stat"]


# -- ls --------------------------------------------------------------------------------


def ls(
    path: OptionalPathArg = None,
    long: LongOpt = False,
    all: Annotated[
        bool,
        typer.Option(
            "-a",
            "--all",
            help="Show .keep directory markers and hidden projects.",
            show_default=False,
        ),
    ] = False,
    recursive: Annotated[
        bool,
        typer.Option("-R", "--recursive", help="List every file below.", show_default=False),
    ] = False,
    revisions: Annotated[
        bool,
        typer.Option("--revisions", help="A file's history, newest first.", show_default=False),
    ] = False,
    checkpoints: Annotated[
        bool,
        typer.Option(
            "--checkpoints", help="A project's checkpoints, newest first.", show_default=False
        ),
    ] = False,
    deleted: Annotated[
        bool,
        typer.Option(
            "--deleted",
            help="An owner's deleted projects (its trash) and when they go for good.",
            show_default=False,
        ),
    ] = False,
    human: Annotated[
        bool,
        typer.Option(
            "-h",
            "--human-readable",
            help="With -l, sizes as 1.5 KiB, 3.2 MiB (IEC units); bytes without it. As in GNU"
            " ls, -h is not --help here.",
            show_default=False,
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """List owners, projects, versions, directories and files.

    No PATH lists the owners you can see, an owner its projects, a project or directory
    what is in it. Add #<checkpoint> to a project to list it as it was. A quoted pattern
    ('o/p/2024/*.csv'; * ? [abc], ** for any depth; %2A is a literal *) lists what it
    matches.
    """
    from anaconda_storage_cli.wildcards import has_wildcard

    output = Output(json=json)
    if revisions + checkpoints + deleted > 1:
        raise UsageProblem(
            "--revisions lists a file's history, --checkpoints a project's, --deleted an"
            " owner's deleted projects: pick one"
        )
    if path and has_wildcard(path) and not (revisions or checkpoints or deleted):
        with remote.connect() as client:
            _list_matches(client, path, output, long=long, human=human)
        return
    uri = remote.parse(path or "")
    with remote.connect() as client:
        if deleted:
            from anaconda_storage_cli.commands.history import list_deleted

            list_deleted(client, uri, output)
        elif revisions:
            _list_revisions(client, uri, output)
        elif checkpoints:
            _list_checkpoints(client, uri, output)
        elif uri.is_root:
            _list_owners(client.list_owners(), output, long)
        elif uri.is_owner:
            _list_projects(client.list_projects(uri, include_hidden=all), output, long, human)
        else:
            _list_tree(client, uri, output, long=long, all=all, recursive=recursive, human=human)


def _list_owners(owners: Iterable[Owner], output: Output, long: bool) -> None:
    items = list(owners)
    if output.json:
        output.data(items)
    elif long:
        output.lines(columns([[o.kind, o.name] for o in items]))
    else:
        output.lines(o.name for o in items)


def _size(size: int | None, human: bool) -> str:
    """A size for ``ls -l``: bytes, as ``ls -l`` prints them, or with ``-h`` in IEC units."""
    if human or size is None:
        return human_size(size)
    return str(size)


def _list_projects(
    projects: Iterable[Project], output: Output, long: bool, human: bool = False
) -> None:
    items = list(projects)
    if output.json:
        output.data([{"uri": f"anaconda://{p.full_name}", **_plain(p)} for p in items])
        return
    if not long:
        output.lines(p.name for p in items)
        return
    rows = [
        [
            p.access,
            str(p.file_count),
            _size(p.size, human),
            instant(p.updated_at),
            p.name + (" (hidden)" if p.hidden else ""),
            p.title,
        ]
        for p in items
    ]
    output.lines(columns(rows, right=(1, 2)))


def _plain(value: Any) -> Any:
    from anaconda_storage_cli.output import jsonable

    return jsonable(value)


def _list_tree(
    client: StorageClient,
    uri: StorageURI,
    output: Output,
    *,
    long: bool,
    all: bool,
    recursive: bool,
    human: bool = False,
) -> None:
    from anaconda_storage_core import DirectoryInfo, FileInfo

    if uri.path:
        entry = client.info(uri)
        if isinstance(entry, FileInfo):
            # A file (maybe at a revision) lists as itself, as `ls file` does.
            _show_entries(
                [entry], uri, output, long=long, base=entry.path.rpartition("/")[0], human=human
            )
            return
    else:
        client.get_project(uri)  # a project that does not exist is an error, not empty
    listed = client.list_tree(
        uri, delimiter=None if recursive else "/", include_markers=all or recursive
    )
    entries: list[FileInfo | DirectoryInfo] = []
    for entry in listed:
        if recursive and not all and isinstance(entry, FileInfo) and entry.name == remote.KEEP:
            # Without -a, an empty directory shows as itself rather than as its marker.
            entries.append(DirectoryInfo(entry.path.rpartition("/")[0]))
        else:
            entries.append(entry)
    if recursive and not all:
        # Only the directories that hold nothing else: the others show through their files.
        holding = {uri.path}
        for entry in entries:
            if isinstance(entry, FileInfo):
                parts = entry.path.split("/")[:-1]
                holding.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        entries = [e for e in entries if isinstance(e, FileInfo) or e.path not in holding]
    _show_entries(entries, uri, output, long=long, base=uri.path, human=human)


def _list_matches(
    client: StorageClient, pattern: str, output: Output, *, long: bool, human: bool
) -> None:
    """``ls 'o/p/2024/*.csv'``: what the pattern matches, each as itself (a directory is
    not opened, as ``ls -d``), named below the pattern's fixed prefix."""
    from anaconda_storage_cli.wildcards import expand, parse_pattern

    base = parse_pattern(pattern).base
    entries = [match.entry for match in expand(client, pattern)]
    _show_entries(entries, base, output, long=long, base=base.path, human=human)


def _show_entries(
    entries: list[FileInfo | DirectoryInfo],
    uri: StorageURI,
    output: Output,
    *,
    long: bool,
    base: str,
    human: bool = False,
) -> None:
    from anaconda_storage_core import FileInfo

    prefix = f"{base}/" if base else ""
    project = uri.project_uri

    def name(entry: FileInfo | DirectoryInfo) -> str:
        relative = entry.path[len(prefix) :] if entry.path.startswith(prefix) else entry.path
        return relative + ("" if isinstance(entry, FileInfo) else "/")

    if output.json:
        output.data(
            [
                {
                    "uri": str(project.join(entry.path)),
                    "name": name(entry).rstrip("/"),
                    **_plain(entry),
                }
                for entry in entries
            ]
        )
        return
    if not long:
        output.lines(name(entry) for entry in entries)
        return
    rows = []
    for entry in entries:
        if isinstance(entry, FileInfo):
            row = [_size(entry.size, human), instant(entry.modified), short_id(entry.revision)]
        else:
            row = ["-", "-", "-"]
        rows.append([*row, name(entry)])
    output.lines(columns(rows, right=(0,)))


def _list_revisions(client: StorageClient, uri: StorageURI, output: Output) -> None:
    if not uri.path:
        raise UsageProblem(f"--revisions needs a file: {uri} is not one (try --checkpoints)")
    if uri.revision is not None or uri.checkpoint is not None:
        raise UsageProblem("--revisions lists the whole history: drop the '#...' from the path")
    items = list(client.list_revisions(uri))
    if output.json:
        output.data(
            [{"uri": str(uri.with_revision(r.id)), "ref": _ref(r), **_plain(r)} for r in items]
        )
        return
    output.lines(columns(_revision_rows(items), right=(4,)))


def _ref(revision: Revision) -> str:
    return "current" if revision.index == 0 else f"#{revision.index}"


def _revision_rows(items: list[Revision]) -> list[list[str]]:
    rows = [["REF", "REVISION", "DATE (UTC)", "BY", "SIZE", "CHANGE"]]
    for i, r in enumerate(items):
        change = (
            "deleted" if r.deleted else _change(r, items[i + 1] if i + 1 < len(items) else None)
        )
        rows.append(
            [
                _ref(r),
                r.id,
                instant(r.created_at),
                r.created_by.name if r.created_by else "-",
                "-" if r.deleted else human_size(r.size),
                change,
            ]
        )
    return rows


def _change(revision: Revision, before: Revision | None) -> str:
    if before is None or before.deleted:
        return "created"
    if revision.sha256 != before.sha256:
        return "content"
    return "attributes"


def _list_checkpoints(client: StorageClient, uri: StorageURI, output: Output) -> None:
    if uri.project is None or uri.path:
        raise UsageProblem(f"--checkpoints needs a project (owner/project), not {uri}")
    items = list(client.list_checkpoints(uri.project_uri.with_checkpoint(None)))
    if output.json:
        output.data(
            [
                {
                    "uri": str(uri.project_uri.with_checkpoint(c.id)),
                    "ref": f"#-{i + 1}",
                    **_plain(c),
                }
                for i, c in enumerate(items)
            ]
        )
        return
    rows = [["REF", "CHECKPOINT", "DATE (UTC)", "BY", "MESSAGE"]]
    rows += [
        [
            f"#-{i + 1}",
            c.id or "-",
            instant(c.created_at),
            c.created_by.name if c.created_by else "-",
            c.message,
        ]
        for i, c in enumerate(items)
    ]
    output.lines(columns(rows))


# -- stat ------------------------------------------------------------------------------


def stat(path: OptionalPathArg = None, json: JsonOpt = False) -> None:
    """Information about projects (checkpoints, permissions), directories and files (revisions).

    A project shows its attributes, who may read and write it, and its checkpoints; a file
    its attributes and every revision; a directory how many files it holds.
    """
    output = Output(json=json)
    uri = remote.parse(path or "")
    with remote.connect() as client:
        if uri.is_root:
            account = client.account()
            _show(output, "account", account, [("name", account.name), ("id", account.id)])
        elif uri.is_owner:
            assert uri.owner is not None
            owner = client.get_owner(uri.owner)
            _show(
                output,
                "owner",
                owner,
                [("name", owner.name), ("kind", owner.kind), ("id", owner.id)],
            )
        elif not uri.path:
            _stat_project(client, uri, output)
        else:
            _stat_path(client, uri, output)


def _show(output: Output, kind: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if output.json:
        output.data({"type": kind, **_plain(value)})
    else:
        output.rich(_fields(rows))


def _fields(rows: list[tuple[str, str]]) -> Any:
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    return table


def _table(title: str, headers: list[str], rows: list[list[str]]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, title_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _stat_project(client: StorageClient, uri: StorageURI, output: Output) -> None:
    project = client.get_project(uri.with_checkpoint(None))
    at = client.get_checkpoint(uri) if uri.checkpoint is not None else None
    if output.json:
        document = {"type": "project", "uri": str(uri.with_checkpoint(None)), **_plain(project)}
        if at is not None:
            document["checkpoint"] = _plain(at)
        output.data(document)
        return
    from rich.console import Group

    rows = [
        ("project", f"anaconda://{project.full_name}"),
        ("title", project.title or "-"),
        ("description", project.description or "-"),
        ("tags", ", ".join(project.tags) or "-"),
        ("hidden", "yes" if project.hidden else "no"),
        ("files", f"{project.file_count} ({human_size(project.size)})"),
        ("created", instant(project.created_at)),
        ("updated", instant(project.updated_at)),
        ("your access", project.access),
    ]
    if at is not None:
        rows.append(("at checkpoint", f"{at.id or uri.checkpoint} ({instant(at.created_at)})"))
    parts: list[Any] = [_fields(rows)]
    parts.append(_permissions_table(project))
    checkpoints = [
        [
            f"#-{i + 1}",
            c.id or "-",
            instant(c.created_at),
            c.created_by.name if c.created_by else "-",
            c.message,
        ]
        for i, c in enumerate(project.checkpoints)
    ]
    parts.append(
        _table("Checkpoints", ["ref", "checkpoint", "date (UTC)", "by", "message"], checkpoints)
        if checkpoints
        else _fields(
            [
                (
                    "checkpoints",
                    f"none yet (create one: anaconda storage checkpoint {project.full_name})",
                )
            ]
        )
    )
    output.rich(Group(*parts))


def _permissions_table(project: ProjectInfo) -> Any:
    permissions = project.permissions
    rows: list[list[str]] = []
    if permissions is not None:
        owner = permissions.owner
        rows.append([_principal(owner), "owner"])
        levels = {"r": "read", "w": "write"}
        rows += [
            [_principal(g.principal), levels.get(g.level, g.level)] for g in permissions.grants
        ]
    return _table("Permissions", ["who", "access"], rows)


def _principal(owner: Owner) -> str:
    return f"{'o' if owner.kind == 'org' else 'u'}/{owner.name}"


def _stat_path(client: StorageClient, uri: StorageURI, output: Output) -> None:
    from anaconda_storage_core import FileInfo

    entry = client.info(uri)
    if not isinstance(entry, FileInfo):
        _stat_directory(client, uri, entry, output)
        return
    history = list(client.list_revisions(uri.with_revision(None).with_checkpoint(None)))
    if output.json:
        output.data(
            {
                "uri": str(uri.project_uri.join(entry.path)),
                **_plain(entry),
                "revisions": _plain(history),
            }
        )
        return
    from rich.console import Group

    rows = [
        ("file", str(uri.project_uri.with_checkpoint(None).join(entry.path))),
        ("size", f"{human_size(entry.size)} ({entry.size} bytes)"),
        ("revision", entry.revision),
        ("modified", instant(entry.modified)),
        ("modified by", entry.modified_by.name if entry.modified_by else "-"),
        ("created", instant(entry.created_at)),
        ("sha256", entry.sha256 or "-"),
        ("description", entry.description or "-"),
    ]
    rows += [(f"metadata {key}", value) for key, value in sorted(entry.metadata.items())]
    revision_rows = _revision_rows(history)
    output.rich(
        Group(
            _fields(rows),
            _table(
                "Revisions",
                [h.lower().replace("utc", "UTC") for h in revision_rows[0]],
                revision_rows[1:],
            ),
        )
    )


def _stat_directory(
    client: StorageClient, uri: StorageURI, entry: DirectoryInfo, output: Output
) -> None:
    from anaconda_storage_core import FileInfo

    files = [e for e in client.list_tree(uri) if isinstance(e, FileInfo)]
    size = sum(file.size for file in files)
    if output.json:
        output.data({"uri": str(uri), **_plain(entry), "file_count": len(files), "size": size})
        return
    output.rich(_fields([("directory", str(uri)), ("files", f"{len(files)} ({human_size(size)})")]))


# -- cat -------------------------------------------------------------------------------


def cat(paths: PathsArg, verify: VerifyOpt = Verification.crc32c) -> None:
    """Print the contents of a file to the console.

    The bytes go to stdout as they are. Add #<revision> (#-1 is the previous version) or
    a project #<checkpoint> to read history. As with Unix cat, `-` stands for stdin.
    Content that fails its check is reported (exit 1) after it was written.
    """
    import shutil
    import sys

    from anaconda_storage_core import NotFound

    output = Output()
    with remote.connect() as client:
        # Parsed (and patterns expanded) up front: a bad URI is reported before anything
        # is printed.
        uris = _cat_arguments(client, paths)
        for uri in uris:
            if uri is None:
                shutil.copyfileobj(sys.stdin.buffer, output.binary_stdout)
                continue
            if not uri.path:
                raise UsageProblem(f"{uri} is not a file: cat reads files (try ls)")
            try:
                client.download(uri, output.binary_stdout, verify=verify.verify)
            except NotFound:
                _not_a_directory(client, uri)
                raise
    output.flush()


def _cat_arguments(client: StorageClient, paths: list[str]) -> list[StorageURI | None]:
    """The files cat reads, patterns expanded to the files they match (``-``: None)."""
    from anaconda_storage_cli.wildcards import expand, has_wildcard

    uris: list[StorageURI | None] = []
    for path in paths:
        if not has_wildcard(path):
            uris.append(None if path == "-" else remote.parse(path))
            continue
        files = [match.uri for match in expand(client, path) if not match.is_directory]
        if not files:
            raise UsageProblem(f"{path} matches only directories: cat reads files (try ls)")
        uris += files
    return uris


def _not_a_directory(client: StorageClient, uri: StorageURI) -> None:
    """Say "a directory" rather than "not found" when cat is given one."""
    from anaconda_storage_core import DirectoryInfo, StorageError

    try:
        entry = client.info(uri)
    except StorageError:
        return
    if isinstance(entry, DirectoryInfo):
        raise UsageProblem(f"{uri} is a directory: ls lists it, download fetches it")


COMMANDS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "ls": (
        ls,
        (
            "anaconda storage ls",
            "anaconda storage ls alice",
            "anaconda storage ls -lh alice/sales/2024",
            "anaconda storage ls 'alice/sales/**/*.csv'",
            "anaconda storage ls -l 'alice/sales#2024-05-01T12:00:00'",
            "anaconda storage ls --revisions alice/sales/2024/q1.csv",
            "anaconda storage ls --checkpoints alice/sales",
            "anaconda storage ls -R --json alice/sales | jq -r '.[].path'",
        ),
    ),
    "stat": (
        stat,
        (
            "anaconda storage stat alice/sales",
            "anaconda storage stat alice/sales/2024/q1.csv",
            "anaconda storage stat --json alice/sales/2024/q1.csv",
        ),
    ),
    "cat": (
        cat,
        (
            "anaconda storage cat alice/sales/2024/q1.csv",
            "anaconda storage cat 'alice/sales/2024/q1.csv#-1'",
            "anaconda storage cat 'alice/sales/2024/q?.csv'",
            "anaconda storage cat 'alice/sales#-1/2024/q1.csv' | head",
            "echo 'region,revenue' | anaconda storage cat - alice/sales/2024/rows.csv",
        ),
    ),
}
