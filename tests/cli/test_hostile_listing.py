"""`download` from a hostile server (issue 11, item 9): a listed entry whose path climbs out
of the listed directory (`../../../x/.keep`, `../evil.txt`) is refused, naming it, and
nothing is written outside the target, neither a file nor a directory.

The real server never lists such a path, so the listing is rewritten on its way back:
every request goes to the real local server through a transport that adds the hostile
entries to the tree listing's last page.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest


class HostileListing(httpx.BaseTransport):
    """Forwards to the real server; adds entries at `paths` to tree listings."""

    def __init__(self, paths: list[str]) -> None:
        self.inner = httpx.HTTPTransport()
        self.paths = paths

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method != "GET" or not request.url.path.endswith("/tree"):
            return response
        response.read()
        page = json.loads(response.content)
        if page["next_cursor"] is None and page["items"]:
            template = next(item for item in page["items"] if item["type"] == "file")
            for path in self.paths:
                page["items"].append({**copy.deepcopy(template), "path": path})
        return httpx.Response(response.status_code, headers=response.headers, json=page)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch, cli: Any) -> list[str]:
    """The paths the listing will also hold (fill in); the CLI's client goes through them."""
    from anaconda_storage_cli import remote
    from anaconda_storage_core import StorageClient

    paths: list[str] = []

    def connect() -> StorageClient:
        return StorageClient(
            api_key=cli.account.api_key,
            domain=cli.account.url,
            transport=HostileListing(paths),
        )

    monkeypatch.setattr(remote, "connect", connect)
    return paths


def _project(cli: Any) -> str:
    """A project holding `d/ok.txt` and the empty directory `d/empty`."""
    project = f"{cli.account.name}/p"
    assert cli("mkdir", "-p", f"{project}/d/empty").code == 0
    assert cli("cp", "-", f"{project}/d/ok.txt", input=b"ok").code == 0
    return project


def _target(tmp_path: Path) -> Path:
    # Deep enough that three `..` still land inside tmp_path, where the test can look.
    target = tmp_path / "one" / "two" / "target"
    target.mkdir(parents=True)
    return target


def _everything(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))


@pytest.mark.parametrize(
    ("entry", "escaped"),
    [
        ("../../../x/.keep", "x"),  # a directory marker: the directory outside
        ("../../../evil.txt", "evil.txt"),  # a file
        ("../../../y/z/.keep", "y"),
        ("d/../../../x/.keep", "x"),  # climbing out from inside the listed directory
    ],
)
def test_download_refuses_entries_outside_the_listed_directory(
    cli: Any, hostile: list[str], tmp_path: Path, entry: str, escaped: str
) -> None:
    project = _project(cli)
    hostile.append(f"d/{entry}")
    target = _target(tmp_path)
    before = _everything(tmp_path)

    result = cli("download", f"{project}/d", str(target))

    assert result.code == 1, result
    assert repr(f"d/{entry}") in result.err, result  # names the entry as listed
    assert "refused the listing" in result.err, result
    assert "outside" in result.err, result
    assert not (tmp_path / escaped).exists()
    assert not (tmp_path / "one" / escaped).exists()
    assert _everything(tmp_path) == before  # refused before anything was written


def test_download_of_an_honest_listing_still_works(
    cli: Any, hostile: list[str], tmp_path: Path
) -> None:
    project = _project(cli)
    target = _target(tmp_path)
    result = cli("download", f"{project}/d", str(target))
    assert result.code == 0, result
    assert (target / "d" / "ok.txt").read_bytes() == b"ok"
    assert (target / "d" / "empty").is_dir()
