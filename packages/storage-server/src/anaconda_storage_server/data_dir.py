"""The data directory is private: only the account that runs the server can read it.

It holds every stored file and the database of users and (hashed) API keys, so everything
the server makes in it is owner-only: directories 0700, files 0600 (the database with its
WAL and shared-memory files, blobs, temp and part files). The modes are given explicitly
at creation and then set exactly, whatever the umask: the umask is process-wide and the
server is threaded, so it is never changed.

A data directory that exists already is checked when it is opened: one that other local
accounts may enter is reported with a warning naming it, its mode and the fix
(`chmod 700`), and left as it is, since its owner may have opened it on purpose.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
# Group or other may read, write or enter: what the start-up check reports.
_SHARED = stat.S_IRWXG | stat.S_IRWXO

logger = logging.getLogger("anaconda_storage_server")


def make_directory(path: Path, *, exist_ok: bool = False) -> None:
    """Create the directory `path` with mode 0700 (its parent must exist).

    Args:
        path: The new directory.
        exist_ok: Leave an existing directory alone (its mode unchanged) instead of raising.

    Raises:
        FileExistsError: `path` exists and `exist_ok` is false.
    """
    try:
        os.mkdir(path, DIRECTORY_MODE)
    except FileExistsError:
        if not exist_ok or not path.is_dir():
            raise
        return
    # mkdir's mode passes through the umask; set it exactly (a umask may take owner bits).
    os.chmod(path, DIRECTORY_MODE)


def create_file(path: Path) -> int:
    """Create the new file `path` with mode 0600, open for writing; its descriptor.

    Raises:
        FileExistsError: `path` exists already.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def touch_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist (an existing one is kept)."""
    with contextlib.suppress(FileExistsError):
        os.close(create_file(path))


def open_data_dir(path: Path) -> Path:
    """Create the data directory (0700) if absent, else check that it is private.

    Missing parents are created as `mkdir -p` would (they are not the server's).

    Returns:
        `path`.
    """
    if path.is_dir():
        check_data_dir(path)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    make_directory(path, exist_ok=True)
    return path


def check_data_dir(path: Path) -> bool:
    """Warn when other local accounts may enter the data directory; whether it is private."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & _SHARED:
        return True
    logger.warning(
        "the data directory %s has mode %04o: other local accounts can read the stored "
        "files and the database; make it private with: chmod 700 %s",
        path,
        mode,
        path,
    )
    return False
