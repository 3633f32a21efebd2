"""`AnacondaPath`: UPath's pathlib semantics on `anaconda://` URIs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import PurePosixPath
from typing import Any

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


def test_a_revision_is_not_part_of_the_name() -> None:
    p = UPath("anaconda://alice/sales/dir/q1.tar.gz#-1")
    assert (p.name, p.stem, p.suffix, p.suffixes) == ("q1.tar.gz", "q1.tar", ".gz", [".tar", ".gz"])
    assert p.revision == "-1"
    assert p.checkpoint is None
    assert p.parts[-1] == "q1.tar.gz#-1"  # the segment as written
    assert str(p) == "anaconda://alice/sales/dir/q1.tar.gz#-1"
    assert str(p.parent) == "anaconda://alice/sales/dir"  # the revision was the file's
    assert p.parent.revision is None
    uuid = "7f4c3f9a-2b1e-4c9d-8e2f-0a1b2c3d4e5f"
    q = UPath(f"anaconda://alice/sales/q1.csv#{uuid.upper()}")
    assert (q.name, q.stem, q.suffix) == ("q1.csv", "q1", ".csv")
    assert q.revision == uuid  # canonical, from core's grammar
    assert UPath("anaconda://alice/sales/q1.csv").revision is None


def test_with_name_stem_and_suffix_name_another_file_so_drop_the_revision() -> None:
    p = UPath("anaconda://alice/sales/dir/q1.csv#-2")
    assert str(p.with_suffix(".parquet")) == "anaconda://alice/sales/dir/q1.parquet"
    assert str(p.with_suffix("")) == "anaconda://alice/sales/dir/q1"
    assert str(p.with_stem("q2")) == "anaconda://alice/sales/dir/q2.csv"
    assert str(p.with_name("other.txt")) == "anaconda://alice/sales/dir/other.txt"
    assert str(p.with_name(p.name)) == "anaconda://alice/sales/dir/q1.csv"  # the current one
    assert p.with_suffix(".parquet").revision is None


def test_a_checkpoint_stays_with_its_project() -> None:
    p = UPath("anaconda://alice/sales#2024-05-01T12:00:00Z/dir/q1.csv")
    assert p.checkpoint == "2024-05-01T12:00:00"
    assert p.revision is None
    assert (p.name, p.stem, p.suffix) == ("q1.csv", "q1", ".csv")
    assert p.parts == ("/", "alice", "sales#2024-05-01T12:00:00", "dir", "q1.csv")
    at = "anaconda://alice/sales#2024-05-01T12:00:00"
    assert str(p.parent) == f"{at}/dir"
    assert [str(a) for a in p.parents][:2] == [f"{at}/dir", at]
    assert str(p.parent / "g.csv") == f"{at}/dir/g.csv"
    assert str(p.parent.joinpath("sub", "g.csv")) == f"{at}/dir/sub/g.csv"
    assert (p.parent / "g.csv").checkpoint == "2024-05-01T12:00:00"
    assert str(p.with_suffix(".parquet")) == f"{at}/dir/q1.parquet"
    assert str(p.with_name("g.csv")) == f"{at}/dir/g.csv"
    assert p.relative_to(UPath(at)).as_posix() == "dir/q1.csv"
    project = UPath("anaconda://alice/sales#-1")
    assert (project.name, project.checkpoint, project.uri.path) == ("sales", "-1", "")
    assert str(project / "q1.csv") == "anaconda://alice/sales#-1/q1.csv"


def test_a_literal_hash_stays_encoded_in_the_name() -> None:
    p = UPath("anaconda://alice/sales/a%23b.csv")
    assert (p.name, p.suffix, p.revision) == ("a%23b.csv", ".csv", None)
    assert p.uri.name == "a#b.csv"  # decoded in core's address
    assert str(p.parent / p.name) == str(p)
    r = UPath("anaconda://alice/sales/a%23b.csv#-1")
    assert (r.name, r.revision) == ("a%23b.csv", "-1")


def test_names_of_the_root_owners_and_projects() -> None:
    assert UPath("anaconda://").name == ""
    assert UPath("anaconda://alice").name == "alice"
    assert UPath("anaconda://alice/sales").name == "sales"
    assert UPath("anaconda://alice").checkpoint is None


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
    with pytest.raises(NotADirectoryError):
        list(csv.iterdir())
    with pytest.raises(FileNotFoundError):
        list((data / "nothing").iterdir())
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


def test_iterdir_lists_once_without_the_listings_cache(
    project: str, account: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = account.options  # type: ignore[attr-defined]
    listings: list[str] = []
    listing = AnacondaFileSystem._ls

    async def counted(self: AnacondaFileSystem, path: str, *args: Any, **kwargs: Any) -> Any:
        listings.append(path)
        return await listing(self, path, *args, **kwargs)

    monkeypatch.setattr(AnacondaFileSystem, "_ls", counted)
    monkeypatch.setattr(AnacondaFileSystem, "_info", _refused)
    monkeypatch.setattr(AnacondaFileSystem, "_isdir", _refused)
    root = UPath(
        f"anaconda://{project}", use_listings_cache=False, skip_instance_cache=True, **options
    )
    root.fs.pipe({f"{project}/d/a.csv": b"a", f"{project}/d/sub/b.csv": b"b"})
    assert sorted(str(p) for p in (root / "d").iterdir()) == [
        f"anaconda://{project}/d/a.csv",
        f"anaconda://{project}/d/sub",
    ]
    assert listings == [f"{project}/d"]
    assert [p.name for p in UPath(f"anaconda://{project}/d/", **options).iterdir()] == [
        "a.csv",
        "sub",
    ]
    name = project.split("/")[1]
    assert name in [p.name for p in root.parent.iterdir()]  # an owner lists its projects
    with pytest.raises(NotADirectoryError):
        list((root / "d" / "a.csv").iterdir())


async def _refused(*args: object, **kwargs: object) -> None:
    raise AssertionError("iterdir needs no more than its listing")


def test_uri_options_reach_the_filesystem(project: str, account: object) -> None:
    key, url = account.api_key, account.url  # type: ignore[attr-defined]
    p = UPath(f"anaconda://{project}/q.txt?api_key={key}&domain={url}")
    p.write_text("through the query")
    assert p.read_text() == "through the query"
    assert key not in repr(p.fs)
    assert key not in str(p)


def test_history_through_pathlib(project: str, account: object) -> None:
    options = account.options  # type: ignore[attr-defined]
    root = UPath(f"anaconda://{project}", **options)
    (root / "dir" / "q1.csv").write_text("v1")
    (root / "dir" / "g.csv").write_text("g1")
    checkpoint = root.fs.checkpoint(project)
    (root / "dir" / "q1.csv").write_text("v2")
    (root / "dir" / "g.csv").write_text("g2")
    (root / "dir" / "new.csv").write_text("new")

    old = UPath(f"anaconda://{project}/dir/q1.csv#-1", **options)
    assert old.name == "q1.csv"
    assert old.read_text() == "v1"
    assert old.with_suffix(".csv").read_text() == "v2"  # another name: the current file
    assert old.parent.joinpath(old.name).read_text() == "v2"

    owner, name = project.split("/")
    for ref in (checkpoint["id"], "-1"):
        at = UPath(f"anaconda://{owner}/{name}#{ref}/dir/q1.csv", **options)
        assert at.read_text() == "v1"
        assert (at.parent / "g.csv").read_text() == "g1"  # the checkpoint is kept
        assert sorted(p.name for p in at.parent.iterdir()) == ["g.csv", "q1.csv"]
        assert all(p.checkpoint == at.checkpoint for p in at.parent.iterdir())
        with pytest.raises(PermissionError, match="read-only"):
            at.with_name("h.csv").write_text("no")


@pytest.mark.parametrize(
    "spelling",
    ["str", "str with /", "PurePosixPath", "plain UPath", "URI", "AnacondaPath"],
)
def test_rename_takes_an_address_without_the_scheme(
    spelling: str, account: Any, project: str
) -> None:
    # Issue 11, 3.4: `rename("alice/p/b.txt")` raised "AnacondaPath.cwd() is unsupported";
    # S3Path takes "bucket/key" the same way.
    source = UPath(f"anaconda://{project}/a.txt", **account.options)
    source.write_text("moved")
    address = f"{project}/sub/b.txt"
    target: Any = {
        "str": address,
        "str with /": f"/{address}",
        "PurePosixPath": PurePosixPath(address),
        "plain UPath": UPath(address),
        "URI": f"anaconda://{address}",
        "AnacondaPath": UPath(f"anaconda://{address}", **account.options),
    }[spelling]
    moved = source.rename(target)
    assert isinstance(moved, AnacondaPath)
    assert str(moved) == f"anaconda://{address}"
    assert moved.storage_options == source.storage_options
    assert moved.read_text() == "moved"
    assert not source.exists()


# universal-pathlib 0.3.0 makes `UPath("b.txt", **storage_options)` of a relative target, a
# local path, which warns on Python 3.11 and older that it ignores the options.
@pytest.mark.filterwarnings("ignore:PosixUPath on python <= .3, 11. ignores protocol:UserWarning")
def test_rename_to_a_relative_name_is_not_taken_as_an_address(account: Any, project: str) -> None:
    # "b.txt" is no address in a project: universal-pathlib reads it as relative (to the
    # directory of the path, before 0.3.10; to a current directory, after), never as an
    # owner named "b.txt".
    source = UPath(f"anaconda://{project}/dir/a.txt", **account.options)
    source.write_text("x")
    try:
        moved = source.rename("b.txt")
    except NotImplementedError:  # universal-pathlib >= 0.3.10: no current directory here
        assert source.exists()
    else:
        assert str(moved) == f"anaconda://{project}/dir/b.txt"
        assert moved.read_text() == "x"
