"""What the driver takes for an address: scheme, query and glob patterns (no server)."""

from __future__ import annotations

import pytest

from anaconda_storage_core.uri import InvalidURI
from anaconda_storage_fsspec import AnacondaFileSystem
from anaconda_storage_fsspec.addresses import query_options, split_query, strip_protocol


@pytest.mark.parametrize(
    ("written", "fs_path"),
    [
        ("", ""),
        ("anaconda://", ""),
        ("anaconda:///", ""),
        ("alice", "alice"),
        ("anaconda://alice/", "alice"),
        ("ANACONDA://alice/sales", "alice/sales"),
        ("anaconda::alice/sales/a.csv", "alice/sales/a.csv"),
        ("alice/sales/2024/q1.csv/", "alice/sales/2024/q1.csv"),
        ("anaconda://alice/sales#-1/2024/q1.csv", "alice/sales#-1/2024/q1.csv"),
        ("alice/sales/q1.csv#-01", "alice/sales/q1.csv#-1"),
        # Time points are kept in UTC, UUIDs in lower case: one spelling per address.
        ("alice/sales#2024-01-31T13:00:00+01:00", "alice/sales#2024-01-31T12:00:00"),
        (
            "alice/sales/a#7F4C3F9A-2B1E-4C9D-8E2F-0A1B2C3D4E5F",
            "alice/sales/a#7f4c3f9a-2b1e-4c9d-8e2f-0a1b2c3d4e5f",
        ),
        ("alice/sales/100%25.csv", "alice/sales/100%25.csv"),
        ("alice/sales/%41.csv", "alice/sales/A.csv"),
    ],
)
def test_strip_protocol_gives_the_canonical_fs_path(written: str, fs_path: str) -> None:
    assert strip_protocol(written) == fs_path
    assert AnacondaFileSystem._strip_protocol(written) == fs_path


def test_the_query_is_split_off_and_never_kept() -> None:
    written = "anaconda://alice/sales/q1.csv?api_key=SECRET&domain=http://127.0.0.1:1"
    assert strip_protocol(written) == "alice/sales/q1.csv"
    assert query_options(written) == {"api_key": "SECRET", "domain": "http://127.0.0.1:1"}
    assert AnacondaFileSystem._get_kwargs_from_urls(written) == {
        "uri_options": {"api_key": "SECRET", "domain": "http://127.0.0.1:1"}
    }
    assert AnacondaFileSystem._get_kwargs_from_urls("alice/sales/q1.csv") == {}


def test_the_seed_spelling_api_domain_is_read_as_domain() -> None:
    assert query_options("o/p/f?api_domain=example.com") == {"domain": "example.com"}


def test_a_question_mark_that_starts_no_query_is_a_glob_wildcard() -> None:
    assert split_query("alice/sales/fil?1.csv") == ("alice/sales/fil?1.csv", None)
    assert strip_protocol("anaconda://alice/sales/fil?1.csv") == "alice/sales/fil?1.csv"
    assert strip_protocol("alice/sales/*/q?.csv") == "alice/sales/*/q?.csv"


def test_an_option_given_twice_is_an_error_that_shows_no_value() -> None:
    with pytest.raises(InvalidURI) as caught:
        query_options("o/p/f?api_key=ONE&api_key=TWO")
    assert "ONE" not in str(caught.value)
    assert "TWO" not in str(caught.value)


def test_an_invalid_address_is_reported_when_used() -> None:
    fs_cls = AnacondaFileSystem
    assert fs_cls._strip_protocol("alice/Sales/x") == "alice/Sales/x"  # kept as written
    with pytest.raises(InvalidURI, match="lower case"):
        fs_cls._uri("alice/Sales/x")
    with pytest.raises(InvalidURI, match="cannot be combined"):
        fs_cls._uri("alice/sales#-1/x#-1")


def test_parent_keeps_the_checkpoint_and_drops_the_revision() -> None:
    parent = AnacondaFileSystem._parent
    assert parent("anaconda://alice/sales#-1/dir/f.csv") == "alice/sales#-1/dir"
    assert parent("alice/sales/f.csv#-2") == "alice/sales"
    assert parent("alice/sales#-1") == "alice"
    assert parent("alice") == ""
