"""Sizes, instants and aligned columns in the human output."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from anaconda_storage_cli.formats import columns, human_size, instant, short_id


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "-"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**5, "3.0 PiB"),
        (2048 * 1024**5, "2048.0 PiB"),
    ],
)
def test_human_size(size: int | None, text: str) -> None:
    assert human_size(size) == text


def test_instant_is_a_checkpoint_suffix_in_utc() -> None:
    at = datetime(2024, 5, 1, 14, 0, 3, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert instant(at) == "2024-05-01T12:00:03Z"
    assert instant(None) == "-"


def test_short_id() -> None:
    assert short_id("49aa1e19-0527-4bc0-b8bd-31c6ea82710a") == "49aa1e19"
    assert short_id(None) == "-"
    assert short_id("") == "-"


def test_columns() -> None:
    rows = [["a", "1", "x"], ["bbb", "22", "yy"]]
    assert columns(rows, right=[1]) == ["a     1  x", "bbb  22  yy"]
    assert columns([]) == []
    # the last column is never padded, so no trailing spaces
    assert columns([["a", ""], ["bb", ""]]) == ["a", "bb"]
