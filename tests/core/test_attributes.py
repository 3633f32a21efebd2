"""chattr rules for projects and files."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from anaconda_storage_core.attributes import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_TITLE,
    PROJECT_TAGS,
    InvalidAttribute,
    validate_file_attributes,
    validate_project_attributes,
)


def test_constants() -> None:
    assert (MAX_NAME, MAX_TITLE, MAX_DESCRIPTION) == (120, 120, 1024)
    assert sorted(PROJECT_TAGS) == ["data", "notebook"]


def test_project_attributes_as_the_seed_lists_them() -> None:
    assert validate_project_attributes(
        name="sales-2024_q1",
        title="Sales ✓ " + "t" * (MAX_TITLE - 8),
        description="d" * MAX_DESCRIPTION,
        tags=["notebook", "data", "notebook"],
        hidden=True,
    ) == {
        "name": "sales-2024_q1",
        "title": "Sales ✓ " + "t" * (MAX_TITLE - 8),
        "description": "d" * MAX_DESCRIPTION,
        "tags": ["data", "notebook"],
        "hidden": True,
    }


def test_only_given_attributes_are_returned() -> None:
    assert validate_project_attributes(title="T") == {"title": "T"}
    assert validate_project_attributes(hidden=False) == {"hidden": False}
    # empty values clear an attribute: they are given, not None
    assert validate_project_attributes(title="", description="", tags=[]) == {
        "title": "",
        "description": "",
        "tags": [],
    }
    assert validate_project_attributes(tags=("data",)) == {"tags": ["data"]}
    assert validate_file_attributes(description="") == {"description": ""}
    assert validate_file_attributes(metadata={}) == {"metadata": {}}


def test_file_attributes() -> None:
    metadata = {"source": "sensor 7", "unit": "°C"}
    result = validate_file_attributes(description="Readings", metadata=metadata)
    assert result == {"description": "Readings", "metadata": metadata}
    assert result["metadata"] is not metadata  # a copy


@pytest.mark.parametrize(
    ("kwargs", "attribute", "reason"),
    [
        ({"name": "Sales"}, "name", "project names are lower case ([a-z0-9-_]) (at index 0)"),
        ({"name": "sa les"}, "name", "project names use only [a-z0-9-_], not ' ' (at index 2)"),
        ({"name": ""}, "name", "project name is empty"),
        ({"name": "n" * 121}, "name", "project names are at most 120 characters"),
        ({"name": 7}, "name", "must be a str, not int"),
        ({"title": "t" * 121}, "title", "is at most 120 characters (this one has 121)"),
        ({"title": b"t"}, "title", "must be a str, not bytes"),
        ({"description": "d" * 1025}, "description", "is at most 1024 characters"),
        ({"description": None, "tags": ["docs"]}, "tags", "'docs' is not a tag"),
        ({"tags": ["Data"]}, "tags", "the tags are data, notebook"),
        ({"tags": "data"}, "tags", "must be a list of str, not str"),
        ({"tags": [["data"]]}, "tags", "['data'] is not a tag"),
        ({"tags": 1}, "tags", "must be a list of str, not int"),
        ({"hidden": "yes"}, "hidden", "must be True or False, not 'yes'"),
        ({"hidden": 1}, "hidden", "must be True or False, not 1"),
    ],
)
def test_project_attribute_rejected(kwargs: dict[str, Any], attribute: str, reason: str) -> None:
    with pytest.raises(InvalidAttribute) as caught:
        validate_project_attributes(**kwargs)
    assert caught.value.attribute == attribute
    assert reason in caught.value.reason
    assert str(caught.value) == f"invalid attribute {attribute!r}: {caught.value.reason}"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "attribute", "reason"),
    [
        ({"description": "d" * 1025}, "description", "is at most 1024 characters"),
        ({"metadata": '{"a": "b"}'}, "metadata", "must be a dict of str to str, not str"),
        ({"metadata": [("a", "b")]}, "metadata", "must be a dict of str to str, not list"),
        ({"metadata": {"a": {"b": "c"}}}, "metadata", "'a' holds a dict"),
        ({"metadata": {"a": 1}}, "metadata", "'a' holds a int"),
        ({"metadata": {"a": None}}, "metadata", "'a' holds a NoneType"),
        ({"metadata": {1: "a"}}, "metadata", "keys are str, not int"),
    ],
)
def test_file_attribute_rejected(kwargs: dict[str, Any], attribute: str, reason: str) -> None:
    with pytest.raises(InvalidAttribute) as caught:
        validate_file_attributes(**kwargs)
    assert caught.value.attribute == attribute
    assert reason in caught.value.reason


def test_at_least_one_attribute() -> None:
    with pytest.raises(InvalidAttribute) as caught:
        validate_project_attributes()
    assert caught.value.attribute is None
    assert str(caught.value) == (
        "invalid attributes: none given:"
        " change at least one of name, title, description, tags, hidden"
    )
    with pytest.raises(InvalidAttribute, match="at least one of description, metadata"):
        validate_file_attributes(description=None, metadata=None)


def test_invalid_attribute_pickles() -> None:
    for error in (InvalidAttribute("title", "too long"), InvalidAttribute(None, "none given")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is InvalidAttribute
        assert (copy.attribute, copy.reason, str(copy)) == (
            error.attribute,
            error.reason,
            str(error),
        )
