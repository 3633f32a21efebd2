"""The Anaconda Storage URI: its grammar, its value type and its parser.

An Anaconda Storage URI names the root of the store, an owner, a project (optionally at a
checkpoint), or a file or directory of a project (optionally at a revision)::

    anaconda://<owner>/<project>[#<checkpoint>]/<path>[#<revision>]

The grammar, in RFC 5234 ABNF. Each rule's regular expression sits under the rule in the
code below; every part of a location is percent-decoded before its rule is checked::

    storage-uri  = [ scheme ] [ location ] [ "/" ] [ "?" query ]
    scheme       = "anaconda://"                            ; case-insensitive
    location     = owner [ "/" project [ "#" checkpoint ] [ "/" path [ "#" revision ] ] ]

    owner        = ( ALPHA / DIGIT ) *119( ALPHA / DIGIT / "." / "_" / "-" )
    project      = 1*120( %x61-7A / DIGIT / "-" / "_" )      ; lower case
    path         = name *( "/" name )                        ; NFC, at most 1024 characters
    name         = 1*255( name-char / pct-encoded )          ; not "." or ".."
    name-char    = any character but "/" "\\" "#" "?" "%", U+0000-U+001F, U+007F
                   and the surrogates U+D800-U+DFFF
    pct-encoded  = "%" HEXDIG HEXDIG                         ; UTF-8 bytes, as in URLs

    checkpoint   = time-point / relative / uuid
    revision     = relative / uuid
    time-point   = date "T" time [ zone ]                    ; UTC unless a zone is given
    date         = 4DIGIT "-" 2DIGIT "-" 2DIGIT              ; YYYY-MM-DD
    time         = 2DIGIT ":" 2DIGIT ":" 2DIGIT              ; HH:MM:SS
    zone         = "Z" / ( "+" / "-" ) 2DIGIT ":" 2DIGIT
    relative     = "-" 1*DIGIT                               ; N >= 1: N steps back
    uuid         = 8HEXDIG "-" 4HEXDIG "-" 4HEXDIG "-" 4HEXDIG "-" 12HEXDIG

    query        = option *( "&" option )                    ; decoded as by parse_qsl
    option       = ( "api_key" / "domain" / "api_version" / "extra_headers" ) "=" value

Every prefix of a full address is itself an address, because fsspec lists them: ``""`` and
``anaconda://`` are the root (list owners), ``alice`` an owner (list projects),
``alice/sales`` and ``alice/sales#-1`` a project, ``alice/sales/dir/file.csv#-1`` a file.

Canonical form (what :meth:`StorageURI.format` writes, and ``str()``): the ``anaconda://``
scheme, no trailing ``/``, no query; a time point as ``YYYY-MM-DDTHH:MM:SS`` in UTC, a
relative reference as ``-N`` without leading zeros, a UUID in lower-case hyphenated form;
in names, only ``%``, ``#`` and ``?`` percent-encoded (``%25``, ``%23``, ``%3F``). Hence
``parse_uri(u.format()) == u`` for every valid ``u``, and ``format_uri`` of any valid string
is canonical.

Where this departs from RFC 3986 or from the seed, and why:

- ``#`` is not a URL fragment but a delimiter inside the location (seed), so a literal
  ``#`` in a name is written ``%23``; and the query comes last, after the revision,
  because the seed writes ``...file#<revision>?api_key=...``.
- The scheme is optional (seed) and case-insensitive (RFC 3986, section 3.1). Only
  ``anaconda://`` counts as the scheme: ``anaconda:alice`` is an error, not an owner.
- A trailing ``/`` is accepted and dropped: the value type does not keep it. The CLI's
  rsync rule (``SRC/`` means the contents of SRC) reads it with :func:`has_trailing_slash`.
- ``.`` and ``..`` names are rejected rather than resolved (RFC 3986, section 5.2.4): a
  store has no working directory, and a path that changes meaning when normalized would
  address a different file than the one written.
- ``\\`` is rejected: Windows separators would be ambiguous (is ``a\\b`` one name or two?).
- A decoded ``/`` (``%2F``) is rejected: a name cannot hold the separator.
- The seed does not define owner names. The owner rule admits Anaconda user and
  organization names and UUIDs; its length limit is the project rule's.
- The seed gives time points as ``YYYY-MM-DDTHH:MM:SS`` (UTC); a ``Z`` or ``+HH:MM`` zone
  is also accepted and converted to UTC (lower-case ``t`` and ``z`` too, as RFC 3339
  allows). A time point names the state after every change made at or before that second.
- ``-N`` has at most 18 digits (leading zeros aside) so that N fits a 64-bit integer.
- A path is normalized to Unicode Normalization Form C (NFC) once decoded, whether parsed
  or built, so ``café`` typed composed (U+00E9, as Windows and Linux keyboards give it) or
  decomposed (``e`` + U+0301, as macOS file names come) names one file; the local server
  does the same with every path it receives. Only NFC, not NFKC: compatibility characters
  such as the fullwidth full stop U+FF0E are distinct characters in Unicode, not spellings
  of ``.``, so ``a\uff0etxt`` and ``a.txt`` are two names. The length limits count the
  characters of the NFC form.
- DIGIT and HEXDIG are ASCII only: the regexes use ``[0-9]``, never ``\\d``, which would
  match every Unicode digit.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Final, NamedTuple, TypeAlias, TypeVar
from urllib.parse import parse_qsl, unquote_plus
from uuid import UUID

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PATH_LENGTH",
    "OPTION_NAMES",
    "OWNER_NAME",
    "PROJECT_NAME",
    "SCHEME",
    "CheckpointRef",
    "InvalidURI",
    "NameProblem",
    "NameRule",
    "Relative",
    "RevisionRef",
    "StorageURI",
    "TimePoint",
    "VersionId",
    "format_uri",
    "has_trailing_slash",
    "parse_uri",
    "redact_uri",
]

_T = TypeVar("_T")

# scheme = "anaconda://"   ; case-insensitive (RFC 3986, section 3.1), ASCII only
SCHEME: Final = "anaconda://"
_SCHEME = re.compile(re.escape(SCHEME), re.IGNORECASE | re.ASCII)
# Any other scheme, to say "this is not an Anaconda URI" rather than "bad owner name".
_OTHER_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


class InvalidURI(ValueError):
    """A string is not a valid Anaconda Storage URI, or a value would not make one.

    The message quotes the input, says what is wrong and where. Secrets never appear in it:
    the query is shown only as far as it is known to hold none (see :func:`redact_uri`).

    Attributes:
        text: The offending input, redacted.
        reason: What is wrong, in words.
        position: Index in ``text`` of the offending character, or None.
    """

    def __init__(self, text: str, reason: str, position: int | None = None) -> None:
        self.text = redact_uri(text)
        self.reason = reason
        self.position = position
        message = f"invalid Anaconda Storage URI {self.text!r}: {reason}"
        if position is not None:
            message += f", at position {position}"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[InvalidURI], tuple[str, str, int | None]]:
        return (type(self), (self.text, self.reason, self.position))


class _Rejected(Exception):
    """Internal: a rule was broken at ``index`` (of the part being checked) or nowhere."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.index = index


# ---------------------------------------------------------------------------------------
# owner and project names


class NameProblem(NamedTuple):
    """Why a name breaks a :class:`NameRule`: the reason and the offset of the culprit."""

    reason: str
    offset: int


@dataclass(frozen=True)
class NameRule:
    """The rule for one kind of name (owner, project): which characters, how many.

    Owner and project names are checked by the URI parser, by chmod (a principal is an
    owner name) and by chattr (a project's new name); all of them use these two objects.

    Attributes:
        kind: What the name names, for messages: ``"owner"`` or ``"project"``.
        first: Regex character class for the first character.
        rest: Regex character class for the other characters.
        max_length: The most characters a name may have.
        charset: How messages describe the allowed characters.
        lower_case: Whether an upper-case letter earns the message "names are lower case".
        pattern: The compiled rule, for ``pattern.fullmatch(name)``.
    """

    kind: str
    first: str
    rest: str
    max_length: int
    charset: str
    lower_case: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = f"{self.first}{self.rest}{{0,{self.max_length - 1}}}"
        object.__setattr__(self, "pattern", re.compile(regex))

    def problem(self, name: str) -> NameProblem | None:
        """Explain why ``name`` breaks the rule.

        Args:
            name: The name to check.

        Returns:
            None if the name is valid, else the reason and the offset in ``name`` of the first
            offending character (``max_length`` when the name is too long).
        """
        if self.pattern.fullmatch(name):
            return None
        if not name:
            return NameProblem(f"{self.kind} name is empty", 0)
        for index, char in enumerate(name):
            allowed = self.first if index == 0 else self.rest
            if re.fullmatch(allowed, char):
                continue
            if self.lower_case and re.fullmatch(allowed, char.lower()):
                return NameProblem(f"{self.kind} names are lower case ({self.charset})", index)
            if index == 0 and re.fullmatch(self.rest, char):
                return NameProblem(f"{self.kind} names start with a letter or digit", 0)
            return NameProblem(f"{self.kind} names use only {self.charset}, not {char!r}", index)
        return NameProblem(
            f"{self.kind} names are at most {self.max_length} characters"
            f" (this one has {len(name)})",
            self.max_length,
        )


# owner = ( ALPHA / DIGIT ) *119( ALPHA / DIGIT / "." / "_" / "-" )
#   Not in the seed: admits user and organization names ("first.last", "my-org") and UUIDs.
OWNER_NAME: Final = NameRule(
    kind="owner",
    first="[A-Za-z0-9]",
    rest="[A-Za-z0-9._-]",
    max_length=120,
    charset="[A-Za-z0-9._-]",
)

# project = 1*120( %x61-7A / DIGIT / "-" / "_" )
#   The seed, for chattr's name: "120 ascii lower-case characters according to [a-z0-9-_]".
PROJECT_NAME: Final = NameRule(
    kind="project",
    first="[a-z0-9_-]",
    rest="[a-z0-9_-]",
    max_length=120,
    charset="[a-z0-9-_]",
    lower_case=True,
)


def _check_owner(name: str) -> str:
    problem = OWNER_NAME.problem(name)
    if problem:
        raise _Rejected(problem.reason, problem.offset)
    return name


def _check_project(name: str) -> str:
    problem = PROJECT_NAME.problem(name)
    if problem:
        raise _Rejected(problem.reason, problem.offset)
    return name


# ---------------------------------------------------------------------------------------
# path

# path = name *( "/" name )   ; at most 1024 characters, decoded
MAX_PATH_LENGTH: Final = 1024
# name = 1*255( name-char / pct-encoded )   ; not "." or ".."
MAX_NAME_LENGTH: Final = 255
# name-char = any character but "/" "\" "#" "?" "%", U+0000-U+001F, U+007F, surrogates.
#   "#", "?" and "%" are fine once decoded (they arrive as %23, %3F, %25), so a decoded name
#   is checked against the rest only. Lone surrogates cannot be encoded as UTF-8 to be sent.
_NAME_FORBIDDEN = re.compile("[/\\\\\x00-\x1f\x7f\ud800-\udfff]")


def _check_name(name: str) -> str:
    if not name:
        raise _Rejected("empty name in the path ('//', or '/' before '#')")
    if name in (".", ".."):
        raise _Rejected(f"{name!r} is not a name: paths are not resolved, so no '.' or '..'", 0)
    bad = _NAME_FORBIDDEN.search(name)
    if bad:
        char = bad.group()
        if char == "/":
            reason = "a name cannot contain '/', not even as %2F"
        elif char == "\\":
            reason = "'\\' is not allowed: Windows separators would be ambiguous, write '/'"
        elif "\ud800" <= char <= "\udfff":
            reason = f"lone surrogate U+{ord(char):04X} is not valid Unicode"
        else:
            reason = f"control character U+{ord(char):04X} is not allowed in a name"
        raise _Rejected(reason, bad.start())
    if len(name) > MAX_NAME_LENGTH:
        raise _Rejected(
            f"a name is at most {MAX_NAME_LENGTH} characters (this one has {len(name)})",
            MAX_NAME_LENGTH,
        )
    return name


def _check_path(path: str) -> str:
    for name in path.split("/"):
        _check_name(name)
    if len(path) > MAX_PATH_LENGTH:
        raise _Rejected(
            f"a path is at most {MAX_PATH_LENGTH} characters (this one has {len(path)})"
        )
    return path


def _encode_name(name: str) -> str:
    # Only what the grammar reserves: "%" first, so that the escapes are not re-escaped.
    return name.replace("%", "%25").replace("#", "%23").replace("?", "%3F")


# pct-encoded = "%" HEXDIG HEXDIG
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")


# A run of escapes, which is one UTF-8 byte sequence.
_ESCAPE_RUN = re.compile(r"((?:%[0-9A-Fa-f]{2})+)")


def _unquote(raw: str) -> str | None:
    """Percent-decode one part of a location as :func:`_decode` does, only faster.

    Returns None where :func:`_decode` raises (a malformed escape, escapes that are not
    UTF-8), so that it says what is wrong and where.
    """
    pieces = _ESCAPE_RUN.split(raw)  # text, run, text, run, ..., text
    if any("%" in text for text in pieces[::2]):
        return None
    try:
        pieces[1::2] = [bytes.fromhex(run.replace("%", "")).decode() for run in pieces[1::2]]
    except UnicodeDecodeError:
        return None
    return "".join(pieces)


def _decode(raw: str, start: int) -> tuple[str, Sequence[int]]:
    """Percent-decode one part of a location, character by character: for errors.

    Returns the text and, for each of its characters, its position in the input (for a
    character written as escapes, the position of its first ``%``). ``start`` is the
    position of ``raw`` in the input, so errors report input positions.
    """
    chars: list[str] = []
    positions: list[int] = []
    i = 0
    while i < len(raw):
        if raw[i] != "%":
            chars.append(raw[i])
            positions.append(start + i)
            i += 1
            continue
        # A run of escapes is one UTF-8 byte sequence.
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        char_start = i
        while i < len(raw) and raw[i] == "%":
            digits = raw[i + 1 : i + 3]
            if not _HEX2.fullmatch(digits):
                raise _Rejected(
                    "'%' must be followed by two hex digits (write a literal '%' as %25)",
                    start + i,
                )
            try:
                decoded = decoder.decode(bytes([int(digits, 16)]))
            except UnicodeDecodeError:
                raise _Rejected("percent escapes must encode UTF-8", start + char_start) from None
            i += 3
            if decoded:
                chars.append(decoded)
                positions.extend([start + char_start] * len(decoded))
                char_start = i
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _Rejected("percent escapes must encode UTF-8", start + char_start) from None
    return "".join(chars), positions


# ---------------------------------------------------------------------------------------
# checkpoints and revisions


@dataclass(frozen=True)
class TimePoint:
    """A checkpoint at a point in time: the state after every change up to that second.

    Attributes:
        at: A timezone-aware datetime, kept in UTC and truncated to the second.

    Raises:
        ValueError: ``at`` is naive, or out of range once converted to UTC.
    """

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("a TimePoint needs a timezone-aware datetime (e.g. tz=timezone.utc)")
        try:
            utc = self.at.astimezone(timezone.utc)
        except OverflowError:
            raise ValueError(f"{self.at} is out of range once converted to UTC") from None
        # A plain datetime (not a subclass such as pandas.Timestamp), whole seconds.
        at = datetime(
            utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, tzinfo=timezone.utc
        )
        object.__setattr__(self, "at", at)

    def __str__(self) -> str:
        return self.at.replace(tzinfo=None).isoformat(timespec="seconds")


# The largest N of "-N": 18 digits, so that N fits a signed 64-bit integer.
_MAX_STEPS: Final = 10**18 - 1


@dataclass(frozen=True)
class Relative:
    """A checkpoint or revision counted back from the latest: ``-1`` is the one before.

    For a revision, ``Relative(1)`` is the previous version of the file (for a deleted
    file, its content before deletion); for a checkpoint, the most recent ad-hoc checkpoint.

    Attributes:
        steps: How many steps back, from 1 to 10**18 - 1.

    Raises:
        ValueError: ``steps`` is not an integer in range.
    """

    steps: int

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not 1 <= self.steps <= _MAX_STEPS:
            raise ValueError(f"steps must be an integer from 1 to {_MAX_STEPS}: {self.steps!r}")

    def __str__(self) -> str:
        return f"-{self.steps}"


@dataclass(frozen=True)
class VersionId:
    """An ad-hoc checkpoint or a file revision, by its UUID.

    Attributes:
        uuid: The UUID, as the server reports it (``stat``, ``fs.info``).
    """

    uuid: UUID

    def __str__(self) -> str:
        return str(self.uuid)


CheckpointRef: TypeAlias = TimePoint | Relative | VersionId
RevisionRef: TypeAlias = Relative | VersionId

# relative = "-" 1*DIGIT   ; N >= 1, canonical without leading zeros
_RELATIVE = re.compile(r"-(?P<digits>[0-9]+)")
# uuid = 8HEXDIG "-" 4HEXDIG "-" 4HEXDIG "-" 4HEXDIG "-" 12HEXDIG   ; any case
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# date = 4DIGIT "-" 2DIGIT "-" 2DIGIT
_DATE = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
# time = 2DIGIT ":" 2DIGIT ":" 2DIGIT
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
# zone = "Z" / ( "+" / "-" ) 2DIGIT ":" 2DIGIT
_ZONE = r"(?P<zone>[Zz]|(?P<sign>[+-])(?P<zone_hour>[0-9]{2}):(?P<zone_minute>[0-9]{2}))"
# time-point = date "T" time [ zone ]
_TIME_POINT = re.compile(rf"{_DATE}[Tt]{_TIME}{_ZONE}?")


def _relative(token: str) -> Relative | None:
    match = _RELATIVE.fullmatch(token)
    if not match:
        return None
    digits = match["digits"].lstrip("0")
    if not digits:
        raise _Rejected("-0 is not a step back: -1 is the most recent one before", 0)
    if len(digits) > len(str(_MAX_STEPS)):
        raise _Rejected(f"-N is at most {len(str(_MAX_STEPS))} digits long", 0)
    return Relative(int(digits))


def _time_point(token: str) -> TimePoint | None:
    match = _TIME_POINT.fullmatch(token)
    if not match:
        return None
    zone = timezone.utc
    if match["sign"]:
        hours, minutes = int(match["zone_hour"]), int(match["zone_minute"])
        if hours > 23 or minutes > 59:
            raise _Rejected("a UTC offset is at most 23:59", match.start("zone"))
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if match["sign"] == "-" else offset)
    year, month, day, hour, minute, second = (
        int(match[name]) for name in ("year", "month", "day", "hour", "minute", "second")
    )
    try:
        at = datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError as exc:
        raise _Rejected(f"{token!r} is not a valid date and time ({exc})", 0) from None
    try:
        return TimePoint(at)
    except ValueError:
        raise _Rejected(f"{token!r} is out of range once converted to UTC", 0) from None


def _checkpoint_ref(token: str) -> CheckpointRef:
    ref = _relative(token) or _time_point(token)
    if ref is not None:
        return ref
    if _UUID.fullmatch(token):
        return VersionId(UUID(token))
    if not token:
        raise _Rejected("empty checkpoint after '#'")
    raise _Rejected(
        f"{token!r} is not a checkpoint: use a time point YYYY-MM-DDTHH:MM:SS (UTC), -N"
        " (N >= 1) or a checkpoint UUID (write a literal '#' in a name as %23)",
        0,
    )


def _revision_ref(token: str) -> RevisionRef:
    ref = _relative(token)
    if ref is not None:
        return ref
    if _UUID.fullmatch(token):
        return VersionId(UUID(token))
    if not token:
        raise _Rejected("empty revision after '#'")
    raise _Rejected(
        f"{token!r} is not a revision: use -N (N >= 1) or a revision UUID"
        " (write a literal '#' in a name as %23)",
        0,
    )


def _canonical_checkpoint(token: str) -> str:
    return str(_checkpoint_ref(token))


def _canonical_revision(token: str) -> str:
    return str(_revision_ref(token))


# ---------------------------------------------------------------------------------------
# query: connection options

# option = ( "api_key" / "domain" / "api_version" / "extra_headers" ) "=" value
OPTION_NAMES: Final = frozenset({"api_key", "domain", "api_version", "extra_headers"})
# The options an error message may show; any other value could be a secret (a misspelt
# "api_key", or a token in extra_headers).
_PLAIN_OPTIONS: Final = frozenset({"domain", "api_version"})
# A query key that may be quoted in a message: a misspelt option name, not a stray token.
_SHOWABLE_KEY = re.compile(r"[a-z_]{1,32}")


def _redact_option(raw: str) -> str:
    key, equals, _ = raw.partition("=")
    if not equals:
        return "***" if raw else raw
    if unquote_plus(key) in _PLAIN_OPTIONS:
        return raw
    return f"{key if _SHOWABLE_KEY.fullmatch(key) else '***'}=***"


def redact_uri(text: str) -> str:
    """Mask the secrets in a URI's query, for messages and logs.

    The query is shown only as far as it is known to hold no secret: ``domain`` and
    ``api_version`` stay, every other value (``api_key``, ``extra_headers``, unknown keys)
    becomes ``***``. Masking is idempotent.

    Args:
        text: A URI, valid or not.

    Returns:
        The text with its query's secrets masked.
    """
    location, question, query = text.partition("?")
    if not question:
        return text
    return f"{location}?{'&'.join(_redact_option(raw) for raw in query.split('&'))}"


def _parse_query(query: str, start: int) -> dict[str, str]:
    options: dict[str, str] = {}
    position = start  # in the redacted text, which is what InvalidURI shows
    known = ", ".join(sorted(OPTION_NAMES))
    for raw in query.split("&"):
        if raw:  # an empty option ("a=1&&b=2", a trailing "&") is skipped, as browsers do
            try:
                ((key, value),) = parse_qsl(
                    raw, keep_blank_values=True, strict_parsing=True, errors="strict"
                )
            except UnicodeDecodeError:
                raise _Rejected("query escapes must encode UTF-8", position) from None
            except ValueError:
                raise _Rejected(
                    f"query options are written key=value (known keys: {known})", position
                ) from None
            if key not in OPTION_NAMES:
                name = f" {key!r}" if _SHOWABLE_KEY.fullmatch(key) else ""
                raise _Rejected(f"unknown query option{name} (known keys: {known})", position)
            if key in options:
                raise _Rejected(f"query option {key!r} is given twice", position)
            options[key] = value
        position += len(_redact_option(raw)) + 1
    return options


# ---------------------------------------------------------------------------------------
# the value type


# owner, project, checkpoint, path, revision: a StorageURI's fields but its options.
_Fields: TypeAlias = tuple[str | None, str | None, str | None, str, str | None]


def _no_options() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, repr=False)
class StorageURI:
    """A parsed Anaconda Storage URI: the root, an owner, a project, or a path in a project.

    Build one with :func:`parse_uri`, or directly: the constructor checks the same rules and
    stores canonical checkpoint and revision strings, so every instance is valid and
    ``parse_uri(str(uri)) == uri``. ``dataclasses.replace`` works the same way.

    Attributes:
        owner: The owning user or organization (name or UUID); None for the root.
        project: The project name; None for the root or an owner.
        checkpoint: The project checkpoint, canonical (``2024-01-31T12:00:00``, ``-1``, or a
            lower-case UUID); None for the current state.
        path: The path in the project, decoded (a literal ``#`` is ``#`` here) and in NFC,
            segments joined by ``/``; ``""`` for the root, an owner or a project.
        revision: The file revision, canonical (``-1`` or a lower-case UUID); None for the
            current one. Needs a path; never set together with ``checkpoint``.
        options: Connection options from the query (``api_key``, ``domain``,
            ``api_version``, ``extra_headers``), read-only. They take no part in equality,
            hashing, ``repr()`` or ``str()``, because they hold secrets.

    Raises:
        InvalidURI: A field breaks a rule.
        TypeError: A field has the wrong type.
    """

    owner: str | None = None
    project: str | None = None
    checkpoint: str | None = None
    path: str = ""
    revision: str | None = None
    options: Mapping[str, str] = field(
        default_factory=_no_options, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for name in ("owner", "project", "checkpoint", "revision", "path"):
            value = getattr(self, name)
            if not (isinstance(value, str) or (value is None and name != "path")):
                raise TypeError(f"StorageURI.{name} must be a str, not {type(value).__name__}")
        if not unicodedata.is_normalized("NFC", self.path):
            object.__setattr__(self, "path", unicodedata.normalize("NFC", self.path))
        options = dict(self.options)
        if not all(isinstance(item, str) for pair in options.items() for item in pair):
            raise TypeError("StorageURI.options keys and values must be str")
        try:
            checkpoint, revision = self._validate(options)
        except _Rejected as exc:
            raise InvalidURI(self._sketch(), exc.reason) from None
        object.__setattr__(self, "checkpoint", checkpoint)
        object.__setattr__(self, "revision", revision)
        object.__setattr__(self, "options", MappingProxyType(options))

    def _validate(self, options: Mapping[str, str]) -> tuple[str | None, str | None]:
        if self.project is not None and self.owner is None:
            raise _Rejected("a project needs an owner")
        if self.path and self.project is None:
            raise _Rejected("a path needs a project")
        if self.checkpoint is not None and self.project is None:
            raise _Rejected("only a project has checkpoints")
        if self.revision is not None and not self.path:
            raise _Rejected("a revision needs a file path; a project has checkpoints instead")
        if self.checkpoint is not None and self.revision is not None:
            raise _Rejected("a checkpoint and a revision cannot be combined")
        if self.owner is not None:
            _check_owner(self.owner)
        if self.project is not None:
            _check_project(self.project)
        if self.path:
            _check_path(self.path)
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            shown = ", ".join(repr(key) for key in unknown if _SHOWABLE_KEY.fullmatch(key))
            raise _Rejected(
                f"unknown option {shown or 'key'} (known keys: {', '.join(sorted(OPTION_NAMES))})"
            )
        checkpoint = None if self.checkpoint is None else _canonical_checkpoint(self.checkpoint)
        revision = None if self.revision is None else _canonical_revision(self.revision)
        return checkpoint, revision

    @classmethod
    def _checked(cls, fields: _Fields, options: dict[str, str]) -> StorageURI:
        """Internal: the value of fields the parser has checked, without checking them again.

        The caller guarantees what ``__post_init__`` would: every rule holds, checkpoint and
        revision are canonical, the path is NFC, and ``options`` is a new dict of known keys
        that nobody else holds. Checking again was half of parsing a plain URI.
        """
        uri = object.__new__(cls)
        owner, project, checkpoint, path, revision = fields
        # The frozen dataclass's own way to set its fields; one call each, not a loop,
        # which was a tenth of parsing a plain URI.
        set_field = object.__setattr__
        set_field(uri, "owner", owner)
        set_field(uri, "project", project)
        set_field(uri, "checkpoint", checkpoint)
        set_field(uri, "path", path)
        set_field(uri, "revision", revision)
        set_field(uri, "options", MappingProxyType(options))
        return uri

    def _sketch(self) -> str:
        # The fields as a URI, for an error message about fields that make no valid URI.
        text = "/".join(str(part) for part in (self.owner, self.project) if part is not None)
        if self.checkpoint is not None:
            text += f"#{self.checkpoint}"
        if self.path:
            text += "/" + "/".join(_encode_name(name) for name in self.path.split("/"))
        if self.revision is not None:
            text += f"#{self.revision}"
        return SCHEME + text

    def __reduce__(self) -> tuple[type[StorageURI], tuple[object, ...]]:
        # The options are a read-only MappingProxyType, which does not pickle by itself.
        fields = (self.owner, self.project, self.checkpoint, self.path, self.revision)
        return (type(self), (*fields, dict(self.options)))

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.format()!r})"

    def format(self, scheme: bool = True) -> str:
        """The canonical text of this URI, never with its options.

        Args:
            scheme: Whether to start with ``anaconda://``.

        Returns:
            E.g. ``anaconda://alice/sales#-1/dir/q%231.csv``, or without the scheme
            ``alice/sales#-1/dir/q%231.csv``; the root is ``anaconda://`` or ``""``.
        """
        parts: list[str] = []
        if self.owner is not None:
            parts.append(self.owner)
        if self.project is not None:
            cp = "" if self.checkpoint is None else f"#{self.checkpoint}"
            parts.append(f"{self.project}{cp}")
        if self.path:
            parts.extend(_encode_name(name) for name in self.path.split("/"))
            if self.revision is not None:
                parts[-1] += f"#{self.revision}"
        text = "/".join(parts)
        return SCHEME + text if scheme else text

    @property
    def fs_path(self) -> str:
        """The canonical text without the scheme: the path fsspec works with."""
        return self.format(scheme=False)

    @property
    def is_root(self) -> bool:
        """Whether this is the root of the store (its listing is the owners)."""
        return self.owner is None

    @property
    def is_owner(self) -> bool:
        """Whether this names an owner only (its listing is the owner's projects)."""
        return self.owner is not None and self.project is None

    @property
    def is_project(self) -> bool:
        """Whether this names a project (at a checkpoint or not), with no path."""
        return self.project is not None and not self.path

    @property
    def is_versioned(self) -> bool:
        """Whether this addresses a checkpoint or a revision: such addresses are read-only."""
        return self.checkpoint is not None or self.revision is not None

    @property
    def name(self) -> str:
        """The last name: of the path, else the project, else the owner; ``""`` at the root."""
        if self.path:
            return self.path.rpartition("/")[2]
        if self.project is not None:
            return self.project
        return self.owner or ""

    @property
    def parent(self) -> StorageURI:
        """One level up, with the same options.

        A path's parent keeps the checkpoint and drops the revision; a project's parent is
        its owner, an owner's the root, and the root's the root.
        """
        if self.path:
            return replace(self, path=self.path.rpartition("/")[0], revision=None)
        if self.project is not None:
            return StorageURI(self.owner, options=self.options)
        return StorageURI(options=self.options)

    @property
    def project_uri(self) -> StorageURI:
        """The project this URI is in (``owner/project[#checkpoint]``), with the same options.

        Raises:
            InvalidURI: This is the root or an owner.
        """
        if self.project is None:
            raise InvalidURI(self.format(), "names no project")
        return StorageURI(self.owner, self.project, self.checkpoint, options=self.options)

    @property
    def checkpoint_ref(self) -> CheckpointRef | None:
        """The checkpoint as a typed value, or None."""
        return None if self.checkpoint is None else _checkpoint_ref(self.checkpoint)

    @property
    def revision_ref(self) -> RevisionRef | None:
        """The revision as a typed value, or None."""
        return None if self.revision is None else _revision_ref(self.revision)

    def join(self, *names: str) -> StorageURI:
        """Descend: the root joins an owner, an owner a project, a project a path.

        Args:
            *names: Literal names (``#`` and ``%`` are plain characters here, not syntax);
                each may hold several names separated by ``/``.

        Returns:
            The URI below this one, with the same checkpoint and options but no revision
            (a revision belongs to the file it was taken from). No names: this URI.

        Raises:
            InvalidURI: A name is empty or breaks its rule.
        """
        split = [part for name in names for part in name.split("/")]
        if not split:
            return self
        if "" in split:
            raise InvalidURI(self.format(), f"cannot join an empty name: {'/'.join(names)!r}")
        owner, project, path = self.owner, self.project, self.path
        for part in split:
            if owner is None:
                owner = part
            elif project is None:
                project = part
            else:
                path = f"{path}/{part}" if path else part
        return StorageURI(owner, project, self.checkpoint, path, None, self.options)

    def with_revision(self, revision: str | RevisionRef | None) -> StorageURI:
        """This file at another revision (None: the current one).

        Raises:
            InvalidURI: No path here, the URI has a checkpoint, or the revision is invalid.
        """
        return replace(self, revision=None if revision is None else str(revision))

    def with_checkpoint(self, checkpoint: str | CheckpointRef | None) -> StorageURI:
        """This address at another checkpoint of its project (None: the current state).

        Raises:
            InvalidURI: No project here, the URI has a revision, or the checkpoint is invalid.
        """
        return replace(self, checkpoint=None if checkpoint is None else str(checkpoint))


# ---------------------------------------------------------------------------------------
# parsing


def _part(raw: str, start: int, check: Callable[[str], _T]) -> _T:
    """Decode one part of a location and check it, reporting errors at input positions."""
    # Most parts have no escape. Where a position is needed (an error), _decode works it
    # out; a loop per character for every part was a tenth of a small read's client CPU.
    decoded = _unquote(raw) if "%" in raw else raw
    if decoded is None:
        decoded, _ = _decode(raw, start)  # raises, saying which escape is wrong and where
    try:
        return check(decoded)
    except _Rejected as exc:
        raise _Rejected(exc.reason, _input_position(raw, start, exc.index)) from None


def _input_position(raw: str, start: int, index: int | None) -> int:
    # Where the character at ``index`` of the decoded part was written in the input.
    if index is None:
        return start
    positions = _decode(raw, start)[1] if "%" in raw else range(start, start + len(raw))
    return positions[index] if index < len(positions) else start + len(raw)


def _scheme_end(location: str) -> int:
    if _SCHEME.match(location):
        return len(SCHEME)
    other = _OTHER_SCHEME.match(location)
    if other is None:
        return 0
    if other[1].lower() == "anaconda":
        raise _Rejected("the scheme is written 'anaconda://', with two slashes", 0)
    raise _Rejected(f"{other[0]!r} is not the anaconda:// scheme", 0)


def _parse(text: str) -> StorageURI:
    location, question, query = text.partition("?")
    fields = _parse_location(location)  # first, so that errors are reported left to right
    options = _parse_query(query, len(location) + 1) if question else {}
    if unicodedata.is_normalized("NFC", fields[3]):
        return StorageURI._checked(fields, options)
    # The parser checked the names as written; the constructor normalizes them and checks
    # the NFC form again (normalizing may lengthen a name past its limit).
    return StorageURI(*fields, options=options)


_parse_remembered = functools.lru_cache(maxsize=4096)(_parse)


def _parse_location(location: str) -> _Fields:
    start = _scheme_end(location)
    end = len(location) - 1 if location.endswith("/") and len(location) > start else len(location)
    if end == start:
        return None, None, None, "", None
    parts = location[start:end].split("/")

    at = start  # the position of the part at hand in the input
    if "#" in parts[0]:
        raise _Rejected(
            "an owner has no checkpoint: '#' follows a project (owner/project#<checkpoint>)",
            at + parts[0].index("#"),
        )
    owner = _part(parts[0], at, _check_owner)
    if len(parts) == 1:
        return owner, None, None, "", None

    at += len(parts[0]) + 1
    raw, hash_sign, token = parts[1].partition("#")
    project = _part(raw, at, _check_project)
    checkpoint = _part(token, at + len(raw) + 1, _canonical_checkpoint) if hash_sign else None
    if len(parts) == 2:
        return owner, project, checkpoint, "", None

    at += len(parts[1]) + 1
    path_start = at
    names: list[str] = []
    for raw in parts[2:-1]:
        if "#" in raw:
            raise _Rejected(
                "'#' marks a revision and may only follow the last name of the path"
                " (write a literal '#' in a name as %23)",
                at + raw.index("#"),
            )
        names.append(_part(raw, at, _check_name))
        at += len(raw) + 1
    raw, hash_sign, token = parts[-1].partition("#")
    if hash_sign and not raw and len(parts) == 3:
        raise _Rejected(
            "a revision needs a file path; a project has checkpoints (owner/project#<checkpoint>)",
            at,
        )
    names.append(_part(raw, at, _check_name))
    revision = None
    if hash_sign:
        if checkpoint is not None:
            raise _Rejected("a checkpoint and a revision cannot be combined", at + len(raw))
        revision = _part(token, at + len(raw) + 1, _canonical_revision)
    path = "/".join(names)
    if len(path) > MAX_PATH_LENGTH:
        raise _Rejected(
            f"a path is at most {MAX_PATH_LENGTH} characters (this one has {len(path)})",
            path_start,
        )
    return owner, project, checkpoint, path, revision


def parse_uri(text: str | StorageURI) -> StorageURI:
    """Parse an Anaconda Storage URI, with or without its ``anaconda://`` scheme.

    Args:
        text: The URI: anything from ``""`` (the root) to
            ``anaconda://owner/project/path#revision?api_key=...``. A StorageURI is
            returned as it is.

    Returns:
        The URI as a value; query options go to its ``options``.

    Raises:
        InvalidURI: The text breaks the grammar. Nothing else is raised for any str.
        TypeError: ``text`` is neither a str nor a StorageURI.

    Examples:
        >>> parse_uri("anaconda://alice/sales/2024/q1.csv#-1")
        StorageURI('anaconda://alice/sales/2024/q1.csv#-1')
        >>> parse_uri("alice/sales#2024-01-31T13:00:00+01:00").checkpoint
        '2024-01-31T12:00:00'
    """
    if isinstance(text, StorageURI):
        return text
    if not isinstance(text, str):
        raise TypeError(f"an Anaconda Storage URI is a str, not {type(text).__name__}")
    try:
        # A URI without a query is parsed once and remembered: a value object, the same for
        # the same text at any time (no clock in the grammar). Many small reads parse the
        # same few URIs over and over, which was a tenth of a small read's client CPU
        # (bench/client_layers.py). A query may hold an API key, which is not kept.
        return _parse(text) if "?" in text else _parse_remembered(text)
    except _Rejected as exc:
        raise InvalidURI(text, exc.reason, exc.index) from None


def format_uri(uri: str | StorageURI, *, scheme: bool = True) -> str:
    """The canonical text of a URI (see :meth:`StorageURI.format`).

    Args:
        uri: A StorageURI, or a str to parse first.
        scheme: Whether to start with ``anaconda://``.

    Returns:
        The canonical text, without the query options.

    Raises:
        InvalidURI: ``uri`` is a str that does not parse.
    """
    return parse_uri(uri).format(scheme=scheme)


def has_trailing_slash(text: str) -> bool:
    """Whether a URI's location ends with ``/``: the rsync rule's "contents of" mark.

    The check is lexical and does not validate: the query is ignored, and the ``//`` of the
    scheme does not count (``anaconda://`` has none, ``anaconda:///`` has one).

    Args:
        text: A URI as the user wrote it.

    Returns:
        True if the part before any ``?``, after any scheme, ends with ``/``.
    """
    location = text.partition("?")[0]
    scheme = _SCHEME.match(location)
    return location[scheme.end() if scheme else 0 :].endswith("/")
