"""mkdir, rmdir, rm and touch against the real local server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def project(cli: Any, tree: Path) -> str:
    name = f"{cli.account.name}/work"
    cli("mkdir", name).ok()
    cli("upload", "-q", f"{tree}/", f"{name}/data").ok()
    return name


def test_mkdir_project_and_directories(cli: Any) -> None:
    owner = cli.account.name
    made = cli("mkdir", f"{owner}/fresh").ok()
    assert "created project" in made.err
    assert made.out == ""
    cli("mkdir", f"{owner}/fresh/a/b", f"anaconda://{owner}/fresh/c").ok()
    assert cli("ls", f"{owner}/fresh").ok().out == "a/\nc/\n"
    assert cli("ls", "-a", f"{owner}/fresh/a/b").ok().out == ".keep\n"
    again = cli("mkdir", f"{owner}/fresh")
    assert again.code == 5, again
    assert cli("mkdir", "-p", f"{owner}/fresh").ok().err == ""


def test_mkdir_needs_the_project_unless_parents(cli: Any) -> None:
    owner = cli.account.name
    missing = cli("mkdir", f"{owner}/later/inbox")
    assert missing.code == 3
    assert f"anaconda storage mkdir {owner}/later" in missing.err
    cli("mkdir", "-p", f"{owner}/later/inbox").ok()
    assert cli("ls", f"{owner}/later").ok().out == "inbox/\n"


def test_mkdir_errors(cli: Any, project: str) -> None:
    assert cli("mkdir", cli.account.name).code == 2
    clash = cli("mkdir", f"{project}/data/a.csv")
    assert clash.code == 5, clash
    assert cli("mkdir", f"{project}#-1/x").code == 2


def test_rmdir(cli: Any, project: str) -> None:
    cli("mkdir", f"{project}/void").ok()
    cli("rmdir", f"{project}/void").ok()
    assert cli("ls", project).ok().out == "data/\n"
    full = cli("rmdir", f"{project}/data")
    assert full.code == 5, full
    assert f"`anaconda storage rm -r {project}/data`" in full.err
    not_empty = cli("rmdir", project)
    assert not_empty.code == 5, not_empty
    # The hint is the CLI's command, not the API's parameter (issue 12).
    assert f"`anaconda storage rm -r {project}`" in not_empty.err
    assert "recursive=true" not in not_empty.err
    owner = cli.account.name
    cli("mkdir", f"{owner}/empty-one").ok()
    cli("rmdir", f"{owner}/empty-one").ok()
    assert "empty-one" not in cli("ls", owner).ok().out


def test_rmdir_of_a_project_with_history_asks(cli: Any) -> None:
    # Issue 11, as reported: no file left, but the project still holds history.
    project = f"{cli.account.name}/hist"
    cli("mkdir", project).ok()
    cli("cp", "-", f"{project}/data.csv", input="a,b\n").ok()
    cli("rm", f"{project}/data.csv").ok()
    cli("checkpoint", project).ok()
    refused = cli("rmdir", project)
    assert refused.code == 2, refused
    assert f"rmdir anaconda://{project} deletes the project and all its history" in refused.err
    assert "--yes" in refused.err
    assert cli("cat", f"{project}/data.csv#-1").ok().out == "a,b\n"
    deleted = cli("rmdir", "--yes", project).ok()
    assert f"deleted project anaconda://{project} and its history" in deleted.err
    assert "hist" not in cli("ls", cli.account.name).ok().out
    assert cli("cat", f"{project}/data.csv#-1").code == 3


@pytest.mark.parametrize(("answer", "deleted"), [("n\n", False), ("y\n", True)])
def test_rmdir_of_a_project_with_history_on_a_terminal(
    cli: Any, monkeypatch: pytest.MonkeyPatch, answer: str, deleted: bool
) -> None:
    from anaconda_storage_cli.commands import change

    project = f"{cli.account.name}/hist"
    cli("mkdir", project).ok()
    cli("checkpoint", project).ok()
    monkeypatch.setattr(change, "_can_ask", lambda: True)
    result = cli("rmdir", project, input=answer).ok()
    assert f"Delete project anaconda://{project} and all its history?" in result.err
    assert ("hist" in cli("ls", cli.account.name).ok().out) is not deleted
    assert ("kept project" in result.err) is not deleted


def test_rm_files_keep_history(cli: Any, project: str) -> None:
    path = f"{project}/data/a.csv"
    removed = cli("rm", path).ok()
    assert "Removed 1 file" in removed.err
    assert cli("cat", path).code == 3
    assert cli("cat", f"{path}#-1").ok().out == "a,b\n1,2\n"
    revisions = json.loads(cli("ls", "--revisions", "--json", path).ok().out)
    assert revisions[0]["deleted"] is True


def test_rm_directory_needs_recursive(cli: Any, project: str) -> None:
    refused = cli("rm", f"{project}/data")
    assert refused.code == 2
    assert "rm -r" in refused.err
    dry = cli("rm", "-r", "--dry-run", f"{project}/data").ok()
    assert f"would remove anaconda://{project}/data/sub/b.txt" in dry.out
    assert cli("ls", "-R", project).ok().out.count("\n") == 3  # nothing changed
    summary = json.loads(cli("rm", "-r", "--json", f"{project}/data").ok().out)
    assert summary["operation"] == "remove"
    # The empty directory's .keep marker goes too, but it is no file: not listed as one.
    assert sorted(f["source"].rsplit("/", 1)[1] for f in summary["files"]) == [
        "a.csv",
        "b.txt",
    ]
    assert cli("ls", project).ok().out == ""


def test_rm_goes_on_after_a_failure(cli: Any, project: str) -> None:
    result = cli("rm", f"{project}/data/a.csv", f"{project}/nope", f"{project}/data/sub/b.txt")
    assert result.code == 6, result
    assert "nope not found" in result.err
    assert "Removed 2 files" in result.err
    assert cli("ls", "-R", project).ok().out == "data/empty/\n"
    assert cli("rm", "-f", f"{project}/nope").ok().code == 0


def test_rm_of_history_is_refused(cli: Any, project: str) -> None:
    result = cli("rm", f"{project}/data/a.csv#-1")
    assert result.code == 2
    assert "read-only" in result.err


def test_rm_project_asks_and_needs_yes_without_a_terminal(cli: Any, project: str) -> None:
    refused = cli("rm", "-r", project)
    assert refused.code == 2, refused
    assert "--yes" in refused.err
    assert cli("rm", project).code == 2  # a project needs -r
    dry = cli("rm", "-r", "--dry-run", project).ok()
    assert "would delete project" in dry.err
    deleted = cli("rm", "-r", "--yes", project).ok()
    assert "deleted project" in deleted.err
    assert "work" not in cli("ls", cli.account.name).ok().out


def test_touch(cli: Any, project: str) -> None:
    path = f"{project}/new.txt"
    cli("touch", path).ok()
    assert cli("cat", path).ok().out == ""
    cli("cp", "-", path, input="kept\n").ok()
    left = cli("touch", path).ok()
    assert "left as it is" in left.err
    assert cli("cat", path).ok().out == "kept\n"
    cli("touch", "--truncate", path).ok()
    assert cli("cat", path).ok().out == ""
    assert cli("cat", f"{path}#-1").ok().out == "kept\n"
    assert cli("touch", project).code == 2
    assert cli("touch", f"{project}/data").code == 5


@pytest.mark.parametrize(("answer", "deleted"), [("n\n", False), ("y\n", True), ("\n", False)])
def test_rm_project_asks_on_a_terminal(
    cli: Any, project: str, monkeypatch: pytest.MonkeyPatch, answer: str, deleted: bool
) -> None:
    from anaconda_storage_cli.commands import change

    monkeypatch.setattr(change, "_can_ask", lambda: True)
    result = cli("rm", "-r", project, input=answer).ok()
    assert f"Delete project anaconda://{project} with its 2 files" in result.err
    assert ("work" in cli("ls", cli.account.name).ok().out) is not deleted
    assert ("kept project" in result.err) is not deleted
