"""Moving files: ``upload``, ``download``, ``cp`` and ``mv``, by the rsync rule.

``SRC/`` means the contents of SRC; ``SRC`` without the slash puts the directory itself
inside the destination (``upload ./data o/p/in`` gives ``o/p/in/data/...``). ``targets``
computes where each file goes; this module lists the sources, runs the plan (many files at
once, a failure not stopping the others) and sums it up. ``cp`` and ``mv`` between
projects run on the server: no content passes through this machine. Downloads read small
files together (``downloads``).
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, List, Optional  # noqa: UP035

import typer

from anaconda_storage_cli import remote
from anaconda_storage_cli.completion import remote_completer
from anaconda_storage_cli.downloads import Downloads
from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.filters import Selection
from anaconda_storage_cli.local import has_trailing_separator, local_kind, local_listing
from anaconda_storage_cli.options import (
    DryRunOpt,
    ExcludeOpt,
    IncludeOpt,
    JobsOpt,
    JsonOpt,
    QuietOpt,
    RecursiveOpt,
    Verification,
    VerifyOpt,
    WholeDirectoriesOpt,
)
from anaconda_storage_cli.output import Output
from anaconda_storage_cli.progress import make_reporter
from anaconda_storage_cli.resuming import Resumable
from anaconda_storage_cli.targets import (
    Destination,
    Kind,
    Source,
    check_destination,
    local_contents,
    plan,
    remote_destination,
)
from anaconda_storage_cli.transfers import Job, Outcome, Summary, finish, run_jobs
from anaconda_storage_cli.wildcards import expand_arguments, no_wildcard_in

if TYPE_CHECKING:
    from anaconda_storage_cli.targets import FileTarget
    from anaconda_storage_core import CopyResult, StorageClient, StorageURI, UploadSettings

__all__ = ["COMMANDS", "cp", "download", "mv", "upload"]

Advance = Callable[[int], None]

SourcesAndDestination = Annotated[
    List[str],  # noqa: UP006
    typer.Argument(
        metavar="SRC... DST",
        help="One or more sources, then the destination. SRC/ (trailing slash) means the"
        " contents of SRC; SRC alone puts SRC itself inside DST.",
        show_default=False,
    ),
]

RemoteSourcesAndDestination = Annotated[
    List[str],  # noqa: UP006
    typer.Argument(
        metavar="SRC... DST",
        **remote_completer(),
        help="One or more remote sources, then the remote destination. SRC/ (trailing"
        " slash) means the contents of SRC; SRC alone puts SRC itself inside DST. `-` reads"
        " stdin (as SRC) or writes stdout (as DST).",
        show_default=False,
    ),
]

PartSizeOpt = Annotated[
    Optional[str],  # noqa: UP045  (typer 0.12 cannot read `str | None`)
    typer.Option(
        "--part-size",
        metavar="SIZE",
        help="Send files larger than SIZE in parts of SIZE (at least 5MiB), which an"
        " interrupted upload keeps for the next run. Default: files over 64MiB, in 16MiB"
        " parts.",
        show_default=False,
    ),
]

_SIZE = re.compile(r"\s*(\d+)\s*(?:([KMGT])(I?)(B?)|B?)\s*")
_POWERS = {"K": 1, "M": 2, "G": 3, "T": 4}


def _parse_size(text: str) -> int:
    """``5MiB`` or ``5M`` (binary), ``5MB`` (decimal), or a number of bytes."""
    match = _SIZE.fullmatch(text.upper())
    if match is None:
        raise UsageProblem(f"not a size: {text!r} (for example 8MiB)")
    number, unit, binary, byte = match.groups()
    if unit is None:
        return int(number)
    base = 1000 if byte and not binary else 1024
    power: int = base ** _POWERS[unit]
    return int(number) * power


_VERBS = {"upload": "Uploading", "download": "Downloading", "copy": "Copying", "move": "Moving"}


def _split(paths: list[str], command: str) -> tuple[list[str], str]:
    if len(paths) < 2:
        raise UsageProblem(f"{command} needs a source and a destination: {command} SRC... DST")
    return paths[:-1], paths[-1]


def _run(
    operation: str,
    jobs: list[Job],
    directories: list[str],
    output: Output,
    *,
    dry_run: bool,
    workers: int,
    make_directories: Callable[[], None] = lambda: None,
) -> Summary:
    summary = Summary(operation, directories=directories, dry_run=dry_run)
    if dry_run:
        lines = [f"would make directory {d}" for d in directories]
        lines += [f"would {operation} {job.source} -> {job.destination}" for job in jobs]
        if not output.json:
            output.lines(lines)
        summary.done = [Outcome(job) for job in jobs]
        return summary
    make_directories()
    reporter = make_reporter(output.stderr, verb=_VERBS[operation], quiet=output.quiet)
    return run_jobs(operation, jobs, workers=workers, reporter=reporter, summary=summary)


def _failing(error: Exception) -> Callable[[Advance], Any]:
    def run(advance: Advance) -> Any:
        raise error

    return run


# -- upload ----------------------------------------------------------------------------


def upload(
    paths: SourcesAndDestination,
    recursive: WholeDirectoriesOpt = False,
    exclude: ExcludeOpt = None,
    include: IncludeOpt = None,
    jobs: JobsOpt = 8,
    part_size: PartSizeOpt = None,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Upload files or directories.

    Directories go as they are (no -r needed), with their empty subdirectories. The
    destination directory is created if needed; the project must exist (mkdir it).
    Large files go in parts: an upload interrupted (Ctrl-C, a dropped network) keeps
    the parts the server received, and the same command run again sends only the rest.
    """
    from anaconda_storage_core import UploadSettings

    output = Output(json=json, quiet=quiet)
    settings = UploadSettings()
    if part_size is not None:
        size = _parse_size(part_size)
        try:
            settings = UploadSettings(part_size=size, multipart_threshold=size)
        except ValueError as exc:
            raise UsageProblem(f"--part-size {part_size}: {exc}") from None
    resumable = Resumable(output)
    select = Selection(exclude, include)
    sources, destination = _split(paths, "upload")
    no_wildcard_in(destination, "upload")
    dst = remote.parse(destination)
    if dst.is_versioned:
        raise UsageProblem(f"cannot upload to {dst}: history is read-only (drop the '#...')")
    work: list[Job] = []
    directories: list[StorageURI] = []
    with remote.connect() as client:
        target = remote_destination(client, dst, destination)
        check_destination(target, len(sources))
        for text in sources:
            path = Path(text)
            kind = local_kind(path)
            if kind is Kind.MISSING:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", text)
            files: tuple[str, ...] = ()
            empty: tuple[str, ...] = ()
            if kind is Kind.DIRECTORY:
                files, empty, skipped = local_listing(path)
                for link in skipped:
                    output.warning(f"skipped {path / link}: a symlink to a directory")
                files, empty = select.files(files), select.directories(empty)
            elif not select.keeps(path.name):
                continue
            # The name as written (a symlink keeps its own), "data" for "./data/".
            name = Path(os.path.abspath(text)).name
            source = Source(text, name, kind, local_contents(text), files, empty)
            result = plan(source, target, many=len(sources) > 1)
            for item in result.files:
                local = path / item.source if item.source else path
                work.append(_upload_job(client, local, dst, item.destination, settings, resumable))
            directories += [remote.below(dst, d) for d in result.directories]

        def make_directories() -> None:
            for directory in directories:
                client.make_directory(directory)

        try:
            summary = _run(
                "upload",
                work,
                [str(d) for d in directories],
                output,
                dry_run=dry_run,
                workers=jobs,
                make_directories=make_directories,
            )
        except KeyboardInterrupt:
            resumable.interrupted()
            raise
    resumable.failed()
    finish(summary, output)


def _upload_job(
    client: StorageClient,
    local: Path,
    dst: StorageURI,
    relative: str,
    settings: UploadSettings,
    resumable: Resumable,
) -> Job:
    try:
        target = remote.below(dst, relative)
    except ValueError as exc:  # a local name the store cannot hold (InvalidURI)
        return Job(str(local), f"{dst}/{relative}", None, _failing(exc))

    def run(advance: Advance) -> str:
        info = client.upload(
            target,
            local,
            part_size=settings.part_size,
            multipart_threshold=settings.multipart_threshold,
            progress=advance,
            on_multipart=resumable.watch(str(local)),
        )
        resumable.done(str(local))
        return info.revision

    return Job(str(local), str(target), local.stat().st_size, run)


# -- download --------------------------------------------------------------------------


def download(
    paths: SourcesAndDestination,
    recursive: WholeDirectoriesOpt = False,
    exclude: ExcludeOpt = None,
    include: IncludeOpt = None,
    jobs: JobsOpt = 8,
    verify: VerifyOpt = Verification.crc32c,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Download whole projects, files, or directories.

    Sources may be read as they were: a project at a #<checkpoint>, a file at a
    #<revision>. Empty directories arrive as empty directories (their .keep markers stay
    on the server). Existing local files are replaced. Small files are read together,
    up to a thousand in one request.
    """
    output = Output(json=json, quiet=quiet)
    select = Selection(exclude, include)
    sources, destination = _split(paths, "download")
    _download(
        expand_arguments(sources),
        destination,
        output,
        select,
        workers=jobs,
        verify=verify,
        dry_run=dry_run,
    )


def _download(
    sources: list[str],
    destination: str,
    output: Output,
    select: Selection,
    *,
    workers: int,
    verify: Verification,
    dry_run: bool,
) -> None:
    """Download remote ``sources`` into the local ``destination``."""
    from anaconda_storage_core import NotFound, has_trailing_slash

    root = Path(destination)
    target = Destination(destination, local_kind(root), has_trailing_separator(destination))
    check_destination(target, len(sources))
    work: list[Job] = []
    directories: list[Path] = []
    with remote.connect() as client:
        downloads = Downloads(client, verify)
        for text in sources:
            uri = remote.parse(text)
            found = remote.describe_remote(client, uri)
            if found.kind is Kind.MISSING:
                raise NotFound(f"{uri} not found: no such file or directory", missing="path")
            listing = remote.Listing((), (), {})
            if found.kind is Kind.DIRECTORY:
                listing = remote.listing(client, uri)
            elif not select.keeps(uri.name):
                continue
            name = uri.name
            files, empty = select.files(listing.files), select.directories(listing.directories)
            source = Source(text, name, found.kind, has_trailing_slash(text), files, empty)
            result = plan(source, target, many=len(sources) > 1)
            for item in result.files:
                size = listing.sizes.get(item.source) if item.source else _size(found.entry)
                work.append(
                    _download_job(
                        downloads,
                        remote.below(uri, item.source),
                        root,
                        item.destination,
                        size,
                    )
                )
            # Only the directories left empty: one that receives files is made by them.
            directories += [
                root / d if d else root for d in _empty(result.directories, result.files)
            ]

        def make_directories() -> None:
            for directory in directories:
                directory.mkdir(parents=True, exist_ok=True)

        summary = _run(
            "download",
            work,
            [str(d) for d in directories],
            output,
            dry_run=dry_run,
            workers=workers,
            make_directories=make_directories,
        )
    finish(summary, output)


def _empty(directories: tuple[str, ...], files: tuple[FileTarget, ...]) -> list[str]:
    """The ``directories`` (relative destinations) that none of ``files`` goes into."""
    holding: set[str] = set()
    for item in files:
        parent = item.destination.rpartition("/")[0] if item.destination else None
        while parent is not None:
            holding.add(parent)
            parent = parent.rpartition("/")[0] if parent else None
    return [d for d in directories if d not in holding]


def _size(entry: object) -> int | None:
    size = getattr(entry, "size", None)
    return size if isinstance(size, int) else None


def _download_job(
    downloads: Downloads,
    source: StorageURI,
    root: Path,
    relative: str,
    size: int | None,
) -> Job:
    local = root.joinpath(*relative.split("/")) if relative else root
    fetch = downloads.run(source, local, size)
    return Job(str(source), str(local), size, lambda advance: fetch(advance).revision)


# -- cp / mv ---------------------------------------------------------------------------


def cp(
    paths: RemoteSourcesAndDestination,
    recursive: RecursiveOpt = False,
    exclude: ExcludeOpt = None,
    include: IncludeOpt = None,
    jobs: JobsOpt = 8,
    verify: VerifyOpt = Verification.crc32c,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Copy files and folders within and between projects.

    The copy happens on the server: no content passes through this machine. A source may
    be history (a #<revision> or a project #<checkpoint>): copying an old revision onto
    its own path restores it. A directory needs -r, as with Unix cp. `-` as the source
    reads stdin, as the destination writes to stdout (checked as --verify says).
    """
    output = Output(json=json, quiet=quiet)
    sources, destination = _split(paths, "cp")
    no_wildcard_in(destination, "cp")
    sources = expand_arguments(sources)
    if destination == "-":
        _copy_to_stdout(sources, output, verify)
        return
    if "-" in sources:
        _copy_from_stdin(sources, destination, output)
        return
    _server_side(
        "copy",
        sources,
        destination,
        output,
        recursive=recursive,
        dry_run=dry_run,
        workers=jobs,
        select=Selection(exclude, include),
    )


def mv(
    paths: RemoteSourcesAndDestination,
    jobs: JobsOpt = 8,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Move/rename files and folders within and between projects.

    The move happens on the server, in one transaction per source: the sources get a
    deletion revision (their history stays), the destinations a new one. Directories move
    as they are (no -r needed).
    """
    output = Output(json=json, quiet=quiet)
    sources, destination = _split(paths, "mv")
    no_wildcard_in(destination, "mv")
    sources = expand_arguments(sources)
    _server_side(
        "move", sources, destination, output, recursive=True, dry_run=dry_run, workers=jobs
    )


def _server_side(
    operation: str,
    sources: list[str],
    destination: str,
    output: Output,
    *,
    recursive: bool,
    dry_run: bool,
    workers: int,
    select: Selection | None = None,
) -> None:
    select = select or Selection(None, None)
    dst = remote.parse(destination)
    if dst.is_versioned:
        raise UsageProblem(f"cannot {operation} to {dst}: history is read-only (drop the '#...')")
    uris = [remote.parse(text) for text in sources]
    if operation == "move":
        for uri in uris:
            if uri.is_versioned:
                raise UsageProblem(
                    f"cannot move {uri}: history stays where it is (cp copies an old revision)"
                )
    work: list[Job] = []
    directories: list[StorageURI] = []
    with remote.connect() as client:
        target = remote_destination(client, dst, destination)
        check_destination(target, len(sources))
        from anaconda_storage_core import NotFound, has_trailing_slash

        for text, uri in zip(sources, uris, strict=True):
            found = remote.describe_remote(client, uri)
            if found.kind is Kind.MISSING:
                raise NotFound(f"{uri} not found: no such file or directory", missing="path")
            is_directory = found.kind is Kind.DIRECTORY
            if is_directory and not recursive:
                raise UsageProblem(f"{uri} is a directory: use cp -r to copy it")
            if not is_directory and not select.keeps(uri.name):
                continue
            files: tuple[str, ...] = ()
            empty: tuple[str, ...] = ()
            if is_directory and (dry_run or select):
                listing = remote.listing(client, uri)
                files = select.files(listing.files)
                empty = select.directories(listing.directories)
            source = Source(text, uri.name, found.kind, has_trailing_slash(text), files, empty)
            result = plan(source, target, many=len(sources) > 1)
            if is_directory and select:
                # Filtered: file by file (each still copied on the server), and the empty
                # directories the filter keeps made as such.
                directories += [remote.below(dst, d) for d in result.directories]
            if is_directory and select and not dry_run:
                for item in result.files:
                    work.append(
                        _server_job(
                            client,
                            operation,
                            remote.below(uri, item.source),
                            remote.below(dst, item.destination),
                            False,
                        )
                    )
                continue
            if dry_run:
                for item in result.files:
                    work.append(
                        Job(
                            str(remote.below(uri, item.source)),
                            str(remote.below(dst, item.destination)),
                            None,
                            _failing(RuntimeError("dry run")),
                        )
                    )
                continue
            work.append(
                _server_job(client, operation, uri, remote.below(dst, result.root), is_directory)
            )
        summary = _run(
            operation,
            work,
            [str(d) for d in directories],
            output,
            dry_run=dry_run,
            workers=workers,
            make_directories=lambda: _make_directories(client, directories),
        )
    if not dry_run:
        _per_file(summary)
    finish(summary, output)


def _make_directories(client: StorageClient, directories: list[StorageURI]) -> None:
    for directory in directories:
        client.make_directory(directory)


def _server_job(
    client: StorageClient,
    operation: str,
    source: StorageURI,
    destination: StorageURI,
    recursive: bool,
) -> Job:
    def run(advance: Advance) -> CopyResult:
        send = client.copy if operation == "copy" else client.move
        return send(source, destination, recursive=recursive)

    return Job(str(source), str(destination), None, run)


def _per_file(summary: Summary) -> None:
    """One outcome per file the server copied or moved, rather than one per source."""
    done: list[Outcome] = []
    for outcome in summary.done:
        source = remote.parse(outcome.job.source).project_uri
        destination = remote.parse(outcome.job.destination).project_uri.with_checkpoint(None)
        for item in outcome.result.items:
            job = Job(
                str(source.join(item.source)),
                str(destination.join(item.destination)),
                None,
                outcome.job.run,
            )
            done.append(Outcome(job, result=item.revision))
    summary.done = done


def _copy_to_stdout(sources: list[str], output: Output, verify: Verification) -> None:
    uris = [remote.parse(text) for text in sources]
    with remote.connect() as client:
        for uri in uris:
            if not uri.path:
                raise UsageProblem(f"{uri} is not a file: only files can be copied to stdout")
            client.download(uri, output.binary_stdout, verify=verify.verify)
    output.flush()


def _copy_from_stdin(sources: list[str], destination: str, output: Output) -> None:
    from anaconda_storage_core import has_trailing_slash

    if len(sources) > 1:
        raise UsageProblem("cp - reads stdin: it is the only source")
    dst = remote.parse(destination)
    with remote.connect() as client:
        found = remote_destination(client, dst, destination)
        if found.kind is Kind.DIRECTORY or has_trailing_slash(destination):
            raise UsageProblem(f"cp - needs a file to write to: {dst} is a directory")
        info = client.upload(dst, _stdin_chunks())
    output.success(f"copied stdin -> {dst} ({info.size} bytes, revision {info.revision})")


def _stdin_chunks() -> Iterator[bytes]:
    stream = sys.stdin.buffer
    while chunk := stream.read(1024 * 1024):
        yield chunk


COMMANDS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "upload": (
        upload,
        (
            "anaconda storage upload ./data alice/sales/in      # gives alice/sales/in/data/...",
            "anaconda storage upload ./data/ alice/sales/in     # gives alice/sales/in/...",
            "anaconda storage upload q1.csv q2.csv alice/sales/2024",
            "anaconda storage upload --dry-run ./data/ alice/sales",
        ),
    ),
    "download": (
        download,
        (
            "anaconda storage download alice/sales .            # gives ./sales/...",
            "anaconda storage download alice/sales/ ./sales-copy # gives ./sales-copy/...",
            "anaconda storage download 'alice/sales/q1.csv#-1' q1-before.csv",
            "anaconda storage download --exclude '*.tmp' 'alice/sales/2024/*' ./2024/",
            "anaconda storage download 'alice/sales#2024-05-01T12:00:00/' ./as-of-may",
        ),
    ),
    "cp": (
        cp,
        (
            "anaconda storage cp alice/sales/q1.csv bob/shared/",
            "anaconda storage cp -r alice/sales/2024 alice/archive  # gives archive/2024/...",
            "anaconda storage cp 'alice/sales/2024/q?.csv' alice/archive/",
            "anaconda storage cp 'alice/sales/q1.csv#-1' alice/sales/q1.csv  # restore",
            "echo hello | anaconda storage cp - alice/sales/hello.txt",
        ),
    ),
    "mv": (
        mv,
        (
            "anaconda storage mv alice/sales/q1.csv alice/sales/2024/",
            "anaconda storage mv alice/sales/draft.csv alice/sales/final.csv",
            "anaconda storage mv alice/sales/old/ alice/sales/new  # old's contents into new",
        ),
    ),
}
