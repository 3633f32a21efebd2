"""The seed's four ways to configure the driver, which option wins, and secrets kept out of
everything a user prints."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

import fsspec
import pandas as pd
import pytest
from dask.base import tokenize
from upath import UPath

import anaconda_cloud_storage
from anaconda_storage_core import ApiKeyDomainMismatch
from anaconda_storage_fsspec import AnacondaFileSystem

if TYPE_CHECKING:
    from tests.conftest import RawServer

CSV = b"a,b\n1,2\n3,4\n"


def _query(account: object, **more: str) -> str:
    options = {"api_key": account.api_key, "domain": account.url, **more}  # type: ignore[attr-defined]
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in options.items())


def test_1_by_protocol(account: object, project: str) -> None:
    fs = fsspec.filesystem(
        "anaconda",
        api_key=account.api_key,  # type: ignore[attr-defined]
        api_domain=account.url,  # type: ignore[attr-defined]
        api_version="2023.11.28",
        extra_headers={"X-Trace": "1"},
        skip_instance_cache=True,
    )
    assert isinstance(fs, AnacondaFileSystem)
    fs.pipe_file(f"{project}/a.csv", CSV)
    assert fs.cat_file(f"{project}/a.csv") == CSV
    fs.close()


def test_2_by_driver_class(account: object, project: str) -> None:
    assert anaconda_cloud_storage.AnacondaFileSystem is AnacondaFileSystem
    fs = anaconda_cloud_storage.AnacondaFileSystem(
        api_key=account.api_key,  # type: ignore[attr-defined]
        api_domain=account.url,  # type: ignore[attr-defined]
        api_version="2023.11.28",
        extra_headers='{"X-Trace": "1"}',
        skip_instance_cache=True,
    )
    fs.pipe_file(f"{project}/a.csv", CSV)
    assert fs.ls(project, detail=False) == [f"{project}/a.csv"]
    fs.close()


def test_3_as_storage_options(account: object, project: str) -> None:
    options = {
        "api_key": account.api_key,  # type: ignore[attr-defined]
        "domain": account.url,  # type: ignore[attr-defined]
        "api_version": "2023.11.28",
        "extra_headers": {"X-Trace": "1"},
    }
    # Exactly as the seed writes it: one `storage_options=` argument to fsspec.open ...
    with fsspec.open(f"anaconda://{project}/a.csv", "wb", storage_options=options) as f:
        f.write(CSV)
    with fsspec.open(f"anaconda://{project}/a.csv", storage_options=options) as f:
        assert f.read() == CSV
    # ... or spread, as pandas and Dask pass them.
    with fsspec.open(f"anaconda://{project}/a.csv", **options) as f:
        assert f.read() == CSV
    df = pd.read_csv(f"anaconda://{project}/a.csv", storage_options=options)
    assert df.to_dict("list") == {"a": [1, 3], "b": [2, 4]}
    df.assign(c=df.a + df.b).to_csv(
        f"anaconda://{project}/b.csv", index=False, storage_options=options
    )
    assert pd.read_csv(f"anaconda://{project}/b.csv", storage_options=options).c.tolist() == [
        3,
        7,
    ]


def test_4_uri_parameters(account: object, project: str) -> None:
    headers = json.dumps({"X-Trace": "1"})
    query = _query(account, api_version="2023.11.28", extra_headers=headers)
    url = f"anaconda://{project}/q.csv?{query}"
    pd.DataFrame({"a": [1, 2]}).to_csv(url, index=False)
    assert pd.read_csv(url).a.tolist() == [1, 2]
    with fsspec.open(url) as f:
        assert f.read() == b"a\n1\n2\n"
        assert account.api_key not in repr(f)  # type: ignore[attr-defined]
    fs, path = fsspec.core.url_to_fs(url)
    assert path == f"{project}/q.csv"
    assert fs.ls(project, detail=False) == [f"{project}/q.csv"]


def test_explicit_options_win_over_the_uri_query(account: object, project: str) -> None:
    url = f"anaconda://{project}/w.csv?api_key=wrong-key&domain={quote(account.url, safe='')}"  # type: ignore[attr-defined]
    pd.DataFrame({"a": [1]}).to_csv(url, index=False, storage_options={"api_key": account.api_key})  # type: ignore[attr-defined]
    assert pd.read_csv(url, storage_options={"api_key": account.api_key}).a.tolist() == [1]  # type: ignore[attr-defined]
    with pytest.raises(PermissionError):
        pd.read_csv(url)  # the query's key alone is refused


def test_extra_headers_never_replace_the_clients_own() -> None:
    fs = AnacondaFileSystem(
        api_key="k",
        domain="http://127.0.0.1:9",
        api_version="2023.11.28",
        extra_headers={"Api-Version": "1999.01.01", "X-Trace": "1"},
        skip_instance_cache=True,
    )
    assert fs.config.headers["Api-Version"] == "2023.11.28"
    assert fs.config.headers["X-Trace"] == "1"


def test_domain_and_api_domain_must_agree() -> None:
    with pytest.raises(ValueError, match="api_domain"):
        AnacondaFileSystem(domain="a.example", api_domain="b.example", skip_instance_cache=True)


def test_the_environment_is_read(
    monkeypatch: pytest.MonkeyPatch, account: object, project: str
) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", account.api_key)  # type: ignore[attr-defined]
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", account.url)  # type: ignore[attr-defined]
    fs = AnacondaFileSystem(skip_instance_cache=True)
    assert fs.exists(project)
    fs.close()


def test_the_api_key_is_never_shown(account: object, project: str) -> None:
    key = account.api_key  # type: ignore[attr-defined]
    fs = AnacondaFileSystem(**account.options, skip_instance_cache=True)  # type: ignore[attr-defined]
    fs.pipe_file(f"{project}/a.csv", CSV)
    shown = [repr(fs), str(fs), fs._fs_token, tokenize(fs), repr(fs.config)]
    with fs.open(f"{project}/a.csv") as f:
        shown.append(repr(f))
    url = f"anaconda://{project}/missing.csv?{_query(account)}"
    shown.append(repr(fsspec.open(url)))
    errors: list[BaseException] = []
    for attempt in (
        lambda: pd.read_csv(url),
        lambda: fsspec.open(url).open(),
        lambda: fs.open(f"anaconda://{project.upper()}/x?api_key={key}"),
        lambda: fs.open(f"{project}/a.csv#-1?api_key={key}", "wb"),
        lambda: fs.cat_file(f"{project}/nothing?api_key={key}"),
    ):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - each raises its own type
            attempt()
        errors.append(caught.value)
    for error in errors:
        shown.append(str(error))
        shown.append(repr(error))
        shown.extend(str(arg) for arg in error.args)
        shown.append(str(pickle.loads(pickle.dumps(error))))
    for text in shown:
        assert key not in text, text
    fs.close()


@pytest.fixture
def listener(raw_server: Callable[..., RawServer]) -> RawServer:
    """A host the API key must never reach: it records what it is sent, and answers nothing."""
    return raw_server()


KEY = "sk-ENVIRONMENT-KEY-0123"


@pytest.mark.parametrize("way", ["fsspec.open", "url_to_fs", "pandas", "UPath", "argument"])
def test_an_environment_key_never_reaches_a_domain_a_uri_names(
    way: str, listener: RawServer, monkeypatch: pytest.MonkeyPatch, account: object
) -> None:
    # Issue 11, 2.1: with ANACONDA_CLOUD_API_KEY set, `?domain=` sent it to any host.
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", KEY)
    monkeypatch.delenv("ANACONDA_CLOUD_API_DOMAIN", raising=False)
    monkeypatch.delenv("ANACONDA_CLOUD_DOMAIN", raising=False)
    url = f"anaconda://someone/p/f.csv?domain={quote(listener.url, safe='')}"
    attempts = {
        "fsspec.open": lambda: fsspec.open(url).open().read(),
        "url_to_fs": lambda: fsspec.core.url_to_fs(url)[0].cat_file("someone/p/f.csv"),
        "pandas": lambda: pd.read_csv(url),
        "UPath": lambda: UPath(url).read_bytes(),
        "argument": lambda: fsspec.filesystem(
            "anaconda", domain=listener.url, skip_instance_cache=True
        ).ls("someone"),
    }
    with pytest.raises(ApiKeyDomainMismatch) as caught:
        attempts[way]()
    message = str(caught.value)
    assert listener.url in message
    assert "api_key=" in message
    assert KEY not in message
    assert listener.received == []


def test_the_environment_key_reaches_the_domain_it_names(
    monkeypatch: pytest.MonkeyPatch, account: object, project: str
) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", account.api_key)  # type: ignore[attr-defined]
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", account.url)  # type: ignore[attr-defined]
    url = f"anaconda://{project}/e.csv?domain={quote(account.url, safe='')}"  # type: ignore[attr-defined]
    with fsspec.open(url, "wb") as f:
        f.write(CSV)
    fs, path = fsspec.core.url_to_fs(url)
    assert fs.cat_file(path) == CSV


def test_a_key_given_with_the_domain_is_used_there(
    monkeypatch: pytest.MonkeyPatch, account: object, project: str
) -> None:
    # The environment's key is for another domain; a key given together with the local
    # server's domain (in the URI, or beside it in the call) is what reaches it.
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", KEY)
    monkeypatch.delenv("ANACONDA_CLOUD_API_DOMAIN", raising=False)
    monkeypatch.delenv("ANACONDA_CLOUD_DOMAIN", raising=False)
    in_uri = f"anaconda://{project}/k.csv?{_query(account)}"
    with fsspec.open(in_uri, "wb") as f:
        f.write(CSV)
    domain_only = f"anaconda://{project}/k.csv?domain={quote(account.url, safe='')}"  # type: ignore[attr-defined]
    with fsspec.open(domain_only, api_key=account.api_key) as f:  # type: ignore[attr-defined]
        assert f.read() == CSV
