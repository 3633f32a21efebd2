"""Wildcards in remote paths: the pattern grammar, and ls, cat, cp, mv, rm and download
expanding a pattern from one listing of its fixed prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from anaconda_storage_cli.errors import UsageProblem
from anaconda_storage_cli.wildcards import has_wildcard, parse_pattern

# -- the grammar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("*.csv", ["a.csv", ".csv", "*.csv"], ["a.csv.gz", "d/a.csv"]),
        ("q?.csv", ["q1.csv", "q?.csv"], ["q10.csv", "q/.csv"]),
        ("q[12].csv", ["q1.csv", "q2.csv"], ["q3.csv", "q[12].csv"]),
        ("q[!12].csv", ["q3.csv"], ["q1.csv", "q/.csv"]),
        ("q[^1-3].csv", ["q4.csv"], ["q2.csv"]),
        ("[]x]", ["]", "x"], ["y"]),
        ("a[", ["a["], ["ab"]),
        ("**/b.csv", ["b.csv", "x/b.csv", "x/y/b.csv"], ["xb.csv", "x/ab.csv"]),
        ("[a]/**", ["a/b", "a/b/c"], ["a", "ab/c"]),
        ("[a]/**/*.csv", ["a/q.csv", "a/b/c/q.csv"], ["q.csv", "a/q.txt"]),
        ("a**b", ["ab", "axxb"], ["a/b"]),
        # Percent-encoded, a wildcard character is literal.
        ("%2A-*.csv", ["*-1.csv"], ["x-1.csv"]),
        ("what%3F-?", ["what?-1"], ["whatx-1"]),
        ("%5Bdraft]*", ["[draft]1"], ["d1"]),
        ("[*]*", ["*", "*.csv"], ["x"]),
        ("caf%C3%A9-*", ["caf\u00e9-1"], ["cafe-1"]),
    ],
)
def test_pattern_matches(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    compiled = parse_pattern(f"alice/p/{pattern}")
    assert [p for p in matching if not compiled.regex.fullmatch(p)] == []
    assert [p for p in not_matching if compiled.regex.fullmatch(p)] == []


def test_the_fixed_prefix_is_listed_once() -> None:
    pattern = parse_pattern("anaconda://alice/p#-1/2024/raw/*/q?.csv/")
    assert str(pattern.base) == "anaconda://alice/p#-1/2024/raw"
    assert pattern.names == ("*", "q?.csv")
    assert pattern.directories_only
    assert not pattern.one_level
    assert parse_pattern("alice/p/2024/*.csv").one_level
    assert not parse_pattern("alice/p/**").one_level


def test_where_wildcards_count() -> None:
    assert has_wildcard("alice/p/*.csv")
    assert has_wildcard("anaconda://alice/p/d/q?.csv")
    assert not has_wildcard("alice/p/q%2A.csv")
    assert not has_wildcard("alice/p")  # owner and project names take none
    assert not has_wildcard("alice/p*")
    with pytest.raises(UsageProblem, match="no #<revision>"):
        parse_pattern("alice/p/*.csv#-1")


# -- the commands --------------------------------------------------------------------------


@pytest.fixture
def filled(cli: Any, tmp_path: Path) -> str:
    """p/{2024/a.csv, 2024/b.csv, 2024/x.txt, 2024/sub/c.csv, 2025/d.csv, empty/}."""
    root = tmp_path / "wild"
    for name in ("2024/a.csv", "2024/b.csv", "2024/x.txt", "2024/sub/c.csv", "2025/d.csv"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    (root / "empty").mkdir()
    project = f"{cli.account.name}/p"
    cli("mkdir", project).ok()
    cli("upload", f"{root}/", project).ok()
    return project


def test_ls_of_a_pattern(cli: Any, filled: str) -> None:
    assert cli("ls", f"{filled}/2024/*.csv").ok().out.splitlines() == ["a.csv", "b.csv"]
    assert cli("ls", f"{filled}/**/*.csv").ok().out.splitlines() == [
        "2024/a.csv",
        "2024/b.csv",
        "2024/sub/c.csv",
        "2025/d.csv",
    ]
    # Directories match as themselves, not opened (ls -d); a trailing / keeps only them.
    assert cli("ls", f"anaconda://{filled}/20*").ok().out.splitlines() == ["2024/", "2025/"]
    assert cli("ls", f"{filled}/2024/*/").ok().out.splitlines() == ["sub/"]
    long = cli("ls", "-l", f"{filled}/2024/[ax]*").ok().out.splitlines()
    assert [line.split()[-1] for line in long] == ["a.csv", "x.txt"]


def test_ls_of_a_pattern_reads_a_checkpoint(cli: Any, filled: str) -> None:
    cli("checkpoint", filled).ok()
    cli("rm", f"{filled}/2024/a.csv").ok()
    assert cli("ls", f"{filled}/2024/*.csv").ok().out.splitlines() == ["b.csv"]
    assert cli("ls", f"{filled}#-1/2024/*.csv").ok().out.splitlines() == ["a.csv", "b.csv"]


def test_no_match_is_a_clear_error(cli: Any, filled: str) -> None:
    for command in (("ls",), ("cat",), ("rm",), ("cp",), ("download",)):
        args = [*command, f"{filled}/2024/*.zip"]
        if command[0] in ("cp", "download"):
            args.append(f"{filled}/out/" if command[0] == "cp" else "out")
        result = cli(*args)
        assert result.code == 3, (command, result)
        assert f"no match for {filled}/2024/*.zip" in result.err
        assert len(result.err.splitlines()) == 1


def test_cat_of_a_pattern_reads_each_file(cli: Any, filled: str) -> None:
    assert cli("cat", f"{filled}/2024/?.csv").ok().out == "2024/a.csv2024/b.csv"
    result = cli("cat", f"{filled}/202?")
    assert result.code == 2
    assert "matches only directories" in result.err


def test_cp_and_mv_of_a_pattern(cli: Any, filled: str) -> None:
    cli("cp", f"{filled}/**/*.csv", f"{filled}/all/").ok()
    assert cli("ls", f"{filled}/all").ok().out.splitlines() == [
        "a.csv",
        "b.csv",
        "c.csv",
        "d.csv",
    ]
    # A matched directory needs -r, as if the shell had expanded it.
    result = cli("cp", f"{filled}/202*", f"{filled}/years/")
    assert result.code == 2
    assert "is a directory: use cp -r" in result.err
    cli("cp", "-r", f"{filled}/202*", f"{filled}/years/").ok()
    assert cli("ls", f"{filled}/years").ok().out.splitlines() == ["2024/", "2025/"]
    cli("mv", f"{filled}/all/[ab].csv", f"{filled}/ab/").ok()
    assert cli("ls", f"{filled}/all").ok().out.splitlines() == ["c.csv", "d.csv"]
    result = cli("cp", f"{filled}/all/c.csv", f"{filled}/x*")
    assert result.code == 2
    assert "%2A" in result.err


def test_rm_of_a_pattern(cli: Any, filled: str) -> None:
    dry = cli("rm", "--dry-run", f"{filled}/**/*.csv").ok()
    assert len(dry.out.splitlines()) == 4
    cli("rm", f"{filled}/2024/*.csv").ok()
    assert cli("ls", "-R", f"{filled}/2024").ok().out.splitlines() == ["sub/c.csv", "x.txt"]
    # **: what lies below a matched directory goes with it, not twice.
    cli("rm", "-r", f"{filled}/2024/**").ok()
    assert cli("ls", filled).ok().out.splitlines() == ["2025/", "empty/"]


def test_download_of_a_pattern(cli: Any, filled: str, tmp_path: Path) -> None:
    target = tmp_path / "down"
    cli("download", f"{filled}/**/*.csv", f"{target}/").ok()
    assert sorted(p.name for p in target.iterdir()) == ["a.csv", "b.csv", "c.csv", "d.csv"]
    cli("download", f"{filled}/*/", str(tmp_path / "contents")).ok()
    assert sorted(
        p.relative_to(tmp_path / "contents").as_posix() for p in (tmp_path / "contents").rglob("*")
    ) == ["a.csv", "b.csv", "d.csv", "sub", "sub/c.csv", "x.txt"]
