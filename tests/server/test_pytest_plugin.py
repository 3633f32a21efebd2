"""The pytest plugin, as a user meets it: their test files run in a pytest sub-session.

Each test writes a user's project (their pipeline, their tests) with `pytester` and runs
it in a separate process (`runpytest_subprocess`), where the plugin is loaded from its
entry point as in a user's environment, with `filterwarnings = error`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ANACONDA = Path(sys.executable).with_name("anaconda")
OUTER_KEY = "the-developer-s-own-key"
OUTER_DOMAIN = "https://storage.example.com"

README = Path(__file__).parents[2] / "README.md"


def readme_example() -> dict[str, str]:
    """The files of the README's "Testing your pipelines offline", by name.

    Each Python block there opens with a comment naming its file (`# pipeline.py`); the
    tests run them as they are written, so the README's example is known to work.
    """
    section = README.read_text().split("## Testing your pipelines offline", 1)[1]
    section = section.split("\n## ", 1)[0]
    files = {}
    for block in re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL):
        name = re.match(r"# (\w+)\.py", block)
        if name:
            files[name[1]] = block
    return files


EXAMPLE = readme_example()
TEST_PIPELINE = EXAMPLE["test_pipeline"]

PYPROJECT = """
[tool.pytest.ini_options]
filterwarnings = ["error"]
{extra}
"""


@pytest.fixture
def user_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project folder with their pipeline, and a developer's own settings outside."""
    pytester.makepyprojecttoml(PYPROJECT.format(extra=""))
    pytester.makepyfile(pipeline=EXAMPLE["pipeline"], export=EXAMPLE["export"])
    # As in the user's activated environment: `anaconda` and `python` on the PATH.
    monkeypatch.setenv("PATH", f"{ANACONDA.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    # The settings a developer's shell holds: the fixture must hide them and restore them.
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", OUTER_KEY)
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", OUTER_DOMAIN)
    monkeypatch.delenv("ANACONDA_TELEMETRY_ENABLED", raising=False)
    return pytester


def test_a_users_pipeline_and_script_run_against_the_local_server(
    user_project: pytest.Pytester,
) -> None:
    assert set(EXAMPLE) == {"pipeline", "test_pipeline", "export", "test_export"}
    user_project.makepyfile(test_pipeline=TEST_PIPELINE, test_export=EXAMPLE["test_export"])
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["anaconda-storage-server: thread at http://127.0.0.1:*"])


def test_the_environment_and_fsspec_cache_are_restored_and_tests_isolated(
    user_project: pytest.Pytester,
) -> None:
    user_project.makepyfile(
        test_isolation=f"""
        import os

        import fsspec
        import pytest

        OUTER = {{"ANACONDA_CLOUD_API_KEY": {OUTER_KEY!r},
                  "ANACONDA_CLOUD_API_DOMAIN": {OUTER_DOMAIN!r}}}
        seen = {{}}


        def outer_environment():
            return {{name: os.environ.get(name) for name in
                    [*OUTER, "ANACONDA_TELEMETRY_ENABLED"]}}


        def test_first(anaconda_storage):
            assert os.environ["ANACONDA_CLOUD_API_DOMAIN"] == anaconda_storage.url
            assert os.environ["ANACONDA_CLOUD_API_KEY"] == anaconda_storage.api_key
            assert os.environ["ANACONDA_TELEMETRY_ENABLED"] == "false"
            # fsspec's cache: an instance made from the environment, as pandas makes it.
            fs = fsspec.filesystem("anaconda")
            fs.pipe_file(anaconda_storage.uri("mine.txt"), b"first's")
            seen["first"] = anaconda_storage.project
            seen["fs"] = fs


        def test_between():
            assert outer_environment() == {{**OUTER, "ANACONDA_TELEMETRY_ENABLED": None}}


        def test_second(anaconda_storage):
            first = seen["first"]
            assert anaconda_storage.project != first
            assert anaconda_storage.user.name != first.split("/")[0]
            fs = fsspec.filesystem("anaconda")
            assert fs is not seen["fs"]  # not the first test's cached one, with its key
            assert fs.ls(anaconda_storage.project) == []
            # The first test's project is gone, and was never this user's to see.
            with pytest.raises(FileNotFoundError):
                fs.cat_file(f"anaconda://{{first}}/mine.txt")
            with pytest.raises(FileNotFoundError):
                anaconda_storage.fs.ls(first)


        def test_last():
            assert outer_environment() == {{**OUTER, "ANACONDA_TELEMETRY_ENABLED": None}}
        """
    )
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_the_anaconda_cli_reaches_the_local_server(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(
        test_cli=f"""
        import subprocess


        def test_cli(anaconda_storage):
            anaconda_storage.fs.pipe_file(anaconda_storage.uri("a.csv"), b"x\\n1\\n")
            listed = subprocess.run(
                [{str(ANACONDA)!r}, "storage", "ls", anaconda_storage.project],
                capture_output=True, text=True, timeout=120,
            )
            assert listed.returncode == 0, listed.stderr
            assert "a.csv" in listed.stdout
            copied = subprocess.run(
                [{str(ANACONDA)!r}, "storage", "cp",
                 anaconda_storage.project + "/a.csv", anaconda_storage.project + "/b.csv"],
                capture_output=True, text=True, timeout=120,
            )
            assert copied.returncode == 0, copied.stderr
            assert anaconda_storage.fs.cat_file(anaconda_storage.uri("b.csv")) == b"x\\n1\\n"
        """
    )
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_dask_worker_processes_reach_the_local_server(user_project: pytest.Pytester) -> None:
    pytest.importorskip("distributed")
    user_project.makepyfile(
        test_dask="""
        import dask.dataframe as dd
        import pandas as pd
        from distributed import Client, LocalCluster


        def test_dask(anaconda_storage):
            for n in range(3):
                pd.DataFrame({"n": [n, n]}).to_csv(anaconda_storage.uri(f"in/{n}.csv"), index=False)
            with LocalCluster(
                n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster, Client(cluster) as client:
                frame = dd.read_csv(anaconda_storage.uri("in/*.csv"))
                frame.to_parquet(anaconda_storage.uri("out"), compute=True)
                workers = client.run(lambda: __import__("os").getpid())
            assert list(workers.values())[0] != __import__("os").getpid()
            assert sorted(pd.read_parquet(anaconda_storage.uri("out"))["n"]) == [0, 0, 1, 1, 2, 2]
        """
    )
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_session_without_its_fixtures_starts_nothing(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(
        test_plain=f"""
        import os
        import sys
        import threading


        def test_plain(request):
            assert request.config.pluginmanager.has_plugin("anaconda_storage")
            assert os.environ["ANACONDA_CLOUD_API_KEY"] == {OUTER_KEY!r}
            assert "ANACONDA_TELEMETRY_ENABLED" not in os.environ
            assert not [t for t in threading.enumerate() if t.name == "anaconda-storage-server"]
            assert "uvicorn" not in sys.modules
            assert "anaconda_storage_core" not in sys.modules
            assert "anaconda_storage_fsspec" not in sys.modules
            try:
                os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pass  # no child process: no server was started in one
            else:
                raise AssertionError("a child process is running")
        """
    )
    for kind in ("thread", "subprocess"):
        result = user_project.runpytest_subprocess(
            "-p", "no:cacheprovider", "-o", f"anaconda_storage_server={kind}"
        )
        result.assert_outcomes(passed=1)
        assert "anaconda-storage-server:" not in result.stdout.str()


def test_the_subprocess_server_and_an_ini_fault_status(user_project: pytest.Pytester) -> None:
    user_project.makepyprojecttoml(
        PYPROJECT.format(
            extra='anaconda_storage_server = "subprocess"\n'
            'anaconda_storage_fault_rate = "0.1"\n'
            'anaconda_storage_fault_status = "429"'
        )
    )
    user_project.makepyfile(test_pipeline=TEST_PIPELINE, test_faults=_COUNT_FAULTS)
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["anaconda-storage-server: subprocess at http://127.0.0.1:*"])
    result.stdout.fnmatch_lines(["*statuses {200, 429}*"])


# Through the fixture's server: a raw client sees the injected answers, the user's code
# (which retries) gets through them.
_COUNT_FAULTS = """
import os
import urllib.request

import pandas as pd


def statuses(anaconda_storage):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        anaconda_storage.url + "/api/account",
        headers={"Authorization": "Bearer " + os.environ["ANACONDA_CLOUD_API_KEY"]},
    )
    seen = set()
    for _ in range(100):
        try:
            seen.add(opener.open(request).status)
        except urllib.error.HTTPError as exc:
            seen.add(exc.code)
    return seen


def test_faults(anaconda_storage):
    seen = statuses(anaconda_storage)
    print("statuses", seen)
    pd.DataFrame({"a": [1]}).to_csv(anaconda_storage.uri("a.csv"), index=False)
    assert pd.read_csv(anaconda_storage.uri("a.csv"))["a"].tolist() == [1]
"""


def test_a_marker_gives_one_test_a_server_with_faults(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(
        test_marked=_COUNT_FAULTS
        + """
import pytest

urls = []


@pytest.mark.anaconda_storage(fault_rate=0.5)
def test_marked(anaconda_storage):
    urls.append(anaconda_storage.url)
    assert statuses(anaconda_storage) == {200, 503}


def test_unmarked(anaconda_storage):
    assert anaconda_storage.url not in urls
    assert statuses(anaconda_storage) == {200}
"""
    )
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_invalid_settings_are_usage_errors(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(test_one="def test_one(anaconda_storage):\n    pass\n")
    result = user_project.runpytest_subprocess("-o", "anaconda_storage_fault_rate=2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*fault_rate is a fraction from 0 to 1, not 2.0*"])
    result = user_project.runpytest_subprocess("-o", "anaconda_storage_server=docker")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_the_fs_attribute_says_what_to_install(user_project: pytest.Pytester) -> None:
    # A user environment without the fsspec driver: hide it from the sub-session.
    user_project.makeconftest(
        """
        import sys

        sys.modules["anaconda_storage_fsspec"] = None  # import fails as if not installed
        """
    )
    user_project.makepyfile(
        test_fs="""
        import pytest


        def test_fs(anaconda_storage):
            with pytest.raises(ModuleNotFoundError, match="pip install anaconda-storage-fsspec"):
                anaconda_storage.fs
        """
    )
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_trash_retention_as_a_setting_and_on_a_marker(user_project: pytest.Pytester) -> None:
    user_project.makepyprojecttoml(PYPROJECT.format(extra='anaconda_storage_retention_days = "0"'))
    user_project.makepyfile(
        test_trash="""
import json
import time
import urllib.request

import pytest

from anaconda_storage_core import StorageClient


def trash(anaconda_storage):
    request = urllib.request.Request(
        f"{anaconda_storage.url}/api/storage/trash/{anaconda_storage.user.name}",
        headers={"Authorization": "Bearer " + anaconda_storage.api_key},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request) as answer:
        return [item["project"]["name"] for item in json.load(answer)["items"]]


def delete_and_wait(anaconda_storage):
    with StorageClient() as client:
        client.delete_project(anaconda_storage.project)
    deadline = time.monotonic() + 15
    while trash(anaconda_storage) and time.monotonic() < deadline:
        time.sleep(0.05)
    return trash(anaconda_storage)


def test_purged_at_once(anaconda_storage):
    assert delete_and_wait(anaconda_storage) == []


@pytest.mark.anaconda_storage(retention_days=1)
def test_kept_a_day(anaconda_storage):
    with StorageClient() as client:
        client.delete_project(anaconda_storage.project)
    time.sleep(0.3)  # several sweeps of a 0-day retention
    assert trash(anaconda_storage) == [anaconda_storage.project.split("/")[1]]
"""
    )
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
