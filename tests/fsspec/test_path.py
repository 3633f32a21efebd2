"""`AnacondaPath`: UPath's pathlib semantics on `anaconda://` URIs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from upath import UPath

from anaconda_storage_core.uri import StorageURI
from anaconda_storage_fsspec import AnacondaFileSystem, AnacondaPath


def test_parsing_in_a_fresh_interpreter_uses_the_registered_filesystem() -> None:
    # The entry point alone must be enough: UPath works out parents with the fsspec class
    # only if it is registered before the first path is parsed (DESIGN.md).
    code = textwrap.dedent(
        """
        from upath import UPath
        p = UPath("anaconda://o/p/f")
        print(type(p).__name__, str(p.parent), str(p.parent.parent), str(p.parent.parent.parent))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["AnacondaPath", "anaconda://o/p", "anaconda://o", "anaconda://"]


def test_pure_path_semantics() -> None:
    p = UPath("anaconda://alice/sales/2024/q1.csv")
    assert isinstance(p, AnacondaPath)
    assert str(p) == "anaconda://alice/sales/2024/q1.csv"
    assert p.path == "alice/sales/2024/q1.csv"
    assert p.name == "q1.csv"
    assert p.stem == "q1"
    assert p.suffix == ".csv"
    assert str(p.parent) == "anaconda://alice/sales/2024"
    assert str(p.with_suffix(".parquet")) == "anaconda://alice/sales/2024/q1.parquet"
    assert str(UPath("anaconda://alice/sales") / "2024" / "q2.csv") == (
        "anaconda://alice/sales/2024/q2.csv"
    )
    assert str(UPath("anaconda://alice").joinpath("sales", "a.csv")) == (
        "anaconda://alice/sales/a.csv"
    )
    assert p.relative_to(UPath("anaconda://alice/sales")).as_posix() == "2024/q1.csv"
    assert p.uri == StorageURI("alice", "sales", path="2024/q1.csv")


def test_history_suffixes_stay_with_their_names() -> None:
    p = UPath("anaconda://alice/sales#-1/2024/q1.csv")
    assert str(p.parent) == "anaconda://alice/sales#-1/2024"
    assert p.uri.checkpoint == "-1"
    r = UPath("anaconda://alice/sales/q1.csv#-2")
    assert r.name == "q1.csv#-2"
    assert str(r.parent) == "anaconda://alice/sales"
    assert r.uri.revision == "-2"


def test_the_query_goes_to_the_storage_options_not_the_path() -> None:
    p = UPath("anaconda://alice/sales/q1.csv?api_key=SECRET&domain=http://127.0.0.1:1")
    assert str(p) == "anaconda://alice/sales/q1.csv"
    assert "SECRET" not in repr(p)
    assert p.storage_options["uri_options"]["api_key"] == "SECRET"
    assert "SECRET" not in repr(p.parent)
    assert p.parent.storage_options == p.storage_options


def test_filesystem_semantics(project: str, account: object) -> None:
    options = account.options  # type: ignore[attr-defined]
    root = UPath(f"anaconda://{project}", **options)
    assert isinstance(root.fs, AnacondaFileSystem)
    assert root.exists()
    assert root.is_dir()
    data = root / "data"
    data.mkdir()
    assert data.is_dir()
    with pytest.raises(FileExistsError):
        data.mkdir()
    data.mkdir(exist_ok=True)
    (data / "deeper" / "dir").mkdir(parents=True)
    with pytest.raises(FileNotFoundError):
        (data / "nope" / "dir").mkdir()
    csv = data / "a.csv"
    csv.write_text("a,b\n1,2\n")
    assert csv.read_text() == "a,b\n1,2\n"
    assert csv.read_bytes() == b"a,b\n1,2\n"
    (data / "b.bin").write_bytes(b"\x00\x01")
    assert csv.exists()
    assert csv.is_file()
    assert not csv.is_dir()
    assert sorted(p.name for p in data.iterdir()) == ["a.csv", "b.bin", "deeper"]
    assert [p.name for p in data.glob("*.csv")] == ["a.csv"]
    assert sorted(str(p) for p in root.rglob("*.bin")) == [f"anaconda://{project}/data/b.bin"]
    stat = csv.stat()
    assert stat.st_size == 8
    assert stat.st_mtime > 0
    moved = csv.rename(data / "c.csv")
    assert moved.read_text() == "a,b\n1,2\n"
    assert not csv.exists()
    assert (data / "a.csv#-1").read_text() == "a,b\n1,2\n"  # history, through pathlib
    moved.unlink()
    assert not moved.exists()
    with pytest.raises(FileNotFoundError):
        moved.unlink()
    moved.unlink(missing_ok=True)
    (data / "t.txt").touch()
    assert (data / "t.txt").read_bytes() == b""


def test_uri_options_reach_the_filesystem(project: str, account: object) -> None:
    key, url = account.api_key, account.url  # type: ignore[attr-defined]
    p = UPath(f"anaconda://{project}/q.txt?api_key={key}&domain={url}")
    p.write_text("through the query")
    assert p.read_text() == "through the query"
    assert key not in repr(p.fs)
    assert key not in str(p)
