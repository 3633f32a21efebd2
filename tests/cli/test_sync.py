"""sync: only what differs by content travels, both ways and on the server; --delete,
filters, history as the source, dry runs, the JSON summary and the local hash cache; a
single file as the source (rclone's `sync file dst`); empty directories made."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from anaconda_storage_core import StorageClient
from anaconda_storage_core.sync import hashes


def files_below(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() + ("/" if p.is_dir() else "")
        for p in root.rglob("*")
        if p.is_file() or not any(p.iterdir())
    )


def old(path: Path) -> None:
    """An hour older: out of the hash cache's racy window, as a file left alone is."""
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        stat = item.stat()
        os.utime(item, ns=(stat.st_atime_ns, stat.st_mtime_ns - 3600 * 10**9))


class Sync:
    """Runs `sync --json` in-process with the hash cache under tmp_path."""

    def __init__(self, cli: Any, cache: Path) -> None:
        self.cli = cli
        self.cache = cache

    def __call__(self, *args: str, code: int = 0) -> dict[str, Any]:
        result = self.cli("sync", "--json", *args, env={"XDG_CACHE_HOME": str(self.cache)})
        assert result.code == code, result
        summary: dict[str, Any] = json.loads(result.out)
        return summary

    def text(self, *args: str) -> Any:
        return self.cli("sync", *args, env={"XDG_CACHE_HOME": str(self.cache)})


@pytest.fixture
def sync(cli: Any, tmp_path: Path) -> Sync:
    return Sync(cli, tmp_path / "xdg-cache")


@pytest.fixture
def project(cli: Any) -> str:
    name = f"{cli.account.name}/p"
    cli("mkdir", name).ok()
    return name


@pytest.fixture
def client(cli: Any) -> Any:
    with StorageClient(api_key=cli.account.api_key, domain=cli.account.url) as client:
        yield client


def revisions(client: Any, uri: str) -> int:
    return len(list(client.list_revisions(uri)))


def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every local file the hash cache reads from now on (by name)."""
    opened: list[str] = []
    real = hashes.file_sha256

    def counting(path: str | os.PathLike[str]) -> str:
        opened.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(hashes, "file_sha256", counting)
    return opened


def counts(summary: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (
        summary["copied"],
        summary["skipped"],
        summary["deleted"],
        summary["failed"],
        summary["bytes"],
    )


# -- local to remote ---------------------------------------------------------------------


def test_first_sync_then_nothing_then_one_changed_file(
    sync: Sync, cli: Any, client: Any, project: str, tree: Path
) -> None:
    first = sync(str(tree), project)
    assert counts(first) == (2, 0, 0, 0, 12)
    assert first["failures"] == []
    assert first["directories"] == 1
    assert cli("ls", "-R", project).ok().out.splitlines() == [
        "data/a.csv",
        "data/empty/",
        "data/sub/b.txt",
    ]
    before = revisions(client, f"{project}/data/a.csv")

    again = sync(str(tree), project)
    assert counts(again) == (0, 2, 0, 0, 0)
    assert again["directories"] == 0
    assert revisions(client, f"{project}/data/a.csv") == before

    (tree / "sub" / "b.txt").write_text("wasp\n")
    changed = sync(str(tree), project)
    assert counts(changed) == (1, 1, 0, 0, 5)
    assert client.read_bytes(f"{project}/data/sub/b.txt") == b"wasp\n"
    assert revisions(client, f"{project}/data/a.csv") == before


def test_trailing_slash_syncs_the_contents(sync: Sync, cli: Any, project: str, tree: Path) -> None:
    sync(f"{tree}/", f"{project}/in")
    assert cli("ls", "-R", project).ok().out.splitlines() == [
        "in/a.csv",
        "in/empty/",
        "in/sub/b.txt",
    ]


def test_second_run_reads_no_local_file(
    sync: Sync, project: str, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old(tree)
    sync(f"{tree}/", project)
    opened: list[str] = []
    real = hashes.file_sha256
    monkeypatch.setattr(hashes, "file_sha256", lambda path: opened.append(str(path)) or real(path))
    assert counts(sync(f"{tree}/", project)) == (0, 2, 0, 0, 0)
    assert sorted(Path(p).name for p in opened) == ["a.csv", "b.txt"]  # once, to compare
    opened.clear()
    assert counts(sync(f"{tree}/", project)) == (0, 2, 0, 0, 0)
    assert opened == []  # the cache knew them


def test_a_touched_file_of_the_same_size_is_read_again(
    sync: Sync, client: Any, project: str, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old(tree)
    sync(f"{tree}/", project)
    sync(f"{tree}/", project)  # the cache now knows both files
    target = tree / "a.csv"
    stat = target.stat()
    target.write_text("a,b\n3,4\n")  # same size
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    opened: list[str] = []
    real = hashes.file_sha256
    monkeypatch.setattr(hashes, "file_sha256", lambda path: opened.append(str(path)) or real(path))
    assert counts(sync(f"{tree}/", project)) == (1, 1, 0, 0, 8)
    assert [Path(p).name for p in opened] == ["a.csv"]
    assert client.read_bytes(f"{project}/a.csv") == b"a,b\n3,4\n"


def test_delete_on_the_server_keeps_history(
    sync: Sync, cli: Any, client: Any, project: str, tree: Path
) -> None:
    sync(f"{tree}/", project)
    (tree / "a.csv").unlink()
    (tree / "empty").rmdir()
    without = sync(f"{tree}/", project)
    assert counts(without) == (0, 1, 0, 0, 0)  # nothing deleted without --delete
    result = sync.text("--delete", f"{tree}/", project).ok()
    assert "restore one with `anaconda storage cp" in result.err
    assert "a.csv#-1" in result.err
    assert cli("ls", "-R", project).ok().out.splitlines() == ["sub/b.txt"]
    assert client.read_bytes(f"{project}/a.csv#-1") == b"a,b\n1,2\n"


def test_excluded_paths_are_neither_sent_nor_deleted(
    sync: Sync, cli: Any, client: Any, project: str, tree: Path
) -> None:
    client.upload(f"{project}/remote-only.log", b"kept")
    (tree / "debug.log").write_text("noise")
    (tree / "sub" / "c.log").write_text("noise")
    summary = sync("--delete", "--exclude", "*.log", "--exclude", "empty/", f"{tree}/", project)
    assert counts(summary)[:3] == (2, 0, 0)
    assert cli("ls", "-R", project).ok().out.splitlines() == [
        "a.csv",
        "remote-only.log",
        "sub/b.txt",
    ]
    only = sync("--include", "*.log", f"{tree}/", f"{project}/logs")
    assert counts(only)[:2] == (2, 0)
    assert cli("ls", "-R", f"{project}/logs").ok().out.splitlines() == [
        "debug.log",
        "sub/c.log",
    ]


def test_dry_run_changes_nothing(sync: Sync, cli: Any, project: str, tree: Path) -> None:
    sync(f"{tree}/", project)
    (tree / "a.csv").unlink()
    (tree / "new.csv").write_text("new\n")
    result = sync.text("--dry-run", "--delete", f"{tree}/", project).ok()
    lines = result.out.splitlines()
    assert lines[0] == f"would delete anaconda://{project}/a.csv"
    assert f"would upload {tree}/new.csv -> anaconda://{project}/new.csv" in lines
    assert "nothing was changed" in result.err
    assert cli("ls", "-R", project).ok().out.splitlines() == ["a.csv", "empty/", "sub/b.txt"]
    summary = sync("--dry-run", "--delete", f"{tree}/", project)
    assert counts(summary) == (1, 1, 1, 0, 4)
    assert summary["dry_run"] is True


def test_quiet_prints_nothing(sync: Sync, project: str, tree: Path) -> None:
    result = sync.cli("sync", "-q", f"{tree}/", project).ok()
    assert result.out == ""
    assert result.err == ""


# -- remote to local ---------------------------------------------------------------------


def test_remote_to_local_and_delete_there(
    sync: Sync,
    client: Any,
    project: str,
    tree: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sync(f"{tree}/", project)
    here = tmp_path / "copy"
    first = sync(f"{project}/", str(here))
    assert counts(first) == (2, 0, 0, 0, 12)
    assert files_below(here) == ["a.csv", "empty/", "sub/b.txt"]
    opened = reads(monkeypatch)
    assert counts(sync(f"{project}/", str(here))) == (0, 2, 0, 0, 0)
    assert opened == []  # the downloads' digests came from the server

    (here / "stray.txt").write_text("local only")
    (here / "old" / "deeper").mkdir(parents=True)
    (here / "old" / "deeper" / "x").write_text("x")
    client.upload(f"{project}/sub/b.txt", b"changed\n")
    summary = sync("--delete", f"{project}/", str(here))
    assert counts(summary) == (1, 1, 2, 0, 8)
    assert files_below(here) == ["a.csv", "empty/", "sub/b.txt"]  # old/ went with its file
    assert (here / "sub" / "b.txt").read_bytes() == b"changed\n"


def test_a_file_changed_after_the_listing_is_remembered_as_downloaded(
    sync: Sync,
    client: Any,
    project: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from anaconda_storage_cli.downloads import Downloads

    client.upload(f"{project}/a.csv", b"listed\n")
    real = Downloads.run

    def written_meanwhile(self: Downloads, source: Any, local: Path, size: Any) -> Any:
        client.upload(f"{project}/a.csv", b"written since\n")  # after the listing
        return real(self, source, local, size)

    monkeypatch.setattr(Downloads, "run", written_meanwhile)
    here = tmp_path / "copy"
    assert counts(sync(f"{project}/", str(here)))[0] == 1
    assert (here / "a.csv").read_bytes() == b"written since\n"
    monkeypatch.setattr(Downloads, "run", real)
    opened = reads(monkeypatch)
    # The hash cache holds the digest of what was downloaded, not the listing's: nothing
    # to copy, nothing read.
    assert counts(sync(f"{project}/", str(here))) == (0, 1, 0, 0, 0)
    assert opened == []


def test_local_deletions_are_listed_first_in_a_dry_run(
    sync: Sync, project: str, tree: Path, tmp_path: Path
) -> None:
    sync(f"{tree}/", project)
    here = tmp_path / "copy"
    here.mkdir()
    (here / "zzz.txt").write_text("local only")
    result = sync.text("-n", "--delete", f"{project}/", str(here)).ok()
    lines = result.out.splitlines()
    assert lines[0] == f"would delete {here / 'zzz.txt'}"
    assert any(line.startswith("would download") for line in lines[1:])
    assert files_below(here) == ["zzz.txt"]


def test_history_as_the_source(
    sync: Sync, client: Any, project: str, tree: Path, tmp_path: Path
) -> None:
    sync(f"{tree}/", f"{project}/data")
    client.create_checkpoint(project, "before the change")
    client.upload(f"{project}/data/a.csv", b"rewritten\n")
    client.upload(f"{project}/data/later.csv", b"later\n")
    here = tmp_path / "past"
    summary = sync(f"{project}#-1/data/", str(here))
    assert counts(summary)[:2] == (2, 0)
    assert files_below(here) == ["a.csv", "empty/", "sub/b.txt"]
    assert (here / "a.csv").read_text() == "a,b\n1,2\n"
    restore = sync(f"{project}#-1/data/", f"{project}/restored")
    assert restore["copied"] == 2
    assert client.read_bytes(f"{project}/restored/a.csv") == b"a,b\n1,2\n"


# -- remote to remote --------------------------------------------------------------------


def test_remote_to_remote_on_the_server(
    sync: Sync, cli: Any, client: Any, project: str, tree: Path
) -> None:
    sync(f"{tree}/", f"{project}/src")
    cli("mkdir", f"{cli.account.name}/backup").ok()
    backup = f"{cli.account.name}/backup"
    first = sync(f"{project}/src", backup)
    assert counts(first) == (2, 0, 0, 0, 0)  # no bytes through the client
    assert cli("ls", "-R", backup).ok().out.splitlines() == [
        "src/a.csv",
        "src/empty/",
        "src/sub/b.txt",
    ]
    before = revisions(client, f"{backup}/src/a.csv")
    assert counts(sync(f"{project}/src", backup)) == (0, 2, 0, 0, 0)
    client.delete(f"{project}/src/a.csv")
    summary = sync("--delete", f"{project}/src", backup)
    assert counts(summary) == (0, 1, 1, 0, 0)
    assert revisions(client, f"{backup}/src/a.csv") == before + 1  # the deletion


# -- failures and refusals ---------------------------------------------------------------


def test_partial_failure_exits_6_with_the_failures_listed(
    sync: Sync, client: Any, project: str, tree: Path
) -> None:
    client.upload(f"{project}/sub", b"a file where a directory goes")
    summary = sync(f"{tree}/", project, code=6)
    assert summary["copied"] == 1
    assert summary["failed"] == 1
    assert summary["failures"][0]["path"].endswith("b.txt")
    assert summary["failures"][0]["error"]


def test_refusals(sync: Sync, cli: Any, project: str, tree: Path, tmp_path: Path) -> None:
    both_local = sync.text(str(tree), str(tmp_path / "other"))
    assert both_local.code == 2, both_local
    assert "remote side" in both_local.err
    history = sync.text(str(tree), f"{project}#-1/x")
    assert history.code == 2, history
    assert "read-only" in history.err
    missing = sync.text(str(tree), f"{cli.account.name}/nope")
    assert missing.code != 0
    assert "mkdir" in missing.err


def test_upload_again_adds_no_revision(cli: Any, client: Any, project: str, tree: Path) -> None:
    cli("upload", f"{tree}/", project).ok()
    cli("upload", f"{tree}/", project).ok()
    assert revisions(client, f"{project}/a.csv") == 1
    assert revisions(client, f"{project}/sub/b.txt") == 1


def test_a_sync_run_again_after_a_failure_sends_only_the_rest(
    sync: Sync, client: Any, project: str, tree: Path
) -> None:
    client.upload(f"{project}/sub", b"a file where a directory goes")
    assert counts(sync(f"{tree}/", project, code=6))[:4] == (1, 0, 0, 1)
    client.delete(f"{project}/sub")
    again = sync(f"{tree}/", project)
    assert counts(again) == (1, 1, 0, 0, 4)  # only sub/b.txt; a.csv is done already
    assert revisions(client, f"{project}/a.csv") == 1


# -- one file as the source (rclone's `sync file dst`) -----------------------------------


def test_a_local_file_goes_into_a_directory_then_nothing_then_its_change(
    sync: Sync, cli: Any, client: Any, project: str, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tree / "a.csv"
    old(source)
    first = sync(str(source), project)  # a project is a directory: DST/a.csv
    assert counts(first) == (1, 0, 0, 0, 8)
    assert first["directories"] == 0
    assert client.read_bytes(f"{project}/a.csv") == b"a,b\n1,2\n"
    opened = reads(monkeypatch)
    again = sync(str(source), project)
    assert counts(again) == (0, 1, 0, 0, 0)
    assert opened == ["a.csv"]  # read once to compare, then the hash cache knows it
    opened.clear()
    assert counts(sync(str(source), project)) == (0, 1, 0, 0, 0)
    assert opened == []
    assert revisions(client, f"{project}/a.csv") == 1
    source.write_text("a,b\n3,4\n")  # the same size: only the digest tells
    assert counts(sync(str(source), project)) == (1, 0, 0, 0, 8)
    assert client.read_bytes(f"{project}/a.csv") == b"a,b\n3,4\n"
    assert revisions(client, f"{project}/a.csv") == 2
    assert cli("ls", "-R", project).ok().out.splitlines() == ["a.csv"]


def test_a_file_goes_onto_a_path_unless_it_is_a_directory(
    sync: Sync, cli: Any, client: Any, project: str, tree: Path
) -> None:
    source = str(tree / "a.csv")
    assert sync(source, f"{project}/renamed.csv")["copied"] == 1  # missing, no slash: the file
    assert counts(sync(source, f"{project}/renamed.csv")) == (0, 1, 0, 0, 0)
    assert sync(source, f"{project}/reports/")["copied"] == 1  # the slash: a directory
    cli("mkdir", f"{project}/in").ok()
    assert sync(source, f"{project}/in")["copied"] == 1  # an existing directory
    assert cli("ls", "-R", project).ok().out.splitlines() == [
        "in/a.csv",
        "renamed.csv",
        "reports/a.csv",
    ]
    client.upload(f"{project}/other.csv", b"different\n")
    assert counts(sync(source, f"{project}/other.csv")) == (1, 0, 0, 0, 8)  # replaced
    assert client.read_bytes(f"{project}/other.csv") == b"a,b\n1,2\n"


def test_a_remote_file_to_local_then_nothing(
    sync: Sync, client: Any, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.upload(f"{project}/d/q1.csv", b"quarter one\n")
    here = tmp_path / "here"
    here.mkdir()
    assert counts(sync(f"{project}/d/q1.csv", str(here))) == (1, 0, 0, 0, 12)
    assert files_below(here) == ["q1.csv"]
    target = tmp_path / "new" / "copy.csv"  # missing, no slash: this file (and its parent)
    assert counts(sync(f"{project}/d/q1.csv", str(target))) == (1, 0, 0, 0, 12)
    assert target.read_bytes() == b"quarter one\n"
    opened = reads(monkeypatch)
    assert counts(sync(f"{project}/d/q1.csv", str(target))) == (0, 1, 0, 0, 0)
    assert opened == []  # the download's digest came from the server
    client.upload(f"{project}/d/q1.csv", b"quarter one, fixed\n")
    assert counts(sync(f"{project}/d/q1.csv", str(target))) == (1, 0, 0, 0, 19)
    assert target.read_bytes() == b"quarter one, fixed\n"


def test_a_remote_file_to_remote_on_the_server(
    sync: Sync, cli: Any, client: Any, project: str
) -> None:
    client.upload(f"{project}/q1.csv", b"quarter one\n")
    backup = f"{cli.account.name}/backup"
    cli("mkdir", backup).ok()
    assert counts(sync(f"{project}/q1.csv", f"{backup}/2024/")) == (1, 0, 0, 0, 0)
    assert client.read_bytes(f"{backup}/2024/q1.csv") == b"quarter one\n"
    assert counts(sync(f"{project}/q1.csv", f"{backup}/2024/")) == (0, 1, 0, 0, 0)
    assert revisions(client, f"{backup}/2024/q1.csv") == 1


def test_a_file_from_history(sync: Sync, client: Any, project: str, tmp_path: Path) -> None:
    client.upload(f"{project}/q1.csv", b"first\n")
    client.create_checkpoint(project, "before the change")
    client.upload(f"{project}/q1.csv", b"second\n")
    past = tmp_path / "past.csv"
    assert counts(sync(f"{project}/q1.csv#-1", str(past))) == (1, 0, 0, 0, 6)
    assert past.read_bytes() == b"first\n"
    assert counts(sync(f"{project}/q1.csv#-1", str(past))) == (0, 1, 0, 0, 0)
    at_checkpoint = tmp_path / "checkpoint.csv"
    assert sync(f"{project}#-1/q1.csv", str(at_checkpoint))["copied"] == 1
    assert at_checkpoint.read_bytes() == b"first\n"
    # Onto itself, from its past: the live file gets the old content back, once.
    assert counts(sync(f"{project}/q1.csv#-1", f"{project}/q1.csv")) == (1, 0, 0, 0, 0)
    assert client.read_bytes(f"{project}/q1.csv") == b"first\n"
    assert counts(sync(f"{project}/q1.csv#-2", f"{project}/q1.csv")) == (0, 1, 0, 0, 0)


def test_a_file_dry_run_filters_and_text_summary(
    sync: Sync, cli: Any, client: Any, project: str, tree: Path
) -> None:
    source = str(tree / "a.csv")
    dry = sync.text("-n", source, project).ok()
    assert dry.out.splitlines() == [f"would upload {source} -> anaconda://{project}/a.csv"]
    summary = sync("-n", source, project)
    assert counts(summary) == (1, 0, 0, 0, 8)
    assert summary["dry_run"] is True
    assert cli("ls", project).ok().out == ""
    assert counts(sync("--exclude", "*.csv", source, project)) == (0, 0, 0, 0, 0)
    assert cli("ls", project).ok().out == ""
    done = sync.text(source, project).ok()
    assert f"Synced anaconda://{project}/a.csv: 1 file copied (8 B), 0 unchanged" in done.err
    again = sync.text(source, project).ok()
    assert f"Synced anaconda://{project}/a.csv: 0 files copied, 1 unchanged" in again.err


def test_a_file_source_refuses_delete_and_a_directory_in_its_place(
    sync: Sync, cli: Any, client: Any, project: str, tree: Path, tmp_path: Path
) -> None:
    client.upload(f"{project}/stray.txt", b"stays")
    for source in (str(tree / "a.csv"), f"{project}/stray.txt"):
        where = str(tmp_path) if source.startswith(cli.account.name) else project
        refused = sync.text("--delete", source, where)
        assert refused.code == 2, refused
        assert "--delete needs a directory source" in refused.err
    assert cli("ls", project).ok().out.splitlines() == ["stray.txt"]
    cli("mkdir", f"{project}/a.csv").ok()
    onto = sync.text(str(tree / "a.csv"), project)
    assert onto.code == 2, onto
    assert "is a directory" in onto.err
    (tmp_path / "stray.txt").mkdir()
    here = sync.text(f"{project}/stray.txt", str(tmp_path))
    assert here.code == 2, here
    assert "is a directory" in here.err
    slash = sync.text(f"{project}/stray.txt/", str(tmp_path / "x"))
    assert slash.code == 2, slash
    assert "drop the trailing /" in slash.err
    itself = sync.text(f"{project}/stray.txt", project)
    assert itself.code == 2, itself
    assert "both the source and the destination" in itself.err


# -- empty directories -------------------------------------------------------------------


def test_an_empty_local_directory_makes_the_remote_one(
    sync: Sync, cli: Any, project: str, tmp_path: Path
) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    dry = sync("-n", f"{empty}/", f"{project}/e")
    assert dry["directories"] == 1
    lines = sync.text("-n", f"{empty}/", f"{project}/e").ok().out.splitlines()
    assert lines == [f"would make directory anaconda://{project}/e"]
    assert cli("ls", project).ok().out == ""
    first = sync(f"{empty}/", f"{project}/e")
    assert counts(first) == (0, 0, 0, 0, 0)
    assert first["directories"] == 1
    assert sync(str(empty), project)["directories"] == 1  # no slash: DST/nothing
    assert cli("ls", project).ok().out.splitlines() == ["e/", "nothing/"]
    assert cli("ls", "--all", f"{project}/e").ok().out.splitlines() == [".keep"]
    assert sync(f"{empty}/", f"{project}/e")["directories"] == 0  # there already
    assert sync(f"{empty}/", project)["directories"] == 0  # a project always exists


def test_an_empty_remote_directory_makes_the_local_one(
    sync: Sync, cli: Any, project: str, tmp_path: Path
) -> None:
    cli("mkdir", f"{project}/r").ok()
    here = tmp_path / "here"
    assert sync(f"{project}/r/", str(here))["directories"] == 1
    assert here.is_dir()
    assert list(here.iterdir()) == []
    assert sync(f"{project}/r", str(here))["directories"] == 1  # no slash: DST/r
    assert (here / "r").is_dir()
    assert sync(f"{project}/r/", str(here))["directories"] == 0


def test_delete_of_everything_leaves_the_remote_directory(
    sync: Sync, cli: Any, client: Any, project: str, tmp_path: Path
) -> None:
    client.upload(f"{project}/e/old.txt", b"old")
    empty = tmp_path / "nothing"
    empty.mkdir()
    summary = sync("--delete", f"{empty}/", f"{project}/e")
    assert counts(summary) == (0, 0, 1, 0, 0)
    assert summary["directories"] == 1  # its last file went: the directory stays, as rsync's
    assert cli("ls", project).ok().out.splitlines() == ["e/"]
