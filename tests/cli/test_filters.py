"""--exclude and --include on upload, download, cp and rm: gitignore patterns, matched
relative to the directory walked (a file named on the command line by its name)."""

from __future__ import annotations

import json
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


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """data/{a.csv, a.tmp, sub/b.csv, sub/c.tmp, build/x, empty/}."""
    root = tmp_path / "messy" / "data"
    for name in ("sub", "build", "empty"):
        (root / name).mkdir(parents=True)
    for name in ("a.csv", "a.tmp", "sub/b.csv", "sub/c.tmp", "build/x"):
        (root / name).write_text(name)
    return root


@pytest.fixture
def filled(cli: Any, project: str, messy: Path) -> str:
    cli("upload", f"{messy}/", project).ok()
    return project


def listed(cli: Any, uri: str) -> list[str]:
    out: str = cli("ls", "-R", uri).ok().out
    return out.splitlines()


def test_upload_excludes_at_any_depth_and_anchored(cli: Any, project: str, messy: Path) -> None:
    cli("upload", "--exclude", "*.tmp", "--exclude", "/build", str(messy), project).ok()
    assert listed(cli, project) == ["data/a.csv", "data/empty/", "data/sub/b.csv"]


def test_upload_include_alone_keeps_only_its_matches(cli: Any, project: str, messy: Path) -> None:
    result = cli("upload", "--json", "--include", "*.csv", f"{messy}/", project).ok()
    assert sorted(f["destination"] for f in json.loads(result.out)["files"]) == [
        f"anaconda://{project}/a.csv",
        f"anaconda://{project}/sub/b.csv",
    ]


def test_upload_matches_a_named_file_by_its_name(cli: Any, project: str, messy: Path) -> None:
    cli(
        "upload",
        "--exclude",
        "*.tmp",
        str(messy / "a.csv"),
        str(messy / "a.tmp"),
        f"{project}/in/",
    ).ok()
    assert listed(cli, project) == ["in/a.csv"]


def test_download_include_brings_back_what_exclude_left_out(
    cli: Any, filled: str, tmp_path: Path
) -> None:
    target = tmp_path / "down"
    cli(
        "download",
        "--exclude",
        "sub/",
        "--include",
        "sub/b.csv",
        "--exclude",
        "*.tmp",
        f"{filled}/",
        str(target),
    ).ok()
    assert files_below(target) == ["a.csv", "build/x", "empty/", "sub/b.csv"]


def test_cp_directory_with_exclude_copies_the_rest_on_the_server(cli: Any, filled: str) -> None:
    result = cli(
        "cp", "-r", "--exclude", "*.tmp", "--exclude", "build/", filled, f"{filled}/copy"
    ).ok()
    assert "Copied 2 files" in result.err
    assert [p for p in listed(cli, filled) if p.startswith("copy/")] == [
        "copy/p/a.csv",
        "copy/p/empty/",
        "copy/p/sub/b.csv",
    ]


def test_cp_of_an_excluded_file_copies_nothing(cli: Any, filled: str) -> None:
    cli("cp", "--exclude", "*.tmp", f"{filled}/a.tmp", f"{filled}/b.tmp").ok()
    assert "b.tmp" not in listed(cli, filled)


def test_rm_recursive_with_include_removes_only_the_selected(cli: Any, filled: str) -> None:
    dry = cli("rm", "-r", "--dry-run", "--include", "*.tmp", filled).ok()
    assert dry.out.splitlines() == [
        f"would remove anaconda://{filled}/a.tmp",
        f"would remove anaconda://{filled}/sub/c.tmp",
    ]
    # Filtered, rm -r of a project removes files, not the project: no question asked.
    cli("rm", "-r", "--include", "*.tmp", filled).ok()
    assert listed(cli, filled) == ["a.csv", "build/x", "empty/", "sub/b.csv"]
    cli("rm", "-r", "--exclude", "*.csv", f"{filled}/build").ok()
    assert listed(cli, filled) == ["a.csv", "empty/", "sub/b.csv"]
