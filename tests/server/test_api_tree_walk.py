"""The `/`-delimited listing against a model of it, for trees made to trip its walk.

The server walks the paths in order and skips each subdirectory's files (tree.py); entries
sort by their own path, which is not the files' order when a name goes on with a character
below `/` (`a-b.txt`, `a.txt`, `a b` before `a/...`). Hypothesis draws trees from names
built of such characters, and every page size lists the same entries as the model, now and
at a checkpoint taken before some of the files were deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from tests.server.conftest import Api, ServerUser

# Characters on both sides of "/" (0x2F): " " "-" "." below it, "0" and "a" above.
# Names that extend each other past such characters are the interesting ones, so most
# are drawn from a few stems.
STEMS = ["a", "a-b", "a.c", "a b", "a-", "a0", "b", "a.c-d"]
segment = st.one_of(
    st.sampled_from(STEMS),
    st.text(alphabet=" -.0a", min_size=1, max_size=3).filter(
        lambda name: name not in (".", "..") and name.strip() == name
    ),
)
paths = st.lists(segment, min_size=1, max_size=3).map("/".join)


def model(files: set[str], prefix: str) -> list[tuple[str, str]]:
    """What the listing below `prefix` holds: each name cut at the next `/`, sorted."""
    entries: dict[str, str] = {}
    for path in files:
        if not path.startswith(prefix):
            continue
        slash = path.find("/", len(prefix))
        if slash < 0:
            entries.setdefault(path, "file")
        else:
            entries[path[:slash]] = "directory"  # a directory wins over a file of its name
    return sorted(entries.items())


def listed(api: Api, c: object, url: str, params: dict[str, object]) -> list[tuple[str, str]]:
    return [(x["path"], x["type"]) for x in api.list_all(c, url, params)]  # type: ignore[arg-type]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.lists(paths, min_size=1, max_size=16, unique=True),
    deleted=st.lists(st.integers(min_value=0, max_value=15), max_size=8),
    limit=st.integers(min_value=1, max_value=4),
    prefix_of=st.integers(min_value=0, max_value=15),
)
def test_delimited_listing_matches_the_model(
    api: Api,
    account: ServerUser,
    files: list[str],
    deleted: list[int],
    limit: int,
    prefix_of: int,
) -> None:
    o = account.name
    with api.client(account) as c:
        p = api.create_project(c, o)["name"]
        stored: set[str] = set()
        for path in files:
            response = c.put(api.files_url(o, p, path), content=b".")
            if response.status_code in (200, 201):
                stored.add(path)
            else:  # a file where a directory is, or the reverse: refused, nothing written
                assert response.status_code in (400, 409), response.text
        # Half the deletions before the checkpoint (its state has deletions as the newest
        # revisions of some paths), half after (the current state differs from it).
        for turn, chosen in enumerate((deleted[::2], deleted[1::2])):
            if turn:
                assert c.post(f"{api.project_url(o, p)}/checkpoints").status_code == 201
                before = set(stored)
            for index in chosen:
                path = files[index % len(files)]
                if path in stored:
                    assert c.delete(api.files_url(o, p, path)).status_code == 204
                    stored.discard(path)
        # A prefix: a whole directory of one of the files, or none.
        chosen = files[prefix_of % len(files)]
        prefix = chosen[: chosen.rfind("/") + 1] if prefix_of % 2 else ""
        url = api.tree_url(o, p)
        params: dict[str, object] = {"delimiter": "/", "limit": limit, "prefix": prefix}
        assert listed(api, c, url, params) == model(stored, prefix)
        past = {**params, "checkpoint": "-1"}
        assert listed(api, c, url, past) == model(before, prefix)
