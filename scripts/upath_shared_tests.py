"""universal-pathlib's shared implementation tests, for the version installed.

upath keeps the tests every implementation runs (``upath/tests/cases.py``: ``BaseTests``)
in its sdist, not in its wheel. This module fetches the sdist of the installed version
with pip (``pip download --no-binary :all: --no-deps``, through the configured package
index), and keeps its ``upath/tests`` folder in the environment, under
``<sys.prefix>/share/universal-pathlib-tests/<version>/``. Once there, nothing is fetched
again; another upath version gets its own folder.

``tests/fsspec/test_upath_shared.py`` imports it as ``upath.tests`` and runs ``BaseTests``
against AnacondaPath (DESIGN.md, "Tests and measurements"). ``install_dev.py`` calls this
after installing, so the tests themselves need no network; run alone::

    python scripts/upath_shared_tests.py     # prints the folder holding upath/tests
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from types import ModuleType

__all__ = ["import_cases", "installed_version", "suite_root"]

DISTRIBUTION = "universal-pathlib"


def installed_version() -> str:
    """The version of universal-pathlib installed in this interpreter."""
    from importlib.metadata import version

    return version(DISTRIBUTION)


def cache_dir(version: str) -> Path:
    """Where the suite of ``version`` is kept: beside the environment that uses it."""
    return Path(sys.prefix) / "share" / "universal-pathlib-tests" / version


def suite_root(version: str | None = None) -> Path:
    """The folder holding ``upath/tests`` of ``version`` (default: the installed one),
    fetched first if it is not there yet.

    Raises:
        RuntimeError: The sdist could not be fetched, or holds no ``upath/tests/cases.py``.
    """
    version = version or installed_version()
    root = cache_dir(version)
    if (root / "upath" / "tests" / "cases.py").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=f".{version}-") as scratch:
        sdist = _download(version, Path(scratch) / "sdist")
        unpacked = Path(scratch) / "unpacked"
        _extract_tests(sdist, unpacked)
        if not (unpacked / "upath" / "tests" / "cases.py").is_file():
            raise RuntimeError(f"{sdist.name} holds no upath/tests/cases.py")
        try:
            unpacked.rename(root)
        except OSError:  # another run put it there meanwhile
            if not (root / "upath" / "tests" / "cases.py").is_file():
                raise
    return root


def _download(version: str, into: Path) -> Path:
    # pip, not PyPI's JSON API: pip follows the machine's configured indexes and mirrors
    # (pip.conf, PIP_INDEX_URL), where the installed version came from.
    args = ["download", f"{DISTRIBUTION}=={version}", "--no-deps", "--no-binary", ":all:"]
    args += ["--dest", str(into), "--quiet"]
    if importlib.util.find_spec("pip") is not None:
        command = [sys.executable, "-m", "pip", *args]
    elif importlib.util.find_spec("uv") is not None:  # hatch's environments have uv, not pip
        command = [sys.executable, "-m", "uv", "tool", "run", "pip", *args]
    else:
        raise RuntimeError(f"fetching the {DISTRIBUTION} {version} sdist needs pip or uv")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(into.glob("*.tar.gz")) if into.is_dir() else []
    if result.returncode != 0 or len(found) != 1:
        raise RuntimeError(
            f"could not fetch the {DISTRIBUTION} {version} sdist (its tests are not in the"
            f" wheel) with {' '.join(command[:4])}: {result.stderr.strip()[-2000:]}"
        )
    return found[0]


def _extract_tests(sdist: Path, into: Path) -> None:
    """Extract ``<name>-<version>/upath/tests/**`` (regular files only) into ``into``."""
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or parts[1:3] != ("upath", "tests") or ".." in parts:
                continue
            target = into.joinpath(*parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None  # a regular file
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)


def import_cases(version: str | None = None) -> ModuleType:
    """``upath.tests.cases`` of the installed upath, imported from the kept sdist.

    The installed ``upath`` package has no ``tests``: the kept folder is made its
    ``upath.tests`` subpackage, as the suite's own imports (``upath.tests.utils``) expect.
    """
    import upath

    root = suite_root(version)
    if "upath.tests" not in sys.modules:
        package = root / "upath" / "tests"
        spec = importlib.util.spec_from_file_location(
            "upath.tests", package / "__init__.py", submodule_search_locations=[str(package)]
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["upath.tests"] = module
        spec.loader.exec_module(module)
        upath.tests = module  # type: ignore[attr-defined]
    return importlib.import_module("upath.tests.cases")


if __name__ == "__main__":
    try:
        print(suite_root())
    except RuntimeError as error:
        sys.exit(f"universal-pathlib's shared tests: {error}")
