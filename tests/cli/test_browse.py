"""ls, stat and cat against the real local server, history reads included."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def project(cli: Any, tree: Path) -> str:
    """`<user>/sales` holding `in/data/...` (with an empty directory) and `notes.txt`."""
    name = f"{cli.account.name}/sales"
    cli("mkdir", name).ok()
    cli("upload", str(tree), f"{name}/in", "-q").ok()
    cli("cp", "-", f"{name}/notes.txt", input="v1\n").ok()
    return name


def test_ls_owners_and_projects(cli: Any, project: str, other_user: Any) -> None:
    owner = cli.account.name
    assert owner in cli("ls").ok().out.split()
    assert cli("ls", owner).ok().out == "sales\n"
    assert cli("ls", f"anaconda://{owner}").ok().out == "sales\n"
    long = cli("ls", "-l", owner).ok().out
    assert "owner" in long
    assert "sales" in long
    # another user sees nothing of it
    assert cli("ls", owner, account=other_user).ok().out == ""


def test_ls_directories_and_files(cli: Any, project: str) -> None:
    assert cli("ls", project).ok().out == "in/\nnotes.txt\n"
    assert cli("ls", f"anaconda://{project}/in/data/").ok().out == "a.csv\nempty/\nsub/\n"
    assert cli("ls", f"{project}/in/data/a.csv").ok().out == "a.csv\n"
    long = cli("ls", "-l", f"{project}/in/data").ok().out.splitlines()
    assert re.match(r"^8  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  [0-9a-f]{8}  a.csv$", long[0]), long
    assert long[1].endswith("empty/")


def test_ls_all_shows_markers_and_recursive_shows_empty_directories(cli: Any, project: str) -> None:
    assert cli("ls", "-R", project).ok().out.splitlines() == [
        "in/data/a.csv",
        "in/data/empty/",
        "in/data/sub/b.txt",
        "notes.txt",
    ]
    assert "in/data/empty/.keep" in cli("ls", "-R", "-a", project).ok().out.splitlines()
    assert ".keep" in cli("ls", "-a", f"{project}/in/data/empty").ok().out.split()
    assert cli("ls", f"{project}/in/data/empty").ok().out == ""


def test_ls_hidden_projects_with_all(cli: Any, project: str) -> None:
    cli("chattr", project, "--hidden").ok()
    owner = cli.account.name
    assert cli("ls", owner).ok().out == ""
    assert cli("ls", "-a", owner).ok().out == "sales\n"


def test_ls_json(cli: Any, project: str) -> None:
    entries = json.loads(cli("ls", "--json", f"{project}/in/data").ok().out)
    assert [e["name"] for e in entries] == ["a.csv", "empty", "sub"]
    assert entries[0]["type"] == "file"
    assert entries[0]["size"] == 8
    assert UUID.match(entries[0]["revision"])
    assert entries[0]["uri"] == f"anaconda://{project}/in/data/a.csv"
    assert entries[1] == {
        "uri": f"anaconda://{project}/in/data/empty",
        "name": "empty",
        "path": "in/data/empty",
        "type": "directory",
    }
    projects = json.loads(cli("ls", "--json", cli.account.name).ok().out)
    assert projects[0]["name"] == "sales"
    assert projects[0]["access"] == "owner"
    owners = json.loads(cli("ls", "--json").ok().out)
    assert any(o["name"] == cli.account.name and o["kind"] == "user" for o in owners)


def test_cat_and_revisions(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    cli("cp", "-", notes, input="v2\n").ok()
    assert cli("cat", notes).ok().out == "v2\n"
    assert cli("cat", f"{notes}#-1").ok().out == "v1\n"
    assert cli("cat", notes, f"{project}/in/data/sub/b.txt").ok().out == "v2\nbee\n"
    history = cli("ls", "--revisions", notes).ok().out.splitlines()
    assert history[0].split()[:2] == ["REF", "REVISION"]
    assert history[1].startswith("current")
    assert history[2].startswith("#-1")
    revisions = json.loads(cli("ls", "--revisions", "--json", notes).ok().out)
    assert [r["ref"] for r in revisions] == ["current", "#-1"]
    first = revisions[1]["id"]
    assert cli("cat", f"{notes}#{first}").ok().out == "v1\n"
    # a deleted file's content is still there, one step back
    cli("rm", notes).ok()
    assert cli("cat", notes).code == 3
    assert cli("cat", f"{notes}#-1").ok().out == "v2\n"


def test_cat_binary_is_byte_exact(cli: Any, project: str) -> None:
    data = bytes(range(256)) * 100
    cli("cp", "-", f"{project}/blob.bin", input=data).ok()
    assert cli("cat", f"{project}/blob.bin").ok().out_bytes == data


def test_cat_dash_is_stdin(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    assert cli("cat", "-", notes, input="header\n").ok().out == "header\nv1\n"
    # a bad URI is reported before stdin or anything else is printed
    bad = cli("cat", "-", f"{cli.account.name}/Bad/x", input="header\n")
    assert bad.code == 2
    assert bad.out == ""


def test_checkpoints_and_time_travel(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    made = cli("checkpoint", project, "-m", "first").ok().out.strip()
    assert UUID.match(made), made
    cli("cp", "-", notes, input="v2\n").ok()
    cli("rm", "-r", f"{project}/in").ok()
    owner, name = project.split("/")
    assert cli("cat", f"{owner}/{name}#{made}/notes.txt").ok().out == "v1\n"
    assert cli("cat", f"{owner}/{name}#-1/notes.txt").ok().out == "v1\n"
    assert cli("ls", f"{owner}/{name}#-1").ok().out == "in/\nnotes.txt\n"
    assert cli("ls", project).ok().out == "notes.txt\n"
    listed = cli("ls", "--checkpoints", project).ok().out.splitlines()
    assert listed[1].split()[:2] == ["#-1", made]
    assert listed[1].endswith("first")
    checkpoints = json.loads(cli("ls", "--checkpoints", "--json", project).ok().out)
    assert checkpoints[0]["id"] == made
    assert checkpoints[0]["message"] == "first"


def test_time_point_checkpoint(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    info = json.loads(cli("stat", "--json", notes).ok().out)
    modified = info["modified"][:19]  # YYYY-MM-DDTHH:MM:SS, the second of the first write
    time.sleep(1.1)
    cli("cp", "-", notes, input="later\n").ok()
    owner, name = project.split("/")
    assert cli("cat", f"{owner}/{name}#{modified}/notes.txt").ok().out == "v1\n"
    assert cli("cat", f"{owner}/{name}#{modified}Z/notes.txt").ok().out == "v1\n"


def test_stat_project(cli: Any, project: str, other_user: Any) -> None:
    cli("checkpoint", project, "-m", "milestone").ok()
    cli("chmod", project, f"u/{other_user.name}+r").ok()
    text = cli("stat", project).ok().out
    assert "Permissions" in text
    assert f"u/{cli.account.name}" in text
    assert f"u/{other_user.name}" in text
    assert "Checkpoints" in text
    assert "milestone" in text
    document = json.loads(cli("stat", "--json", project).ok().out)
    assert document["type"] == "project"
    assert document["permissions"]["owner"]["name"] == cli.account.name
    assert document["permissions"]["grants"][0]["principal"]["name"] == other_user.name
    assert document["checkpoints"][0]["message"] == "milestone"
    assert document["file_count"] == 3


def test_stat_file_and_directory(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    cli("cp", "-", notes, input="v2\n").ok()
    text = cli("stat", notes).ok().out
    assert "Revisions" in text
    assert "current" in text
    assert "#-1" in text
    document = json.loads(cli("stat", "--json", notes).ok().out)
    assert document["type"] == "file"
    assert document["size"] == 3
    assert len(document["revisions"]) == 2
    old = json.loads(cli("stat", "--json", f"{notes}#-1").ok().out)
    assert old["revision"] == document["revisions"][1]["id"]
    directory = json.loads(cli("stat", "--json", f"{project}/in").ok().out)
    assert directory == {
        "uri": f"anaconda://{project}/in",
        "path": "in",
        "type": "directory",
        "file_count": 2,
        "size": 12,
    }
    assert "2 (12 B)" in cli("stat", f"{project}/in").ok().out


def test_stat_owner_and_account(cli: Any, project: str) -> None:
    assert json.loads(cli("stat", "--json", cli.account.name).ok().out)["name"] == cli.account.name
    assert json.loads(cli("stat", "--json").ok().out)["name"] == cli.account.name


def test_reading_errors(cli: Any, project: str) -> None:
    missing = cli("cat", f"{project}/nothing.csv")
    assert missing.code == 3
    assert "nothing.csv" in missing.err
    assert cli("cat", f"{project}/notes.txt#-5").code == 3
    assert cli("ls", f"{project}/nothing").code == 3
    assert cli("cat", project).code == 2
    assert cli("ls", "--revisions", project).code == 2
    assert cli("ls", "--checkpoints", f"{project}/notes.txt").code == 2
    both = cli("cat", f"{project}#-1/notes.txt#-1")
    assert both.code == 2
    assert "cannot be combined" in both.err
