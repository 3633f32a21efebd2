"""``sync``: make a destination directory hold what a source directory holds, sending only
what differs by content.

Either side is a local directory or a remote ``owner/project[/dir]``; a remote source may be
history (``alice/sales#2024-05-01T12:00:00/data``, ``alice/sales#-1/data``). Where the
source goes follows the rsync rule of ``upload``, ``download`` and ``cp`` (``targets``):
``SRC/`` syncs SRC's contents into DST, ``SRC`` syncs SRC into ``DST/SRC``. The destination
directory is made even when the source is empty, as rsync makes it.

A source may also be one file (maybe at a ``#revision`` or a checkpoint), as ``rclone sync
file dst`` takes one: it is copied to ``DST/<name>`` when DST is a directory (it exists as
one, or is written ``DST/``), else onto DST itself, unless the content there is the same.
Both sides are then listings of one entry under the relative path ``""`` (the side is the
file itself), so the same comparison and transfers run. ``--delete`` is refused with a file
source, as rclone refuses it: there is nothing beside the file that sync could mean to
delete.

The comparison is core's (``anaconda_storage_core.sync.plan_sync``): sha256 against sha256,
the remote digests from one paged listing, the local ones from a hash cache that reads a
file only when its size, mtime or inode changed. What each side is and holds is
``sync_sides``'s; this module plans, runs the plan (uploads, downloads or server-side
copies, with the transfer machinery of the other commands) and sums it up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from anaconda_storage_cli import remote
from anaconda_storage_cli.completion import remote_completer
from anaconda_storage_cli.downloads import Downloads
from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.filters import Selection
from anaconda_storage_cli.formats import human_size
from anaconda_storage_cli.options import (
    DryRunOpt,
    ExcludeOpt,
    IncludeOpt,
    JobsOpt,
    JsonOpt,
    QuietOpt,
    Verification,
    VerifyOpt,
)
from anaconda_storage_cli.output import Output
from anaconda_storage_cli.progress import make_reporter
from anaconda_storage_cli.resuming import Resumable
from anaconda_storage_cli.sync_sides import (
    Side,
    file_listing,
    listing,
    source_side,
    target_side,
)
from anaconda_storage_cli.targets import Kind, plan
from anaconda_storage_cli.transfers import Job, Summary, failure_line, run_jobs

if TYPE_CHECKING:
    from anaconda_storage_core import StorageClient, StorageURI
    from anaconda_storage_core.sync import HashCache, PathFilter, SyncAction, SyncPlan

__all__ = ["COMMANDS", "sync"]

Advance = Callable[[int], None]

SourceArg = Annotated[
    str,
    typer.Argument(
        metavar="SRC",
        **remote_completer(),
        help="A local directory or file, or owner/project or owner/project/path"
        " (anaconda:// optional),"
        " maybe at a #<checkpoint> (a file also at a #<revision>). SRC/ (trailing slash)"
        " syncs its contents; SRC alone syncs SRC into DST/SRC. A file goes into DST when"
        " DST is a directory (or written DST/), else onto DST.",
        show_default=False,
    ),
]
DestinationArg = Annotated[
    str,
    typer.Argument(
        metavar="DST",
        **remote_completer(),
        help="A local directory, or owner/project or owner/project/dir; created if missing"
        " (not the project). For a file SRC, also the target file's path.",
        show_default=False,
    ),
]
DeleteOpt = Annotated[
    bool,
    typer.Option(
        "--delete",
        help="Also delete what DST holds and SRC does not (remote deletions keep their"
        " history: restore with #-1). Refused when SRC is a file.",
        show_default=False,
    ),
]


@dataclass
class _Failure:
    path: str
    error: BaseException


@dataclass
class SyncSummary:
    """What a sync did (or, in a dry run, would do)."""

    copied: int = 0
    skipped: int = 0
    deleted: int = 0
    directories: int = 0
    bytes: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    failures: list[_Failure] = field(default_factory=list)
    restorable: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document."""
        from anaconda_storage_cli.errors import describe

        return {
            "copied": self.copied,
            "skipped": self.skipped,
            "deleted": self.deleted,
            "failed": len(self.failures),
            "bytes": self.bytes,
            "failures": [{"path": f.path, "error": describe(f.error)} for f in self.failures],
            "directories": self.directories,
            "dry_run": self.dry_run,
        }


def sync(
    source: SourceArg,
    destination: DestinationArg,
    delete: DeleteOpt = False,
    exclude: ExcludeOpt = None,
    include: IncludeOpt = None,
    jobs: JobsOpt = 8,
    verify: VerifyOpt = Verification.crc32c,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Make DST hold what SRC holds, sending only files whose content differs.

    Files are compared by sha256: the server's from its listing, local ones from a cache
    in your user cache directory, so unchanged local files are not even read again. A
    file that has not changed is not sent and gets no new revision: run it from cron and
    only changes travel. Remote to remote runs on the server (no bytes through this
    machine). Interrupted, run it again: finished files are skipped and a large upload
    continues from the parts the server kept. Paths left out by --exclude/--include are
    neither copied nor deleted. SRC may be one file: it is copied unless DST (or DST/<name>
    when DST is a directory) already holds the same content.
    """
    from anaconda_storage_core.sync import PathFilter

    output = Output(json=json, quiet=quiet)
    select = Selection(exclude, include).path_filter or PathFilter()
    started = time.monotonic()
    with remote.connect() as client:
        src, what = source_side(client, source)
        dst, target = target_side(client, destination)
        if src.path is not None and dst.path is not None:
            raise UsageProblem("sync needs a remote side: for two local paths use rsync")
        if what.kind is Kind.FILE and delete:
            # rclone refuses it too: beside one file there is nothing sync could mean to delete.
            raise UsageProblem(
                f"{source} is a file: --delete needs a directory source (a file sync deletes"
                " nothing; drop --delete)"
            )
        inside = dst.into(plan(what, target).root)
        if src.uri is not None and src.uri in (dst.uri, inside.uri):
            raise UsageProblem(f"{src.uri} is both the source and the destination")
        dst = inside
        summary = SyncSummary(dry_run=dry_run)
        caches: list[HashCache] = []
        try:
            if what.kind is Kind.FILE:
                steps = _plan_file(client, src, dst, what.name, caches, select=select)
            else:
                steps = _plan(client, src, dst, caches, output, delete=delete, select=select)
            summary.skipped = sum(1 for step in steps.skips if not step.entry.directory)
            # An empty source still makes the destination directory (rsync's rule).
            make_root = what.kind is Kind.DIRECTORY and not steps.copies and not steps.skips
            if dry_run:
                _dry_run(steps, src, dst, summary, output)
                if make_root and _missing(client, dst):
                    summary.directories += 1
                    if not output.json:
                        output.lines([f"would make directory {dst.below('')}"])
            else:
                _delete(client, steps, dst, summary)
                _make_directories(client, steps, dst, summary)
                if make_root:
                    _make_root(client, dst, summary)
                _copy(client, steps, src, dst, caches, summary, output, workers=jobs, verify=verify)
        finally:
            for cache in caches:
                cache.save()
    summary.seconds = time.monotonic() - started
    _finish(summary, dst, output)


def _plan(
    client: StorageClient,
    src: Side,
    dst: Side,
    caches: list[HashCache],
    output: Output,
    *,
    delete: bool,
    select: PathFilter,
) -> SyncPlan:
    from anaconda_storage_core.sync import plan_sync

    source, source_digest = listing(client, src, caches, output)
    destination, destination_digest = listing(client, dst, caches, output)
    return plan_sync(
        source,
        destination,
        delete=delete,
        select=select,
        source_digest=source_digest,
        destination_digest=destination_digest,
    )


def _plan_file(
    client: StorageClient,
    src: Side,
    dst: Side,
    name: str,
    caches: list[HashCache],
    *,
    select: PathFilter,
) -> SyncPlan:
    """The plan for a file source: copy it or skip it (a filter sees the file's name)."""
    from anaconda_storage_core.sync import plan_sync

    source, source_digest = file_listing(client, src, caches)
    destination, destination_digest = file_listing(client, dst, caches)
    if select and not select.selects(name):
        source = {}
    return plan_sync(
        source,
        destination,
        source_digest=source_digest,
        destination_digest=destination_digest,
    )


# -- running the plan ------------------------------------------------------------------


def _verb(src: Side, dst: Side) -> str:
    if src.uri is None:
        return "upload"
    return "download" if dst.uri is None else "copy"


def _dry_run(steps: SyncPlan, src: Side, dst: Side, summary: SyncSummary, output: Output) -> None:
    verb = _verb(src, dst)
    # Deletions first: what a sync would remove is what a reader most needs to see.
    lines = [f"would delete {dst.below(step.path)}" for step in steps.deletions]
    for step in steps.copies:
        if step.entry.directory:
            lines.append(f"would make directory {dst.below(step.path)}")
            summary.directories += 1
        else:
            lines.append(f"would {verb} {src.below(step.path)} -> {dst.below(step.path)}")
            summary.copied += 1
            summary.bytes += step.entry.size
    summary.deleted = len(steps.deletions)
    if not output.json:
        output.lines(lines)


def _delete(client: StorageClient, steps: SyncPlan, dst: Side, summary: SyncSummary) -> None:
    if not steps.deletions:
        return
    if dst.uri is not None:
        _delete_remote(client, steps.deletions, dst.uri, summary)
    else:
        _delete_local(steps, dst, summary)


def _delete_remote(
    client: StorageClient, deletions: tuple[SyncAction, ...], uri: StorageURI, summary: SyncSummary
) -> None:
    from anaconda_storage_core.sync import KEEP

    paths = [f"{s.path}/{KEEP}" if s.entry.directory else s.path for s in deletions]
    try:
        # One request per thousand paths, each one transaction: a deletion revision per file
        # (paths found gone already count as deleted all the same).
        client.delete_many(uri, paths)
    except Exception as exc:
        summary.failures += [_Failure(str(remote.below(uri, p)), exc) for p in paths]
        return
    summary.deleted += len(deletions)
    summary.restorable += [
        str(remote.below(uri, s.path)) for s in deletions if not s.entry.directory
    ]


def _delete_local(steps: SyncPlan, dst: Side, summary: SyncSummary) -> None:
    assert dst.path is not None
    emptied: set[str] = set()
    for step in steps.deletions:
        local = Path(dst.below(step.path))
        try:
            if step.entry.directory:
                local.rmdir()
            else:
                local.unlink()
        except FileNotFoundError:
            pass  # gone already
        except OSError as exc:
            summary.failures.append(_Failure(str(local), exc))
            continue
        summary.deleted += 1
        parent = step.path.rpartition("/")[0]
        while parent:
            emptied.add(parent)
            parent = parent.rpartition("/")[0]
    # Directories that held only deleted files go too (rsync's --delete), unless the source
    # has them: innermost first; one that still holds something stays.
    wanted = {step.path for step in (*steps.copies, *steps.skips)}
    for directory in sorted(emptied, key=lambda d: -d.count("/")):
        if directory in wanted or any(p.startswith(f"{directory}/") for p in wanted):
            continue
        with suppress(OSError):  # not empty (an excluded file, say): it stays
            Path(dst.below(directory)).rmdir()


def _make_directories(
    client: StorageClient, steps: SyncPlan, dst: Side, summary: SyncSummary
) -> None:
    for step in steps.copies:
        if not step.entry.directory:
            continue
        where = dst.below(step.path)
        try:
            if dst.uri is not None:
                client.make_directory(remote.below(dst.uri, step.path))
            else:
                Path(where).mkdir(parents=True, exist_ok=True)
        except Exception as exc:
            summary.failures.append(_Failure(where, exc))
        else:
            summary.directories += 1


def _missing(client: StorageClient, side: Side) -> bool:
    """Whether a destination directory does not exist (a project always does)."""
    if side.uri is not None:
        return bool(side.uri.path) and remote.describe_remote(client, side.uri).kind is Kind.MISSING
    assert side.path is not None
    return not side.path.is_dir()


def _make_root(client: StorageClient, dst: Side, summary: SyncSummary) -> None:
    """Make the destination directory of an empty source, unless it exists (after the
    deletions, which may have emptied a remote one away)."""
    try:
        if not _missing(client, dst):
            return
        if dst.uri is not None:
            client.make_directory(dst.uri)  # its .keep marker, as mkdir writes it
        else:
            assert dst.path is not None
            dst.path.mkdir(parents=True)
    except Exception as exc:
        summary.failures.append(_Failure(dst.below(""), exc))
    else:
        summary.directories += 1


_VERBS = {"upload": "Uploading", "download": "Downloading", "copy": "Copying"}


def _copy(
    client: StorageClient,
    steps: SyncPlan,
    src: Side,
    dst: Side,
    caches: list[HashCache],
    summary: SyncSummary,
    output: Output,
    *,
    workers: int,
    verify: Verification,
) -> None:
    files = [step for step in steps.copies if not step.entry.directory]
    if not files:
        return
    operation = _verb(src, dst)
    resumable = Resumable(output)
    destination_cache = caches[-1] if dst.path is not None else None
    downloads = Downloads(client, verify)
    work = [
        _job(client, operation, step, src, dst, resumable, destination_cache, downloads)
        for step in files
    ]
    reporter = make_reporter(output.stderr, verb=_VERBS[operation], quiet=output.quiet)
    try:
        done = run_jobs(
            operation, work, workers=workers, reporter=reporter, summary=Summary(operation)
        )
    except KeyboardInterrupt:
        if operation == "upload":
            resumable.interrupted()
        raise
    if operation == "upload":
        resumable.failed()
    summary.copied += len(done.done)
    summary.bytes += done.bytes
    summary.failures += [_Failure(o.job.source, o.error) for o in done.failed if o.error]


def _job(
    client: StorageClient,
    operation: str,
    step: SyncAction,
    src: Side,
    dst: Side,
    resumable: Resumable,
    cache: HashCache | None,
    downloads: Downloads,
) -> Job:
    source, destination = src.below(step.path), dst.below(step.path)
    size = step.entry.size
    if operation == "upload":
        assert dst.uri is not None
        uri = remote.below(dst.uri, step.path)

        def upload(advance: Advance) -> str:
            info = client.upload(
                uri,
                Path(source),
                progress=advance,
                on_multipart=resumable.watch(source),
            )
            resumable.done(source)
            return info.revision

        return Job(source, destination, size, upload)
    assert src.uri is not None
    origin = remote.below(src.uri, step.path)
    if operation == "download":
        local = Path(destination)
        fetch = downloads.run(origin, local, size)

        def download(advance: Advance) -> str:
            info = fetch(advance)
            if cache is not None and info.sha256:
                # The server said what these bytes are (the answer they came with, not the
                # listing, which a write since may have outdated): the next sync need not
                # read them.
                cache.remember(local, local.stat(), info.sha256)
            return info.revision

        return Job(source, destination, size, download)
    assert dst.uri is not None
    target = remote.below(dst.uri, step.path)

    def copy(advance: Advance) -> str | None:
        result = client.copy(origin, target)  # on the server: no bytes through here
        return result.items[0].revision if result.items else None

    return Job(source, destination, None, copy)


# -- the summary -----------------------------------------------------------------------


def _finish(summary: SyncSummary, dst: Side, output: Output) -> None:
    from anaconda_storage_cli.errors import ExitCode, FilesFailed, exit_code_of

    if output.json:
        output.data(summary.to_json())
    elif not output.quiet:
        output.info(_summary_line(summary, dst))
        if summary.restorable:
            example = summary.restorable[0]
            output.info(
                f"deleted files keep their history: restore one with"
                f" `anaconda storage cp '{example}#-1' {example}`"
            )
    for failure in summary.failures:
        job = Job(failure.path, "", None, lambda advance: None)
        output.error(failure_line(job, failure.error))
    if summary.failures:
        done = summary.copied + summary.deleted + summary.directories
        first = summary.failures[0].error
        code = ExitCode.PARTIAL if done else exit_code_of(first)
        raise FilesFailed(len(summary.failures), len(summary.failures) + done, code)


def _summary_line(summary: SyncSummary, dst: Side) -> str:
    parts = [f"{summary.copied} {'file' if summary.copied == 1 else 'files'} copied"]
    if summary.bytes:
        parts[0] += f" ({human_size(summary.bytes)})"
    parts.append(f"{summary.skipped} unchanged")
    if summary.deleted:
        parts.append(f"{summary.deleted} deleted")
    if summary.directories:
        noun = "directory" if summary.directories == 1 else "directories"
        parts.append(f"{summary.directories} empty {noun} made")
    if summary.failures:
        parts.append(f"{len(summary.failures)} failed")
    where = dst.below("")
    if summary.dry_run:
        return f"dry run of a sync to {where}: would have {', '.join(parts)}; nothing was changed"
    return f"Synced {where}: " + ", ".join(parts) + f" in {summary.seconds:.1f} s"


COMMANDS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "sync": (
        sync,
        (
            "anaconda storage sync ./data alice/sales           # gives alice/sales/data/...",
            "anaconda storage sync ./data/ alice/sales/data     # only what changed is sent",
            "anaconda storage sync --delete --exclude '*.tmp' ./data/ alice/sales/data",
            "anaconda storage sync alice/sales/data/ ./data",
            "anaconda storage sync 'alice/sales#2024-05-01T12:00:00/data/' ./as-of-may",
            "anaconda storage sync alice/sales/ bob/backup/sales   # on the server",
            "anaconda storage sync ./report.csv alice/sales/reports/   # one file, if changed",
        ),
    ),
}
