"""log, diff, restore and the project trash, from the terminal, against the real server."""

from __future__ import annotations

import json
from typing import Any

import pytest


def ok(result: Any) -> Any:
    assert result.code == 0, result
    return result


@pytest.fixture
def project(cli: Any) -> str:
    name = f"{cli.account.name}/sales"
    ok(cli("mkdir", name))
    ok(cli("cp", "-", f"{name}/q1.csv", input="a,b\n1,2\n"))
    return name


def test_log_shows_changes_and_checkpoint_messages(cli: Any, project: str) -> None:
    ok(cli("checkpoint", project, "-m", "before the Q2 import"))
    ok(cli("cp", "-", f"{project}/q1.csv", input="a,b\n9,9\n"))
    ok(cli("rm", f"{project}/q1.csv"))

    lines = ok(cli("log", project)).out.splitlines()
    assert lines[0].split() == ["DATE", "(UTC)", "BY", "ACTION", "SIZE", "REVISION", "PATH"]
    assert [line.split()[2] for line in lines[1:]] == [
        "deleted",
        "modified",
        "checkpoint",
        "created",
    ]
    assert lines[3].endswith(": before the Q2 import")
    assert all(cli.account.name in line for line in lines[1:])

    entries = json.loads(ok(cli("log", project, "--json", "--limit", "2")).out)
    assert [e["action"] for e in entries] == ["deleted", "modified"]
    assert entries[1]["uri"] == f"anaconda://{project}/q1.csv#{entries[1]['revision']}"
    assert entries[1]["size"] == len("a,b\n9,9\n")

    since = json.loads(ok(cli("log", f"{project}/q1.csv", "--since", "-1", "--json")).out)
    assert [e["action"] for e in since] == ["deleted", "modified"]
    until = json.loads(ok(cli("log", project, "--until", "-1", "--json")).out)
    assert [e["action"] for e in until] == ["checkpoint", "created"]

    bad = cli("log", project, "--since", "yesterday")
    assert bad.code != 0
    assert "since" in bad.err
