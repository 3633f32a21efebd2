"""Reading many files in one answer (docs/api.md, "Reading many files"): `POST .../read`.

Black-box: the answer is parsed here with a reader of the contract's frames (a JSON header
line, then `size` bytes when `inline`), and compared with what `GET .../files/` answers.
"""

from __future__ import annotations

import hashlib
import json
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.server.conftest import Api, ServerUser

MEDIA_TYPE = "application/x-storage-files"
CONTENT_KEYS = {"path", "revision", "size", "sha256", "crc32c", "modified", "inline"}
SMALL_FILE = 64 * 1024  # the server's own cut between small and streamed contents
FILES = {
    "a.txt": b"alpha",
    "dir/b.txt": b"bravo\n\n{not a header}\n",
    "empty.txt": b"",
    "ten.bin": b"0123456789",
    "eleven.bin": b"0123456789X",
}


@dataclass(frozen=True)
class Frame:
    header: dict[str, Any]
    content: bytes | None  # None: announced only (or an error)


def read_frames(data: bytes) -> list[Frame]:
    """Every frame of an answer body, checking that nothing is left over or cut short."""
    frames = []
    position = 0
    while position < len(data):
        end = data.index(b"\n", position)
        header = json.loads(data[position:end])
        assert isinstance(header, dict), header
        position = end + 1
        content = None
        if "error" in header:
            assert set(header) == {"path", "error"}, header
        else:
            assert set(header) == CONTENT_KEYS, header
            if header["inline"]:
                content = data[position : position + header["size"]]
                assert len(content) == header["size"], header
                position += header["size"]
        frames.append(Frame(header, content))
    return frames


def post_read(c: httpx.Client, api: Api, o: str, p: str, body: Any) -> httpx.Response:
    return c.post(f"{api.project_url(o, p)}/read", json=body)


def read(c: httpx.Client, api: Api, o: str, p: str, **body: Any) -> list[Frame]:
    """A successful read; its frames."""
    r = post_read(c, api, o, p, body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MEDIA_TYPE
    return read_frames(r.content)


def wanted(*paths: str, **item: str) -> list[dict[str, str]]:
    return [{"path": path, **item} for path in paths]


def check_content_frame(api: Api, frame: Frame, data: bytes) -> None:
    header = frame.header
    assert header["size"] == len(data), header
    assert header["sha256"] == api.sha256(data), header
    assert header["crc32c"] == api.crc32c(data), header
    api.check_uuid(header["revision"])
    api.check_timestamp(header["modified"])
    if header["inline"]:
        assert frame.content == data


def error_of(frame: Frame) -> dict[str, Any]:
    assert set(frame.header) == {"path", "error"}, frame.header
    error = frame.header["error"]
    assert isinstance(error["message"], str), error
    assert error["message"], error
    return error  # type: ignore[no-any-return]


@pytest.fixture
def project(api: Api, account: ServerUser) -> Iterator[tuple[httpx.Client, str, str]]:
    """The user's project holding FILES."""
    with api.client(account) as c:
        p = api.create_project(c, account.name)["name"]
        for path, content in FILES.items():
            api.put(c, account.name, p, path, content)
        yield c, account.name, p


# -- the answer ---------------------------------------------------------------------------


def test_frames_come_in_request_order_and_duplicates_twice(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    paths = ["dir/b.txt", "a.txt", "dir/b.txt", "empty.txt", "a.txt"]
    frames = read(c, api, o, p, files=wanted(*paths))
    assert [frame.header["path"] for frame in frames] == paths
    for path, frame in zip(paths, frames, strict=True):
        assert frame.header["inline"] is True
        check_content_frame(api, frame, FILES[path])


def test_headers_are_what_a_get_answers(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    frames = read(c, api, o, p, files=wanted(*FILES))
    for path, frame in zip(FILES, frames, strict=True):
        r = c.get(api.files_url(o, p, path))
        assert r.status_code == 200, r.text
        header = frame.header
        assert frame.content == r.content
        assert r.headers["etag"] == f'"{header["revision"]}"'
        assert r.headers["x-storage-sha256"] == header["sha256"]
        assert r.headers["x-storage-crc32c"] == header["crc32c"]
        assert int(r.headers["content-length"]) == header["size"]
        meta = c.get(api.meta_url(o, p, path)).json()
        assert (meta["revision"], meta["modified"]) == (header["revision"], header["modified"])


def test_inline_limit_announces_larger_files(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    paths = ["ten.bin", "eleven.bin", "a.txt", "eleven.bin", "empty.txt"]
    frames = read(c, api, o, p, files=wanted(*paths), inline_limit=10)
    assert [frame.header["inline"] for frame in frames] == [True, False, True, False, True]
    for path, frame in zip(paths, frames, strict=True):
        check_content_frame(api, frame, FILES[path])
    assert frames[1].content is None
    # A file one byte over the limit sends no bytes: the next frame parsed as a header.
    assert frames[2].content == b"alpha"


def test_inline_limit_zero_sends_only_empty_files(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    r = post_read(
        c, api, o, p, {"files": wanted("a.txt", "empty.txt", "ten.bin"), "inline_limit": 0}
    )
    assert r.status_code == 200, r.text
    frames = read_frames(r.content)
    assert [frame.header["inline"] for frame in frames] == [False, True, False]
    assert frames[1].content == b""
    # Headers only: three lines, no content bytes.
    assert r.content.count(b"\n") == 3
    assert r.content.endswith(b"\n")


def test_a_large_content_is_streamed_inline(api: Api, account: ServerUser) -> None:
    large = hashlib.shake_256(b"large").digest(3 * 1024 * 1024 + 7)
    just_over = bytes(range(256)) * (SMALL_FILE // 256) + b"!"
    with api.client(account) as c:
        o = account.name
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "large.bin", large)
        api.put(c, o, p, "just-over.bin", just_over)
        api.put(c, o, p, "small.txt", b"small")
        paths = ["small.txt", "large.bin", "just-over.bin", "large.bin", "small.txt"]
        frames = read(c, api, o, p, files=wanted(*paths), inline_limit=len(large))
        contents = {"large.bin": large, "just-over.bin": just_over, "small.txt": b"small"}
        for path, frame in zip(paths, frames, strict=True):
            assert frame.header["path"] == path
            assert frame.header["inline"] is True
            check_content_frame(api, frame, contents[path])
        # Under the default limit (1 MiB) the large file is announced only; under a limit
        # below its size, the one just over 64 KiB too.
        frames = read(c, api, o, p, files=wanted(*paths))
        assert [frame.header["inline"] for frame in frames] == [True, False, True, False, True]
        frames = read(c, api, o, p, files=wanted(*paths), inline_limit=SMALL_FILE)
        assert [frame.header["inline"] for frame in frames] == [True, False, False, False, True]
        for path, frame in zip(paths, frames, strict=True):
            check_content_frame(api, frame, contents[path])


def test_paths_are_answered_in_nfc(api: Api, account: ServerUser) -> None:
    composed = unicodedata.normalize("NFC", "café.txt")
    decomposed = unicodedata.normalize("NFD", "café.txt")
    with api.client(account) as c:
        o = account.name
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, composed, b"coffee")
        frames = read(c, api, o, p, files=wanted(decomposed, composed))
        for frame in frames:
            assert frame.header["path"] == composed
            assert frame.content == b"coffee"


# -- files a GET would not find ------------------------------------------------------------


def test_what_a_get_would_not_find_is_an_error_frame(api: Api, account: ServerUser) -> None:
    with api.client(account) as c:
        o = account.name
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "once.txt", b"one revision")
        api.put(c, o, p, "dir/inside.txt", b"inside")
        api.put(c, o, p, "gone.txt", b"soon deleted")
        assert c.delete(api.files_url(o, p, "gone.txt")).status_code == 204
        deletion = api.revisions(c, o, p, "gone.txt")[0]
        assert deletion["deleted"] is True
        cases = [
            ({"path": "never.txt"}, "path"),
            ({"path": "dir"}, "path"),
            ({"path": "gone.txt"}, "path"),
            ({"path": "gone.txt", "revision": deletion["id"]}, "path"),
            ({"path": "once.txt", "revision": str(uuid.uuid4())}, "revision"),
            ({"path": "once.txt", "revision": "-1"}, "revision"),
            ({"path": "never.txt", "revision": "-1"}, "path"),
        ]
        files = [item for item, _ in cases] + [{"path": "once.txt"}]
        frames = read(c, api, o, p, files=files)
        assert len(frames) == len(cases) + 1
        for (item, missing), frame in zip(cases, frames, strict=False):
            assert frame.header["path"] == item["path"]
            error = error_of(frame)
            assert (error["code"], error["missing"]) == ("not_found", missing), (item, error)
            # The very error a GET of that file alone answers.
            params = {"revision": item["revision"]} if "revision" in item else {}
            r = c.get(api.files_url(o, p, item["path"]), params=params)
            assert api.check_error(r, 404, "not_found") == error
        # The frames after the errors are still read.
        check_content_frame(api, frames[-1], b"one revision")


def test_revisions_read_past_contents(api: Api, account: ServerUser) -> None:
    with api.client(account) as c:
        o = account.name
        p = api.create_project(c, o)["name"]
        first = api.put(c, o, p, "f.txt", b"first")
        api.put(c, o, p, "f.txt", b"second")
        api.put(c, o, p, "deleted.txt", b"before deletion")
        assert c.delete(api.files_url(o, p, "deleted.txt")).status_code == 204
        files = [
            {"path": "f.txt", "revision": "-1"},
            {"path": "f.txt", "revision": first["revision"]},
            {"path": "f.txt", "revision": None},
            {"path": "deleted.txt", "revision": "-1"},
        ]
        frames = read(c, api, o, p, files=files)
        check_content_frame(api, frames[0], b"first")
        assert frames[0].header["revision"] == first["revision"]
        check_content_frame(api, frames[1], b"first")
        check_content_frame(api, frames[2], b"second")
        check_content_frame(api, frames[3], b"before deletion")


def test_checkpoints_read_the_project_as_it_was(api: Api, account: ServerUser) -> None:
    with api.client(account) as c:
        o = account.name
        p = api.create_project(c, o)["name"]
        base = api.project_url(o, p)
        api.put(c, o, p, "kept.txt", b"kept")
        api.put(c, o, p, "changed.txt", b"old")
        api.put(c, o, p, "deleted.txt", b"was here")
        r = c.post(f"{base}/checkpoints", json={"message": "before"})
        assert r.status_code == 201, r.text
        checkpoint = r.json()
        api.put(c, o, p, "changed.txt", b"new")
        assert c.delete(api.files_url(o, p, "deleted.txt")).status_code == 204
        api.put(c, o, p, "created.txt", b"later")
        paths = ["kept.txt", "changed.txt", "deleted.txt", "created.txt"]
        for ref in ("-1", checkpoint["id"]):
            r = post_read(c, api, o, p, {"files": wanted(*paths), "checkpoint": ref})
            assert r.status_code == 200, r.text
            at = r.headers["x-storage-checkpoint-at"]
            assert api.parse_instant(at) == api.parse_instant(checkpoint["created_at"])
            got = c.get(api.files_url(o, p, "kept.txt"), params={"checkpoint": ref})
            assert got.headers["x-storage-checkpoint-at"] == at
            frames = read_frames(r.content)
            check_content_frame(api, frames[0], b"kept")
            check_content_frame(api, frames[1], b"old")
            check_content_frame(api, frames[2], b"was here")
            assert error_of(frames[3])["missing"] == "path"
        # A time point before the project: nothing existed yet.
        r = post_read(c, api, o, p, {"files": wanted(*paths), "checkpoint": "2000-01-01T00:00:00"})
        assert r.status_code == 200, r.text
        assert api.parse_instant(r.headers["x-storage-checkpoint-at"]).year == 2000
        assert [error_of(frame)["missing"] for frame in read_frames(r.content)] == ["path"] * 4
        # Without a checkpoint: the current state, and no checkpoint header.
        r = post_read(c, api, o, p, {"files": wanted(*paths)})
        assert "x-storage-checkpoint-at" not in r.headers
        frames = read_frames(r.content)
        check_content_frame(api, frames[1], b"new")
        assert error_of(frames[2])["missing"] == "path"
        check_content_frame(api, frames[3], b"later")
        # An unknown checkpoint is the whole request's 404.
        for ref in ("-2", str(uuid.uuid4())):
            r = post_read(c, api, o, p, {"files": wanted("kept.txt"), "checkpoint": ref})
            api.check_error(r, 404, "not_found", missing="checkpoint")


def test_a_checkpoint_and_a_revision_together_is_400(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    body = {
        "files": [{"path": "a.txt"}, {"path": "a.txt", "revision": "-1"}],
        "checkpoint": "-1",
    }
    api.check_error(post_read(c, api, o, p, body), 400, "invalid", field="checkpoint")


# -- hostile bodies -------------------------------------------------------------------------

ONE = [{"path": "a.txt"}]
# (body, the field the 400 names)
HOSTILE_BODIES: dict[str, tuple[Any, str]] = {
    "no files": ({}, "files"),
    "files null": ({"files": None}, "files"),
    "files not a list": ({"files": "a.txt"}, "files"),
    "files an object": ({"files": {"path": "a.txt"}}, "files"),
    "no file": ({"files": []}, "files"),
    "1001 files": ({"files": ONE * 1001}, "files"),
    "item not an object": ({"files": ["a.txt"]}, "files"),
    "item null": ({"files": [None]}, "files"),
    "item without a path": ({"files": [{"revision": "-1"}]}, "files"),
    "path not a string": ({"files": [{"path": 12}]}, "files"),
    "path null": ({"files": [{"path": None}]}, "files"),
    "path empty": ({"files": [{"path": ""}]}, "files"),
    "path with dot segments": ({"files": [{"path": "../x"}]}, "files"),
    "path with an empty segment": ({"files": [{"path": "a//b"}]}, "files"),
    "path absolute": ({"files": [{"path": "/a.txt"}]}, "files"),
    "path with a control character": ({"files": [{"path": "a\nb"}]}, "files"),
    "revision garbage": ({"files": [{"path": "a.txt", "revision": "yesterday"}]}, "files"),
    "revision a number": ({"files": [{"path": "a.txt", "revision": -1}]}, "files"),
    "unknown key in an item": ({"files": [{"path": "a.txt", "sha256": "x"}]}, "files"),
    "unknown key in the body": ({"files": ONE, "prefix": ""}, "prefix"),
    "checkpoint garbage": ({"files": ONE, "checkpoint": "soon"}, "checkpoint"),
    "checkpoint a number": ({"files": ONE, "checkpoint": 1}, "checkpoint"),
    "inline_limit negative": ({"files": ONE, "inline_limit": -1}, "inline_limit"),
    "inline_limit a string": ({"files": ONE, "inline_limit": "1"}, "inline_limit"),
    "inline_limit true": ({"files": ONE, "inline_limit": True}, "inline_limit"),
    "inline_limit a float": ({"files": ONE, "inline_limit": 1.5}, "inline_limit"),
    "inline_limit too large": ({"files": ONE, "inline_limit": 2**40}, "inline_limit"),
    "inline_limit huge": ({"files": ONE, "inline_limit": 10**400}, "inline_limit"),
}


@pytest.mark.parametrize("case", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_hostile_body_is_400_naming_its_field(
    api: Api, project: tuple[httpx.Client, str, str], case: tuple[Any, str]
) -> None:
    c, o, p = project
    body, field = case
    api.check_error(post_read(c, api, o, p, body), 400, "invalid", field=field)
    assert api.get_content(c, o, p, "a.txt") == FILES["a.txt"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1, 2]", b'"files"', b"null", b'{"files": [', b"[" * 100_000],
    ids=["empty", "not JSON", "a list", "a string", "null", "cut short", "deeply nested"],
)
def test_a_body_that_is_no_json_object_is_400(
    api: Api, project: tuple[httpx.Client, str, str], raw: bytes
) -> None:
    c, o, p = project
    r = c.post(
        f"{api.project_url(o, p)}/read", content=raw, headers={"Content-Type": "application/json"}
    )
    api.check_error(r, 400, "invalid")
    assert api.get_content(c, o, p, "a.txt") == FILES["a.txt"]


def test_a_lone_surrogate_in_a_path_is_400(
    api: Api, project: tuple[httpx.Client, str, str]
) -> None:
    c, o, p = project
    r = c.post(
        f"{api.project_url(o, p)}/read",
        content=b'{"files": [{"path": "a\\ud800.txt"}]}',
        headers={"Content-Type": "application/json"},
    )
    error = api.check_error(r, 400, "invalid", field="files")
    assert "surrogate" in error["message"]


def test_a_thousand_files_is_the_most(api: Api, project: tuple[httpx.Client, str, str]) -> None:
    c, o, p = project
    frames = read(c, api, o, p, files=ONE * 1000)
    assert len(frames) == 1000
    assert all(frame.content == FILES["a.txt"] for frame in frames)


# -- who may read ---------------------------------------------------------------------------


def test_only_readers_read(api: Api, account: ServerUser) -> None:
    secret = b"the secret content"
    stranger = api.new_user("stranger")
    reader = api.new_user("reader")
    with (
        api.client(account) as c,
        api.client(stranger) as outsider,
        api.client(reader) as shared,
        api.client(None) as anonymous,
        api.client(key="not-a-key") as bad_key,
    ):
        o = account.name
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "secret.txt", secret)
        body = {"files": wanted("secret.txt", "nothing.txt")}
        r = post_read(outsider, api, o, p, body)
        api.check_error(r, 404, "not_found", missing="project")
        assert b"secret" not in r.content
        for client in (anonymous, bad_key):
            r = post_read(client, api, o, p, body)
            api.check_error(r, 401, "auth_required")
            assert b"secret content" not in r.content
        api.check_error(post_read(c, api, o, "no-such-project", body), 404, "not_found")
        # Shared read-only: reading many files is a read.
        api.grant(c, o, p, ("user", reader.name, True, "r"))
        frames = read(shared, api, o, p, **body)
        check_content_frame(api, frames[0], secret)
        assert error_of(frames[1])["missing"] == "path"
        api.check_error(
            shared.put(api.files_url(o, p, "secret.txt"), content=b"x"),
            403,
            "permission_denied",
        )


# -- robustness -----------------------------------------------------------------------------


def test_a_client_leaving_mid_answer_harms_nothing(api: Api, account: ServerUser) -> None:
    large = hashlib.shake_256(b"leaving").digest(4 * 1024 * 1024)
    with api.client(account) as c:
        o = account.name
        p = api.create_project(c, o)["name"]
        api.put(c, o, p, "large.bin", large)
        body = {"files": wanted(*["large.bin"] * 8)}
        for _ in range(3):
            with c.stream("POST", f"{api.project_url(o, p)}/read", json=body) as r:
                assert r.status_code == 200
                next(r.iter_raw(65536))
        # The server goes on answering, on new connections and whole.
        frames = read(c, api, o, p, files=wanted("large.bin"))
        check_content_frame(api, frames[0], large)


def generation_of(content: bytes) -> int:
    return int(content.split(b":", 1)[0])


def test_an_answer_is_one_instant_while_files_are_written(api: Api, account: ServerUser) -> None:
    """Every frame holds the content its header describes, and all of them one instant's.

    The writer overwrites every file of `w/` in one transaction each time (a recursive copy
    of one of the generations prepared), so in any one state of the project all the files
    of `w/` are of the same generation. Each file is asked for eight times, so that one
    answer takes long enough for a copy to land in the middle of a reader that would not
    read one state.
    """
    count, generations, copies = 60, 4, 24
    paths = [f"{i:03d}.txt" for i in range(count)]
    # Some contents are streamed (over 64 KiB), most are sent whole.
    sizes = [100 + (i % 3) * 35_000 for i in range(count)]

    def content(generation: int, i: int) -> bytes:
        return f"{generation}:{i}:".encode().ljust(sizes[i], b"x")

    with api.client(account) as c:
        o = account.name
        p = api.create_project(c, o)["name"]
        for generation in range(generations):
            for i, path in enumerate(paths):
                api.put(c, o, p, f"gen{generation}/{path}", content(generation, i))
        r = api.transfer(c, "copy", (o, p, "gen0"), (o, p, "w"), recursive=True)
        assert r.status_code == 200, r.text
        stop = threading.Event()
        failures: list[BaseException] = []

        def write() -> None:
            try:
                with api.client(account) as writer:
                    for n in range(1, copies + 1):
                        source = (o, p, f"gen{n % generations}")
                        r = api.transfer(writer, "copy", source, (o, p, "w"), recursive=True)
                        assert r.status_code == 200, r.text
            except BaseException as exc:  # reported by the test below
                failures.append(exc)
            finally:
                stop.set()

        thread = threading.Thread(target=write)
        thread.start()
        answers = 0
        try:
            while not stop.is_set() or answers < 2:
                frames = read(c, api, o, p, files=wanted(*[f"w/{path}" for path in paths * 8]))
                answers += 1
                seen = set()
                for index, frame in enumerate(frames):
                    i = index % count
                    assert frame.content is not None
                    assert api.sha256(frame.content) == frame.header["sha256"]
                    assert api.crc32c(frame.content) == frame.header["crc32c"]
                    assert frame.content == content(generation_of(frame.content), i)
                    seen.add(generation_of(frame.content))
                assert len(seen) == 1, (answers, seen)
        finally:
            thread.join()
        assert failures == []
        final = read(c, api, o, p, files=wanted(*[f"w/{path}" for path in paths]))
        expected = copies % generations
        assert {generation_of(frame.content or b"") for frame in final} == {expected}
