"""``--exclude`` and ``--include`` on the commands that walk directories: ``upload``,
``download``, ``cp``, ``rm`` (and ``sync``, which hands the filter to core's planner).

The patterns are .gitignore's, read by core's :class:`~anaconda_storage_core.sync.PathFilter`
(the ``pathspec`` library): ``*.tmp`` matches at any depth, ``/build`` only at the top of
the directory walked, ``logs/`` a directory and all below it. A path is matched relative to
the directory the command walks (``upload ./data`` matches ``sub/b.txt``, not
``data/sub/b.txt``); a file named on the command line is matched by its name, so
``upload --exclude '*.tmp' *`` leaves out the temporary files the shell expanded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anaconda_storage_core.sync import PathFilter

__all__ = ["Selection"]


class Selection:
    """The paths a command acts on, from its ``--exclude`` and ``--include`` options.

    Args:
        exclude: Patterns of paths to leave out.
        include: Patterns of paths to keep even if excluded (alone: only those).
    """

    def __init__(self, exclude: Sequence[str] | None, include: Sequence[str] | None) -> None:
        self._filter: PathFilter | None = None
        if exclude or include:
            # Imported only when used: pathspec is not loaded on every `anaconda` run.
            from anaconda_storage_core.sync import PathFilter

            self._filter = PathFilter(tuple(exclude or ()), tuple(include or ()))

    def __bool__(self) -> bool:
        """Whether any pattern was given (without one, everything is selected)."""
        return self._filter is not None

    @property
    def path_filter(self) -> PathFilter | None:
        """Core's filter, for the sync planner; None when no pattern was given."""
        return self._filter

    def keeps(self, path: str, *, directory: bool = False) -> bool:
        """Whether ``path`` (relative to the directory walked) is acted on."""
        return self._filter is None or self._filter.selects(path, directory=directory)

    def files(self, paths: Iterable[str]) -> tuple[str, ...]:
        """The files among ``paths`` that are acted on."""
        return tuple(path for path in paths if self.keeps(path))

    def directories(self, paths: Iterable[str]) -> tuple[str, ...]:
        """The (empty) directories among ``paths`` that are acted on; ``""``, the walked
        directory itself, always is."""
        return tuple(path for path in paths if not path or self.keeps(path, directory=True))
