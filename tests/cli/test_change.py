"""mkdir, rmdir, rm and touch against the real local server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def ok(result: Any) -> Any:
    assert result.code == 0, result
    return result


@pytest.fixture
def project(cli: Any, tree: Path) -> str:
    name = f"{cli.account.name}/work"
    ok(cli("mkdir", name))
    ok(cli("upload", "-q", f"{tree}/", f"{name}/data"))
    return name


def test_mkdir_project_and_directories(cli: Any) -> None:
    owner = cli.account.name
    made = ok(cli("mkdir", f"{owner}/fresh"))
    assert "created project" in made.err
    assert made.out == ""
    ok(cli("mkdir", f"{owner}/fresh/a/b", f"anaconda://{owner}/fresh/c"))
    assert ok(cli("ls", f"{owner}/fresh")).out == "a/\nc/\n"
    assert ok(cli("ls", "-a", f"{owner}/fresh/a/b")).out == ".keep\n"
    again = cli("mkdir", f"{owner}/fresh")
    assert again.code == 5, again
    assert ok(cli("mkdir", "-p", f"{owner}/fresh")).err == ""


def test_mkdir_needs_the_project_unless_parents(cli: Any) -> None:
    owner = cli.account.name
    missing = cli("mkdir", f"{owner}/later/inbox")
    assert missing.code == 3
    assert f"anaconda storage mkdir {owner}/later" in missing.err
    ok(cli("mkdir", "-p", f"{owner}/later/inbox"))
    assert ok(cli("ls", f"{owner}/later")).out == "inbox/\n"


def test_mkdir_errors(cli: Any, project: str) -> None:
    assert cli("mkdir", cli.account.name).code == 2
    clash = cli("mkdir", f"{project}/data/a.csv")
    assert clash.code == 5, clash
    assert cli("mkdir", f"{project}#-1/x").code == 2


def test_rmdir(cli: Any, project: str) -> None:
    ok(cli("mkdir", f"{project}/void"))
    ok(cli("rmdir", f"{project}/void"))
    assert ok(cli("ls", project)).out == "data/\n"
    full = cli("rmdir", f"{project}/data")
    assert full.code == 5, full
    assert f"`anaconda storage rm -r {project}/data`" in full.err
    not_empty = cli("rmdir", project)
    assert not_empty.code == 5, not_empty
    # The hint is the CLI's command, not the API's parameter (issue 12).
    assert f"`anaconda storage rm -r {project}`" in not_empty.err
    assert "recursive=true" not in not_empty.err
    owner = cli.account.name
    ok(cli("mkdir", f"{owner}/empty-one"))
    ok(cli("rmdir", f"{owner}/empty-one"))
    assert "empty-one" not in ok(cli("ls", owner)).out


def test_rmdir_of_a_project_with_history_asks(cli: Any) -> None:
    # Issue 11, as reported: no file left, but the project still holds history.
    project = f"{cli.account.name}/hist"
    ok(cli("mkdir", project))
    ok(cli("cp", "-", f"{project}/data.csv", input="a,b\n"))
    ok(cli("rm", f"{project}/data.csv"))
    ok(cli("checkpoint", project))
    refused = cli("rmdir", project)
    assert refused.code == 2, refused
    assert f"rmdir anaconda://{project} deletes the project and all its history" in refused.err
    assert "--yes" in refused.err
    assert ok(cli("cat", f"{project}/data.csv#-1")).out == "a,b\n"
    deleted = ok(cli("rmdir", "--yes", project))
    assert f"deleted project anaconda://{project} and its history" in deleted.err
    assert "hist" not in ok(cli("ls", cli.account.name)).out
    assert cli("cat", f"{project}/data.csv#-1").code == 3


@pytest.mark.parametrize(("answer", "deleted"), [("n\n", False), ("y\n", True)])
def test_rmdir_of_a_project_with_history_on_a_terminal(
    cli: Any, monkeypatch: pytest.MonkeyPatch, answer: str, deleted: bool
) -> None:
    from anaconda_storage_cli.commands import change

    project = f"{cli.account.name}/hist"
    ok(cli("mkdir", project))
    ok(cli("checkpoint", project))
    monkeypatch.setattr(change, "_can_ask", lambda: True)
    result = ok(cli("rmdir", project, input=answer))
    assert f"Delete project anaconda://{project} and all its history?" in result.err
    assert ("hist" in ok(cli("ls", cli.account.name)).out) is not deleted
    assert ("kept project" in result.err) is not deleted


def test_rm_files_keep_history(cli: Any, project: str) -> None:
    path = f"{project}/data/a.csv"
    removed = ok(cli("rm", path))
    assert "Removed 1 file" in removed.err
    assert cli("cat", path).code == 3
    assert ok(cli("cat", f"{path}#-1")).out == "a,b\n1,2\n"
    revisions = json.loads(ok(cli("ls", "--revisions", "--json", path)).out)
    assert revisions[0]["deleted"] is True


def test_rm_directory_needs_recursive(cli: Any, project: str) -> None:
    refused = cli("rm", f"{project}/data")
    assert refused.code == 2
    assert "rm -r" in refused.err
    dry = ok(cli("rm", "-r", "--dry-run", f"{project}/data"))
    assert f"would remove anaconda://{project}/data/sub/b.txt" in dry.out
    assert ok(cli("ls", "-R", project)).out.count("\n") == 3  # nothing changed
    summary = json.loads(ok(cli("rm", "-r", "--json", f"{project}/data")).out)
    assert summary["operation"] == "remove"
    # The empty directory's .keep marker goes too, but it is no file: not listed as one.
    assert sorted(f["source"].rsplit("/", 1)[1] for f in summary["files"]) == [
        "a.csv",
        "b.txt",
    ]
    assert ok(cli("ls", project)).out == ""


def test_rm_goes_on_after_a_failure(cli: Any, project: str) -> None:
    result = cli("rm", f"{project}/data/a.csv", f"{project}/nope", f"{project}/data/sub/b.txt")
    assert result.code == 6, result
    assert "nope not found" in result.err
    assert "Removed 2 files" in result.err
    assert ok(cli("ls", "-R", project)).out == "data/empty/\n"
    assert ok(cli("rm", "-f", f"{project}/nope")).code == 0


def test_rm_of_history_is_refused(cli: Any, project: str) -> None:
    result = cli("rm", f"{project}/data/a.csv#-1")
    assert result.code == 2
    assert "read-only" in result.err


def test_rm_project_asks_and_needs_yes_without_a_terminal(cli: Any, project: str) -> None:
    refused = cli("rm", "-r", project)
    assert refused.code == 2, refused
    assert "--yes" in refused.err
    assert cli("rm", project).code == 2  # a project needs -r
    dry = ok(cli("rm", "-r", "--dry-run", project))
    assert "would delete project" in dry.err
    deleted = ok(cli("rm", "-r", "--yes", project))
    assert "deleted project" in deleted.err
    assert "work" not in ok(cli("ls", cli.account.name)).out


def test_touch(cli: Any, project: str) -> None:
    path = f"{project}/new.txt"
    ok(cli("touch", path))
    assert ok(cli("cat", path)).out == ""
    ok(cli("cp", "-", path, input="kept\n"))
    left = ok(cli("touch", path))
    assert "left as it is" in left.err
    assert ok(cli("cat", path)).out == "kept\n"
    ok(cli("touch", "--truncate", path))
    assert ok(cli("cat", path)).out == ""
    assert ok(cli("cat", f"{path}#-1")).out == "kept\n"
    assert cli("touch", project).code == 2
    assert cli("touch", f"{project}/data").code == 5


@pytest.mark.parametrize(("answer", "deleted"), [("n\n", False), ("y\n", True), ("\n", False)])
def test_rm_project_asks_on_a_terminal(
    cli: Any, project: str, monkeypatch: pytest.MonkeyPatch, answer: str, deleted: bool
) -> None:
    from anaconda_storage_cli.commands import change

    monkeypatch.setattr(change, "_can_ask", lambda: True)
    result = ok(cli("rm", "-r", project, input=answer))
    assert f"Delete project anaconda://{project} with its 2 files" in result.err
    assert ("work" in ok(cli("ls", cli.account.name)).out) is not deleted
    assert ("kept project" in result.err) is not deleted
