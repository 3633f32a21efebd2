"""upload, download, cp and mv: the rsync rule both ways, summaries, dry runs, failures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def files_below(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() + ("/" if p.is_dir() else "")
        for p in root.rglob("*")
        if p.is_file() or not any(p.iterdir())
    )


@pytest.fixture
def project(cli: Any) -> str:
    name = f"{cli.account.name}/p"
    cli("mkdir", name).ok()
    return name


# -- upload ------------------------------------------------------------------------------


@pytest.mark.parametrize("existing", [False, True])
def test_upload_directory_itself(cli: Any, project: str, tree: Path, existing: bool) -> None:
    if existing:
        cli("mkdir", f"{project}/in").ok()
    cli("upload", str(tree), f"{project}/in").ok()
    assert cli("ls", "-R", project).ok().out.splitlines() == [
        "in/data/a.csv",
        "in/data/empty/",
        "in/data/sub/b.txt",
    ]


@pytest.mark.parametrize("existing", [False, True])
def test_upload_directory_contents(cli: Any, project: str, tree: Path, existing: bool) -> None:
    if existing:
        cli("mkdir", f"{project}/in").ok()
    cli("upload", f"{tree}/", f"anaconda://{project}/in").ok()
    assert cli("ls", "-R", project).ok().out.splitlines() == [
        "in/a.csv",
        "in/empty/",
        "in/sub/b.txt",
    ]


def test_upload_files(cli: Any, project: str, tree: Path) -> None:
    cli("upload", str(tree / "a.csv"), f"{project}/renamed.csv").ok()
    cli("upload", str(tree / "a.csv"), f"{project}/dir/").ok()
    cli("upload", str(tree / "a.csv"), str(tree / "sub" / "b.txt"), f"{project}/many").ok()
    assert cli("ls", "-R", project).ok().out.splitlines() == [
        "dir/a.csv",
        "many/a.csv",
        "many/b.txt",
        "renamed.csv",
    ]
    assert cli("cat", f"{project}/renamed.csv").ok().out == "a,b\n1,2\n"


def test_upload_dot_means_contents(cli: Any, project: str, tree: Path) -> None:
    cli.run("upload", "-q", ".", project, cwd=tree).ok()
    assert "a.csv" in cli("ls", project).ok().out.split()


def test_upload_summary_and_log_lines(cli: Any, project: str, tree: Path) -> None:
    result = cli("upload", str(tree), project).ok()
    assert f"uploaded {tree / 'a.csv'} -> anaconda://{project}/data/a.csv (8 B)" in result.err
    assert "Uploaded 2 files, 12 B" in result.err
    assert "1 empty directory made" in result.err
    assert result.out == ""
    assert cli("upload", "-q", str(tree), f"{project}/again").ok().err == ""


def test_upload_json_summary(cli: Any, project: str, tree: Path) -> None:
    summary = json.loads(cli("upload", "--json", "-q", f"{tree}/", project).ok().out)
    assert summary["operation"] == "upload"
    assert summary["bytes"] == 12
    assert summary["failed"] == []
    assert summary["directories"] == [f"anaconda://{project}/empty"]
    assert sorted(f["destination"] for f in summary["files"]) == [
        f"anaconda://{project}/a.csv",
        f"anaconda://{project}/sub/b.txt",
    ]
    assert all(len(f["revision"]) == 36 for f in summary["files"])


def test_upload_dry_run_changes_nothing(cli: Any, project: str, tree: Path) -> None:
    result = cli("upload", "--dry-run", str(tree), f"{project}/in").ok()
    assert f"would upload {tree / 'a.csv'} -> anaconda://{project}/in/data/a.csv" in result.out
    assert f"would make directory anaconda://{project}/in/data/empty" in result.out
    assert "nothing was changed" in result.err
    assert cli("ls", project).ok().out == ""


def test_upload_many_files_concurrently(cli: Any, project: str, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"f{i:02}.txt").write_text(str(i))
    result = cli("upload", "-j", "16", "--json", f"{folder}/", project).ok()
    assert len(json.loads(result.out)["files"]) == 40
    assert len(cli("ls", project).ok().out.splitlines()) == 40


@pytest.mark.skipif(os.sep == "\\", reason="a backslash is a separator on Windows")
def test_upload_partial_failure(cli: Any, project: str, tree: Path) -> None:
    (tree / "bad\\name.csv").write_text("x")  # a name the store refuses
    result = cli("upload", f"{tree}/", project)
    assert result.code == 6, result
    assert "bad\\name.csv" in result.err
    assert "1 failed" in result.err
    assert "a.csv" in cli("ls", project).ok().out  # the others went


def test_upload_errors(cli: Any, project: str, tree: Path) -> None:
    missing = cli("upload", str(tree / "nope"), project)
    assert missing.code == 3
    assert "nope" in missing.err
    assert cli("upload", str(tree), f"{cli.account.name}/no-project").code == 3
    assert "mkdir" in cli("upload", str(tree), f"{cli.account.name}/no-project").err
    assert cli("upload", str(tree), f"{project}#-1").code == 2
    assert cli("upload", str(tree)).code == 2
    cli("upload", str(tree / "a.csv"), f"{project}/file.csv").ok()
    onto_file = cli("upload", str(tree), f"{project}/file.csv")
    assert onto_file.code == 2
    assert "onto file" in onto_file.err


# -- download ----------------------------------------------------------------------------


@pytest.fixture
def filled(cli: Any, project: str, tree: Path) -> str:
    cli("upload", "-q", f"{tree}/", project).ok()
    return project


def test_download_whole_project(cli: Any, filled: str, tmp_path: Path) -> None:
    cli("download", filled, str(tmp_path / "here")).ok()
    assert files_below(tmp_path / "here") == ["p/a.csv", "p/empty/", "p/sub/b.txt"]
    assert (tmp_path / "here" / "p" / "a.csv").read_text() == "a,b\n1,2\n"


def test_download_project_contents(cli: Any, filled: str, tmp_path: Path) -> None:
    cli("download", f"{filled}/", str(tmp_path / "flat")).ok()
    assert files_below(tmp_path / "flat") == ["a.csv", "empty/", "sub/b.txt"]


@pytest.mark.parametrize(("slash", "expected"), [("", ["sub/b.txt"]), ("/", ["b.txt"])])
def test_download_directory(
    cli: Any, filled: str, tmp_path: Path, slash: str, expected: list[str]
) -> None:
    (tmp_path / "x").mkdir()
    cli("download", f"{filled}/sub{slash}", str(tmp_path / "x")).ok()
    assert files_below(tmp_path / "x") == expected


def test_download_files_and_history(cli: Any, filled: str, tmp_path: Path) -> None:
    cli("cp", "-", f"{filled}/a.csv", input="changed\n").ok()
    cli("download", f"{filled}/a.csv#-1", str(tmp_path / "old.csv")).ok()
    assert (tmp_path / "old.csv").read_text() == "a,b\n1,2\n"
    cli("download", f"{filled}/a.csv", f"{filled}/sub/b.txt", str(tmp_path / "both")).ok()
    assert files_below(tmp_path / "both") == ["a.csv", "b.txt"]
    cli("download", f"{filled}/a.csv", f"{tmp_path}/new/").ok()
    assert (tmp_path / "new" / "a.csv").read_text() == "changed\n"


def test_download_at_a_checkpoint(cli: Any, filled: str, tmp_path: Path) -> None:
    cli("checkpoint", filled).ok()
    cli("rm", "-r", f"{filled}/sub").ok()
    cli("download", f"{filled}#-1/", str(tmp_path / "then")).ok()
    assert files_below(tmp_path / "then") == ["a.csv", "empty/", "sub/b.txt"]


def test_download_dry_run_and_json(cli: Any, filled: str, tmp_path: Path) -> None:
    dry = cli("download", "--dry-run", filled, str(tmp_path / "d")).ok()
    assert "would download" in dry.out
    assert not (tmp_path / "d").exists()
    summary = json.loads(cli("download", "--json", filled, str(tmp_path / "d")).ok().out)
    assert summary["bytes"] == 12
    assert len(summary["files"]) == 2


def test_download_errors(cli: Any, filled: str, tmp_path: Path) -> None:
    assert cli("download", f"{filled}/nope", str(tmp_path)).code == 3
    assert cli("download", cli.account.name, str(tmp_path)).code == 2
    (tmp_path / "file").write_text("x")
    assert cli("download", filled, str(tmp_path / "file")).code == 2


# -- cp and mv: on the server ------------------------------------------------------------


def test_cp_needs_recursive_for_a_directory(cli: Any, filled: str) -> None:
    refused = cli("cp", f"{filled}/sub", f"{filled}/copy")
    assert refused.code == 2
    assert "cp -r" in refused.err


@pytest.mark.parametrize(("slash", "expected"), [("", ["copy/sub/b.txt"]), ("/", ["copy/b.txt"])])
def test_cp_directory_both_ways(cli: Any, filled: str, slash: str, expected: list[str]) -> None:
    cli("cp", "-r", f"{filled}/sub{slash}", f"{filled}/copy").ok()
    listed = [
        line for line in cli("ls", "-R", filled).ok().out.splitlines() if line.startswith("copy")
    ]
    assert listed == expected


def test_cp_between_projects_and_users(cli: Any, filled: str, other_user: Any) -> None:
    target = f"{other_user.name}/inbox"
    cli("mkdir", target, account=other_user).ok()
    cli("chmod", target, f"u/{cli.account.name}+w", account=other_user).ok()
    result = cli("cp", "-r", filled, target).ok()
    assert "Copied 3 files" in result.err
    assert cli("ls", "-R", target, account=other_user).ok().out.splitlines() == [
        "p/a.csv",
        "p/empty/",
        "p/sub/b.txt",
    ]


def test_cp_restores_an_old_revision(cli: Any, filled: str) -> None:
    path = f"{filled}/a.csv"
    cli("cp", "-", path, input="oops\n").ok()
    cli("cp", f"{path}#-1", path).ok()
    assert cli("cat", path).ok().out == "a,b\n1,2\n"
    assert len(json.loads(cli("ls", "--revisions", "--json", path).ok().out)) == 3


def test_cp_file_to_a_new_name_and_into_a_directory(cli: Any, filled: str) -> None:
    cli("cp", f"{filled}/a.csv", f"{filled}/b.csv").ok()
    cli("cp", f"{filled}/a.csv", f"{filled}/sub").ok()
    cli("cp", f"{filled}/a.csv", f"{filled}/new/").ok()
    assert cli("ls", "-R", filled).ok().out.splitlines() == [
        "a.csv",
        "b.csv",
        "empty/",
        "new/a.csv",
        "sub/a.csv",
        "sub/b.txt",
    ]


def test_cp_stdin_and_stdout(cli: Any, project: str) -> None:
    cli("cp", "-", f"{project}/in.txt", input="from stdin\n").ok()
    assert cli("cp", f"{project}/in.txt", "-").ok().out == "from stdin\n"
    assert cli("cp", "-", project).code == 2


def test_cp_dry_run_and_json(cli: Any, filled: str) -> None:
    dry = cli("cp", "-r", "--dry-run", f"{filled}/", f"{filled}/backup").ok()
    assert (
        f"would copy anaconda://{filled}/sub/b.txt -> anaconda://{filled}/backup/sub/b.txt"
        in dry.out
    )
    assert "backup" not in cli("ls", filled).ok().out
    summary = json.loads(cli("cp", "-r", "--json", f"{filled}/sub", f"{filled}/backup").ok().out)
    assert summary["files"][0]["destination"] == f"anaconda://{filled}/backup/sub/b.txt"
    assert summary["files"][0]["size"] is None


def test_mv_rename_and_directories(cli: Any, filled: str) -> None:
    cli("mv", f"{filled}/a.csv", f"{filled}/renamed.csv").ok()
    cli("mv", f"{filled}/sub", f"{filled}/moved").ok()  # the directory itself goes inside
    cli("mv", f"{filled}/empty/", f"{filled}/was-empty").ok()  # its contents go in
    assert cli("ls", "-R", filled).ok().out.splitlines() == [
        "moved/sub/b.txt",
        "renamed.csv",
        "was-empty/",
    ]
    # history stays with the old path
    assert cli("cat", f"{filled}/a.csv#-1").ok().out == "a,b\n1,2\n"


def test_mv_dry_run_and_errors(cli: Any, filled: str) -> None:
    dry = cli("mv", "--dry-run", f"{filled}/sub", f"{filled}/elsewhere").ok()
    assert "would move" in dry.out
    assert "elsewhere" not in cli("ls", filled).ok().out
    assert cli("mv", f"{filled}/a.csv#-1", f"{filled}/x.csv").code == 2
    assert cli("mv", f"{filled}/nope", f"{filled}/x.csv").code == 3
    into_itself = cli("mv", f"{filled}/sub", f"{filled}/sub/deeper")
    assert into_itself.code != 0
    assert "Traceback" not in into_itself.err
