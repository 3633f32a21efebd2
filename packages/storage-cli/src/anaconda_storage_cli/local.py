"""What upload and download need to know about local paths, in the planner's terms."""

from __future__ import annotations

import os
from pathlib import Path

from anaconda_storage_cli.targets import Kind

__all__ = ["has_trailing_separator", "local_kind", "local_listing"]


def has_trailing_separator(text: str) -> bool:
    """Whether a local path was written with a trailing separator (``./data/``)."""
    return text.endswith(("/", os.sep)) and text.rstrip("/" + os.sep) != ""


def local_kind(path: Path) -> Kind:
    """Whether ``path`` is missing, a file or a directory (following symlinks)."""
    if path.is_dir():
        return Kind.DIRECTORY
    if path.exists():
        return Kind.FILE
    return Kind.MISSING


def local_listing(root: Path) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Every file below ``root``, its empty directories, and what was skipped.

    Symlinks to files are followed (their content is uploaded); symlinks to directories are
    not descended into, so a link loop cannot make a listing endless.

    Returns:
        ``(files, empty_directories, skipped)``: ``/``-joined paths relative to ``root``
        (``""`` when ``root`` itself is empty); skipped holds the directory symlinks.
    """
    files: list[str] = []
    empty: list[str] = []
    skipped: list[str] = []
    for directory, subdirectories, names in os.walk(root, followlinks=False):
        here = Path(directory)
        relative = here.relative_to(root).as_posix()
        relative = "" if relative == "." else relative
        kept = []
        for name in subdirectories:
            if (here / name).is_symlink():
                skipped.append(_join(relative, name))
            else:
                kept.append(name)
        subdirectories[:] = kept
        regular = [name for name in names if (here / name).is_file()]
        files.extend(_join(relative, name) for name in regular)
        if not regular and not kept:
            empty.append(relative)
    return tuple(sorted(files)), tuple(sorted(empty)), tuple(sorted(skipped))


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name
