"""Changing files and directories in place: ``mkdir``, ``rmdir``, ``rm`` and ``touch``.

Nothing here loses history: ``rm`` of a file records a deletion revision, which
``cat o/p/f#-1`` still reads. Only deleting a whole project (``rm -r o/p``, or ``rmdir o/p``
of a project whose files are gone but whose history is not) drops history, so it asks first.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from anaconda_storage_cli import remote
from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.filters import Selection
from anaconda_storage_cli.options import (
    DryRunOpt,
    ExcludeOpt,
    ForceOpt,
    IncludeOpt,
    JsonOpt,
    PathsArg,
    QuietOpt,
    RecursiveOpt,
    YesOpt,
)
from anaconda_storage_cli.output import Output
from anaconda_storage_cli.targets import Kind
from anaconda_storage_cli.transfers import Job, Outcome, Summary, finish, run_jobs
from anaconda_storage_cli.wildcards import expand_arguments

if TYPE_CHECKING:
    from anaconda_storage_core import StorageClient, StorageURI

__all__ = ["COMMANDS", "mkdir", "rm", "rmdir", "touch"]


# -- mkdir / rmdir ---------------------------------------------------------------------


def mkdir(
    paths: PathsArg,
    parents: Annotated[
        bool,
        typer.Option(
            "-p",
            "--parents",
            help="Create the project too if needed; no error if it exists.",
            show_default=False,
        ),
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Create a new project or empty directory within a project.

    owner/project creates a project; owner/project/a/b an empty directory (it writes the
    marker a/b/.keep, which listings hide).
    """
    from anaconda_storage_core import Conflict, NotFound

    output = Output(quiet=quiet)
    uris = [_in_project(remote.parse(path), "mkdir") for path in paths]
    with remote.connect() as client:
        for uri in uris:
            if not uri.path:
                try:
                    client.create_project(uri)
                except Conflict:
                    if not parents:
                        raise
                    continue
                output.success(f"created project {uri}")
                continue
            try:
                client.make_directory(uri)
            except NotFound as exc:
                if not parents or exc.missing != "project":
                    raise _with_project_hint(exc, uri) from None
                client.create_project(uri.project_uri)
                output.success(f"created project {uri.project_uri}")
                client.make_directory(uri)
            output.success(f"made directory {uri}")


def rmdir(paths: PathsArg, yes: YesOpt = False, quiet: QuietOpt = False) -> None:
    """Delete a project or empty directories within a project.

    A directory goes only if it holds nothing but its .keep marker, a project only if it
    holds no files; use rm -r for the rest. A project without files may still hold
    history (deleted files, checkpoints) that deleting it loses, so rmdir asks first
    (--yes skips the question, and is needed when there is no terminal to ask on).
    """
    from anaconda_storage_core import Conflict

    output = Output(quiet=quiet)
    uris = [_in_project(remote.parse(path), "rmdir") for path in paths]
    with remote.connect() as client:
        for uri in uris:
            if not uri.path:
                _remove_project(client, uri, output, yes)
                continue
            try:
                client.remove_directory(uri)
            except Conflict as exc:
                raise Conflict(f"{exc} ({_rm_r_hint(uri)} removes it and all below it)") from None
            output.success(f"removed directory {uri}")


def _remove_project(client: StorageClient, uri: StorageURI, output: Output, yes: bool) -> None:
    """rmdir of a project: it goes if it holds no file, after asking if it holds history.

    The server decides what is empty (no file, no history: issue 11); a project it refuses
    is either one with files, which rmdir leaves to rm -r, or one whose history only goes
    when asked for (`discard_history`, which never deletes a file added meanwhile).
    """
    from anaconda_storage_core import Conflict

    try:
        client.remove_directory(uri)
    except Conflict:
        files = client.get_project(uri).file_count
        if files:
            noun = "file" if files == 1 else "files"
            raise Conflict(
                f"project {uri} is not empty: it holds {files} {noun}"
                f" ({_rm_r_hint(uri)} deletes it with them and all their history)"
            ) from None
        if not _confirmed(uri, 0, yes, "rmdir"):
            output.info(f"kept project {uri}")
            return
        client.delete_project(uri, discard_history=True)
        output.success(f"deleted project {uri} and its history{_trash_hint(uri)}")
        return
    output.success(f"removed project {uri}")


def _rm_r_hint(uri: StorageURI) -> str:
    return f"`anaconda storage rm -r {shlex.quote(uri.fs_path)}`"


# -- rm --------------------------------------------------------------------------------


def rm(
    paths: PathsArg,
    recursive: RecursiveOpt = False,
    exclude: ExcludeOpt = None,
    include: IncludeOpt = None,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
    purge: Annotated[
        bool,
        typer.Option(
            "--purge",
            help="With -r on a project: delete it and its history for good, not into the trash.",
            show_default=False,
        ),
    ] = False,
) -> None:
    """Remove files or directories within a project.

    A file's history stays: rm records a deletion, and PATH#-1 still reads what was there.
    rm -r removes a directory, or a whole project with all its history, after asking
    (--yes skips the question, and is needed when there is no terminal to ask on). A
    deleted project waits in its owner's trash (ls --deleted OWNER), from which restore
    brings it back; --purge deletes it for good. With --exclude or --include, rm -r
    removes the selected files below a directory or project and leaves the rest (and the
    project) in place. A path that cannot be removed does not stop the others.
    """
    from anaconda_storage_cli.progress import SilentReporter

    output = Output(json=json, quiet=quiet)
    select = Selection(exclude, include)
    uris = [_in_project(remote.parse(path), "rm") for path in expand_arguments(paths)]
    summary = Summary("remove", dry_run=dry_run)
    jobs: list[Job] = []
    with remote.connect() as client:
        for uri in uris:
            try:
                job = _removal(client, uri, output, recursive, force, dry_run, yes, purge, select)
            except ConfirmationNeeded:
                raise  # a command line to fix (add --yes), not a file that failed
            except Exception as exc:  # reported with the others, after the rest is done
                job = Job(str(uri), "", None, _raise(exc))
            if job is not None:
                jobs.append(job)
        if not jobs and not json:
            return  # nothing to remove (rm -f of nothing, a declined question): no summary
        run_jobs("remove", jobs, workers=4, reporter=SilentReporter(), summary=summary)
    # One outcome per file removed, rather than per argument; a directory's .keep marker
    # is no file (listings hide it), so it is not counted or listed as one.
    summary.done = [
        Outcome(Job(path, "", None, outcome.job.run))
        for outcome in summary.done
        for path in outcome.result
        if path.rpartition("/")[2] != remote.KEEP
    ]
    if dry_run and not json:
        output.lines(f"would remove {outcome.job.source}" for outcome in summary.done)
    finish(summary, output)


def _raise(exc: Exception) -> Callable[[Callable[[int], None]], list[str]]:
    def run(advance: Callable[[int], None]) -> list[str]:
        raise exc

    return run


def _removal(
    client: StorageClient,
    uri: StorageURI,
    output: Output,
    recursive: bool,
    force: bool,
    dry_run: bool,
    yes: bool,
    purge: bool = False,
    select: Selection | None = None,
) -> Job | None:
    """The job that removes ``uri`` and returns the files removed (in a dry run, the job
    only returns them); None when there is nothing to do."""
    from anaconda_storage_core import NotFound, ReadOnlyError

    if uri.is_versioned:
        raise ReadOnlyError(f"cannot remove {uri}: history is read-only (drop the '#...')")
    if not uri.path and recursive and select:
        # Filtered, a project stays: only the selected files below it go.
        return _selected_removal(client, uri, select, dry_run)
    if not uri.path:
        if not recursive:
            raise UsageProblem(
                f"{uri} is a project: rm -r deletes it with all its files and history"
                " (rmdir deletes an empty one)"
            )
        project = client.get_project(uri)
        files = [str(uri.join(e.path)) for e in client.list_tree(uri, include_markers=True)]
        if dry_run:
            output.info(f"would delete project {uri} and its history")
            return Job(str(uri), "", None, lambda advance: files)
        if not _confirmed(uri, project.file_count, yes, "rm -r", purge=purge):
            output.info(f"kept project {uri}")
            return None

        def delete_project(advance: Callable[[int], None]) -> list[str]:
            client.delete_project(uri, recursive=True, purge=purge)
            if purge:
                output.success(f"deleted project {uri} and its history for good")
            else:
                output.success(f"deleted project {uri} and its history{_trash_hint(uri)}")
            return files

        return Job(str(uri), "", None, delete_project)
    try:
        found = remote.describe_remote(client, uri)
    except NotFound:
        if force:
            return None
        raise
    if found.kind is Kind.MISSING:
        if force:
            return None
        raise NotFound(f"{uri} not found: no such file or directory", missing="path")
    if found.kind is Kind.DIRECTORY:
        if not recursive:
            raise UsageProblem(f"{uri} is a directory: use rm -r to remove it and all below it")
        if select:
            return _selected_removal(client, uri, select, dry_run)
        if dry_run:
            listed = [
                str(uri.project_uri.join(e.path))
                for e in client.list_tree(uri, include_markers=True)
            ]
            return Job(str(uri), "", None, lambda advance: listed)

        def delete_directory(advance: Callable[[int], None]) -> list[str]:
            result = client.delete_many(uri)
            return [str(uri.project_uri.join(path)) for path in result.deleted]

        return Job(str(uri), "", None, delete_directory)

    if select and not select.keeps(uri.name):
        return None

    def delete_file(advance: Callable[[int], None]) -> list[str]:
        if not dry_run:
            client.delete(uri)
        return [str(uri)]

    return Job(str(uri), "", None, delete_file)


def _selected_removal(
    client: StorageClient, uri: StorageURI, select: Selection, dry_run: bool
) -> Job:
    """The job that removes the files below a directory or project that ``select`` keeps
    (paths relative to ``uri``), in one request per thousand."""
    from anaconda_storage_core import FileInfo

    base = f"{uri.path}/" if uri.path else ""
    # Without the markers: they are not files, and a directory emptied keeps its own.
    paths = select.files(
        entry.path[len(base) :]
        for entry in client.list_tree(uri)
        if isinstance(entry, FileInfo) and entry.path.startswith(base)
    )

    def delete_selected(advance: Callable[[int], None]) -> list[str]:
        if dry_run or not paths:
            return [str(remote.below(uri, path)) for path in paths]
        result = client.delete_many(uri, paths)
        return [str(uri.project_uri.join(path)) for path in result.deleted]

    return Job(str(uri), "", None, delete_selected)


class ConfirmationNeeded(UsageProblem):
    """Deleting a project needs a yes, and there is no terminal to ask on."""


def _can_ask() -> bool:
    """Whether there is a person at a terminal to answer a question."""
    return sys.stdin.isatty()


def _trash_hint(uri: StorageURI) -> str:
    return f" (it waits in the trash: anaconda storage restore {uri} brings it back)"


def _confirmed(
    uri: StorageURI, files: int, yes: bool, command: str, *, purge: bool = False
) -> bool:
    """Whether the project may go with its ``files`` and all its history (``command`` is
    what the user typed, for the refusal when nobody can be asked)."""
    if yes:
        return True
    if not _can_ask():
        raise ConfirmationNeeded(
            f"{command} {uri} deletes the project and all its history: there is no terminal"
            " to ask for confirmation, so add --yes"
        )
    noun = "file" if files == 1 else "files"
    what = f"with its {files} {noun} and all their history" if files else "and all its history"
    after = (
        "This cannot be undone"
        if purge
        else "It waits in the trash until the server purges it (anaconda storage restore)"
    )
    return typer.confirm(
        f"Delete project {uri} {what}? {after}",
        default=False,
        err=True,
    )


# -- touch -----------------------------------------------------------------------------


def touch(
    paths: PathsArg,
    truncate: Annotated[
        bool,
        typer.Option("--truncate", help="Empty files that exist.", show_default=False),
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Create a new empty file. Use --truncate to overwrite an existing file.

    An existing file is left alone (no new revision) unless --truncate empties it, which
    records a revision: its content before stays readable as PATH#-1.
    """
    from anaconda_storage_core import PreconditionFailed

    output = Output(quiet=quiet)
    uris = [_in_project(remote.parse(path), "touch") for path in paths]
    with remote.connect() as client:
        for uri in uris:
            if not uri.path:
                raise UsageProblem(f"{uri} is a project: touch creates files (owner/project/path)")
            if truncate:
                client.upload(uri, b"")
                output.success(f"truncated {uri}")
                continue
            try:
                client.upload(uri, b"", if_none_match="*")
            except PreconditionFailed:
                output.info(f"{uri} exists: left as it is (--truncate empties it)")
            else:
                output.success(f"created {uri}")


# -- shared ----------------------------------------------------------------------------


def _in_project(uri: StorageURI, command: str) -> StorageURI:
    if uri.project is None:
        what = f"owner {uri.owner}" if uri.owner else "the root"
        raise UsageProblem(
            f"{command} works in a project: {what} is not one (owner/project or owner/project/path)"
        )
    return uri


def _with_project_hint(exc: Exception, uri: StorageURI) -> Exception:
    from anaconda_storage_core import NotFound

    if isinstance(exc, NotFound) and exc.missing == "project":
        return NotFound(
            f"{exc} (create it with `{remote.project_hint(uri)}`, or use mkdir -p)",
            missing="project",
        )
    return exc


COMMANDS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "mkdir": (
        mkdir,
        (
            "anaconda storage mkdir alice/sales",
            "anaconda storage mkdir alice/sales/2024/raw",
            "anaconda storage mkdir -p alice/new-project/inbox",
        ),
    ),
    "rmdir": (
        rmdir,
        (
            "anaconda storage rmdir alice/sales/2024/raw",
            "anaconda storage rmdir alice/empty-project",
            "anaconda storage rmdir --yes alice/emptied-project",
        ),
    ),
    "rm": (
        rm,
        (
            "anaconda storage rm alice/sales/2024/q1.csv",
            "anaconda storage rm -r --dry-run alice/sales/2024",
            "anaconda storage rm 'alice/sales/**/*.tmp'",
            "anaconda storage rm -r --yes alice/old-project",
        ),
    ),
    "touch": (
        touch,
        (
            "anaconda storage touch alice/sales/README.md",
            "anaconda storage touch --truncate alice/sales/log.txt",
        ),
    ),
}
