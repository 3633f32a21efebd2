"""The Anaconda Storage URI grammar: seed examples, every rule, and round-trip properties."""

from __future__ import annotations

import dataclasses
import operator
import pickle
import re
import string
import unicodedata
from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anaconda_storage_core.uri import (
    MAX_NAME_LENGTH,
    MAX_PATH_LENGTH,
    OPTION_NAMES,
    OWNER_NAME,
    PROJECT_NAME,
    SCHEME,
    InvalidURI,
    Relative,
    StorageURI,
    TimePoint,
    VersionId,
    format_uri,
    has_trailing_slash,
    parse_uri,
    redact_uri,
)

UUID_TEXT = "49aa1e19-0527-4bc0-b8bd-31c6ea82710a"
UTC = timezone.utc


# ---------------------------------------------------------------------------------------
# the seed's forms, and every partial address fsspec lists


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", StorageURI()),
        ("anaconda://", StorageURI()),
        ("alice", StorageURI("alice")),
        ("anaconda://alice", StorageURI("alice")),
        ("alice/sales", StorageURI("alice", "sales")),
        ("alice/sales#-1", StorageURI("alice", "sales", "-1")),
        ("alice/sales/dir/file.csv", StorageURI("alice", "sales", path="dir/file.csv")),
        (
            f"alice/sales/dir/file.csv#{UUID_TEXT}",
            StorageURI("alice", "sales", path="dir/file.csv", revision=UUID_TEXT),
        ),
        # anaconda://<owner>/<project>[#<checkpoint>]/path/to/file[#<revision>]
        (
            "anaconda://alice/sales/path/to/file",
            StorageURI("alice", "sales", None, "path/to/file"),
        ),
        (
            "anaconda://alice/sales#2024-01-31T12:00:00/path/to/file",
            StorageURI("alice", "sales", "2024-01-31T12:00:00", "path/to/file"),
        ),
        (
            "anaconda://alice/sales#-2/path/to/file",
            StorageURI("alice", "sales", "-2", "path/to/file"),
        ),
        (
            f"anaconda://alice/sales#{UUID_TEXT}/path/to/file",
            StorageURI("alice", "sales", UUID_TEXT, "path/to/file"),
        ),
        (
            "anaconda://alice/sales/path/to/file#-1",
            StorageURI("alice", "sales", None, "path/to/file", "-1"),
        ),
        (
            f"anaconda://{UUID_TEXT}/sales/f",
            StorageURI(UUID_TEXT, "sales", path="f"),
        ),
        # the DESIGN's pandas example
        ("anaconda://alice/sales/2024/q1.csv", StorageURI("alice", "sales", path="2024/q1.csv")),
    ],
)
def test_parse(text: str, expected: StorageURI) -> None:
    uri = parse_uri(text)
    assert uri == expected
    assert parse_uri(str(uri)) == uri
    assert parse_uri(uri.fs_path) == uri


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", "anaconda://"),
        ("/", "anaconda://"),
        ("anaconda:///", "anaconda://"),
        ("ANACONDA://Alice/sales", "anaconda://Alice/sales"),
        ("alice/", "anaconda://alice"),
        ("alice/sales/", "anaconda://alice/sales"),
        ("alice/sales#-1/", "anaconda://alice/sales#-1"),
        ("alice/sales/dir/", "anaconda://alice/sales/dir"),
        ("alice/sales#-007", "anaconda://alice/sales#-7"),
        ("alice/sales/f#-0010", "anaconda://alice/sales/f#-10"),
        (f"alice/sales#{UUID_TEXT.upper()}", f"anaconda://alice/sales#{UUID_TEXT}"),
        (f"alice/sales/f#{UUID_TEXT.upper()}", f"anaconda://alice/sales/f#{UUID_TEXT}"),
        ("alice/sales#2024-01-31T12:00:00Z", "anaconda://alice/sales#2024-01-31T12:00:00"),
        ("alice/sales#2024-01-31t12:00:00z", "anaconda://alice/sales#2024-01-31T12:00:00"),
        ("alice/sales#2024-01-31T13:30:00+01:30", "anaconda://alice/sales#2024-01-31T12:00:00"),
        ("alice/sales#2024-01-31T23:00:00-02:00", "anaconda://alice/sales#2024-02-01T01:00:00"),
        ("alice/sales#2024-01-31T12:00:00-00:00", "anaconda://alice/sales#2024-01-31T12:00:00"),
        ("alice/sales#0999-01-01T00:00:00", "anaconda://alice/sales#0999-01-01T00:00:00"),
        # percent escapes: every valid one is decoded; only % # ? are written back
        ("alice/sales/a%20b.csv", "anaconda://alice/sales/a b.csv"),
        ("alice/sales/q%231%3F%25.csv", "anaconda://alice/sales/q%231%3F%25.csv"),
        ("alice/sales/caf%C3%A9", "anaconda://alice/sales/café"),
        ("alice/sales/café", "anaconda://alice/sales/café"),
        ("al%69ce/s%61les/f", "anaconda://alice/sales/f"),
        ("alice/sales#%2D1", "anaconda://alice/sales#-1"),
        ("alice/sales/a+b", "anaconda://alice/sales/a+b"),
        ("alice/sales/.keep", "anaconda://alice/sales/.keep"),
        ("alice/sales/...", "anaconda://alice/sales/..."),
        ("alice/sales/a:b@c", "anaconda://alice/sales/a:b@c"),
        # the query is split off and never written back
        ("alice/sales/f?domain=example.com", "anaconda://alice/sales/f"),
        ("alice/sales/f#-1?api_key=k", "anaconda://alice/sales/f#-1"),
        ("alice?", "anaconda://alice"),
    ],
)
def test_canonical_form(text: str, canonical: str) -> None:
    assert format_uri(text) == canonical
    assert format_uri(canonical) == canonical
    assert format_uri(text, scheme=False) == canonical.removeprefix(SCHEME)


def test_decoded_fields() -> None:
    uri = parse_uri("anaconda://alice/sales#2024-01-31T13:00:00+01:00/d%23/a%23b%3Fc%25d%20e")
    assert uri.path == "d#/a#b?c%d e"
    assert uri.checkpoint == "2024-01-31T12:00:00"
    assert uri.fs_path == "alice/sales#2024-01-31T12:00:00/d%23/a%23b%3Fc%25d e"


# ---------------------------------------------------------------------------------------
# rejections: the reason and the position (an index into the text)


@pytest.mark.parametrize(
    ("text", "reason", "position"),
    [
        # scheme
        ("anaconda:alice", "the scheme is written 'anaconda://'", 0),
        ("anaconda:/alice", "the scheme is written 'anaconda://'", 0),
        ("s3://bucket/key", "'s3:' is not the anaconda:// scheme", 0),
        # owner
        ("/alice", "owner name is empty", 0),
        ("anaconda:///alice", "owner name is empty", 11),
        (".alice", "owner names start with a letter or digit", 0),
        ("al ice", "owner names use only [A-Za-z0-9._-], not ' '", 2),
        ("a" * 121, "owner names are at most 120 characters (this one has 121)", 120),
        ("alice#-1", "an owner has no checkpoint", 5),
        ("al%2Fice/sales", "owner names use only [A-Za-z0-9._-], not '/'", 2),
        # project
        ("anaconda://alice/Sales", "project names are lower case ([a-z0-9-_])", 17),
        ("alice/saLes", "project names are lower case ([a-z0-9-_])", 8),
        ("alice/sa.les", "project names use only [a-z0-9-_], not '.'", 8),
        ("alice//f", "project name is empty", 6),
        ("alice/" + "p" * 121, "project names are at most 120 characters", 126),
        # checkpoint
        ("alice/sales#", "empty checkpoint after '#'", 12),
        ("alice/sales#-0", "-0 is not a step back", 12),
        ("alice/sales#-000", "-0 is not a step back", 12),
        ("alice/sales#-1234567890123456789", "-N is at most 18 digits", 12),
        ("alice/sales#1", "'1' is not a checkpoint", 12),
        ("alice/sales#latest", "'latest' is not a checkpoint", 12),
        ("alice/sales#2024-01-31", "is not a checkpoint", 12),
        ("alice/sales#2024-01-31 12:00:00", "is not a checkpoint", 12),
        ("alice/sales#2024-01-31T12:00:00.5", "is not a checkpoint", 12),
        ("alice/sales#2024-13-01T00:00:00", "not a valid date and time (month must be", 12),
        ("alice/sales#2024-02-30T00:00:00", "not a valid date and time", 12),
        ("alice/sales#2024-01-01T24:00:00", "not a valid date and time", 12),
        ("alice/sales#0000-01-01T00:00:00", "not a valid date and time", 12),
        ("alice/sales#2024-01-01T00:00:00+24:00", "a UTC offset is at most 23:59", 31),
        ("alice/sales#0001-01-01T00:00:00+01:00", "out of range once converted to UTC", 12),
        ("alice/sales#9999-12-31T23:00:00-01:00", "out of range once converted to UTC", 12),
        ("alice/sales#49aa1e19-0527-4bc0-b8bd-31c6ea82710", "is not a checkpoint", 12),
        ("alice/sales#-1#-2", "'-1#-2' is not a checkpoint", 12),
        # revision
        ("alice/sales/#-1", "a revision needs a file path", 12),
        ("alice/sales/f#", "empty revision after '#'", 14),
        ("alice/sales/f#-0", "-0 is not a step back", 14),
        ("alice/sales/f#1", "'1' is not a revision", 14),
        ("alice/sales/f#2024-01-31T12:00:00", "is not a revision", 14),
        ("alice/sales/f#x", "write a literal '#' in a name as %23", 14),
        ("alice/sales/d#1/f", "'#' marks a revision and may only follow the last name", 13),
        # checkpoint and revision
        ("alice/sales#-1/f#-2", "a checkpoint and a revision cannot be combined", 16),
        # path
        ("alice/sales/a//b", "empty name in the path", 14),
        ("alice/sales/d//", "empty name in the path", 14),
        ("alice/sales/d/#-1", "empty name in the path", 14),
        ("alice/sales/.", "'.' is not a name", 12),
        ("alice/sales/a/../b", "'..' is not a name", 14),
        ("alice/sales/%2E%2E/b", "'..' is not a name", 12),
        ("alice/sales/a\\b", "Windows separators would be ambiguous", 13),
        ("alice/sales/a%5Cb", "Windows separators would be ambiguous", 13),
        ("alice/sales/a%2Fb", "a name cannot contain '/', not even as %2F", 13),
        ("alice/sales/a\nb", "control character U+000A", 13),
        ("alice/sales/a\x00b", "control character U+0000", 13),
        ("alice/sales/a%7Fb", "control character U+007F", 13),
        ("alice/sales/\x1f", "control character U+001F", 12),
        ("alice/sales/a\ud800", "lone surrogate U+D800", 13),
        ("alice/sales/" + "n" * 256, "a name is at most 255 characters", 12 + 255),
        ("alice/sales/" + "/".join(["n" * 200] * 6), "a path is at most 1024 characters", 12),
        # percent escapes
        ("alice/sales/100%", "'%' must be followed by two hex digits", 15),
        ("alice/sales/a%2", "'%' must be followed by two hex digits", 13),
        ("alice/sales/a%zzb", "'%' must be followed by two hex digits", 13),
        ("alice/sales/a%%41", "'%' must be followed by two hex digits", 13),
        ("alice/sales/a%C3", "percent escapes must encode UTF-8", 13),
        ("alice/sales/a%C3%41", "percent escapes must encode UTF-8", 13),
        ("alice/sales/a%FF", "percent escapes must encode UTF-8", 13),
        ("alice/sales/%C3%A9%FF", "percent escapes must encode UTF-8", 18),
        ("alice/sales/a%ED%A0%80", "percent escapes must encode UTF-8", 13),
        # query
        ("alice/sales?user=bob", "unknown query option 'user' (known keys: api_key,", 12),
        ("alice/sales?domain=a&domain=b", "query option 'domain' is given twice", 21),
        ("alice/sales?domain", "query options are written key=value", 12),
        ("alice/sales?domain=x&Token", "query options are written key=value", 21),
        ("alice/sales?domain=%FF", "query escapes must encode UTF-8", 12),
    ],
)
def test_rejected(text: str, reason: str, position: int) -> None:
    with pytest.raises(InvalidURI) as caught:
        parse_uri(text)
    error = caught.value
    assert reason in error.reason
    assert error.position == position
    assert error.text == redact_uri(text)
    assert str(error) == (
        f"invalid Anaconda Storage URI {error.text!r}: {error.reason}, at position {position}"
    )


def test_message_says_what_and_where() -> None:
    with pytest.raises(InvalidURI) as caught:
        parse_uri("anaconda://alice/Sales")
    assert str(caught.value) == (
        "invalid Anaconda Storage URI 'anaconda://alice/Sales': "
        "project names are lower case ([a-z0-9-_]), at position 17"
    )
    assert isinstance(caught.value, ValueError)
    # the position is an index into the text: it points at the culprit
    assert caught.value.text[caught.value.position or 0] == "S"


def test_errors_are_reported_left_to_right() -> None:
    with pytest.raises(InvalidURI, match="project names are lower case"):
        parse_uri("alice/Sales/a//b?typo=1")


def test_position_counts_escapes_in_the_input() -> None:
    with pytest.raises(InvalidURI) as caught:
        parse_uri("alice/sales/%C3%A9%C3%A9/a%0Ab")
    assert caught.value.position == 26  # the "%" of %0A, not an index into the decoded name


def test_invalid_uri_pickles() -> None:
    with pytest.raises(InvalidURI) as caught:
        parse_uri("alice/Sales?api_key=secret")
    error = caught.value
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is InvalidURI
    assert (copy.text, copy.reason, copy.position) == (error.text, error.reason, error.position)
    assert str(copy) == str(error)
    assert copy.args == error.args


def test_not_a_string() -> None:
    with pytest.raises(TypeError, match="is a str, not bytes"):
        parse_uri(b"alice")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# query options: connection settings that are secrets, so never shown


def test_options_are_split_off() -> None:
    uri = parse_uri(
        "anaconda://alice/sales/f.csv#-1?api_key=s3cr%2Bt+x&domain=http%3A%2F%2F127.0.0.1%3A8765"
        "&api_version=2023.11.28&extra_headers=%7B%22X-A%22%3A+%221%22%7D"
    )
    assert dict(uri.options) == {
        "api_key": "s3cr+t x",
        "domain": "http://127.0.0.1:8765",
        "api_version": "2023.11.28",
        "extra_headers": '{"X-A": "1"}',
    }
    assert uri == StorageURI("alice", "sales", path="f.csv", revision="-1")
    assert hash(uri) == hash(StorageURI("alice", "sales", path="f.csv", revision="-1"))
    for shown in (str(uri), repr(uri), uri.format(), uri.fs_path, format_uri(uri)):
        assert "s3cr" not in shown
        assert "?" not in shown
    assert repr(uri) == "StorageURI('anaconda://alice/sales/f.csv#-1')"


def test_options_are_read_only_and_follow_derived_uris() -> None:
    uri = parse_uri("alice/sales/d/f?api_key=k")
    with pytest.raises(TypeError):
        uri.options["api_key"] = "other"  # type: ignore[index]
    for derived in (
        uri.parent,
        uri.parent.parent,
        uri.join("g"),
        uri.project_uri,
        uri.with_revision("-1"),
        pickle.loads(pickle.dumps(uri)),
    ):
        assert dict(derived.options) == {"api_key": "k"}
    assert dict(dataclasses.replace(uri, options={}).options) == {}


def test_options_empty_by_default() -> None:
    assert dict(parse_uri("alice").options) == {}
    assert sorted(OPTION_NAMES) == ["api_key", "api_version", "domain", "extra_headers"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("alice/Sales?api_key=SECRET", "alice/Sales?api_key=***"),
        ("alice/Sales?api%5Fkey=SECRET", "alice/Sales?***=***"),
        ("alice/Sales?extra_headers=SECRET", "alice/Sales?extra_headers=***"),
        ("alice/Sales?apikey=SECRET", "alice/Sales?apikey=***"),  # a misspelt api_key
        ("alice/Sales?SECRET", "alice/Sales?***"),
        ("alice/Sales?Xy9SECRET=1", "alice/Sales?***=***"),
        (
            "alice/sales?domain=d&api_key=SECRET&api_key=SECRET",
            "alice/sales?domain=d&api_key=***&api_key=***",
        ),
        (
            "alice/Sales?domain=example.com&api_version=1",
            "alice/Sales?domain=example.com&api_version=1",
        ),
    ],
)
def test_secrets_are_masked_in_errors(text: str, shown: str) -> None:
    with pytest.raises(InvalidURI) as caught:
        parse_uri(text)
    assert caught.value.text == shown
    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in repr(caught.value)
    assert "SECRET" not in str(pickle.loads(pickle.dumps(caught.value)))
    assert redact_uri(shown) == shown  # masking is idempotent


def test_query_error_position_is_in_the_masked_text() -> None:
    with pytest.raises(InvalidURI) as caught:
        parse_uri("alice/sales?api_key=A-LONG-SECRET&typo=1")
    error = caught.value
    assert error.text == "alice/sales?api_key=***&typo=***"
    assert error.position == error.text.index("typo")


def test_unknown_option_in_constructor() -> None:
    with pytest.raises(InvalidURI, match="unknown option 'user'"):
        StorageURI("alice", options={"user": "bob"})
    with pytest.raises(TypeError, match="options keys and values must be str"):
        StorageURI("alice", options={"api_key": 1})  # type: ignore[dict-item]


# ---------------------------------------------------------------------------------------
# the value type


def test_kinds() -> None:
    root, owner, project = parse_uri(""), parse_uri("alice"), parse_uri("alice/sales#-1")
    path = parse_uri("alice/sales/d/f#-1")
    assert (root.is_root, root.is_owner, root.is_project) == (True, False, False)
    assert (owner.is_root, owner.is_owner, owner.is_project) == (False, True, False)
    assert (project.is_root, project.is_owner, project.is_project) == (False, False, True)
    assert (path.is_root, path.is_owner, path.is_project) == (False, False, False)
    assert not parse_uri("alice/sales/f").is_versioned
    assert project.is_versioned
    assert path.is_versioned


def test_name_and_parent() -> None:
    uri = parse_uri("alice/sales#-1/d/e/f.csv")
    assert uri.name == "f.csv"
    chain = []
    while not uri.is_root:
        uri = uri.parent
        chain.append((str(uri), uri.name))
    assert chain == [
        ("anaconda://alice/sales#-1/d/e", "e"),
        ("anaconda://alice/sales#-1/d", "d"),
        ("anaconda://alice/sales#-1", "sales"),
        ("anaconda://alice", "alice"),
        ("anaconda://", ""),
    ]
    assert uri.parent == uri  # the root is its own parent, as in pathlib


def test_parent_drops_the_revision() -> None:
    assert parse_uri("alice/sales/d/f#-3").parent == parse_uri("alice/sales/d")
    assert parse_uri("alice/sales/f#-3").parent == parse_uri("alice/sales")


def test_join() -> None:
    root = StorageURI()
    assert root.join("alice") == parse_uri("alice")
    assert root.join("alice", "sales", "d/f") == parse_uri("alice/sales/d/f")
    assert root.join("alice/sales") == parse_uri("alice/sales")
    assert parse_uri("alice/sales#-1").join("d", "a#b%c") == parse_uri("alice/sales#-1/d/a%23b%25c")
    assert parse_uri("alice/sales/f#-1").join("g") == parse_uri("alice/sales/f/g")
    uri = parse_uri("alice/sales")
    assert uri.join() is uri
    with pytest.raises(InvalidURI, match="cannot join an empty name"):
        uri.join("a//b")
    with pytest.raises(InvalidURI, match="cannot join an empty name"):
        uri.join("")
    with pytest.raises(InvalidURI, match=r"'\.\.' is not a name"):
        uri.join("..")
    with pytest.raises(InvalidURI, match="project names are lower case"):
        parse_uri("alice").join("Sales")


def test_with_revision_and_checkpoint() -> None:
    f = parse_uri("alice/sales/f")
    assert str(f.with_revision("-01")) == "anaconda://alice/sales/f#-1"
    assert str(f.with_revision(Relative(2))) == "anaconda://alice/sales/f#-2"
    assert f.with_revision(VersionId(UUID(UUID_TEXT))).revision == UUID_TEXT
    assert f.with_revision("-1").with_revision(None) == f
    when = TimePoint(datetime(2024, 1, 31, 12, tzinfo=UTC))
    assert str(f.with_checkpoint(when)) == "anaconda://alice/sales#2024-01-31T12:00:00/f"
    assert f.with_checkpoint("-1").with_checkpoint(None) == f
    with pytest.raises(InvalidURI, match="cannot be combined"):
        f.with_revision("-1").with_checkpoint("-1")
    with pytest.raises(InvalidURI, match="cannot be combined"):
        f.with_checkpoint("-1").with_revision("-1")
    with pytest.raises(InvalidURI, match="a revision needs a file path"):
        parse_uri("alice/sales").with_revision("-1")
    with pytest.raises(InvalidURI, match="only a project has checkpoints"):
        parse_uri("alice").with_checkpoint("-1")
    with pytest.raises(InvalidURI, match="is not a revision"):
        f.with_revision(str(when))


def test_project_uri() -> None:
    assert parse_uri("alice/sales#-1/d/f").project_uri == parse_uri("alice/sales#-1")
    assert parse_uri("alice/sales/d/f#-1").project_uri == parse_uri("alice/sales")
    with pytest.raises(InvalidURI, match="names no project"):
        _ = parse_uri("alice").project_uri


def test_typed_refs() -> None:
    uri = parse_uri("alice/sales#2024-01-31T13:00:00+01:00")
    assert uri.checkpoint_ref == TimePoint(datetime(2024, 1, 31, 12, tzinfo=UTC))
    assert uri.revision_ref is None
    assert parse_uri("alice/sales#-3").checkpoint_ref == Relative(3)
    assert parse_uri(f"alice/sales#{UUID_TEXT}").checkpoint_ref == VersionId(UUID(UUID_TEXT))
    assert parse_uri("alice/sales/f#-1").revision_ref == Relative(1)
    assert parse_uri(f"alice/sales/f#{UUID_TEXT}").revision_ref == VersionId(UUID(UUID_TEXT))
    assert parse_uri("alice/sales/f").checkpoint_ref is None


def test_time_point() -> None:
    plus_two = timezone(timedelta(hours=2))
    point = TimePoint(datetime(2024, 1, 31, 14, 0, 0, 999_999, tzinfo=plus_two))
    assert point.at == datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert point.at.tzinfo is UTC
    assert str(point) == "2024-01-31T12:00:00"
    assert str(TimePoint(datetime(5, 1, 1, tzinfo=UTC))) == "0005-01-01T00:00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        TimePoint(datetime(2024, 1, 31))
    with pytest.raises(ValueError, match="out of range"):
        TimePoint(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))


@pytest.mark.parametrize("steps", [0, -1, 10**18, True])
def test_relative_range(steps: int) -> None:
    with pytest.raises(ValueError, match="steps must be an integer"):
        Relative(steps)


def test_relative_and_version_id_text() -> None:
    assert str(Relative(10**18 - 1)) == "-" + "9" * 18
    assert str(VersionId(UUID(UUID_TEXT.upper()))) == UUID_TEXT


def test_constructor_checks_and_canonicalizes() -> None:
    uri = StorageURI("alice", "sales", "2024-01-31T12:00:00Z", "d/f")
    assert uri.checkpoint == "2024-01-31T12:00:00"
    assert StorageURI("alice", "sales", path="f", revision=UUID_TEXT.upper()).revision == UUID_TEXT
    assert dataclasses.replace(uri, checkpoint="-01").checkpoint == "-1"
    for kwargs, reason in [
        ({"project": "sales"}, "a project needs an owner"),
        ({"owner": "alice", "path": "f"}, "a path needs a project"),
        ({"owner": "alice", "checkpoint": "-1"}, "only a project has checkpoints"),
        ({"owner": "alice", "project": "sales", "revision": "-1"}, "a revision needs a file path"),
        ({"owner": "alice", "project": "Sales"}, "project names are lower case"),
        ({"owner": "", "project": "sales"}, "owner name is empty"),
        ({"owner": "alice", "project": "sales", "path": "/f"}, "empty name in the path"),
        ({"owner": "alice", "project": "sales", "path": "f/"}, "empty name in the path"),
        ({"owner": "alice", "project": "sales", "checkpoint": "x"}, "is not a checkpoint"),
    ]:
        with pytest.raises(InvalidURI, match=re.escape(reason)) as caught:
            StorageURI(**kwargs)  # type: ignore[arg-type]
        assert caught.value.position is None
    with pytest.raises(TypeError, match=r"StorageURI\.path must be a str"):
        StorageURI("alice", "sales", path=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"StorageURI\.owner must be a str"):
        StorageURI(1)  # type: ignore[arg-type]


def test_constructor_error_shows_the_fields_as_a_uri() -> None:
    with pytest.raises(InvalidURI) as caught:
        StorageURI("alice", "sales", "-1", "a#b", "-2")
    assert caught.value.text == "anaconda://alice/sales#-1/a%23b#-2"


def test_value_semantics() -> None:
    a = parse_uri("anaconda://alice/sales/f?api_key=1")
    b = parse_uri("alice/sales/f?api_key=2")
    assert a == b
    assert len({a, b}) == 1
    assert parse_uri(a) is a
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.path = "g"  # type: ignore[misc]
    copy = pickle.loads(pickle.dumps(a))
    assert copy == a
    assert dict(copy.options) == {"api_key": "1"}


def test_has_trailing_slash() -> None:
    cases = {
        "": False,
        "anaconda://": False,
        "ANACONDA://": False,
        "anaconda:///": True,
        "/": True,
        "alice": False,
        "alice/": True,
        "anaconda://alice/sales/": True,
        "anaconda://alice/sales": False,
        "alice/sales#-1/": True,
        "alice/sales/dir/?api_key=a/": True,
        "alice/sales/dir?domain=a/": False,
        "alice/sales/dir%2F": False,
    }
    for text, expected in cases.items():
        assert has_trailing_slash(text) is expected, text


def test_shared_name_rules() -> None:
    assert OWNER_NAME.pattern.fullmatch(UUID_TEXT)
    assert OWNER_NAME.pattern.fullmatch("first.last_2-x")
    assert not OWNER_NAME.pattern.fullmatch("-alice")
    assert PROJECT_NAME.pattern.fullmatch("-_0a")
    assert PROJECT_NAME.problem("sales") is None
    assert PROJECT_NAME.problem("Sales") == ("project names are lower case ([a-z0-9-_])", 0)
    assert (MAX_NAME_LENGTH, MAX_PATH_LENGTH) == (255, 1024)


# ---------------------------------------------------------------------------------------
# properties

# Name characters from an explicit alphabet: every class of character the grammar admits
# (reserved %#?, C1 controls, NBSP, combining marks, RTL, zero-width, line separators, BOM,
# private use, non-characters, astral), and no use of Hypothesis's Unicode table, whose first
# build takes a second and trips the too_slow health check on a fresh checkout.
_NAME_ALPHABET = (
    string.ascii_letters
    + string.digits
    + " !\"#$%&'()*+,-.:;<=>?@[]^_`{|}~"
    + "\x80\x85\x9f\xa0\xadéßÆ"
    + "e\u0301\u0308"
    + "\u05d0\u0627\u200b\u200d\u200e\u2028\u2029\u3000"
    + "€中文日本語\ufeff\ue000\ufffd\uffff"
    + "\U0001d11e\U0001f600\U0010ffff"
)
names = st.text(_NAME_ALPHABET, min_size=1, max_size=12).filter(lambda n: n not in {".", ".."})
_ALNUM = string.ascii_letters + string.digits
# st.text over explicit alphabets, not st.from_regex: the latter costs a second on first use.
owners = st.builds(operator.add, st.sampled_from(_ALNUM), st.text(_ALNUM + "._-", max_size=119))
projects = st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=120)
_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
time_points = st.builds(
    TimePoint,
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_offsets),
)
relatives = st.integers(1, 10**18 - 1).map(Relative)
version_ids = st.uuids().map(VersionId)
checkpoints = st.one_of(time_points, relatives, version_ids)
revisions = st.one_of(relatives, version_ids)


@st.composite
def storage_uris(draw: st.DrawFn) -> StorageURI:
    depth = draw(st.sampled_from(["root", "owner", "project", "path"]))
    if depth == "root":
        return StorageURI()
    owner = draw(owners)
    if depth == "owner":
        return StorageURI(owner)
    project = draw(projects)
    path = "/".join(draw(st.lists(names, min_size=1, max_size=5))) if depth == "path" else ""
    version = draw(st.sampled_from(["none", "checkpoint", "revision" if path else "none"]))
    checkpoint = str(draw(checkpoints)) if version == "checkpoint" else None
    revision = str(draw(revisions)) if version == "revision" else None
    return StorageURI(owner, project, checkpoint, path, revision)


def _spell_name(draw: st.DrawFn, name: str) -> str:
    # Any character may be percent-encoded (in any hex case); % # ? must be.
    spelled = []
    for char in name:
        if char in "%#?" or draw(st.integers(0, 9)) == 0:
            escapes = "".join(f"%{byte:02X}" for byte in char.encode())
            spelled.append(escapes.lower() if draw(st.booleans()) else escapes)
        else:
            spelled.append(char)
    return "".join(spelled)


def _spell_ref(draw: st.DrawFn, text: str) -> str:
    uri_ref = parse_uri(f"o/p#{text}").checkpoint_ref
    if isinstance(uri_ref, Relative):
        return "-" + "0" * draw(st.integers(0, 3)) + str(uri_ref.steps)
    if isinstance(uri_ref, VersionId):
        return "".join(c.upper() if draw(st.booleans()) else c for c in text)
    assert isinstance(uri_ref, TimePoint)
    at = uri_ref.at
    zone = draw(st.one_of(st.none(), st.just(UTC), _offsets))
    if zone is None:
        return str(uri_ref)
    try:
        local = at.astimezone(zone)
    except OverflowError:
        return str(uri_ref)
    offset = local.utcoffset() or timedelta()
    if zone is UTC and draw(st.booleans()):
        suffix = "Z"
    else:
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return local.replace(tzinfo=None).isoformat(timespec="seconds") + suffix


@st.composite
def spellings(draw: st.DrawFn) -> tuple[StorageURI, str]:
    """A valid URI and one of its many spellings (scheme, escapes, zones, zeros, slash)."""
    uri = draw(storage_uris())
    parts = []
    if uri.owner is not None:
        parts.append(_spell_name(draw, uri.owner))
    if uri.project is not None:
        project = _spell_name(draw, uri.project)
        if uri.checkpoint is not None:
            project += "#" + _spell_ref(draw, uri.checkpoint)
        parts.append(project)
    if uri.path:
        parts.extend(_spell_name(draw, name) for name in uri.path.split("/"))
        if uri.revision is not None:
            parts[-1] += "#" + _spell_ref(draw, uri.revision)
    text = "/".join(parts)
    if draw(st.booleans()):
        text += "/"
    scheme = draw(st.sampled_from(["", "anaconda://", "ANACONDA://", "Anaconda://"]))
    if draw(st.booleans()):
        text += "?domain=example.com&api_key=k"
    return uri, scheme + text


@given(storage_uris())
def test_format_then_parse_is_identity(uri: StorageURI) -> None:
    assert parse_uri(uri.format()) == uri
    assert parse_uri(uri.fs_path) == uri
    assert parse_uri(str(uri)).format() == str(uri)
    assert pickle.loads(pickle.dumps(uri)) == uri


@given(spellings())
def test_every_spelling_parses_to_its_value(case: tuple[StorageURI, str]) -> None:
    uri, text = case
    parsed = parse_uri(text)
    assert parsed == uri
    canonical = format_uri(text)
    assert format_uri(canonical) == canonical
    assert parse_uri(canonical) == parsed


def _fields(uri: StorageURI) -> tuple[object, ...]:
    return (uri.owner, uri.project, uri.checkpoint, uri.path, uri.revision, dict(uri.options))


@given(spellings(), st.booleans())
def test_parsed_uri_is_what_the_constructor_makes(
    case: tuple[StorageURI, str], decomposed: bool
) -> None:
    """The parser makes its value without the constructor's checks (it has checked the
    fields already): the value must be the one the constructor makes of the same fields,
    canonical, in NFC (whatever form the text was typed in) and with read-only options."""
    uri, text = case
    if decomposed:
        text = unicodedata.normalize("NFD", text)  # as macOS file names come
    parsed = parse_uri(text)
    built = StorageURI(
        parsed.owner,
        parsed.project,
        parsed.checkpoint,
        parsed.path,
        parsed.revision,
        dict(parsed.options),
    )
    assert _fields(parsed) == _fields(built)
    options = {"domain": "example.com", "api_key": "k"} if "?" in text else {}
    assert _fields(parsed) == (*_fields(uri)[:5], options)
    assert type(parsed.options) is type(built.options)
    assert parsed == built
    assert hash(parsed) == hash(built)
    assert _fields(pickle.loads(pickle.dumps(parsed))) == _fields(parsed)


_URI_ALPHABET = "anacod:/#?%-_.=&+ 0123456789AaFfTZz\\\x00é"


# st.text() draws from Hypothesis's Unicode table, which a fresh checkout builds on first use
# (about a second): not a slow strategy.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.text(_URI_ALPHABET),
        st.builds(lambda a, b: f"anaconda://{a}?{b}", st.text(_URI_ALPHABET), st.text()),
        st.builds(lambda a, b: f"o/p#{a}/{b}", st.text("-0123456789T:Z+abcdef"), st.text()),
    )
)
def test_any_text_parses_or_raises_invalid_uri(text: str) -> None:
    outcome = _parse_or_error(text)  # anything but InvalidURI propagates and fails the test
    if isinstance(outcome, InvalidURI):
        assert outcome.position is None or 0 <= outcome.position <= len(outcome.text)
        assert str(outcome).startswith("invalid Anaconda Storage URI ")
    else:
        canonical = outcome.format()
        assert parse_uri(canonical) == outcome
        assert format_uri(canonical) == canonical


@given(st.text(_URI_ALPHABET), st.text(_ALNUM, min_size=16, max_size=16))
def test_api_key_never_shown(location: str, secret: str) -> None:
    secret = "KEY" + secret
    outcome = _parse_or_error(f"{location}?api_key={secret}")
    if isinstance(outcome, InvalidURI):
        assert secret not in str(outcome)
        assert secret not in outcome.text
    else:
        assert outcome.options["api_key"] == secret
        assert secret not in repr(outcome)
        assert secret not in str(outcome)


def _parse_or_error(text: str) -> StorageURI | InvalidURI:
    try:
        return parse_uri(text)
    except InvalidURI as error:
        return error


# -- names in NFC (issue 11, item 12; docs/api.md "Names and paths") -------------------------

_COMPOSED = "caf\u00e9"  # é as one code point
_DECOMPOSED = "cafe\u0301"  # e + combining acute accent, as macOS file names come


@pytest.mark.parametrize(
    "text",
    [
        f"alice/sales/{_DECOMPOSED}.csv",
        f"alice/sales/{_COMPOSED}.csv",
        "alice/sales/cafe%CC%81.csv",
        "alice/sales/caf%C3%A9.csv",
    ],
)
def test_composed_and_decomposed_paths_are_one_uri(text: str) -> None:
    uri = parse_uri(text)
    assert uri.path == f"{_COMPOSED}.csv"
    assert uri == parse_uri(f"alice/sales/{_COMPOSED}.csv")
    assert uri.format() == f"anaconda://alice/sales/{_COMPOSED}.csv"


def test_built_paths_are_nfc() -> None:
    project = StorageURI("alice", "sales")
    assert StorageURI("alice", "sales", path=_DECOMPOSED).path == _COMPOSED
    assert project.join("r\u00e9sume\u0301s", _DECOMPOSED).path == f"r\u00e9sum\u00e9s/{_COMPOSED}"
    assert dataclasses.replace(project, path=_DECOMPOSED).path == _COMPOSED
    assert project.join(_DECOMPOSED).name == _COMPOSED


def test_nfc_not_nfkc() -> None:
    # Compatibility characters are characters of their own: a fullwidth full stop is no ".".
    assert parse_uri("alice/sales/a\uff0etxt").path == "a\uff0etxt"
    assert parse_uri("alice/sales/\uff0e\uff0e").path == "\uff0e\uff0e"
    assert parse_uri("alice/sales/\u212b").path == "\u00c5"  # ANGSTROM SIGN: NFC maps it


@given(st.lists(names, min_size=1, max_size=5))
def test_every_spelling_of_a_name_in_any_normal_form_is_one_uri(parts: list[str]) -> None:
    path = "/".join(parts)
    forms = {form: unicodedata.normalize(form, path) for form in ("NFC", "NFD")}
    uris = {form: StorageURI("o", "p", path=text) for form, text in forms.items()}
    assert uris["NFC"] == uris["NFD"]
    assert uris["NFD"].path == forms["NFC"]
    assert parse_uri(uris["NFD"].format()) == uris["NFC"]


def test_parsing_is_remembered_without_keeping_a_query() -> None:
    """A query-less URI is parsed once (a small read parses the same few URIs over and
    over); a URI with a query (which may hold an API key) is never kept, and a rejected
    URI is rejected every time."""
    from anaconda_storage_core import uri as uri_module

    remembered = uri_module._parse_remembered
    first = parse_uri("alice/remembered/a.csv#-1")
    assert parse_uri("alice/remembered/a.csv#-1") is first
    size = remembered.cache_info().currsize
    keyed = parse_uri("alice/remembered/a.csv?api_key=secret-value")
    assert keyed.options["api_key"] == "secret-value"
    assert remembered.cache_info().currsize == size
    for _ in range(2):
        with pytest.raises(InvalidURI):
            parse_uri("alice/remembered/a.csv#not a revision")
