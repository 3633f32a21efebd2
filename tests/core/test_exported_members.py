"""The public API is exactly `anaconda_storage_core.__all__` (as httpx tests its own, in
tests/test_exported_members.py): every public name of the package is exported, and every
export exists."""

from __future__ import annotations
import __future__

import ast
import inspect
import subprocess
import sys
import types

import pytest

import anaconda_storage_core


def test_all_public_names_are_exported() -> None:
    for name in anaconda_storage_core.__all__:  # each export exists (and is now loaded)
        getattr(anaconda_storage_core, name)
    public = {
        name
        for name, value in vars(anaconda_storage_core).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }
    assert public | {"__version__"} == set(anaconda_storage_core.__all__)
    assert len(anaconda_storage_core.__all__) == len(set(anaconda_storage_core.__all__))


def test_the_names_type_checkers_see_are_the_names_imported_lazily() -> None:
    # Two lists name the exports: the `TYPE_CHECKING` imports (for mypy and editors) and
    # `_EXPORTS` (what `__getattr__` imports). They must agree, module for module.
    tree = ast.parse(inspect.getsource(anaconda_storage_core))
    checked = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "_typing.TYPE_CHECKING"
    )
    seen = {
        alias.name: node.module
        for node in checked.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == anaconda_storage_core._EXPORTS


def test_importing_the_grammar_loads_no_web_stack() -> None:
    code = (
        "import sys, anaconda_storage_core.uri, anaconda_storage_core.permission;"
        "print(sorted(m for m in ('httpx', 'anaconda_storage_core.client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        anaconda_storage_core.Nope  # noqa: B018


def test_the_grammar_modules_public_names_are_exported() -> None:
    from anaconda_storage_core import attributes, permission, uri

    wanted = {
        "parse_uri",
        "format_uri",
        "StorageURI",
        "InvalidURI",
        "TimePoint",
        "Relative",
        "VersionId",
        "PermissionChange",
        "parse_permission",
        "InvalidPermission",
        "validate_project_attributes",
        "validate_file_attributes",
        "InvalidAttribute",
    }
    for module in (uri, permission, attributes):
        for name in set(module.__all__) & wanted:
            assert getattr(anaconda_storage_core, name) is getattr(module, name)
    assert wanted <= set(anaconda_storage_core.__all__)


def test_version() -> None:
    assert isinstance(anaconda_storage_core.__version__, str)


def test_the_reads_of_many_files_are_exported() -> None:
    # `read_files` yields them; the fsspec driver and users name the type.
    from anaconda_storage_core import models

    assert anaconda_storage_core.FileRead is models.FileRead
    assert "FileRead" in anaconda_storage_core.__all__
    assert "FileRead" in models.__all__
