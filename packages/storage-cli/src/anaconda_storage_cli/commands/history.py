"""Acting on history: ``log``, ``diff`` and ``restore``.

Every past state is named by the URI grammar (``o/p/f#-2``, ``o/p#-1/dir``,
``o/p#2024-05-01T12:00:00``); these commands read it with the core client, and a restore
happens on the server: no file content passes through this machine.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from anaconda_storage_cli import remote
from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.formats import columns, human_size, instant, short_id
from anaconda_storage_cli.options import DryRunOpt, JsonOpt, PathArg, QuietOpt
from anaconda_storage_cli.output import Output, jsonable

if TYPE_CHECKING:
    from anaconda_storage_core import DiffEntry, LogEntry, StorageClient, StorageURI

__all__ = ["COMMANDS", "diff", "log", "restore"]

_REFERENCE_HELP = (
    " A time point (2024-05-01T12:00:00, UTC), -N (the N-th latest checkpoint) or a"
    " checkpoint UUID."
)


def log(
    path: PathArg,
    since: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--since",
            help="Only changes from then on (after a checkpoint)." + _REFERENCE_HELP,
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--until", help="Only changes up to then." + _REFERENCE_HELP, show_default=False
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Show at most this many changes.")
    ] = 100,
    json: JsonOpt = False,
) -> None:
    """The changes to a project, a directory or a file, newest first.

    Each line: when, who, what (created, modified, attributes, deleted, restored, moved),
    the size and revision, and the path; checkpoints appear with their message. Restore
    a path as it was with ``anaconda storage restore``.
    """
    output = Output(json=json)
    uri = _in_project(remote.parse(path), "log")
    with remote.connect() as client:
        entries = list(
            itertools.islice(
                client.log(uri, since=since, until=until, page_size=min(limit, 1000)), limit
            )
        )
    if json:
        output.data([_log_json(uri, entry) for entry in entries])
        return
    if not entries:
        output.info(f"no changes to {uri}")
        return
    rows = [["DATE (UTC)", "BY", "ACTION", "SIZE", "REVISION", "PATH"]]
    rows += [_log_row(entry) for entry in entries]
    output.lines(columns(rows, right=(3,)))


def _log_json(uri: StorageURI, entry: LogEntry) -> dict[str, Any]:
    document: dict[str, Any] = jsonable(entry)
    project = uri.project_uri.with_checkpoint(None)
    if entry.type == "checkpoint":
        document["uri"] = str(project.with_checkpoint(entry.checkpoint))
    elif entry.path is not None and entry.revision is not None:
        document["uri"] = str(project.join(entry.path).with_revision(entry.revision))
    return document


def _log_row(entry: LogEntry) -> list[str]:
    by = entry.created_by.name if entry.created_by else "-"
    if entry.type == "checkpoint":
        what = f"checkpoint {entry.checkpoint}"
        if entry.message:
            what += f": {entry.message}"
        return [instant(entry.created_at), by, "checkpoint", "-", "-", what]
    size = "-" if entry.deleted else human_size(entry.size)
    where = entry.path or ""
    source = entry.source
    if entry.action == "moved" and source is not None and source.path:
        where += f" (from {source.path})"
    elif entry.action == "restored" and source is not None:
        if entry.deleted:
            where += " (deleted: absent"
        else:
            where += f" (from revision {short_id(source.revision)}"
        if source.at is not None:
            where += f" at {source.checkpoint or instant(source.at)}"
        where += ")"
    return [instant(entry.created_at), by, entry.action, size, short_id(entry.revision), where]


def diff(
    first: Annotated[
        str,
        typer.Argument(
            metavar="FROM",
            help="A project or directory at a checkpoint: owner/project#<checkpoint>[/dir].",
            show_default=False,
        ),
    ],
    second: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(
            metavar="TO",
            help="The same project and path at another checkpoint, or just the checkpoint"
            " ('#-2', a time point, a UUID); default: now.",
            show_default=False,
        ),
    ] = None,
    stat: Annotated[
        bool,
        typer.Option(
            "--stat", help="Only counts and bytes, by kind of change.", show_default=False
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """What changed in a project or directory between two states.

    Each path added (A), deleted (D) or modified (M), with its size before and after. A
    move shows as its old path deleted and its new path added. Directory markers (.keep)
    are left out of the text output.
    """
    output = Output(json=json)
    uri = _in_project(remote.parse(first), "diff")
    with remote.connect() as client:
        entries = list(client.diff(uri, second))
    counts = _diff_stat(entries)
    if json:
        document: dict[str, Any] = {"from": str(uri), "to": second, "stat": counts}
        if not stat:
            document["changes"] = jsonable(entries)
        output.data(document)
        return
    shown = [e for e in entries if e.path.rsplit("/", 1)[-1] != remote.KEEP]
    if not stat:
        rows = [["", "BEFORE", "AFTER", "PATH"]]
        rows += [
            [
                e.change[0].upper(),
                human_size(e.before.size) if e.before else "-",
                human_size(e.after.size) if e.after else "-",
                e.path,
            ]
            for e in shown
        ]
        if shown:
            output.lines(columns(rows, right=(1, 2)))
    summary = ", ".join(
        f"{counts[kind]['files']} {kind} ({human_size(counts[kind]['bytes'])})"
        for kind in ("added", "deleted", "modified")
    )
    if stat:
        output.lines([summary])
    elif not shown:
        output.info(f"no changes between {uri} and {second or 'now'}")
    else:
        output.info(summary)


def _diff_stat(entries: list[DiffEntry]) -> dict[str, dict[str, int]]:
    """Files and bytes by kind: added and modified count the bytes after, deleted before."""
    counts = {kind: {"files": 0, "bytes": 0} for kind in ("added", "deleted", "modified")}
    for entry in entries:
        side = entry.before if entry.change == "deleted" else entry.after
        counts[entry.change]["files"] += 1
        counts[entry.change]["bytes"] += side.size if side else 0
    return counts


def restore(
    state: Annotated[
        str,
        typer.Argument(
            metavar="STATE",
            help="The past state: owner/project/file#<revision>, owner/project#<checkpoint>"
            " or owner/project#<checkpoint>/dir.",
            show_default=False,
        ),
    ],
    dry_run: DryRunOpt = False,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
    as_name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--as",
            metavar="NAME",
            help="A deleted project: bring it back under this name (its own was taken).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Make a file, a directory or a whole project as it was, on the server.

    owner/project with no '#' brings back a deleted project from the trash (ls --deleted
    OWNER lists them), with its history, checkpoints and permissions.

    q1.csv#-2 (or #<revision>) gives the file that revision's content; q1.csv#-1 brings
    back a deleted file. owner/project#<checkpoint>[/dir] makes the directory (or the
    project) exactly as it was at the checkpoint: files changed since go back, files
    deleted since come back, files created since are deleted. Each change is a new
    revision, so a restore can itself be undone; no content passes through this machine.
    """
    output = Output(json=json, quiet=quiet)
    uri = _in_project(remote.parse(state), "restore")
    if uri.is_project and not uri.is_versioned:
        _restore_project(uri, as_name, dry_run, output)
        return
    if as_name is not None:
        raise UsageProblem("--as names a deleted project brought back: give owner/project")
    with remote.connect() as client:
        result = client.restore(uri, dry_run=dry_run)
    if json:
        output.data({"uri": str(uri), **jsonable(result)})
        return
    verb = {"modified": "goes back", "added": "comes back", "deleted": "is deleted"}
    done = {"modified": "restored", "added": "brought back", "deleted": "deleted"}
    for change in result.changes:
        if dry_run:
            output.lines([f"would restore {change.path}: {verb[change.change]}"])
        else:
            output.success(f"{done[change.change]} {change.path}")
    count = len(result.changes)
    noun = "path" if count == 1 else "paths"
    if dry_run:
        output.info(f"{count} {noun} would change (nothing was changed: --dry-run)")
    elif count == 0:
        output.info(f"nothing to restore: {uri} is already as it was")
    else:
        output.info(f"restored {count} {noun} from {uri}; `anaconda storage log` shows it")


def _restore_project(uri: StorageURI, as_name: str | None, dry_run: bool, output: Output) -> None:
    with remote.connect() as client:
        if dry_run:
            found = [
                d
                for d in client.list_deleted_projects(uri.owner or "")
                if uri.project in (d.project.name, d.project.id)
            ]
            if not found:
                output.info(f"{uri} is not in the trash")
            else:
                output.lines([f"would bring back project anaconda://{found[0].project.full_name}"])
            return
        project = client.restore_project(uri, name=as_name)
    if output.json:
        output.data({"uri": f"anaconda://{project.full_name}", **jsonable(project)})
        return
    output.success(f"brought back project anaconda://{project.full_name} with its history")


def list_deleted(client: StorageClient, uri: StorageURI, output: Output) -> None:
    """``ls --deleted OWNER``: the owner's trash, newest deletion first."""
    if not uri.is_owner:
        raise UsageProblem(f"--deleted lists an owner's deleted projects: give an owner, not {uri}")
    items = list(client.list_deleted_projects(uri))
    if output.json:
        output.data([{"uri": f"anaconda://{d.project.full_name}", **jsonable(d)} for d in items])
        return
    if not items:
        output.info(f"no deleted projects of {uri.owner}")
        return
    rows = [["DELETED (UTC)", "BY", "PURGED (UTC)", "FILES", "SIZE", "PROJECT", "ID"]]
    rows += [
        [
            instant(d.deleted_at),
            d.deleted_by.name if d.deleted_by else "-",
            instant(d.purge_at),
            str(d.project.file_count),
            human_size(d.project.size),
            d.project.full_name,
            d.project.id,
        ]
        for d in items
    ]
    output.lines(columns(rows, right=(3, 4)))


def _in_project(uri: StorageURI, command: str) -> StorageURI:
    if uri.project is None:
        raise UsageProblem(f"{command} needs a project, a directory or a file: {uri} is not one")
    return uri


COMMANDS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "log": (
        log,
        (
            "anaconda storage log alice/sales",
            "anaconda storage log alice/sales/2024 --since 2024-05-01T00:00:00",
            "anaconda storage log alice/sales/q1.csv --limit 5 --json",
        ),
    ),
    "diff": (
        diff,
        (
            "anaconda storage diff 'alice/sales#-1'",
            "anaconda storage diff 'alice/sales#2024-05-01T00:00:00/2024' '#-1' --stat",
            "anaconda storage diff 'alice/sales#-2' 'alice/sales#-1' --json",
        ),
    ),
    "restore": (
        restore,
        (
            "anaconda storage restore 'alice/sales/q1.csv#-2'",
            "anaconda storage restore 'alice/sales/q1.csv#-1'   # a deleted file",
            "anaconda storage restore 'alice/sales#-1/2024' --dry-run",
            "anaconda storage restore 'alice/sales#2024-05-01T12:00:00'",
            "anaconda storage restore alice/sales --as sales-2024   # a deleted project",
        ),
    ),
}
