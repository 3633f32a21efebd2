"""The output sink: data on stdout, messages on stderr, JSON that is plain data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from anaconda_storage_cli.output import Output, jsonable


@dataclass(frozen=True)
class Item:
    name: str
    at: datetime
    tags: tuple[str, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)


def test_jsonable() -> None:
    at = datetime(2024, 5, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    value = jsonable([Item("a", at, ("x",), {"k": "v"}), {"s": {2, 1}}, None, 1.5, object])
    assert value[0] == {
        "name": "a",
        "at": "2024-05-01T12:00:00.000005Z",
        "tags": ["x"],
        "meta": {"k": "v"},
    }
    assert value[1] == {"s": [1, 2]}
    assert value[2:4] == [None, 1.5]
    assert isinstance(value[4], str)
    json.dumps(value)


def test_data_goes_to_stdout_and_messages_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output()
    out.data({"a": 1})
    out.lines(["x", "y"])
    out.info("told [not markup]")
    out.success("done")
    out.warning("careful")
    out.error("broken")
    captured = capsys.readouterr()
    assert json.loads(captured.out.split("\n}")[0] + "}") == {"a": 1}
    assert captured.out.endswith("x\ny\n")
    assert "told [not markup]" in captured.err
    assert "done" in captured.err
    assert "warning: careful" in captured.err
    assert "error: broken" in captured.err


def test_quiet_keeps_warnings_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output(quiet=True)
    out.info("told")
    out.success("done")
    out.warning("careful")
    out.error("broken")
    err = capsys.readouterr().err
    assert "told" not in err
    assert "done" not in err
    assert "careful" in err
    assert "broken" in err
