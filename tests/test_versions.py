"""The four distributions share one version number and pin their siblings to it."""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECTS = sorted(ROOT.glob("packages/*/pyproject.toml"))
SIBLING = re.compile(r"^(anaconda-storage-[a-z]+)\s*(.*)$")


def _project(path: Path) -> dict[str, object]:
    project: dict[str, object] = tomllib.loads(path.read_text())["project"]
    return project


def test_four_distributions() -> None:
    names = sorted(str(_project(p)["name"]) for p in PYPROJECTS)
    assert names == [
        "anaconda-storage-cli",
        "anaconda-storage-core",
        "anaconda-storage-fsspec",
        "anaconda-storage-server",
    ]


def test_one_version_number() -> None:
    versions = {str(_project(p)["name"]): str(_project(p)["version"]) for p in PYPROJECTS}
    assert len(set(versions.values())) == 1, versions


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: p.parent.name)
def test_siblings_pinned_to_the_shared_version(pyproject: Path) -> None:
    shared = str(_project(pyproject)["version"])
    dependencies = _project(pyproject).get("dependencies", [])
    assert isinstance(dependencies, list)
    for requirement in dependencies:
        match = SIBLING.match(requirement)
        if match:
            assert match[2] == f"=={shared}", f"{pyproject}: {requirement}"


@pytest.mark.parametrize("name", ["core", "fsspec", "cli", "server"])
def test_installed_version_matches(name: str) -> None:
    module = __import__(f"anaconda_storage_{name}")
    shared = str(_project(PYPROJECTS[0])["version"])
    assert module.__version__ == shared == version(f"anaconda-storage-{name}")


def _locked(lock: Path) -> dict[str, set[str]]:
    """The versions a lock names for each package (one per Python marker it splits on)."""
    pins: dict[str, set[str]] = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;]+)", line)
        if match:
            pins.setdefault(match[1].lower(), set()).add(match[2])
    return pins


def test_minimum_lock_pins_every_declared_lower_bound() -> None:
    # `make test` installs the minimum leg from this lock: a bound raised in a pyproject.toml
    # without `make lock` would otherwise be tested at a version nobody declared.
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from min_constraints import lower_bounds
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    locked = _locked(ROOT / "requirements" / "lock-minimum.txt")
    for name, floor in lower_bounds().items():
        assert locked.get(name) == {floor}, f"lock-minimum.txt: {name} is not pinned to {floor}"


def test_latest_lock_allows_what_the_packages_declare() -> None:
    locked = _locked(ROOT / "requirements" / "lock.txt")
    ours = {str(_project(p)["name"]) for p in PYPROJECTS}
    for pyproject in PYPROJECTS:
        dependencies = _project(pyproject).get("dependencies", [])
        assert isinstance(dependencies, list)
        for requirement in dependencies:
            name = re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower()
            if name not in ours:
                assert name in locked, f"lock.txt lacks {name}: run `make lock`"
