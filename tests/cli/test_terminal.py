"""What a first-time user meets at the terminal (issue 12's "smaller frictions"): -h, help
that reads like git's, -r on upload and download, one unit convention, ls -h, one line for
one failure, and hints that do not send anyone astray."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from anaconda_storage_cli.progress import RichReporter


@pytest.fixture
def project(cli: Any) -> str:
    name = f"{cli.account.name}/p"
    cli("mkdir", name).ok()
    return name


# -- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [(), ("cp",), ("upload",), ("rm",), ("sync",)])
def test_dash_h_is_help(cli: Any, command: tuple[str, ...]) -> None:
    short, long = cli(*command, "-h").ok(), cli(*command, "--help").ok()
    assert short.out == long.out
    assert "Usage:" in short.out


def test_help_reads_like_gits(cli: Any) -> None:
    for command in ("cp", "upload", "download", "rm", "ls", "sync", "cat", "mkdir"):
        text = cli(command, "--help").ok().out
        assert "<bool>" not in text, command
        assert "<list[str]>" not in text, command
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert "{" not in usage, command
    cp = cli("cp", "--help").ok().out
    assert re.search(r"Usage: .*storage cp \[OPTIONS\] SRC\.\.\. DST *\n", cp)
    assert re.search(r"--jobs\s+-j\s+N ", cp)
    assert re.search(r"storage ls \[OPTIONS\] \[PATH\] *\n", cli("ls", "--help").ok().out)


def test_ls_dash_h_is_human_sizes_and_help_is_long_only(cli: Any, project: str) -> None:
    cli("cp", "-", f"{project}/big.bin", input=b"x" * 3 * 1024 * 1024).ok()
    assert cli("ls", "-l", project).ok().out.split()[0] == str(3 * 1024 * 1024)
    assert cli("ls", "-lh", project).ok().out.startswith("3.0 MiB  ")
    assert re.search(r"--human-readable\s+-h\s", cli("ls", "--help").ok().out)


# -- transfers -----------------------------------------------------------------------------


def test_upload_and_download_accept_recursive(cli: Any, project: str, tree: Path) -> None:
    cli("upload", "-r", f"{tree}/", project).ok()
    cli("upload", "--recursive", str(tree), project).ok()
    target = tree.parent / "down"
    cli("download", "-r", f"{project}/data", str(target)).ok()
    assert (target / "data" / "sub" / "b.txt").read_text() == "bee\n"


def test_download_counts_only_empty_directories(cli: Any, project: str, tmp_path: Path) -> None:
    cli("mkdir", f"{project}/full", f"{project}/empty").ok()
    cli("cp", "-", f"{project}/full/a.csv", input=b"a\n").ok()
    result = cli("download", f"{project}/", str(tmp_path / "down")).ok()
    assert "; 1 empty directory made" in result.err
    assert sorted(p.name for p in (tmp_path / "down").iterdir()) == ["empty", "full"]


def test_progress_uses_iec_units_and_one_eta(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    reporter = RichReporter(console, "Uploading")
    reporter.start(3, 3 * 1024 * 1024)
    reporter.begin(0, "a.csv", 1024 * 1024)
    reporter.advance(0, 512 * 1024)
    time.sleep(0.2)
    reporter.advance(0, 512 * 1024)
    reporter.begin(1, "copied-on-the-server", None)
    reporter.begin(2, "b.csv", 1024)
    reporter.done(2, "uploaded b.csv", 1024)
    shown = Console(file=io.StringIO(), width=120, record=True)
    assert reporter._progress is not None
    shown.print(reporter._progress.get_renderable())
    reporter.stop()
    rows = shown.export_text().splitlines()
    assert len(rows) == 3  # overall, a.csv, the copy: the finished b.csv is gone
    assert rows[0].startswith("Uploading 1/3 files")
    assert re.search(r"MiB/s \d+:\d\d:\d\d$", rows[0].rstrip()), rows[0]
    assert re.search(r"MiB/s$", rows[1].rstrip()), rows[1]  # no ETA of its own
    assert "MB/s" not in "".join(rows)
    assert "?" not in rows[2].replace("0/? bytes", "")  # no "?" rate for an unknown size


# -- rm --------------------------------------------------------------------------------------


def test_rm_of_a_missing_file_is_one_line(cli: Any, project: str) -> None:
    result = cli("rm", f"{project}/missing.csv")
    assert result.code == 3
    assert result.err.splitlines() == [
        f"error: anaconda://{project}/missing.csv not found: no such file or directory"
    ]


def test_a_refusal_without_yes_is_no_failed_file(cli: Any, project: str) -> None:
    cli("cp", "-", f"{project}/keep.csv", input=b"k\n").ok()
    result = cli("rm", "-r", f"{project}/keep.csv", project)
    assert result.code == 2
    assert len(result.err.splitlines()) == 1
    assert "add --yes" in result.err
    assert "failed" not in result.err
    assert cli("ls", project).ok().out == "keep.csv\n"  # nothing removed


def test_rm_dry_run_lists_no_markers(cli: Any, project: str) -> None:
    cli("mkdir", f"{project}/d/empty").ok()
    cli("cp", "-", f"{project}/d/a.csv", input=b"a\n").ok()
    dry = cli("rm", "-r", "--dry-run", f"{project}/d").ok()
    assert dry.out.splitlines() == [f"would remove anaconda://{project}/d/a.csv"]
    assert "would have removed 1 file;" in dry.err
    assert "Removed 1 file " in cli("rm", "-r", f"{project}/d").ok().err


# -- hints and paths -----------------------------------------------------------------------


def test_no_mkdir_hint_for_a_project_the_caller_cannot_see(
    cli: Any, project: str, other_user: Any
) -> None:
    cli("cp", "-", f"{project}/a.csv", input=b"a\n").ok()
    theirs = f"{other_user.name}/shared"
    cli("mkdir", theirs, account=other_user).ok()
    result = cli("cp", f"{project}/a.csv", f"{theirs}/")
    assert result.code == 3
    assert "mkdir" not in result.err
    assert f"{other_user.name} has not shared it with you" in result.err
    mine = cli("cp", f"{project}/a.csv", f"{cli.account.name}/new/")
    assert f"anaconda storage mkdir {cli.account.name}/new" in mine.err


def test_rmdir_of_a_full_project_suggests_rm_r(cli: Any, project: str) -> None:
    cli("cp", "-", f"{project}/a.csv", input=b"a\n").ok()
    result = cli("rmdir", project)
    assert result.code == 5
    assert f"anaconda storage rm -r {project}" in result.err
    assert "recursive=true" not in result.err


def test_remote_paths_are_shown_with_the_scheme(cli: Any, project: str) -> None:
    assert f"anaconda://{project}\n" in cli("stat", project).ok().out
