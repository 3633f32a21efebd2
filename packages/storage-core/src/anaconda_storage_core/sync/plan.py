"""What a sync does, decided from two listings: copy, skip or delete, path by path.

A listing maps each path (relative to the synced directory, ``/``-joined) to a
:class:`SyncEntry`: a file's size and sha256, or a directory marker (an empty directory
locally, a ``.keep`` file on the server). :func:`plan_sync` compares the source's listing
with the destination's and says what makes the destination equal to the source:

- a file is **copied** when the destination has no file there, or one whose content differs:
  by size first, then by sha256 (content, not modification time: the server's listing
  carries every file's digest);
- a file whose content is the same is **skipped**, which is what makes a second sync send
  nothing;
- with ``delete``, what the destination holds and the source does not is **deleted**;
- a filter (:class:`PathFilter`, gitignore-style ``--exclude``/``--include``) removes paths
  from both sides before comparing, so an excluded destination file is never deleted
  (rsync's rule without ``--delete-excluded``).

The planner does no I/O. A side whose digests are expensive (a local directory) lists its
files with ``sha256=None`` and passes a ``digest`` function, called only for a file whose
counterpart has the same size: a file of another size is copied without being read.

Where the synced directories are (the rsync trailing-slash rule: ``SRC/`` syncs SRC's
contents into DST, ``SRC`` syncs SRC into ``DST/SRC``) is the caller's business; the
planner only sees the two listings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "Action",
    "PathFilter",
    "SyncAction",
    "SyncEntry",
    "SyncPlan",
    "plan_sync",
]

Digest = Callable[[str], "str | None"]
"""A path's sha256 (lower-case hex), or None when it cannot be known (it is then copied)."""


@dataclass(frozen=True)
class SyncEntry:
    """One path of a listing.

    Attributes:
        size: A file's size in bytes (0 for a directory).
        sha256: A file's content digest (lower-case hex); None when not known yet, in which
            case the plan asks the side's ``digest`` function if it needs it.
        directory: Whether this is a directory marker (an empty directory that the sync
            keeps), not a file.
    """

    size: int = 0
    sha256: str | None = None
    directory: bool = False


class Action(Enum):
    """What the plan does with one path."""

    COPY = "copy"
    SKIP = "skip"
    DELETE = "delete"


@dataclass(frozen=True)
class SyncAction:
    """One step of a plan.

    Attributes:
        action: Copy, skip or delete.
        path: Relative to both synced directories.
        entry: The source's entry (copy, skip), or the destination's (delete).
    """

    action: Action
    path: str
    entry: SyncEntry


@dataclass(frozen=True)
class SyncPlan:
    """Every path of both listings (after filtering), and what to do with it.

    Attributes:
        copies: Directories first (outermost first), then files, by path.
        skips: Paths whose content is already at the destination.
        deletions: Files first, then directories (innermost first): the order in which they
            can be removed.
    """

    copies: tuple[SyncAction, ...] = ()
    skips: tuple[SyncAction, ...] = ()
    deletions: tuple[SyncAction, ...] = ()

    @property
    def bytes(self) -> int:
        """The bytes the copies hold (what a transfer of them sends, at most)."""
        return sum(step.entry.size for step in self.copies)


@dataclass(frozen=True)
class PathFilter:
    """Which paths a sync sees, from gitignore-style patterns (the ``pathspec`` library).

    A path is left out when an ``exclude`` pattern matches it and no ``include`` pattern
    does: ``--include`` brings back what an ``--exclude`` left out, whatever their order
    (``--exclude '*' --include '*.csv'`` syncs only CSV files). ``include`` patterns without
    any ``exclude`` keep only what they match, as if ``--exclude '*'`` had been given.
    Patterns follow .gitignore: ``*.tmp`` matches at any depth, ``/build`` only at the top,
    ``logs/`` a directory and everything below it, ``**`` any number of directories.

    Args:
        exclude: Patterns of paths to leave out.
        include: Patterns of paths to keep.
    """

    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    _specs: tuple[object, object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        import pathspec

        exclude = tuple(self.exclude) or (("*",) if self.include else ())
        specs = (
            pathspec.GitIgnoreSpec.from_lines(exclude),
            pathspec.GitIgnoreSpec.from_lines(tuple(self.include)),
        )
        object.__setattr__(self, "exclude", tuple(self.exclude))
        object.__setattr__(self, "include", tuple(self.include))
        object.__setattr__(self, "_specs", specs)

    def __bool__(self) -> bool:
        return bool(self.exclude or self.include)

    def selects(self, path: str, *, directory: bool = False) -> bool:
        """Whether the sync sees ``path`` (a directory marker is matched as ``path/``)."""
        import pathspec

        excluded, included = self._specs
        assert isinstance(excluded, pathspec.PathSpec)
        assert isinstance(included, pathspec.PathSpec)
        name = f"{path}/" if directory else path
        return not excluded.match_file(name) or included.match_file(name)


def plan_sync(
    source: Mapping[str, SyncEntry],
    destination: Mapping[str, SyncEntry],
    *,
    delete: bool = False,
    select: PathFilter | None = None,
    source_digest: Digest | None = None,
    destination_digest: Digest | None = None,
) -> SyncPlan:
    """What makes ``destination`` hold what ``source`` holds.

    Args:
        source: The source's listing, relative to the synced directory.
        destination: The destination's listing, relative to where the source goes.
        delete: Also delete what the destination holds and the source does not.
        select: Which paths to consider (on both sides); all when None.
        source_digest: A source file's sha256, asked only for a file listed without one
            whose destination counterpart has the same size.
        destination_digest: The same for the destination.

    Returns:
        The plan. A file whose digest stays unknown is copied (never wrongly skipped).
    """
    if select:
        source = {p: e for p, e in source.items() if select.selects(p, directory=e.directory)}
        destination = {
            p: e for p, e in destination.items() if select.selects(p, directory=e.directory)
        }
    copies: list[SyncAction] = []
    skips: list[SyncAction] = []
    deletions: list[SyncAction] = []
    for path in sorted(source):
        entry = source[path]
        there = destination.get(path)
        if entry.directory:
            continue  # decided below, once the deletions are known
        if (
            there is not None
            and not there.directory
            and _same(path, entry, there, source_digest, destination_digest)
        ):
            skips.append(SyncAction(Action.SKIP, path, entry))
        else:
            copies.append(SyncAction(Action.COPY, path, entry))
            if there is not None and there.directory and delete:
                # A directory where a file goes: its marker goes first (rsync replaces it).
                deletions.append(SyncAction(Action.DELETE, path, there))
    if delete:
        replaced = {step.path for step in deletions}
        for path in sorted(destination):
            entry, wanted = destination[path], source.get(path)
            if path in replaced:
                continue
            if entry.directory:
                if (wanted is not None and wanted.directory) or _holds(source, path):
                    continue  # still a directory in the source
            elif wanted is not None and not wanted.directory:
                continue  # compared above
            deletions.append(SyncAction(Action.DELETE, path, entry))
    gone = {step.path for step in deletions}
    remaining = [p for p in destination if p not in gone]
    for path in sorted(source):
        entry = source[path]
        if not entry.directory:
            continue
        there = destination.get(path)
        exists = (there is not None and there.directory and path not in gone) or any(
            other.startswith(f"{path}/") for other in remaining
        )
        files_below = any(other.startswith(f"{path}/") for other in source)
        if exists or files_below:
            # A directory that holds files is made by copying them.
            skips.append(SyncAction(Action.SKIP, path, entry))
        else:
            copies.append(SyncAction(Action.COPY, path, entry))
    return SyncPlan(
        copies=tuple(sorted(copies, key=_copy_order)),
        skips=tuple(sorted(skips, key=lambda step: step.path)),
        deletions=tuple(sorted(deletions, key=_deletion_order)),
    )


def _same(
    path: str,
    source: SyncEntry,
    destination: SyncEntry,
    source_digest: Digest | None,
    destination_digest: Digest | None,
) -> bool:
    if source.size != destination.size:
        return False
    ours = source.sha256 or (source_digest(path) if source_digest else None)
    if ours is None:
        return False
    theirs = destination.sha256 or (destination_digest(path) if destination_digest else None)
    return theirs is not None and ours == theirs


def _holds(listing: Mapping[str, SyncEntry], directory: str) -> bool:
    prefix = f"{directory}/"
    return any(path.startswith(prefix) for path in listing)


def _copy_order(step: SyncAction) -> tuple[int, int, str]:
    if step.entry.directory:
        return (0, step.path.count("/"), step.path)
    return (1, 0, step.path)


def _deletion_order(step: SyncAction) -> tuple[int, int, str]:
    if step.entry.directory:
        return (1, -step.path.count("/"), step.path)
    return (0, 0, step.path)
