"""A project's own state: ``checkpoint``, ``chmod`` and ``chattr`` (which also changes files)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, List, Optional  # noqa: UP035

import typer

from anaconda_storage_cli import remote
from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.options import JsonOpt, PathArg, QuietOpt
from anaconda_storage_cli.output import Output

if TYPE_CHECKING:
    from anaconda_storage_core import FileInfo, Permissions, Project, StorageURI

__all__ = ["COMMANDS", "chattr", "checkpoint", "chmod", "parse_metadata"]


def checkpoint(
    path: PathArg,
    message: Annotated[
        str, typer.Option("-m", "--message", help="Say what this checkpoint marks.")
    ] = "",
    json: JsonOpt = False,
) -> None:
    """Create a new checkpoint of the current contents of a project.

    Prints the checkpoint's UUID: read the project as it is now, later, with
    owner/project#<uuid> (or #-1 for the latest checkpoint).
    """
    output = Output(json=json)
    uri = _project(remote.parse(path), "checkpoint")
    with remote.connect() as client:
        made = client.create_checkpoint(uri, message)
    if json:
        output.data({"uri": str(uri.with_checkpoint(made.id)), **_plain(made)})
    else:
        output.lines([made.id or ""])


def chmod(
    path: PathArg,
    permissions: Annotated[
        List[str],  # noqa: UP006
        typer.Argument(
            metavar="PERM...",
            help="<u|o>/<name-or-uuid><+|-><r|w|o>: u/bob+r grants bob read access,"
            " o/team-w revokes the organization team's write access, o/team+o transfers the"
            " project to it.",
            show_default=False,
        ),
    ],
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Modify permissions granted to users and organizations for a project.

    w implies r; o transfers ownership, only to an organization you are a member of. All
    the changes are made together, or none.
    """
    from anaconda_storage_core import parse_permissions

    output = Output(json=json, quiet=quiet)
    uri = _project(remote.parse(path), "chmod")
    changes = parse_permissions(permissions)  # every string checked before anything is sent
    with remote.connect() as client:
        result = client.chmod(uri, changes)
    for change in changes:
        output.success(f"{change}: {_in_words(change.grant, change.level, change.principal)}")
    if any(change.transfers_ownership for change in changes):
        output.info(f"{uri.project} now lives at {_where(uri, result)}")
    if json:
        output.data(result)
    elif not quiet:
        output.info(f"access to {_where(uri, result)}: {_summary(result)}")


def _in_words(grant: bool, level: str, principal: str) -> str:
    if level == "o":
        return f"ownership transferred to {principal}"
    if grant:
        return f"{principal} may {'read and write' if level == 'w' else 'read'}"
    return f"{principal} may {'no longer write' if level == 'w' else 'no longer read'}"


def _where(uri: StorageURI, result: Permissions) -> str:
    return f"anaconda://{result.owner.name}/{uri.project}"


def _summary(result: Permissions) -> str:
    names = {"r": "read", "w": "write"}
    grants = [f"{g.principal.name} {names.get(g.level, g.level)}" for g in result.grants]
    return ", ".join([f"{result.owner.name} owner", *grants])


def parse_metadata(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a mapping (the value may hold ``=``; it may be empty).

    Raises:
        UsageProblem: An item has no ``=`` or an empty key.
    """
    metadata: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UsageProblem(f"--metadata takes KEY=VALUE, not {item!r}")
        metadata[key] = value
    return metadata


def chattr(
    path: PathArg,
    name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--name",
            help="Rename the project (a-z, 0-9, - and _; at most 120).",
            show_default=False,
        ),
    ] = None,
    title: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--title", help="The project's title (at most 120).", show_default=False),
    ] = None,
    description: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--description",
            help="A project's or file's description (at most 1024; '' clears it).",
            show_default=False,
        ),
    ] = None,
    tags: Annotated[
        Optional[List[str]],  # noqa: UP006, UP045
        typer.Option(
            "--tag",
            metavar="TAG",
            help="A project tag: data or notebook. Repeat it; the tags given replace the old.",
            show_default=False,
        ),
    ] = None,
    no_tags: Annotated[
        bool, typer.Option("--no-tags", help="Remove the project's tags.", show_default=False)
    ] = False,
    hidden: Annotated[
        Optional[bool],  # noqa: UP045
        typer.Option(
            "--hidden/--no-hidden",
            help="Hide the project from listings (ls -a shows it), or show it.",
            show_default=False,
        ),
    ] = None,
    metadata: Annotated[
        Optional[List[str]],  # noqa: UP006, UP045
        typer.Option(
            "--metadata",
            metavar="KEY=VALUE",
            help="Set a file's metadata key (repeatable); other keys are kept.",
            show_default=False,
        ),
    ] = None,
    unset: Annotated[
        Optional[List[str]],  # noqa: UP006, UP045
        typer.Option(
            "--unset-metadata",
            metavar="KEY",
            help="Remove a file's metadata key (repeatable).",
            show_default=False,
        ),
    ] = None,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Modify attributes and metadata of projects and files.

    A project has a name, title, description, tags (data, notebook) and a hidden flag; a
    file has a description and metadata (string keys and values). Changing a file records a
    new revision with the same content.
    """
    output = Output(json=json, quiet=quiet)
    uri = remote.parse(path)
    if uri.project is None:
        raise UsageProblem(f"chattr changes projects and files: {uri} is neither")
    if tags and no_tags:
        raise UsageProblem("--tag and --no-tags contradict each other")
    changed: Project | FileInfo
    with remote.connect() as client:
        if not uri.path:
            if metadata or unset:
                raise UsageProblem("--metadata and --unset-metadata change files, not projects")
            changed = client.update_project(
                uri,
                name=name,
                title=title,
                description=description,
                tags=[] if no_tags else tags,
                hidden=hidden,
            )
            target = f"{changed.owner.name}/{changed.name}"
        else:
            project_only = {
                "--name": name is not None,
                "--title": title is not None,
                "--tag": bool(tags),
                "--no-tags": no_tags,
                "--hidden/--no-hidden": hidden is not None,
            }
            given = [option for option, used in project_only.items() if used]
            if given:
                raise UsageProblem(f"{', '.join(given)} change projects: {uri} is a file")
            new_metadata = None
            revision = None
            if metadata or unset:
                current = client.info(uri)
                if current.type != "file":
                    raise UsageProblem(f"{uri} is a directory: chattr changes projects and files")
                revision = current.revision
                new_metadata = dict(current.metadata)
                for key in unset or []:
                    new_metadata.pop(key, None)
                new_metadata.update(parse_metadata(metadata or []))
            # If-Match: a metadata merge must not undo a change made since it was read.
            changed = client.update_file(
                uri, description=description, metadata=new_metadata, if_match=revision
            )
            target = str(uri)
    if json:
        output.data(changed)
    else:
        output.success(f"changed {target}")


def _project(uri: StorageURI, command: str) -> StorageURI:
    if uri.project is None or uri.path:
        raise UsageProblem(f"{command} works on a project (owner/project), not {uri}")
    return uri


def _plain(value: Any) -> Any:
    from anaconda_storage_cli.output import jsonable

    return jsonable(value)


COMMANDS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "checkpoint": (
        checkpoint,
        (
            "anaconda storage checkpoint alice/sales",
            "anaconda storage checkpoint alice/sales -m 'before the Q2 import'",
            "anaconda storage ls 'alice/sales#-1'",
        ),
    ),
    "chmod": (
        chmod,
        (
            "anaconda storage chmod alice/sales u/bob+r",
            "anaconda storage chmod alice/sales u/bob+w o/collective-w",
            "anaconda storage chmod alice/sales o/collective+o",
        ),
    ),
    "chattr": (
        chattr,
        (
            "anaconda storage chattr alice/sales --title 'Sales data' --tag data",
            "anaconda storage chattr alice/sales --hidden",
            "anaconda storage chattr alice/sales/q1.csv --description 'Q1' --metadata source=crm",
        ),
    ),
}
