"""checkpoint, chmod and chattr, as the owner and as a second user who sees the result."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture
def project(cli: Any) -> str:
    name = f"{cli.account.name}/shared"
    cli("mkdir", name).ok()
    cli("cp", "-", f"{name}/q1.csv", input="a,b\n1,2\n").ok()
    return name


def test_chmod_read_then_write(cli: Any, project: str, other_user: Any) -> None:
    bob = other_user
    hidden = cli("cat", f"{project}/q1.csv", account=bob)
    assert hidden.code == 3  # a project you cannot read does not exist for you
    granted = cli("chmod", project, f"u/{bob.name}+r").ok()
    assert f"{bob.name} may read" in granted.err
    assert cli("cat", f"{project}/q1.csv", account=bob).ok().out == "a,b\n1,2\n"
    assert "shared" in cli("ls", cli.account.name, account=bob).ok().out
    denied = cli("touch", f"{project}/bob.txt", account=bob)
    assert denied.code == 4, denied
    assert "write" in denied.err
    cli("chmod", f"anaconda://{project}", f"u/{bob.name}+w").ok()
    cli("cp", "-", f"{project}/bob.txt", input="hi", account=bob).ok()
    assert cli("chmod", project, f"u/{cli.account.name}-r", account=bob).code == 4
    cli("chmod", project, f"u/{bob.name}-w").ok()
    assert cli("touch", f"{project}/bob2.txt", account=bob).code == 4
    cli("chmod", project, f"u/{bob.name}-r").ok()
    assert cli("ls", project, account=bob).code == 3


def test_chmod_json_and_errors(cli: Any, project: str, other_user: Any) -> None:
    result = json.loads(cli("chmod", "--json", project, f"u/{other_user.name}+w").ok().out)
    assert result["owner"]["name"] == cli.account.name
    assert result["grants"] == [{"principal": result["grants"][0]["principal"], "level": "w"}]
    bad = cli("chmod", project, "u/bob*r")
    assert bad.code == 2
    assert "invalid permission" in bad.err
    assert cli("chmod", project, "u/nobody-at-all+r").code == 3
    assert cli("chmod", f"{project}/q1.csv", f"u/{other_user.name}+r").code == 2
    transfer = cli("chmod", project, f"u/{other_user.name}+o")
    assert transfer.code == 2
    assert "organization" in transfer.err


def test_chattr_project_seen_by_a_second_user(cli: Any, project: str, other_user: Any) -> None:
    cli("chmod", project, f"u/{other_user.name}+r").ok()
    cli(
        "chattr",
        project,
        "--title",
        "Shared data",
        "--description",
        "For Bob",
        "--tag",
        "data",
        "--tag",
        "notebook",
    ).ok()
    seen = json.loads(cli("stat", "--json", project, account=other_user).ok().out)
    assert seen["title"] == "Shared data"
    assert seen["description"] == "For Bob"
    assert seen["tags"] == ["data", "notebook"]
    cli("chattr", project, "--no-tags").ok()
    assert json.loads(cli("stat", "--json", project).ok().out)["tags"] == []
    assert cli("chattr", project, "--title", "x", account=other_user).code == 4


def test_chattr_hidden_and_rename(cli: Any, project: str) -> None:
    owner = cli.account.name
    cli("chattr", project, "--hidden").ok()
    assert cli("ls", owner).ok().out == ""
    cli("chattr", project, "--no-hidden", "--name", "renamed").ok()
    assert cli("ls", owner).ok().out == "renamed\n"
    assert cli("cat", f"{owner}/renamed/q1.csv").ok().out == "a,b\n1,2\n"


def test_chattr_file_metadata_is_a_revision(cli: Any, project: str, other_user: Any) -> None:
    path = f"{project}/q1.csv"
    cli("chmod", project, f"u/{other_user.name}+r").ok()
    cli(
        "chattr", path, "--description", "Q1", "--metadata", "source=crm", "--metadata", "k=v=w"
    ).ok()
    cli("chattr", path, "--metadata", "owner=sales", "--unset-metadata", "source").ok()
    seen = json.loads(cli("stat", "--json", path, account=other_user).ok().out)
    assert seen["description"] == "Q1"
    assert seen["metadata"] == {"k": "v=w", "owner": "sales"}
    assert len(seen["revisions"]) == 3
    assert cli("cat", path).ok().out == "a,b\n1,2\n"  # same content
    history = cli("ls", "--revisions", path).ok().out
    assert "attributes" in history


def test_chattr_errors(cli: Any, project: str) -> None:
    assert cli("chattr", project).code == 2  # nothing to change
    assert cli("chattr", project, "--tag", "music").code == 2
    assert cli("chattr", project, "--name", "Bad Name").code == 2
    assert cli("chattr", project, "--metadata", "a=b").code == 2
    assert cli("chattr", f"{project}/q1.csv", "--title", "x").code == 2
    assert cli("chattr", f"{project}/q1.csv", "--metadata", "novalue").code == 2
    assert cli("chattr", f"{project}/q1.csv#-1", "--description", "x").code == 2
    assert cli("chattr", cli.account.name, "--title", "x").code == 2
    assert cli("chattr", project, "--title", "x" * 121).code == 2


def test_checkpoint(cli: Any, project: str, other_user: Any) -> None:
    made = json.loads(cli("checkpoint", "--json", project, "-m", "v1").ok().out)
    assert made["message"] == "v1"
    assert made["uri"] == f"anaconda://{project}#{made['id']}"
    assert cli("checkpoint", f"{project}/q1.csv").code == 2
    cli("chmod", project, f"u/{other_user.name}+r").ok()
    assert cli("checkpoint", project, account=other_user).code == 4
