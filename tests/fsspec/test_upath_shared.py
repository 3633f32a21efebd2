"""universal-pathlib's shared implementation tests (`upath.tests.cases.BaseTests`), run
against AnacondaPath on the local server (DESIGN.md, "Tests and measurements").

They ship in upath's sdist only: scripts/upath_shared_tests.py keeps those of the installed
version in the environment (install_dev.py fetches them; the first run fetches them
otherwise), and they are subclassed here as upath's own implementations do
(`upath/tests/implementations/test_memory.py`). Each test gets a fresh project.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest
from fsspec import get_filesystem_class
from upath import UPath

from anaconda_storage_fsspec import AnacondaPath

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "upath_shared_tests.py"


def _import_cases() -> tuple[ModuleType | None, str]:
    """upath's `upath.tests.cases`, or None and why it is not there."""
    spec = importlib.util.spec_from_file_location("upath_shared_tests", _SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    try:
        return helper.import_cases(), ""
    except RuntimeError as error:  # never fetched in this environment, and offline now
        return None, str(error)


cases, _unavailable = _import_cases()


def _marked(
    name: str,
    *marks: pytest.MarkDecorator,
    params: Mapping[str, pytest.MarkDecorator] | None = None,
) -> Callable[..., None]:
    """The suite's test ``name``, with ``marks`` on it, or on those of its parametrized
    cases named (by id) in ``params``."""
    test = getattr(cases.BaseTests, name)

    @functools.wraps(test)  # its signature too: pytest reads the fixtures it needs there
    def marked(*args: object, **kwargs: object) -> None:
        test(*args, **kwargs)

    own = list(getattr(test, "pytestmark", []))
    if params:
        (parametrize,) = (m for m in own if m.name == "parametrize")
        argnames, argvalues = parametrize.args
        ids = parametrize.kwargs["ids"]
        assert set(params) <= set(ids), f"{name} has no case {set(params) - set(ids)}"
        cases_ = [
            pytest.param(v, id=i, marks=params.get(i, ()))
            for v, i in zip(argvalues, ids, strict=True)
        ]
        own = [m for m in own if m is not parametrize]
        own.append(pytest.mark.parametrize(argnames, cases_).mark)
    marked.pytestmark = own + [m.mark for m in marks]  # type: ignore[attr-defined]
    return marked


# The fixtures the suite asks for by name, as upath's own conftest.py defines them: a local
# directory holding the same files as the path under test, to compare listings with.


@pytest.fixture
def local_testdir(tmp_path: Path) -> str:
    folder1 = tmp_path / "folder1"
    folder1.mkdir()
    for name in ("file1.txt", "file2.txt"):
        (folder1 / name).write_text(name)
    (tmp_path / "file1.txt").write_text("hello world")
    (tmp_path / "file2.txt").write_bytes(b"hello world")
    return str(tmp_path)


@pytest.fixture
def pathlib_base(local_testdir: str) -> Path:
    return Path(local_testdir)


@pytest.fixture
def clear_fsspec_memory_cache() -> Iterator[None]:
    memory = get_filesystem_class("memory")
    pseudo_dirs, store = memory.pseudo_dirs.copy(), memory.store.copy()
    try:
        yield
    finally:
        memory.pseudo_dirs, memory.store = pseudo_dirs, store


if cases is None:

    def test_the_shared_tests_are_there() -> None:
        pytest.fail(f"universal-pathlib's shared tests: {_unavailable}", pytrace=False)

else:

    class TestAnacondaPath(cases.BaseTests):  # type: ignore[misc,name-defined]
        @pytest.fixture(autouse=True)
        def path(self, local_testdir: str, project: str, account: object) -> None:
            self.path = UPath(f"anaconda://{project}", **account.options)  # type: ignore[attr-defined]
            self.prepare_file_system()

        def test_is_correct_class(self) -> None:
            assert isinstance(self.path, AnacondaPath)

        if hasattr(cases.BaseTests, "test_rename2"):  # 0.3.0's suite
            # Its rename makes `UPath("file2_renamed.txt", **storage_options)` of a relative
            # target, a local path, which warns that it ignores storage options (Python 3.11
            # and older); rename then goes on right, to a sibling.
            test_rename2 = _marked(
                "test_rename2",
                pytest.mark.filterwarnings(
                    "ignore:PosixUPath on python <= .3, 11. ignores protocol:UserWarning"
                ),
            )
