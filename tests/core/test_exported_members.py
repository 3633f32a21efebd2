"""The public API is exactly `anaconda_storage_core.__all__` (as httpx tests its own, in
tests/test_exported_members.py): every public name of the package is exported, and every
export exists."""

from __future__ import annotations
import __future__

import types

import anaconda_storage_core


def test_all_public_names_are_exported() -> None:
    public = {
        name
        for name, value in vars(anaconda_storage_core).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }
    assert public | {"__version__"} == set(anaconda_storage_core.__all__)
    assert len(anaconda_storage_core.__all__) == len(set(anaconda_storage_core.__all__))


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
