"""Names, paths and history references of requests, checked by core's URI grammar.

The rules live once, in `anaconda_storage_core.uri` (docs/api.md, "Names and paths"); this
module only turns a broken rule into `400 invalid`. Core checks a path, a checkpoint or a
revision as part of a `StorageURI`, so each is checked by building one under a placeholder
owner and project.
"""

from __future__ import annotations

import unicodedata

from anaconda_storage_core.uri import (
    OWNER_NAME,
    PROJECT_NAME,
    CheckpointRef,
    InvalidURI,
    RevisionRef,
    StorageURI,
)
from anaconda_storage_server.errors import ApiError, invalid

KEEP = ".keep"  # the marker of an otherwise empty directory


def check_owner_name(name: str, *, field: str = "owner") -> str:
    """`name` if it is a valid owner name or UUID, else `400 invalid`."""
    problem = OWNER_NAME.problem(name)
    if problem:
        raise invalid(f"invalid owner {name!r}: {problem.reason}", field=field)
    return name


def check_project_name(name: str, *, field: str = "project") -> str:
    """`name` if it is a valid project name, else `400 invalid`."""
    problem = PROJECT_NAME.problem(name)
    if problem:
        raise invalid(f"invalid project name {name!r}: {problem.reason}", field=field)
    return name


def check_path(path: str, *, field: str = "path", allow_root: bool = False) -> str:
    """`path` in NFC if it is a valid file path (or `""` when `allow_root`), else `400 invalid`.

    Core's `StorageURI` normalizes a path to NFC, so `café` typed composed (as on Windows
    and Linux) or decomposed (as macOS file names come) names one file. Callers use the
    returned path, never the one they passed in.
    """
    if path == "":
        if allow_root:
            return path
        raise invalid("a path is required", field=field)
    try:
        return StorageURI("o", "p", path=path).path
    except InvalidURI as exc:
        shown = path.encode("utf-8", "backslashreplace").decode("utf-8")
        raise invalid(f"invalid path {shown!r}: {exc.reason}", field=field) from None


def check_prefix(prefix: str, *, field: str = "prefix", max_length: int = 1024) -> str:
    """A path prefix (any start of a path, `""` included) in NFC, else `400 invalid`.

    Paths are stored in NFC, so a prefix is compared in NFC too.
    """
    if len(prefix) > max_length or any(
        ord(char) < 0x20 or char == "\x7f" or 0xD800 <= ord(char) <= 0xDFFF for char in prefix
    ):
        raise invalid("a prefix is the start of a path: no control characters", field=field)
    return unicodedata.normalize("NFC", prefix)


def parse_checkpoint(token: str) -> CheckpointRef:
    """A `checkpoint=` parameter: a time point, `-N` or a UUID."""
    try:
        ref = StorageURI("o", "p", checkpoint=token).checkpoint_ref
    except InvalidURI as exc:
        raise invalid(f"invalid checkpoint {token!r}: {exc.reason}", field="checkpoint") from None
    assert ref is not None
    return ref


def parse_revision(token: str) -> RevisionRef:
    """A `revision=` parameter: `-N` or a UUID."""
    try:
        ref = StorageURI("o", "p", path="f", revision=token).revision_ref
    except InvalidURI as exc:
        raise invalid(f"invalid revision {token!r}: {exc.reason}", field="revision") from None
    assert ref is not None
    return ref


def parent_directories(path: str) -> list[str]:
    """Every directory above `path`: `a/b/c` -> `["a", "a/b"]`."""
    names = path.split("/")
    return ["/".join(names[:i]) for i in range(1, len(names))]


def prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """The range `[low, high)` of the paths that start with `prefix` (high None: no bound).

    SQLite compares text as UTF-8 bytes, which is code point order, so the paths starting
    with `p` are exactly those from `p` up to `p` with its last character's successor:
    below `d/` (`/` is U+002F) is `["d/", "d0")`.
    """
    if prefix == "":
        return "", None
    last = ord(prefix[-1])
    if last >= 0x10FFFF or 0xD7FF <= last <= 0xDFFF:
        return prefix, None  # no successor to write; callers filter with startswith too
    return prefix, prefix[:-1] + chr(last + 1)


def below(directory: str) -> str:
    """The prefix of every path below `directory` (`""`: the whole project)."""
    return f"{directory}/" if directory else ""


def path_after(key: str) -> str:
    """The least path sorting after `key`, a file path or a `dir/` key.

    A path holds no control character, so `key + "\\0"` comes right after a file's path;
    every path below `dir/` sorts before `dir0`.
    """
    return f"{key[:-1]}0" if key.endswith("/") else f"{key}\0"


def bad_reference(field: str) -> ApiError:
    """A write route given `revision` or `checkpoint`."""
    return invalid(f"history is read-only: {field} is only for reading", field=field)
