"""chmod permission strings: the seed's examples, every rule, and round-trip properties."""

from __future__ import annotations

import pickle
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anaconda_storage_core.permission import (
    LEVELS,
    InvalidPermission,
    Level,
    PermissionChange,
    PrincipalType,
    implied_levels,
    parse_permission,
    parse_permissions,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the seed's examples
        (
            "u/49aa1e19-0527-4bc0-b8bd-31c6ea82710a+r",
            PermissionChange("user", "49aa1e19-0527-4bc0-b8bd-31c6ea82710a", True, "r"),
        ),
        (
            "o/d8c4f686-aff9-45f4-b6ec-8ed3976bca27-w",
            PermissionChange("org", "d8c4f686-aff9-45f4-b6ec-8ed3976bca27", False, "w"),
        ),
        ("o/collective-w", PermissionChange("org", "collective", False, "w")),
        # the sign is the second-to-last character, whatever "-" the name holds
        ("u/alice+r", PermissionChange("user", "alice", True, "r")),
        ("u/alice-r", PermissionChange("user", "alice", False, "r")),
        ("u/bob--r", PermissionChange("user", "bob-", False, "r")),
        ("o/my-org+w", PermissionChange("org", "my-org", True, "w")),
        ("o/my-org+o", PermissionChange("org", "my-org", True, "o")),
        ("u/first.last_2+w", PermissionChange("user", "first.last_2", True, "w")),
        ("o/A+r", PermissionChange("org", "A", True, "r")),
    ],
)
def test_parse(text: str, expected: PermissionChange) -> None:
    change = parse_permission(text)
    assert change == expected
    assert str(change) == text
    assert parse_permission(change) is change


@pytest.mark.parametrize(
    ("text", "reason", "position"),
    [
        ("", "no '/' after u or o", None),
        ("alice+r", "no '/' after u or o", None),
        ("x/alice+r", "'x' is not u (a user) or o (an organization)", 0),
        ("U/alice+r", "'U' is not u (a user) or o (an organization)", 0),
        ("user/alice+r", "'user' is not u (a user) or o (an organization)", 0),
        ("u/", "no name after '/'", 2),
        ("u/alice", "no sign and level at the end", 7),
        ("u/alicer", "no + (grant) or - (revoke) before the level", 7),
        ("u/alice+", "no level after the sign", 8),
        ("u/alice-", "no level after the sign", 8),
        ("u/alice+x", "level 'x' is not r (read), w (write) or o (ownership)", 8),
        ("u/alice+R", "level 'R' is not r (read), w (write) or o (ownership)", 8),
        ("u/+r", "principal name is empty", 2),
        ("u/.alice+r", "principal names start with a letter or digit", 2),
        ("u/al ice+r", "principal names use only [A-Za-z0-9._-], not ' '", 4),
        ("u/a/b+r", "principal names use only [A-Za-z0-9._-], not '/'", 3),
        ("u/alice+r ", "no sign and level at the end", 10),
        ("o/" + "a" * 121 + "+r", "principal names are at most 120 characters", 122),
        # rules on top of the grammar
        ("u/alice+o", "ownership is transferred only to an organization", 0),
        ("u/alice-o", "ownership cannot be revoked, only transferred", 7),
        ("o/my-org-o", "ownership cannot be revoked, only transferred", 8),
    ],
)
def test_rejected(text: str, reason: str, position: int | None) -> None:
    with pytest.raises(InvalidPermission) as caught:
        parse_permission(text)
    error = caught.value
    assert reason in error.reason
    assert error.position == position
    assert error.text == text
    assert str(error).startswith(f"invalid permission {text!r}: {error.reason}")
    assert isinstance(error, ValueError)


def test_message_shows_the_expected_form() -> None:
    with pytest.raises(InvalidPermission) as caught:
        parse_permission("alice:read")
    assert str(caught.value) == (
        "invalid permission 'alice:read': no '/' after u or o;"
        " expected <u|o>/<name-or-uuid><+|-><r|w|o>, e.g. 'u/alice+r'"
    )


def test_invalid_permission_pickles() -> None:
    with pytest.raises(InvalidPermission) as caught:
        parse_permission("u/alice+o")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is InvalidPermission
    assert (copy.text, copy.reason, copy.position) == ("u/alice+o", caught.value.reason, 0)
    assert str(copy) == str(caught.value)


def test_constructor_checks_the_rules() -> None:
    with pytest.raises(InvalidPermission, match="ownership is transferred only"):
        PermissionChange("user", "alice", True, "o")
    with pytest.raises(InvalidPermission, match="ownership cannot be revoked"):
        PermissionChange("org", "my-org", False, "o")
    with pytest.raises(InvalidPermission, match="principal names use only"):
        PermissionChange("user", "a b", True, "r")
    with pytest.raises(InvalidPermission, match="principal_type is 'user' or 'org'"):
        PermissionChange("team", "a", True, "r")  # type: ignore[arg-type]
    with pytest.raises(InvalidPermission, match="level is 'r', 'w' or 'o'"):
        PermissionChange("user", "a", True, "x")  # type: ignore[arg-type]


def test_parse_permissions() -> None:
    changes = parse_permissions(["u/alice+r", "o/collective-w", "u/alice+r", "o/my-org+o"])
    assert [str(change) for change in changes] == ["u/alice+r", "o/collective-w", "o/my-org+o"]
    assert parse_permissions([]) == []
    assert parse_permissions(c for c in ["u/a+w"]) == [PermissionChange("user", "a", True, "w")]
    # different levels, or a user and an org of the same name, do not contradict
    assert len(parse_permissions(["u/a+r", "u/a-w", "o/a-r"])) == 3


def test_parse_permissions_rejects_contradictions() -> None:
    with pytest.raises(InvalidPermission, match="contradicts 'u/alice\\+r' in the list"):
        parse_permissions(["u/alice+r", "u/alice-r"])
    with pytest.raises(InvalidPermission, match="ownership is already transferred by 'o/a\\+o'"):
        parse_permissions(["o/a+o", "o/b+o"])
    with pytest.raises(InvalidPermission, match="no '/'"):
        parse_permissions(["u/alice+r", "bad"])
    with pytest.raises(TypeError, match="not a single str"):
        parse_permissions("u/alice+r")


def test_not_a_string() -> None:
    with pytest.raises(TypeError, match="a permission is a str, not int"):
        parse_permission(1)  # type: ignore[arg-type]


def test_levels() -> None:
    assert LEVELS == ("r", "w", "o")
    assert implied_levels("r") == {"r"}
    assert implied_levels("w") == {"r", "w"}
    assert implied_levels("o") == {"r", "w", "o"}
    with pytest.raises(ValueError, match="'x' is not a level"):
        implied_levels("x")  # type: ignore[arg-type]
    assert parse_permission("o/org+o").transfers_ownership
    assert not parse_permission("o/org+w").transfers_ownership


# ---------------------------------------------------------------------------------------
# properties

_ALNUM = string.ascii_letters + string.digits
principals = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(_ALNUM),
    st.text(_ALNUM + "._-", max_size=40),
)


@st.composite
def changes(draw: st.DrawFn) -> PermissionChange:
    level: Level = draw(st.sampled_from(LEVELS))
    if level == "o":  # ownership: granted, to an organization
        return PermissionChange("org", draw(principals), True, "o")
    principal_type: PrincipalType = draw(st.sampled_from(("user", "org")))
    return PermissionChange(principal_type, draw(principals), draw(st.booleans()), level)


@given(changes())
def test_format_then_parse_is_identity(change: PermissionChange) -> None:
    assert parse_permission(str(change)) == change
    assert pickle.loads(pickle.dumps(change)) == change


# st.text() draws from Hypothesis's Unicode table, which a fresh checkout builds on first use
# (about a second): not a slow strategy.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.text("uo/+-rwx.a1_ "),
        st.builds(lambda a, b: f"{a}/{b}", st.sampled_from("uoz"), st.text(_ALNUM + "+-./ ")),
    )
)
def test_any_text_parses_or_raises_invalid_permission(text: str) -> None:
    try:
        change = parse_permission(text)
    except InvalidPermission as error:
        outcome: PermissionChange | InvalidPermission = error
    else:
        outcome = change
    if isinstance(outcome, InvalidPermission):
        assert outcome.text == text
        assert outcome.position is None or 0 <= outcome.position <= len(text)
    else:
        assert str(outcome) == text  # a valid permission is already canonical
