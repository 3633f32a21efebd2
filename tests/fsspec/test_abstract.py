"""fsspec's own abstract test suite (`fsspec.tests.abstract`), run on the local server.

Wired as gcsfs's `tests/derived/` does: a fixture class gives the suite a filesystem and a
fresh directory (here, a new project per test); the suite's classes do the rest. The open
and pipe suites exist from fsspec 2024.12 on.
"""

from __future__ import annotations

import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.tests import abstract

from anaconda_storage_fsspec import AnacondaFileSystem


class AnacondaFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    # fsspec before 2024.12 defines this class-scoped fixture as an instance method, which
    # pytest 9 deprecates (an error here, with filterwarnings = error).
    @pytest.fixture(scope="class")
    @classmethod
    def local_fs(cls) -> LocalFileSystem:
        return LocalFileSystem(auto_mkdir=True)

    @pytest.fixture
    def fs(self, fs: AnacondaFileSystem) -> AnacondaFileSystem:
        return fs

    @pytest.fixture
    def fs_path(self, project: str) -> str:
        return project

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        # mkdir, put and cp keep the directories they make with a `.keep` marker
        # (DESIGN.md), so a directory stays when its last file goes, as on a disk.
        return True


class TestAnacondaCopy(abstract.AbstractCopyTests, AnacondaFixtures):  # type: ignore[misc]
    pass


class TestAnacondaGet(abstract.AbstractGetTests, AnacondaFixtures):  # type: ignore[misc]
    pass


class TestAnacondaPut(abstract.AbstractPutTests, AnacondaFixtures):  # type: ignore[misc]
    pass


if hasattr(abstract, "AbstractOpenTests"):

    class TestAnacondaOpen(abstract.AbstractOpenTests, AnacondaFixtures):  # type: ignore[misc]
        pass


if hasattr(abstract, "AbstractPipeTests"):

    class TestAnacondaPipe(abstract.AbstractPipeTests, AnacondaFixtures):  # type: ignore[misc]
        pass
