"""The real `anaconda storage ...` console script, in subprocesses, against the local server:
the tour `make demo` takes, and the documented exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_tour(cli: Any, other_user: Any, tree: Path, tmp_path: Path) -> None:
    run = cli.run
    owner = cli.account.name
    project = f"{owner}/demo"
    # create a project, upload a folder, list it, cat a file
    run("mkdir", project).ok()
    run("upload", str(tree), project).ok()
    assert run("ls", project).ok().out == "data/\n"
    assert run("ls", "-R", f"anaconda://{project}").ok().out.splitlines() == [
        "data/a.csv",
        "data/empty/",
        "data/sub/b.txt",
    ]
    csv = f"{project}/data/a.csv"
    assert run("cat", csv).ok().out == "a,b\n1,2\n"
    # change it, read the old revision
    run("cp", "-", csv, input="a,b\n1,2\n3,4\n").ok()
    assert run("cat", f"{csv}#-1").ok().out == "a,b\n1,2\n"
    # checkpoint, change again, time-travel
    checkpoint = run("checkpoint", project, "-m", "three rows").ok().out.strip()
    assert UUID.match(checkpoint)
    run("cp", "-", csv, input="a,b\n").ok()
    assert run("cat", f"{project}#{checkpoint}/data/a.csv").ok().out == "a,b\n1,2\n3,4\n"
    assert run("cat", f"{project}#-1/data/a.csv").ok().out == "a,b\n1,2\n3,4\n"
    assert "three rows" in run("ls", "--checkpoints", project).ok().out
    # share with a second user, who reads it and sees the attributes
    run("chmod", project, f"u/{other_user.name}+r").ok()
    run("chattr", project, "--title", "Demo", "--tag", "data").ok()
    assert run("cat", csv, account=other_user).ok().out == "a,b\n"
    seen = json.loads(run("stat", "--json", project, account=other_user).ok().out)
    assert (seen["title"], seen["tags"], seen["access"]) == ("Demo", ["data"], "read")
    # download it all, then clean up
    run("download", f"{project}/", str(tmp_path / "back")).ok()
    assert (tmp_path / "back" / "data" / "a.csv").read_text() == "a,b\n"
    run("rm", "-r", "--yes", project).ok()
    assert run("ls", owner).ok().out == ""


@pytest.fixture
def project(cli: Any) -> str:
    name = f"{cli.account.name}/codes"
    cli("mkdir", name).ok()
    cli("cp", "-", f"{name}/f.txt", input="x").ok()
    return name


def test_exit_codes(cli: Any, project: str, other_user: Any) -> None:
    owner = cli.account.name
    cases = [
        (0, ("ls", project), None, {}),
        (2, ("ls", "Bad Owner/x"), None, {}),  # invalid URI: usage
        (2, ("ls", "--bogus"), None, {}),  # unknown option: usage
        (3, ("cat", f"{project}/nope.txt"), None, {}),  # not found
        (4, ("touch", f"{project}/g.txt"), other_user, {}),  # permission denied
        (5, ("mkdir", project), None, {}),  # conflict
        (6, ("rm", f"{project}/f.txt", f"{project}/nope.txt"), None, {}),  # partial
        (7, ("ls", owner), None, {"ANACONDA_CLOUD_API_KEY": ""}),  # not logged in
        (7, ("ls", owner), None, {"ANACONDA_CLOUD_API_KEY": "not-a-key"}),
    ]
    cli("chmod", project, f"u/{other_user.name}+r").ok()
    for code, args, account, env in cases:
        result = cli.run(*args, account=account, env=env)
        assert result.code == code, (args, result)
        assert "Traceback" not in result.err
        if code not in (0, 6) and args[1] != "--bogus":  # typer's usage errors show usage
            assert len(result.err.strip().splitlines()) == 1, result


def test_not_logged_in_says_how_to_log_in(cli: Any) -> None:
    result = cli.run("ls", env={"ANACONDA_CLOUD_API_KEY": ""})
    assert result.code == 7
    assert "not logged in" in result.err
    assert "anaconda login" in result.err
    assert "ANACONDA_CLOUD_API_KEY" in result.err


def test_permission_denied_says_which_permission(cli: Any, project: str, other_user: Any) -> None:
    cli("chmod", project, f"u/{other_user.name}+r").ok()
    result = cli.run("chattr", project, "--title", "x", account=other_user)
    assert result.code == 4
    assert "owner" in result.err


def test_stdout_carries_only_data(cli: Any, project: str) -> None:
    listed = cli.run("ls", "--json", "-l", project).ok()
    assert json.loads(listed.out)[0]["name"] == "f.txt"
    uploaded = cli.run("cp", "-", f"{project}/bin", input=bytes(range(256))).ok()
    assert uploaded.out == ""
    assert cli.run("cat", f"{project}/bin").ok().out_bytes == bytes(range(256))


def test_debug_shows_the_traceback(cli: Any) -> None:
    result = cli.run("ls", f"{cli.account.name}/nothing", env={"ANACONDA_STORAGE_DEBUG": "1"})
    assert result.code == 3
    assert "Traceback (most recent call last)" in result.err


def test_rm_project_refuses_without_a_terminal(cli: Any, project: str) -> None:
    result = cli.run("rm", "-r", project)
    assert result.code == 2
    assert "--yes" in result.err
    assert cli.run("cat", f"{project}/f.txt").ok().out == "x"


def test_the_rsync_rule_in_real_processes(cli: Any, tree: Path, tmp_path: Path) -> None:
    run = cli.run
    project = f"{cli.account.name}/rsync"
    run("mkdir", project).ok()
    run("upload", "-q", str(tree), f"{project}/itself").ok()
    run("upload", "-q", f"{tree}/", f"{project}/contents").ok()
    run("cp", "-q", "-r", f"{project}/itself", f"{project}/cp-itself").ok()
    run("cp", "-q", "-r", f"{project}/itself/", f"{project}/cp-contents").ok()
    run("mv", "-q", f"{project}/cp-itself", f"{project}/mv-itself").ok()
    run("mv", "-q", f"{project}/cp-contents/", f"{project}/mv-contents").ok()
    listed = run("ls", "-R", project).ok().out.splitlines()
    assert [line for line in listed if line.endswith("a.csv")] == [
        "contents/a.csv",
        "itself/data/a.csv",
        "mv-contents/data/a.csv",
        "mv-itself/cp-itself/itself/data/a.csv",
    ]
    run("download", "-q", f"{project}/contents", str(tmp_path / "itself")).ok()
    run("download", "-q", f"{project}/contents/", str(tmp_path / "contents")).ok()
    assert (tmp_path / "itself" / "contents" / "sub" / "b.txt").read_text() == "bee\n"
    assert (tmp_path / "contents" / "sub" / "b.txt").read_text() == "bee\n"
    assert (tmp_path / "contents" / "empty").is_dir()
    # rmdir: an empty directory goes, a full one stays
    run("rmdir", f"{project}/contents/empty").ok()
    assert run("rmdir", f"{project}/contents").code == 5
    run("rm", "-q", "-r", "--yes", project).ok()
