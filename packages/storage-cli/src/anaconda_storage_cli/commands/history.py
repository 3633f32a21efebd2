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
from anaconda_storage_cli.options import JsonOpt, PathArg
from anaconda_storage_cli.output import Output, jsonable

if TYPE_CHECKING:
    from anaconda_storage_core import LogEntry, StorageURI

__all__ = ["COMMANDS", "log"]

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
}
