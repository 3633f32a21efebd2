"""ls, stat and cat against the real local server, history reads included."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def ok(result: Any) -> Any:
    assert result.code == 0, result
    return result


@pytest.fixture
def project(cli: Any, tree: Path) -> str:
    """`<user>/sales` holding `in/data/...` (with an empty directory) and `notes.txt`."""
    name = f"{cli.account.name}/sales"
    ok(cli("mkdir", name))
    ok(cli("upload", str(tree), f"{name}/in", "-q"))
    ok(cli("cp", "-", f"{name}/notes.txt", input="v1\n"))
    return name


def test_ls_owners_and_projects(cli: Any, project: str, other_user: Any) -> None:
    owner = cli.account.name
    assert owner in ok(cli("ls")).out.split()
    assert ok(cli("ls", owner)).out == "sales\n"
    assert ok(cli("ls", f"anaconda://{owner}")).out == "sales\n"
    long = ok(cli("ls", "-l", owner)).out
    assert "owner" in long
    assert "sales" in long
    # another user sees nothing of it
    assert ok(cli("ls", owner, account=other_user)).out == ""


def test_ls_directories_and_files(cli: Any, project: str) -> None:
    assert ok(cli("ls", project)).out == "in/\nnotes.txt\n"
    assert ok(cli("ls", f"anaconda://{project}/in/data/")).out == "a.csv\nempty/\nsub/\n"
    assert ok(cli("ls", f"{project}/in/data/a.csv")).out == "a.csv\n"
    long = ok(cli("ls", "-l", f"{project}/in/data")).out.splitlines()
    assert re.match(r"^8  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  [0-9a-f]{8}  a.csv$", long[0]), long
    assert long[1].endswith("empty/")


def test_ls_all_shows_markers_and_recursive_shows_empty_directories(cli: Any, project: str) -> None:
    assert ok(cli("ls", "-R", project)).out.splitlines() == [
        "in/data/a.csv",
        "in/data/empty/",
        "in/data/sub/b.txt",
        "notes.txt",
    ]
    assert "in/data/empty/.keep" in ok(cli("ls", "-R", "-a", project)).out.splitlines()
    assert ".keep" in ok(cli("ls", "-a", f"{project}/in/data/empty")).out.split()
    assert ok(cli("ls", f"{project}/in/data/empty")).out == ""


def test_ls_hidden_projects_with_all(cli: Any, project: str) -> None:
    ok(cli("chattr", project, "--hidden"))
    owner = cli.account.name
    assert ok(cli("ls", owner)).out == ""
    assert ok(cli("ls", "-a", owner)).out == "sales\n"


def test_ls_json(cli: Any, project: str) -> None:
    entries = json.loads(ok(cli("ls", "--json", f"{project}/in/data")).out)
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
    projects = json.loads(ok(cli("ls", "--json", cli.account.name)).out)
    assert projects[0]["name"] == "sales"
    assert projects[0]["access"] == "owner"
    owners = json.loads(ok(cli("ls", "--json")).out)
    assert any(o["name"] == cli.account.name and o["kind"] == "user" for o in owners)


def test_cat_and_revisions(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    ok(cli("cp", "-", notes, input="v2\n"))
    assert ok(cli("cat", notes)).out == "v2\n"
    assert ok(cli("cat", f"{notes}#-1")).out == "v1\n"
    assert ok(cli("cat", notes, f"{project}/in/data/sub/b.txt")).out == "v2\nbee\n"
    history = ok(cli("ls", "--revisions", notes)).out.splitlines()
    assert history[0].split()[:2] == ["REF", "REVISION"]
    assert history[1].startswith("current")
    assert history[2].startswith("#-1")
    revisions = json.loads(ok(cli("ls", "--revisions", "--json", notes)).out)
    assert [r["ref"] for r in revisions] == ["current", "#-1"]
    first = revisions[1]["id"]
    assert ok(cli("cat", f"{notes}#{first}")).out == "v1\n"
    # a deleted file's content is still there, one step back
    ok(cli("rm", notes))
    assert cli("cat", notes).code == 3
    assert ok(cli("cat", f"{notes}#-1")).out == "v2\n"


def test_cat_binary_is_byte_exact(cli: Any, project: str) -> None:
    data = bytes(range(256)) * 100
    ok(cli("cp", "-", f"{project}/blob.bin", input=data))
    assert ok(cli("cat", f"{project}/blob.bin")).out_bytes == data


def test_cat_dash_is_stdin(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    assert ok(cli("cat", "-", notes, input="header\n")).out == "header\nv1\n"
    # a bad URI is reported before stdin or anything else is printed
    bad = cli("cat", "-", f"{cli.account.name}/Bad/x", input="header\n")
    assert bad.code == 2
    assert bad.out == ""


def test_checkpoints_and_time_travel(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    made = ok(cli("checkpoint", project, "-m", "first")).out.strip()
    assert UUID.match(made), made
    ok(cli("cp", "-", notes, input="v2\n"))
    ok(cli("rm", "-r", f"{project}/in"))
    owner, name = project.split("/")
    assert ok(cli("cat", f"{owner}/{name}#{made}/notes.txt")).out == "v1\n"
    assert ok(cli("cat", f"{owner}/{name}#-1/notes.txt")).out == "v1\n"
    assert ok(cli("ls", f"{owner}/{name}#-1")).out == "in/\nnotes.txt\n"
    assert ok(cli("ls", project)).out == "notes.txt\n"
    listed = ok(cli("ls", "--checkpoints", project)).out.splitlines()
    assert listed[1].split()[:2] == ["#-1", made]
    assert listed[1].endswith("first")
    checkpoints = json.loads(ok(cli("ls", "--checkpoints", "--json", project)).out)
    assert checkpoints[0]["id"] == made
    assert checkpoints[0]["message"] == "first"


def test_time_point_checkpoint(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    info = json.loads(ok(cli("stat", "--json", notes)).out)
    modified = info["modified"][:19]  # YYYY-MM-DDTHH:MM:SS, the second of the first write
    time.sleep(1.1)
    ok(cli("cp", "-", notes, input="later\n"))
    owner, name = project.split("/")
    assert ok(cli("cat", f"{owner}/{name}#{modified}/notes.txt")).out == "v1\n"
    assert ok(cli("cat", f"{owner}/{name}#{modified}Z/notes.txt")).out == "v1\n"


def test_stat_project(cli: Any, project: str, other_user: Any) -> None:
    ok(cli("checkpoint", project, "-m", "milestone"))
    ok(cli("chmod", project, f"u/{other_user.name}+r"))
    text = ok(cli("stat", project)).out
    assert "Permissions" in text
    assert f"u/{cli.account.name}" in text
    assert f"u/{other_user.name}" in text
    assert "Checkpoints" in text
    assert "milestone" in text
    document = json.loads(ok(cli("stat", "--json", project)).out)
    assert document["type"] == "project"
    assert document["permissions"]["owner"]["name"] == cli.account.name
    assert document["permissions"]["grants"][0]["principal"]["name"] == other_user.name
    assert document["checkpoints"][0]["message"] == "milestone"
    assert document["file_count"] == 3


def test_stat_file_and_directory(cli: Any, project: str) -> None:
    notes = f"{project}/notes.txt"
    ok(cli("cp", "-", notes, input="v2\n"))
    text = ok(cli("stat", notes)).out
    assert "Revisions" in text
    assert "current" in text
    assert "#-1" in text
    document = json.loads(ok(cli("stat", "--json", notes)).out)
    assert document["type"] == "file"
    assert document["size"] == 3
    assert len(document["revisions"]) == 2
    old = json.loads(ok(cli("stat", "--json", f"{notes}#-1")).out)
    assert old["revision"] == document["revisions"][1]["id"]
    directory = json.loads(ok(cli("stat", "--json", f"{project}/in")).out)
    assert directory == {
        "uri": f"anaconda://{project}/in",
        "path": "in",
        "type": "directory",
        "file_count": 2,
        "size": 12,
    }
    assert "2 (12 B)" in ok(cli("stat", f"{project}/in")).out


def test_stat_owner_and_account(cli: Any, project: str) -> None:
    assert json.loads(ok(cli("stat", "--json", cli.account.name)).out)["name"] == cli.account.name
    assert json.loads(ok(cli("stat", "--json")).out)["name"] == cli.account.name


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
