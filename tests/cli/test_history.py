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


def test_restore_a_file_a_deleted_file_and_a_project(cli: Any, project: str) -> None:
    ok(cli("cp", "-", f"{project}/q1.csv", input="overwritten by mistake\n"))
    planned = ok(cli("restore", f"{project}/q1.csv#-1", "--dry-run"))
    assert planned.out.splitlines() == ["would restore q1.csv: goes back"]
    assert ok(cli("cat", f"{project}/q1.csv")).out == "overwritten by mistake\n"
    done = ok(cli("restore", f"{project}/q1.csv#-1"))
    assert "restored q1.csv" in done.err
    assert ok(cli("cat", f"{project}/q1.csv")).out == "a,b\n1,2\n"
    again = ok(cli("restore", f"{project}/q1.csv#-2"))
    assert "nothing to restore" in again.err

    ok(cli("checkpoint", project, "-m", "good"))
    ok(cli("rm", f"{project}/q1.csv"))
    ok(cli("cp", "-", f"{project}/new.csv", input="new\n"))
    result = json.loads(ok(cli("restore", f"{project}#-1", "--json")).out)
    assert result["uri"] == f"anaconda://{project}#-1"
    assert [(c["path"], c["change"]) for c in result["changes"]] == [
        ("new.csv", "deleted"),
        ("q1.csv", "added"),
    ]
    assert ok(cli("ls", project)).out.split() == ["q1.csv"]
    restored = json.loads(ok(cli("log", project, "--json", "--limit", "2")).out)
    assert [e["action"] for e in restored] == ["restored", "restored"]
    lines = ok(cli("log", project, "--limit", "2")).out.splitlines()
    assert any("(deleted: absent at" in line for line in lines), lines

    nothing = cli("restore", f"{project}/q1.csv")
    assert nothing.code == 2, nothing
    assert "past state" in nothing.err


def test_diff_against_a_checkpoint(cli: Any, project: str) -> None:
    ok(cli("checkpoint", project, "-m", "yesterday"))
    ok(cli("cp", "-", f"{project}/q1.csv", input="a,b\n1,2\n3,4\n"))
    ok(cli("cp", "-", f"{project}/q2.csv", input="new\n"))
    ok(cli("mkdir", f"{project}/empty"))

    lines = ok(cli("diff", f"{project}#-1")).out.splitlines()
    assert [line.split() for line in lines] == [
        ["BEFORE", "AFTER", "PATH"],
        ["M", "8", "B", "12", "B", "q1.csv"],
        ["A", "-", "4", "B", "q2.csv"],
    ]
    stat = ok(cli("diff", f"{project}#-1", "--stat"))
    assert stat.out.strip() == "2 added (4 B), 0 deleted (0 B), 1 modified (12 B)"
    document = json.loads(ok(cli("diff", f"{project}#-1", "--json")).out)
    assert document["stat"]["added"] == {"files": 2, "bytes": 4}
    assert [(c["path"], c["change"]) for c in document["changes"]] == [
        ("empty/.keep", "added"),
        ("q1.csv", "modified"),
        ("q2.csv", "added"),
    ]
    ok(cli("checkpoint", project))
    backwards = ok(cli("diff", f"{project}#-1", "#-2")).out.splitlines()
    assert [line.split()[0] for line in backwards[1:]] == ["M", "D"]
    nothing = ok(cli("diff", f"{project}#-1"))
    assert nothing.out == ""
    assert "no changes" in nothing.err
    assert cli("diff", project).code == 2


def test_checkpoint_messages_in_ls_stat_log_and_json(cli: Any, project: str) -> None:
    ok(cli("checkpoint", project, "-m", "before the Q2 import"))
    ok(cli("cp", "-", f"{project}/q1.csv", input="q2 data\n"))
    ok(cli("checkpoint", project, "-m", "after the Q2 import"))

    listed = ok(cli("ls", "--checkpoints", project)).out.splitlines()
    assert listed[1].endswith("after the Q2 import")
    assert listed[2].endswith("before the Q2 import")
    assert "before the Q2 import" in ok(cli("stat", project)).out
    log = ok(cli("log", project)).out
    assert "before the Q2 import" in log
    assert "after the Q2 import" in log

    # Pick a checkpoint by its message in --json output, and go back to it.
    checkpoints = json.loads(ok(cli("ls", "--checkpoints", project, "--json")).out)
    (chosen,) = [c for c in checkpoints if c["message"] == "before the Q2 import"]
    ok(cli("restore", chosen["uri"]))
    assert ok(cli("cat", f"{project}/q1.csv")).out == "a,b\n1,2\n"
    entries = json.loads(ok(cli("log", project, "--json", "--limit", "1")).out)
    assert entries[0]["source"]["checkpoint"] == chosen["id"]


def test_deleted_projects_come_back(cli: Any, project: str) -> None:
    owner = cli.account.name
    ok(cli("checkpoint", project, "-m", "kept"))
    removed = ok(cli("rm", "-r", "--yes", project))
    assert f"anaconda storage restore anaconda://{project} brings it back" in removed.err
    assert cli("ls", project).code != 0

    lines = ok(cli("ls", "--deleted", owner)).out.splitlines()
    assert lines[0].split()[:2] == ["DELETED", "(UTC)"]
    assert project in lines[1]
    (listed,) = json.loads(ok(cli("ls", "--deleted", owner, "--json")).out)
    assert listed["project"]["name"] == "sales"
    assert listed["purge_at"] > listed["deleted_at"]

    # The name is free; the deleted one comes back under another.
    ok(cli("mkdir", project))
    taken = cli("restore", project)
    assert taken.code != 0
    assert "another name" in taken.err
    planned = ok(cli("restore", project, "--dry-run"))
    assert planned.out.strip() == f"would bring back project anaconda://{project}"
    ok(cli("restore", project, "--as", "sales-old"))
    assert ok(cli("cat", f"{owner}/sales-old/q1.csv")).out == "a,b\n1,2\n"
    assert "kept" in ok(cli("ls", "--checkpoints", f"{owner}/sales-old")).out
    assert ok(cli("ls", "--deleted", owner, "--json")).out.strip() == "[]"

    # --purge deletes for good, and asks first (--yes without a terminal).
    refused = cli("rm", "-r", "--purge", f"{owner}/sales-old")
    assert refused.code == 2
    assert "--yes" in refused.err
    gone = ok(cli("rm", "-r", "--purge", "--yes", f"{owner}/sales-old"))
    assert "for good" in gone.err
    assert ok(cli("ls", "--deleted", owner, "--json")).out.strip() == "[]"
    assert cli("restore", f"{owner}/sales-old").code != 0
