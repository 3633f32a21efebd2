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
