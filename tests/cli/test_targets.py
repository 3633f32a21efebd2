"""The rsync rule, case by case, and as whole-tree scenarios (DESIGN.md's examples)."""

from __future__ import annotations

import itertools

import pytest

from anaconda_storage_cli.targets import (
    Destination,
    FileTarget,
    Kind,
    Plan,
    PlanError,
    Source,
    check_destination,
    join,
    plan,
)

DIR_FILES = ("a.csv", "sub/b.csv")


def file_source(name: str = "f.csv", *, contents: bool = False) -> Source:
    return Source(
        text=name + ("/" if contents else ""), name=name, kind=Kind.FILE, contents=contents
    )


def dir_source(
    name: str = "data",
    files: tuple[str, ...] = DIR_FILES,
    directories: tuple[str, ...] = (),
    *,
    contents: bool = False,
) -> Source:
    return Source(
        text=name + ("/" if contents else ""),
        name=name,
        kind=Kind.DIRECTORY,
        contents=contents,
        files=files,
        directories=directories,
    )


def dest(kind: Kind, *, slash: bool = False) -> Destination:
    return Destination(text="in" + ("/" if slash else ""), kind=kind, slash=slash)


# -- join --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("a", "b"), "a/b"),
        (("", "b"), "b"),
        (("a", ""), "a"),
        (("", ""), ""),
        (("a/", "/b/c"), "a/b/c"),
        ((), ""),
    ],
)
def test_join(parts: tuple[str, ...], expected: str) -> None:
    assert join(*parts) == expected


# -- a file source -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "slash", "many", "root"),
    [
        # onto DST: a missing DST without a slash is the new name; an existing file is replaced
        (Kind.MISSING, False, False, ""),
        (Kind.FILE, False, False, ""),
        # into DST: a directory, DST/ (created when missing), or one of several sources
        (Kind.DIRECTORY, False, False, "f.csv"),
        (Kind.DIRECTORY, True, False, "f.csv"),
        (Kind.MISSING, True, False, "f.csv"),
        (Kind.MISSING, False, True, "f.csv"),
        (Kind.DIRECTORY, False, True, "f.csv"),
        (Kind.MISSING, True, True, "f.csv"),
        (Kind.DIRECTORY, True, True, "f.csv"),
    ],
)
def test_file_source(kind: Kind, slash: bool, many: bool, root: str) -> None:
    result = plan(file_source(), dest(kind, slash=slash), many=many)
    assert result == Plan(root=root, files=(FileTarget("", root),))


def test_file_source_with_a_slash_is_an_error() -> None:
    with pytest.raises(PlanError, match="is a file, not a directory: drop the trailing /"):
        plan(file_source(contents=True), dest(Kind.DIRECTORY))


@pytest.mark.parametrize("source", [file_source(), dir_source(), dir_source(contents=True)])
def test_slash_on_a_file_destination_is_an_error(source: Source) -> None:
    with pytest.raises(PlanError, match="in/ is a file, not a directory"):
        plan(source, dest(Kind.FILE, slash=True))


def test_several_sources_onto_a_file_is_an_error() -> None:
    with pytest.raises(PlanError, match="several sources need a directory destination"):
        plan(file_source(), dest(Kind.FILE), many=True)


# -- a directory source ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "slash", "many"),
    [
        (kind, slash, many)
        for kind, slash, many in itertools.product(
            (Kind.MISSING, Kind.DIRECTORY), (False, True), (False, True)
        )
    ],
)
def test_directory_itself_goes_inside(kind: Kind, slash: bool, many: bool) -> None:
    # `upload ./data o/p/in` gives o/p/in/data/..., whether `in` exists or not.
    result = plan(dir_source(), dest(kind, slash=slash), many=many)
    assert result == Plan(
        root="data",
        files=(FileTarget("a.csv", "data/a.csv"), FileTarget("sub/b.csv", "data/sub/b.csv")),
    )


@pytest.mark.parametrize(
    ("kind", "slash", "many"),
    [
        (kind, slash, many)
        for kind, slash, many in itertools.product(
            (Kind.MISSING, Kind.DIRECTORY), (False, True), (False, True)
        )
    ],
)
def test_directory_contents_go_into(kind: Kind, slash: bool, many: bool) -> None:
    # `upload ./data/ o/p/in` gives o/p/in/...
    result = plan(dir_source(contents=True), dest(kind, slash=slash), many=many)
    assert result == Plan(
        root="", files=(FileTarget("a.csv", "a.csv"), FileTarget("sub/b.csv", "sub/b.csv"))
    )


@pytest.mark.parametrize("contents", [False, True])
def test_directory_onto_a_file_is_an_error(contents: bool) -> None:
    with pytest.raises(PlanError, match=r"cannot put directory data/? onto file in"):
        plan(dir_source(contents=contents), dest(Kind.FILE))


def test_missing_source_is_an_error() -> None:
    source = Source(text="nothing", name="nothing", kind=Kind.MISSING)
    with pytest.raises(PlanError, match="nothing does not exist"):
        plan(source, dest(Kind.DIRECTORY))


def test_files_are_sorted() -> None:
    result = plan(dir_source(files=("z", "a", "m/n")), dest(Kind.DIRECTORY))
    assert [t.source for t in result.files] == ["a", "m/n", "z"]


# -- empty directories -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contents", "kind", "directories"),
    [
        # an empty SRC arrives as DST/SRC ...
        (False, Kind.MISSING, ("data",)),
        (False, Kind.DIRECTORY, ("data",)),
        # ... and an empty SRC/ creates DST only when DST is missing
        (True, Kind.MISSING, ("",)),
        (True, Kind.DIRECTORY, ()),
    ],
)
def test_empty_directory_source(contents: bool, kind: Kind, directories: tuple[str, ...]) -> None:
    result = plan(dir_source(files=(), contents=contents), dest(kind))
    assert result.files == ()
    assert result.directories == directories


def test_empty_subdirectories_are_kept_outermost_first() -> None:
    source = dir_source(files=("a.csv",), directories=("x/y", "empty", "x/y"))
    result = plan(source, dest(Kind.DIRECTORY))
    assert result.directories == ("data/empty", "data/x/y")
    result = plan(dir_source(files=(), directories=("x",), contents=True), dest(Kind.MISSING))
    assert result.directories == ("x",)


# -- check_destination -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "slash", "sources", "ok"),
    [
        (Kind.MISSING, False, 1, True),
        (Kind.MISSING, False, 3, True),
        (Kind.MISSING, True, 3, True),
        (Kind.DIRECTORY, False, 3, True),
        (Kind.FILE, False, 1, True),
        (Kind.FILE, False, 2, False),
        (Kind.FILE, True, 1, False),
    ],
)
def test_check_destination(kind: Kind, slash: bool, sources: int, ok: bool) -> None:
    if ok:
        check_destination(dest(kind, slash=slash), sources)
    else:
        with pytest.raises(PlanError):
            check_destination(dest(kind, slash=slash), sources)


# -- whole trees: apply plans to an in-memory store ---------------------------------------


def apply(tree: set[str], sources: list[str], destination: str) -> set[str]:
    """Run a transfer of `sources` (paths in `tree`, maybe with a trailing /) to
    `destination` over a set of file paths, as the CLI does with real ones."""

    def kind(path: str) -> Kind:
        path = path.rstrip("/")
        if path in tree:
            return Kind.FILE
        if any(p.startswith(path + "/") for p in tree):
            return Kind.DIRECTORY
        return Kind.MISSING

    target = Destination(destination, kind(destination), destination.endswith("/"))
    root = destination.rstrip("/")
    result = set(tree)
    for text in sources:
        path = text.rstrip("/")
        files = tuple(p[len(path) + 1 :] for p in tree if p.startswith(path + "/"))
        source = Source(text, path.rsplit("/", 1)[-1], kind(path), text.endswith("/"), files)
        for item in plan(source, target, many=len(sources) > 1).files:
            result.add(join(root, item.destination))
    return result


TREE = {"data/a.csv", "data/sub/b.csv", "notes.txt", "in/old.txt"}


@pytest.mark.parametrize(
    ("sources", "destination", "added"),
    [
        # DESIGN.md: `upload ./data o/p/in` gives o/p/in/data/..., creating `in` if needed
        (["data"], "in", {"in/data/a.csv", "in/data/sub/b.csv"}),
        (["data"], "new", {"new/data/a.csv", "new/data/sub/b.csv"}),
        # `upload ./data/ o/p/in` gives o/p/in/...
        (["data/"], "in", {"in/a.csv", "in/sub/b.csv"}),
        (["data/"], "new", {"new/a.csv", "new/sub/b.csv"}),
        (["data/"], "new/", {"new/a.csv", "new/sub/b.csv"}),
        # a file: into a directory, or onto a new name
        (["notes.txt"], "in", {"in/notes.txt"}),
        (["notes.txt"], "renamed.txt", {"renamed.txt"}),
        (["notes.txt"], "new/", {"new/notes.txt"}),
        (["data/sub/b.csv"], "in", {"in/b.csv"}),
        # several sources: the destination is a directory
        (["notes.txt", "data"], "new", {"new/notes.txt", "new/data/a.csv", "new/data/sub/b.csv"}),
        (["notes.txt", "data/"], "in", {"in/notes.txt", "in/a.csv", "in/sub/b.csv"}),
    ],
)
def test_scenarios(sources: list[str], destination: str, added: set[str]) -> None:
    assert apply(TREE, sources, destination) - TREE == added


def test_scenario_file_replaces_a_file() -> None:
    assert apply(TREE, ["notes.txt"], "in/old.txt") == TREE
