"""Local files' sha256, remembered between runs so that unchanged files are never read again.

A sync compares content, so the local side needs each file's sha256. Reading 10,000 files
every hour to learn that none changed would cost as much as sending them, so a digest is
remembered with what identifies the file's state without opening it: its absolute path,
size, modification time in nanoseconds and inode (a file replaced by a rename gets another
inode). Any of these changed, the file is read again.

A digest is not remembered while the file's modification time is within ``RACY_SECONDS``
of the moment it was read: a write in the same clock tick (or, on coarse filesystems, the
same two seconds) could change the content and keep every key, as git's "racily clean"
index entries do. Such a file is read again next time, until it is old enough.

The cache is one SQLite database in the user's cache directory (``platformdirs``:
``~/.cache/anaconda-storage/`` on Linux, which ``XDG_CACHE_HOME`` moves), written in one
transaction per run, so a crash or a concurrent run never leaves half a write. A cache that
cannot be opened, is locked, or is corrupt is rebuilt or done without: it makes a sync
faster, never fail.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

__all__ = ["EMPTY_SHA256", "HashCache", "default_cache_dir", "file_sha256"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
"""The digest of no bytes: an empty file's, known without opening it."""

RACY_SECONDS = 2.0
"""A file modified this recently when read is not remembered (FAT's mtime is 2 s coarse)."""

_CHUNK = 1024 * 1024
_SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    sha256 TEXT NOT NULL
)
"""


def default_cache_dir() -> Path:
    """Where the cache lives: the user's cache directory for ``anaconda-storage``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("anaconda-storage", appauthor=False))


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Read a file and return its sha256 (lower-case hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


Key = tuple[int, int, int]


def _key(stat: os.stat_result) -> Key:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


class HashCache:
    """Remembered digests of the local files below one directory.

    Open it for a directory, ask :meth:`sha256` for files below it (giving the ``os.stat``
    result the listing already has), and :meth:`save` at the end (or use it as a context
    manager). Only the entries below the directory are loaded, in one query.

    Args:
        root: The directory whose files are asked about.
        cache_dir: Where the database is; the user's cache directory by default.
        timeout: Seconds to wait for a database that another run holds locked, before
            doing without it.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        timeout: float = 5.0,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.database = self.directory / "sha256.sqlite3"
        self.timeout = timeout
        self.read = 0
        """How many files were read to learn their digest (the others came from the cache)."""
        self._known: dict[str, tuple[Key, str]] = {}
        self._new: dict[str, tuple[Key, str]] = {}
        self._load()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.save()

    def sha256(self, path: str | os.PathLike[str], stat: os.stat_result | None = None) -> str:
        """The sha256 of a local file, read only when the cache has no digest for its state.

        Args:
            path: The file.
            stat: Its ``os.stat`` result, if the caller has it (saves a system call).

        Raises:
            OSError: The file cannot be read.
        """
        name = os.path.abspath(path)
        stat = stat or os.stat(name)
        key = _key(stat)
        if stat.st_size == 0:
            return EMPTY_SHA256
        known = self._new.get(name) or self._known.get(name)
        if known is not None and known[0] == key:
            return known[1]
        started = time.time_ns()
        digest = file_sha256(name)
        self.read += 1
        self.remember(name, stat, digest, read_at_ns=started)
        return digest

    def remember(
        self,
        path: str | os.PathLike[str],
        stat: os.stat_result,
        sha256: str,
        *,
        read_at_ns: int | None = None,
    ) -> None:
        """Record that the file in state ``stat`` holds content ``sha256``.

        Args:
            path: The file.
            stat: Its state when the content was known.
            sha256: The content's digest.
            read_at_ns: When the file was read to compute it (``time.time_ns()``): the
                digest is then not kept if the file was modified within ``RACY_SECONDS``
                of that. None when the caller wrote the content itself (a download whose
                digest the server gave), which is kept.
        """
        if read_at_ns is not None and read_at_ns - stat.st_mtime_ns < RACY_SECONDS * 1e9:
            return
        self._new[os.path.abspath(path)] = (_key(stat), sha256)

    def save(self) -> None:
        """Write what was learned, in one transaction; a failure to write is ignored."""
        if not self._new:
            return
        rows = [(path, *key, digest) for path, (key, digest) in self._new.items()]
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._connection() as db, db:
                db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?)", rows)
        except (OSError, sqlite3.Error):
            return  # the cache only saves time: never fail a sync over it
        self._known.update(self._new)
        self._new.clear()

    def _load(self) -> None:
        if not self.database.exists():
            return
        prefix = str(self.root).rstrip(os.sep) + os.sep
        try:
            with self._connection() as db:
                rows = db.execute(
                    "SELECT path, size, mtime_ns, inode, sha256 FROM digests"
                    " WHERE substr(path, 1, ?) = ?",
                    (len(prefix), prefix),
                ).fetchall()
        except sqlite3.OperationalError:
            return  # locked or unreadable: this run does without
        except sqlite3.DatabaseError:
            self._discard()  # corrupt (or not a database at all): start again, empty
            return
        except OSError:
            return
        self._known = {str(p): ((int(s), int(m), int(i)), str(d)) for p, s, m, i, d in rows}

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.database, timeout=self.timeout)) as db:
            db.execute(_SCHEMA)
            yield db

    def _discard(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with suppress(OSError):
                os.unlink(f"{self.database}{suffix}")
