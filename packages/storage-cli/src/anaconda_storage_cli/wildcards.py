"""Wildcards in remote paths: ``ls 'alice/sales/2024/*.csv'``, ``rm 'alice/sales/**/*.tmp'``.

A shell expands wildcards in local paths; a remote path reaches us unexpanded (quoted), so
``ls``, ``cat``, ``cp``, ``mv``, ``rm`` and ``download`` expand it themselves, as
``gsutil`` and ``aws s3`` do: with one listing of the fixed prefix (the directories before
the first wildcard), then matching every path below it. The grammar, inside a project's
path (owner and project names take no wildcards)::

    *       any characters within one name (not "/")
    ?       one character within one name
    [abc]   one of the characters; [a-z] a range; [!abc] or [^abc] none of them
    **      as a whole name: any number of directories, none included
            (a/**/b.csv is a/b.csv, a/x/b.csv, a/x/y/b.csv ...; a/** everything below a)

A pattern matches files and directories (``.keep`` markers are never matched: they are
not files); a pattern ending in ``/`` matches directories only, each standing for its
contents (the rsync rule of the transfers). A project may be read at a checkpoint
(``alice/sales#-1/2024/*.csv``); a ``#<revision>`` names one file, so a pattern takes none.

Literal wildcard characters: what a pattern means is read before percent-decoding, so a
percent-encoded character is always literal. ``%2A`` is a literal ``*``, ``%3F`` a literal
``?`` (as everywhere in our URIs, where ``?`` would start the query), ``%5B`` a literal
``[``. ``[*]`` works too, as in a shell. (The URI grammar refuses ``\\`` in names, so there
is no backslash escape.)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from anaconda_storage_cli import remote
from anaconda_storage_cli.errors import UsageProblem

if TYPE_CHECKING:
    from anaconda_storage_core import DirectoryInfo, FileInfo, StorageClient, StorageURI

__all__ = [
    "Match",
    "Pattern",
    "expand",
    "expand_all",
    "expand_arguments",
    "has_wildcard",
    "no_wildcard_in",
    "parse_pattern",
]

_WILDCARDS = "*?["
_SCHEME = "anaconda://"
_ANY_DEPTH = "**"
_PAGE_SIZE = 1000  # the largest page the API serves: the one listing in fewest requests


@dataclass(frozen=True)
class Match:
    """One path a pattern matched.

    Attributes:
        uri: The file or directory (at the pattern's checkpoint, if any).
        entry: What the listing said of it.
        relative: Its path below the pattern's fixed prefix.
        text: The argument it stands for: its URI, with a trailing ``/`` when the pattern
            had one.
    """

    uri: StorageURI
    entry: FileInfo | DirectoryInfo
    relative: str
    text: str

    @property
    def is_directory(self) -> bool:
        """Whether the match is a directory."""
        return self.entry.type == "directory"


@dataclass(frozen=True)
class Pattern:
    """A remote path with wildcards, split at its first wildcard.

    Attributes:
        text: As written.
        base: The fixed prefix: a project or a directory in it, maybe at a checkpoint.
        names: The pattern's names below ``base``, as written (still percent-encoded).
        directories_only: It ended with ``/``.
        regex: The compiled pattern, matched against paths relative to ``base``.
    """

    text: str
    base: StorageURI
    names: tuple[str, ...]
    directories_only: bool
    regex: re.Pattern[str]

    @property
    def one_level(self) -> bool:
        """Whether one name level below ``base`` is enough (one listing with ``/``)."""
        return len(self.names) == 1 and self.names[0] != _ANY_DEPTH


def has_wildcard(text: str) -> bool:
    """Whether a command-line path holds a wildcard in a project's path."""
    location = text[len(_SCHEME) :] if text.lower().startswith(_SCHEME) else text
    names = location.split("/")
    return any(c in name for name in names[2:] for c in _WILDCARDS)


def parse_pattern(text: str) -> Pattern:
    """Split a path with wildcards at its first wildcard and compile the rest.

    Raises:
        UsageProblem: A ``#<revision>`` on a pattern.
        InvalidURI: The fixed prefix breaks the URI grammar.
    """
    scheme = text[: len(_SCHEME)] if text.lower().startswith(_SCHEME) else ""
    names = text[len(scheme) :].split("/")
    directories_only = names[-1] == ""
    if directories_only:
        names.pop()
    first = next((i for i, name in enumerate(names) if i >= 2 and _has_wildcard(name)), None)
    if first is None:
        raise UsageProblem(f"{text} holds no wildcard in a project's path")
    pattern = names[first:]
    if "#" in pattern[-1]:
        raise UsageProblem(
            f"{text}: a pattern names several files, so it takes no #<revision> (read the"
            " project at a #<checkpoint>: owner/project#<checkpoint>/path/*)"
        )
    base = remote.parse(scheme + "/".join(names[:first]))
    return Pattern(
        text, base, tuple(pattern), directories_only, re.compile(_regex(pattern), re.DOTALL)
    )


def _has_wildcard(name: str) -> bool:
    return any(c in name for c in _WILDCARDS)


def _regex(names: list[str]) -> str:
    last = len(names) - 1
    pieces = []
    for i, name in enumerate(names):
        if name == _ANY_DEPTH:
            # Inside a pattern: any number of directories, none included; at its end,
            # everything below (one name at least).
            pieces.append("(?:[^/]+/)*" if i < last else "[^/]+(?:/[^/]+)*")
        else:
            pieces.append(_name_regex(name) + ("/" if i < last else ""))
    return "".join(pieces)


def _name_regex(name: str) -> str:
    """One name's pattern: wildcards as written, the rest literal once percent-decoded."""
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            out.append(re.escape(unicodedata.normalize("NFC", unquote("".join(literal)))))
            literal.clear()

    i = 0
    while i < len(name):
        char = name[i]
        if char == "*":
            flush()
            out.append("[^/]*")
        elif char == "?":
            flush()
            out.append("[^/]")
        elif char == "[" and (end := _class_end(name, i)) is not None:
            flush()
            out.append(_class_regex(name[i + 1 : end]))
            i = end
        else:
            literal.append(char)
        i += 1
    flush()
    return "".join(out)


def _class_end(name: str, start: int) -> int | None:
    """Where the class opened at ``start`` closes (a ``]`` first in it is a member), or
    None: an unclosed ``[`` is a literal, as in a shell."""
    i = start + 1
    if i < len(name) and name[i] in "!^":
        i += 1
    if i < len(name) and name[i] == "]":
        i += 1
    end = name.find("]", i)
    return end if end >= 0 else None


def _class_regex(members: str) -> str:
    negate = members[:1] in ("!", "^")
    members = unicodedata.normalize("NFC", unquote(members[1:] if negate else members))
    # Each member escaped but "-", which keeps its meaning of a range.
    body = "".join(c if c == "-" else re.escape(c) for c in members)
    return f"(?!/)[{'^' if negate else ''}{body}]"


def expand(client: StorageClient, text: str, *, prune: bool = False) -> list[Match]:
    """The paths a pattern matches, sorted, from one listing of its fixed prefix.

    Args:
        client: The client.
        text: A path with wildcards (see :func:`has_wildcard`).
        prune: Leave out what lies below a matched directory (which stands for it): what
            a transfer or a removal wants, not a listing.

    Raises:
        NotFound: Nothing matches (exit code 3), or the project does not exist.
    """
    from anaconda_storage_core import DirectoryInfo, FileInfo, NotFound

    pattern = parse_pattern(text)
    base = pattern.base
    if base.project is None:  # pragma: no cover - has_wildcard needs a project's path
        raise UsageProblem(f"{text}: wildcards go in a project's path")
    prefix = f"{base.path}/" if base.path else ""
    candidates: dict[str, FileInfo | DirectoryInfo] = {}
    if pattern.one_level:
        for entry in client.list_tree(base, delimiter="/", page_size=_PAGE_SIZE):
            candidates[entry.path[len(prefix) :]] = entry
    else:
        for entry in client.list_tree(base, include_markers=True, page_size=_PAGE_SIZE):
            if not isinstance(entry, FileInfo) or not entry.path.startswith(prefix):
                continue
            relative = entry.path[len(prefix) :]
            parent, _, name = relative.rpartition("/")
            if name != remote.KEEP:
                candidates[relative] = entry
            while parent:  # every directory the file is in
                candidates.setdefault(parent, DirectoryInfo(prefix + parent))
                parent = parent.rpartition("/")[0]
    matches = []
    for relative in sorted(candidates):
        entry = candidates[relative]
        if pattern.directories_only and not isinstance(entry, DirectoryInfo):
            continue
        if pattern.regex.fullmatch(relative):
            uri = base.join(relative)
            slash = "/" if pattern.directories_only else ""
            matches.append(Match(uri, entry, relative, str(uri) + slash))
    if prune:
        kept: list[Match] = []
        for match in matches:
            if not any(
                m.is_directory and match.relative.startswith(f"{m.relative}/") for m in kept
            ):
                kept.append(match)
        matches = kept
    if not matches:
        if not base.path:
            client.get_project(base)  # "no such project" says more than "no match"
        raise NotFound(f"no match for {text}", missing="path")
    return matches


def expand_all(client: StorageClient, texts: list[str], *, prune: bool = True) -> list[str]:
    """Command-line paths with each pattern replaced by what it matches, in order; paths
    without a wildcard stay as written."""
    expanded: list[str] = []
    for text in texts:
        if has_wildcard(text):
            expanded += [match.text for match in expand(client, text, prune=prune)]
        else:
            expanded.append(text)
    return expanded


def expand_arguments(texts: list[str]) -> list[str]:
    """:func:`expand_all` with a client of its own, opened only if a path has a wildcard."""
    if not any(has_wildcard(text) for text in texts):
        return texts
    with remote.connect() as client:
        return expand_all(client, texts)


def no_wildcard_in(destination: str, command: str) -> None:
    """Refuse a pattern as a destination: it would name a new file ``*`` by mistake.

    Raises:
        UsageProblem: ``destination`` holds a wildcard.
    """
    if has_wildcard(destination):
        raise UsageProblem(
            f"{command}: the destination {destination} holds a wildcard; a name with a"
            " literal *, ? or [ is written %2A, %3F, %5B"
        )
