"""The arguments and options the commands share, declared once as `Annotated` aliases.

A command writes ``json: JsonOpt = False`` and gets the same flag, spelling and help as
every other command. The aliases use ``Optional[...]`` and ``List[...]`` rather than
PEP 604 unions because typer 0.12 (our lower bound) cannot read ``str | None``.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, List, Optional  # noqa: UP035

import typer

from anaconda_storage_cli.completion import remote_completer

if TYPE_CHECKING:
    from anaconda_storage_core.transfer.digest import Verify

__all__ = [
    "DryRunOpt",
    "ExcludeOpt",
    "ForceOpt",
    "IncludeOpt",
    "JobsOpt",
    "JsonOpt",
    "LongOpt",
    "OptionalPathArg",
    "PathArg",
    "PathsArg",
    "QuietOpt",
    "RecursiveOpt",
    "Verification",
    "VerifyOpt",
    "WholeDirectoriesOpt",
    "YesOpt",
]

# An Anaconda Storage URI, with or without anaconda://, with a checkpoint or revision where
# reading makes sense. The metavar says so in every usage line.
PathArg = Annotated[
    str,
    typer.Argument(
        metavar="PATH",
        **remote_completer(),
        help="owner/project/path, anaconda:// optional; #<checkpoint> after the project or"
        " #<revision> after the file reads history.",
        show_default=False,
    ),
]
OptionalPathArg = Annotated[
    Optional[str],  # noqa: UP045
    typer.Argument(
        metavar="PATH",
        **remote_completer(),
        help="Nothing (the owners), an owner, a project, a directory or a file;"
        " anaconda:// optional.",
        show_default=False,
    ),
]
PathsArg = Annotated[
    List[str],  # noqa: UP006
    typer.Argument(
        metavar="PATH...",
        **remote_completer(),
        help="owner/project or owner/project/path, anaconda:// optional; a quoted pattern"
        " (*, ?, [abc], ** for any depth) stands for what it matches.",
        show_default=False,
    ),
]

JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print JSON on stdout instead of text.", show_default=False),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "-q", "--quiet", help="No progress and no messages; errors only.", show_default=False
    ),
]
LongOpt = Annotated[
    bool,
    typer.Option(
        "-l", "--long", help="Long listing: size, modified time, revision.", show_default=False
    ),
]
RecursiveOpt = Annotated[
    bool,
    typer.Option("-r", "-R", "--recursive", help="Act on directories too.", show_default=False),
]
# upload and download take directories whole; -r is accepted all the same, because users of
# `aws s3 cp --recursive` and `gsutil cp -r` type it (issue 12), and refusing it helps no one.
WholeDirectoriesOpt = Annotated[
    bool,
    typer.Option(
        "-r",
        "-R",
        "--recursive",
        help="Accepted, and changes nothing: directories always go whole.",
        show_default=False,
    ),
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "-n",
        "--dry-run",
        help="Print what would be done, change nothing.",
        show_default=False,
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option("-y", "--yes", help="Do not ask for confirmation.", show_default=False),
]
ForceOpt = Annotated[
    bool,
    typer.Option("-f", "--force", help="Ignore paths that do not exist.", show_default=False),
]
JobsOpt = Annotated[
    int,
    typer.Option(
        "-j",
        "--jobs",
        metavar="N",
        min=1,
        max=64,
        help="How many files to transfer at once.",
        show_default=True,
    ),
]

# --exclude/--include: gitignore-style patterns (core's PathFilter, on pathspec), matched
# against each path relative to the directory a command walks (a file named on the command
# line is matched by its name), so `/build` anchors there and `*.tmp` matches at any depth.
ExcludeOpt = Annotated[
    Optional[List[str]],  # noqa: UP006, UP045
    typer.Option(
        "--exclude",
        metavar="PATTERN",
        help="Leave out paths matching PATTERN (.gitignore syntax: *.tmp, /build, logs/),"
        " relative to each source directory; repeatable.",
        show_default=False,
    ),
]
IncludeOpt = Annotated[
    Optional[List[str]],  # noqa: UP006, UP045
    typer.Option(
        "--include",
        metavar="PATTERN",
        help="Keep paths matching PATTERN even if an --exclude matches; alone, only those."
        " Repeatable.",
        show_default=False,
    ),
]


class Verification(str, Enum):
    """How downloaded content is checked (`--verify`): core's `verify=`, spelled for a
    shell. CRC32C by default, as the library's; "none" is the shell's word for False."""

    crc32c = "crc32c"
    sha256 = "sha256"
    none = "none"

    @property
    def verify(self) -> Verify:
        """The value core's `download(verify=...)` takes."""
        if self is Verification.sha256:
            return "sha256"
        return self is Verification.crc32c


VerifyOpt = Annotated[
    Verification,
    typer.Option(
        "--verify",
        help="How downloaded content is checked against the server's checksum: crc32c (at"
        " wire speed), sha256 (a full cryptographic check, about 1 GB/s) or none.",
        case_sensitive=False,
        show_default=True,
    ),
]
