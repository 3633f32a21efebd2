"""How sizes, instants and identifiers read in the human output.

Instants are shown in UTC as ``2024-05-01T12:00:03Z``: exactly what a checkpoint suffix
accepts, so a time read in ``ls -l`` or ``stat`` can be pasted into ``o/p#<time>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

__all__ = ["columns", "human_size", "instant", "short_id"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int | None) -> str:
    """``1536`` → ``1.5 KiB``; ``None`` (unknown) → ``-``."""
    if size is None:
        return "-"
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def instant(value: datetime | None) -> str:
    """An instant in UTC to the second, as a checkpoint suffix takes it; ``-`` for None."""
    if value is None:
        return "-"
    utc = value.astimezone(timezone.utc) if value.tzinfo else value
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def short_id(value: str | None, length: int = 8) -> str:
    """The first characters of a UUID, as git shortens hashes; ``-`` for None."""
    return value[:length] if value else "-"


def columns(rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> list[str]:
    """Rows padded into aligned columns, as ``ls -l`` prints them (the last column unpadded).

    Args:
        rows: The cells, as text.
        right: Indexes of the columns aligned to the right (sizes).

    Returns:
        One line per row, trailing spaces removed.
    """
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if i == len(row) - 1:
                cells.append(cell)
            elif i in right:
                cells.append(cell.rjust(widths[i]))
            else:
                cells.append(cell.ljust(widths[i]))
        lines.append("  ".join(cells).rstrip())
    return lines
