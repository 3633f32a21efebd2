"""The server's command line: `users add`, `orgs add`, `serve` and its test aids."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from anaconda_storage_server.cli import main
from anaconda_storage_server.testing import LocalServer, ServerError


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "anaconda_storage_server", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_users_add_prints_the_key_alone_on_the_last_line(tmp_path: Path) -> None:
    result = run("users", "add", "alice", "--data", str(tmp_path))
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key == result.stdout.strip()
    assert len(key) >= 40
    assert " " not in key
    # Only its hash is stored.
    assert key.encode() not in (tmp_path / "storage.db").read_bytes()


def test_users_add_twice_fails(tmp_path: Path) -> None:
    assert run("users", "add", "alice", "--data", str(tmp_path)).returncode == 0
    again = run("users", "add", "alice", "--data", str(tmp_path))
    assert again.returncode == 1
    assert "taken" in again.stderr
    assert again.stdout == ""


@pytest.mark.parametrize("name", ["", "_lead", ".dot", "a/b", "a b", "x" * 121, "é"])
def test_users_add_rejects_bad_names(tmp_path: Path, name: str) -> None:
    assert main(["users", "add", name, "--data", str(tmp_path)]) == 1


def test_keys_are_distinct(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = set()
    for name in ("u1", "u2", "u3"):
        assert main(["users", "add", name, "--data", str(tmp_path)]) == 0
        keys.add(capsys.readouterr().out.strip())
    assert len(keys) == 3


def test_orgs_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("ann", "ben"):
        assert main(["users", "add", name, "--data", str(tmp_path)]) == 0
    capsys.readouterr()
    assert (
        main(["orgs", "add", "team", "--member", "ann", "--member", "ben", "--data", str(tmp_path)])
        == 0
    )
    assert "team" in capsys.readouterr().out
    # A taken name, an unknown member, an organization as a member: errors.
    assert main(["orgs", "add", "team", "--member", "ann", "--data", str(tmp_path)]) == 1
    assert main(["orgs", "add", "ann", "--member", "ben", "--data", str(tmp_path)]) == 1
    assert main(["orgs", "add", "other", "--member", "nobody", "--data", str(tmp_path)]) == 1
    assert main(["orgs", "add", "nested", "--member", "team", "--data", str(tmp_path)]) == 1


def test_orgs_add_needs_a_member(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["orgs", "add", "team", "--data", str(tmp_path)])
    assert exit_info.value.code == 2


def test_serve_help_documents_the_test_aids() -> None:
    result = run("serve", "--help")
    assert result.returncode == 0
    for option in ("--data", "--host", "--port", "--latency", "--fault-rate", "--cut-rate"):
        assert option in result.stdout
    assert "--upload-expiry" in result.stdout
    assert "--log-level" in result.stdout
    assert "off by default" in result.stdout


@pytest.mark.parametrize("rate", ["-0.1", "1.5", "x"])
def test_serve_rejects_bad_rates(tmp_path: Path, rate: str) -> None:
    result = run("serve", "--data", str(tmp_path), "--fault-rate", rate)
    assert result.returncode == 2


def test_serve_prints_where_it_listens(tmp_path: Path) -> None:
    with LocalServer(tmp_path) as server:
        lines = server.stdout_path.read_text().splitlines()
        assert lines == [f"anaconda-storage-server listening on {server.url}"]
        assert server.port != 0
        answer = httpx.get(f"{server.url}/api/health")
        assert answer.json()["status"] == "ok"
        assert answer.headers["api-version"] == "2023.11.28"


def test_local_server_restarts_on_the_same_port_and_data(tmp_path: Path) -> None:
    server = LocalServer(tmp_path)
    server.start()
    try:
        key = server.add_user("carol")
        url = server.url
        server.stop()
        assert not server.running
        server.start()
        assert server.url == url
        answer = httpx.get(f"{url}/api/account", headers={"Authorization": f"Bearer {key}"})
        assert answer.json()["name"] == "carol"
    finally:
        server.stop()


def test_a_server_that_cannot_start_is_reported_with_its_stderr(tmp_path: Path) -> None:
    (tmp_path / "storage.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ServerError, match="exited") as error:
        LocalServer(tmp_path).start()
    assert "database" in str(error.value).lower()


def test_add_user_errors_are_reported(tmp_path: Path) -> None:
    server = LocalServer(tmp_path)  # users can be added without a running server
    server.add_user("dave")
    with pytest.raises(ServerError, match="taken"):
        server.add_user("dave")
    with pytest.raises(ServerError, match="no user"):
        server.add_org("team", ["nobody"])


def test_exported_members() -> None:
    import anaconda_storage_server
    from anaconda_storage_server.app import create_app
    from anaconda_storage_server.threaded import ThreadedServer

    assert sorted(anaconda_storage_server.__all__) == [
        "LocalServer",
        "ThreadedServer",
        "__version__",
        "create_app",
    ]
    assert anaconda_storage_server.LocalServer is LocalServer
    assert anaconda_storage_server.ThreadedServer is ThreadedServer
    assert anaconda_storage_server.create_app is create_app
    with pytest.raises(AttributeError):
        anaconda_storage_server.nothing  # noqa: B018


def test_the_account_commands_do_not_import_the_web_stack(tmp_path: Path) -> None:
    code = (
        "import sys; from anaconda_storage_server.cli import main;"
        f"main(['users', 'add', 'quick', '--data', {str(tmp_path)!r}]);"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'anyio', 'httpx') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
