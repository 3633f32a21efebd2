"""log, diff, restore and the project trash, from the terminal, against the real server."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture
def project(cli: Any) -> str:
    name = f"{cli.account.name}/sales"
    cli("mkdir", name).ok()
    cli("cp", "-", f"{name}/q1.csv", input="a,b\n1,2\n").ok()
    return name


def test_log_shows_changes_and_checkpoint_messages(cli: Any, project: str) -> None:
    cli("checkpoint", project, "-m", "before the Q2 import").ok()
    cli("cp", "-", f"{project}/q1.csv", input="a,b\n9,9\n").ok()
    cli("rm", f"{project}/q1.csv").ok()

    lines = cli("log", project).ok().out.splitlines()
    assert lines[0].split() == ["DATE", "(UTC)", "BY", "ACTION", "SIZE", "REVISION", "PATH"]
    assert [line.split()[2] for line in lines[1:]] == [
        "deleted",
        "modified",
        "checkpoint",
        "created",
    ]
    assert lines[3].endswith(": before the Q2 import")
    assert all(cli.account.name in line for line in lines[1:])

    entries = json.loads(cli("log", project, "--json", "--limit", "2").ok().out)
    assert [e["action"] for e in entries] == ["deleted", "modified"]
    assert entries[1]["uri"] == f"anaconda://{project}/q1.csv#{entries[1]['revision']}"
    assert entries[1]["size"] == len("a,b\n9,9\n")

    since = json.loads(cli("log", f"{project}/q1.csv", "--since", "-1", "--json").ok().out)
    assert [e["action"] for e in since] == ["deleted", "modified"]
    until = json.loads(cli("log", project, "--until", "-1", "--json").ok().out)
    assert [e["action"] for e in until] == ["checkpoint", "created"]

    bad = cli("log", project, "--since", "yesterday")
    assert bad.code != 0
    assert "since" in bad.err


def test_restore_a_file_a_deleted_file_and_a_project(cli: Any, project: str) -> None:
    cli("cp", "-", f"{project}/q1.csv", input="overwritten by mistake\n").ok()
    planned = cli("restore", f"{project}/q1.csv#-1", "--dry-run").ok()
    assert planned.out.splitlines() == ["would restore q1.csv: goes back"]
    assert cli("cat", f"{project}/q1.csv").ok().out == "overwritten by mistake\n"
    done = cli("restore", f"{project}/q1.csv#-1").ok()
    assert "restored q1.csv" in done.err
    assert cli("cat", f"{project}/q1.csv").ok().out == "a,b\n1,2\n"
    again = cli("restore", f"{project}/q1.csv#-2").ok()
    assert "nothing to restore" in again.err

    cli("checkpoint", project, "-m", "good").ok()
    cli("rm", f"{project}/q1.csv").ok()
    cli("cp", "-", f"{project}/new.csv", input="new\n").ok()
    result = json.loads(cli("restore", f"{project}#-1", "--json").ok().out)
    assert result["uri"] == f"anaconda://{project}#-1"
    assert [(c["path"], c["change"]) for c in result["changes"]] == [
        ("new.csv", "deleted"),
        ("q1.csv", "added"),
    ]
    assert cli("ls", project).ok().out.split() == ["q1.csv"]
    restored = json.loads(cli("log", project, "--json", "--limit", "2").ok().out)
    assert [e["action"] for e in restored] == ["restored", "restored"]
    lines = cli("log", project, "--limit", "2").ok().out.splitlines()
    assert any("(deleted: absent at" in line for line in lines), lines

    nothing = cli("restore", f"{project}/q1.csv")
    assert nothing.code == 2, nothing
    assert "past state" in nothing.err


def test_diff_against_a_checkpoint(cli: Any, project: str) -> None:
    cli("checkpoint", project, "-m", "yesterday").ok()
    cli("cp", "-", f"{project}/q1.csv", input="a,b\n1,2\n3,4\n").ok()
    cli("cp", "-", f"{project}/q2.csv", input="new\n").ok()
    cli("mkdir", f"{project}/empty").ok()

    lines = cli("diff", f"{project}#-1").ok().out.splitlines()
    assert [line.split() for line in lines] == [
        ["BEFORE", "AFTER", "PATH"],
        ["M", "8", "B", "12", "B", "q1.csv"],
        ["A", "-", "4", "B", "q2.csv"],
    ]
    stat = cli("diff", f"{project}#-1", "--stat").ok()
    assert stat.out.strip() == "2 added (4 B), 0 deleted (0 B), 1 modified (12 B)"
    document = json.loads(cli("diff", f"{project}#-1", "--json").ok().out)
    assert document["stat"]["added"] == {"files": 2, "bytes": 4}
    assert [(c["path"], c["change"]) for c in document["changes"]] == [
        ("empty/.keep", "added"),
        ("q1.csv", "modified"),
        ("q2.csv", "added"),
    ]
    cli("checkpoint", project).ok()
    backwards = cli("diff", f"{project}#-1", "#-2").ok().out.splitlines()
    assert [line.split()[0] for line in backwards[1:]] == ["M", "D"]
    nothing = cli("diff", f"{project}#-1").ok()
    assert nothing.out == ""
    assert "no changes" in nothing.err
    assert cli("diff", project).code == 2


def test_checkpoint_messages_in_ls_stat_log_and_json(cli: Any, project: str) -> None:
    cli("checkpoint", project, "-m", "before the Q2 import").ok()
    cli("cp", "-", f"{project}/q1.csv", input="q2 data\n").ok()
    cli("checkpoint", project, "-m", "after the Q2 import").ok()

    listed = cli("ls", "--checkpoints", project).ok().out.splitlines()
    assert listed[1].endswith("after the Q2 import")
    assert listed[2].endswith("before the Q2 import")
    assert "before the Q2 import" in cli("stat", project).ok().out
    log = cli("log", project).ok().out
    assert "before the Q2 import" in log
    assert "after the Q2 import" in log

    # Pick a checkpoint by its message in --json output, and go back to it.
    checkpoints = json.loads(cli("ls", "--checkpoints", project, "--json").ok().out)
    (chosen,) = [c for c in checkpoints if c["message"] == "before the Q2 import"]
    cli("restore", chosen["uri"]).ok()
    assert cli("cat", f"{project}/q1.csv").ok().out == "a,b\n1,2\n"
    entries = json.loads(cli("log", project, "--json", "--limit", "1").ok().out)
    assert entries[0]["source"]["checkpoint"] == chosen["id"]


def test_deleted_projects_come_back(cli: Any, project: str) -> None:
    owner = cli.account.name
    cli("checkpoint", project, "-m", "kept").ok()
    removed = cli("rm", "-r", "--yes", project).ok()
    assert f"anaconda storage restore anaconda://{project} brings it back" in removed.err
    assert cli("ls", project).code != 0

    lines = cli("ls", "--deleted", owner).ok().out.splitlines()
    assert lines[0].split()[:2] == ["DELETED", "(UTC)"]
    assert project in lines[1]
    (listed,) = json.loads(cli("ls", "--deleted", owner, "--json").ok().out)
    assert listed["project"]["name"] == "sales"
    assert listed["purge_at"] > listed["deleted_at"]

    # The name is free; the deleted one comes back under another.
    cli("mkdir", project).ok()
    taken = cli("restore", project)
    assert taken.code != 0
    assert "another name" in taken.err
    planned = cli("restore", project, "--dry-run").ok()
    assert planned.out.strip() == f"would bring back project anaconda://{project}"
    cli("restore", project, "--as", "sales-old").ok()
    assert cli("cat", f"{owner}/sales-old/q1.csv").ok().out == "a,b\n1,2\n"
    assert "kept" in cli("ls", "--checkpoints", f"{owner}/sales-old").ok().out
    assert cli("ls", "--deleted", owner, "--json").ok().out.strip() == "[]"

    # --purge deletes for good, and asks first (--yes without a terminal).
    refused = cli("rm", "-r", "--purge", f"{owner}/sales-old")
    assert refused.code == 2
    assert "--yes" in refused.err
    gone = cli("rm", "-r", "--purge", "--yes", f"{owner}/sales-old").ok()
    assert "for good" in gone.err
    assert cli("ls", "--deleted", owner, "--json").ok().out.strip() == "[]"
    assert cli("restore", f"{owner}/sales-old").code != 0
