"""`make demo`: start the local server and tour the product against it.

The tour is what a user would type: `anaconda storage ...` commands (real subprocesses)
and pandas reading `anaconda://` URLs through the fsspec driver, all over HTTP against a
real `anaconda-storage-server` on a temporary data directory. The server is stopped at the
end, whatever happens.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

from anaconda_storage_server.testing import LocalServer

ANACONDA = str(Path(sys.executable).with_name("anaconda"))


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def output(text: str) -> None:
    if text.strip():
        print(textwrap.indent(text.rstrip("\n"), "   "), flush=True)


def storage(*args: str, as_user: dict[str, str] | None = None, expect: int = 0) -> str:
    """Run `anaconda storage ARGS` as a user would, print it and what it answers."""
    print(f"$ anaconda storage {shlex.join(args)}", flush=True)
    env = {**os.environ, **(as_user or {})}
    done = subprocess.run(
        [ANACONDA, "storage", *args], env=env, capture_output=True, text=True, check=False
    )
    output(done.stdout)
    output(done.stderr)
    if done.returncode != expect:
        raise SystemExit(f"demo: exit code {done.returncode}, expected {expect}")
    if expect:
        print(f"   (exit code {done.returncode}, as expected)")
    return done.stdout


def python(code: str, value: object) -> None:
    print(f">>> {code}", flush=True)
    output(str(value))


def make_local_folder(root: Path) -> Path:
    folder = root / "sales"
    (folder / "2024").mkdir(parents=True)
    (folder / "2024" / "q1.csv").write_text("region,revenue\nnorth,100\nsouth,80\n")
    (folder / "2024" / "q2.csv").write_text("region,revenue\nnorth,120\nsouth,95\n")
    (folder / "README.md").write_text("# Sales\nQuarterly revenue by region.\n")
    return folder


def tour(server: LocalServer, workdir: Path) -> None:
    step("Two users: alice and bob (anaconda-storage-server users add NAME --data DIR)")
    alice = {
        "ANACONDA_CLOUD_API_DOMAIN": server.url,
        "ANACONDA_CLOUD_API_KEY": server.add_user("alice"),
    }
    bob = {
        "ANACONDA_CLOUD_API_DOMAIN": server.url,
        "ANACONDA_CLOUD_API_KEY": server.add_user("bob"),
    }
    # The demo itself acts as alice: the CLI and pandas read the same two variables.
    os.environ.update(alice)
    print(f"   ANACONDA_CLOUD_API_DOMAIN={server.url} ANACONDA_CLOUD_API_KEY=<alice's key>")

    step("alice creates a project and uploads a folder (rsync rule: 'sales/' = its contents)")
    folder = make_local_folder(workdir)
    storage("mkdir", "alice/sales")
    storage("upload", "-q", f"{folder}/", "anaconda://alice/sales")
    storage("ls", "-l", "alice/sales/2024")
    storage("ls", "-R", "alice/sales")

    step("pandas reads and writes anaconda:// URLs through the fsspec driver")
    q1 = pd.read_csv("anaconda://alice/sales/2024/q1.csv")
    python('pd.read_csv("anaconda://alice/sales/2024/q1.csv")', q1)
    q1.loc[q1.region == "north", "revenue"] = 105
    q1.to_csv("anaconda://alice/sales/2024/q1.csv", index=False)
    python('df.to_csv("anaconda://alice/sales/2024/q1.csv", index=False)  # north: 105', "")

    step("Every change is a revision: the old q1.csv is still there")
    storage("ls", "--revisions", "alice/sales/2024/q1.csv")
    storage("cat", "alice/sales/2024/q1.csv#-1")
    python(
        'pd.read_csv("anaconda://alice/sales/2024/q1.csv#-1")',
        pd.read_csv("anaconda://alice/sales/2024/q1.csv#-1"),
    )

    step("Checkpoints and time travel: the whole project as it was")
    storage("checkpoint", "alice/sales", "-m", "before Q3")
    time.sleep(1.1)  # time points have a resolution of one second
    before_q3 = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    (folder / "2024" / "q3.csv").write_text("region,revenue\nnorth,130\nsouth,99\n")
    storage("upload", "-q", str(folder / "2024" / "q3.csv"), "alice/sales/2024/")
    storage("rm", "alice/sales/README.md")
    storage("ls", "-R", "alice/sales")
    storage("ls", "-R", "alice/sales#-1")
    storage("ls", "-R", f"alice/sales#{before_q3}")
    storage("cat", "alice/sales/README.md#-1")
    then = workdir / "sales-before-q3"
    storage("download", "-q", "alice/sales#-1/", str(then))
    restored = sorted(p.relative_to(workdir).as_posix() for p in then.rglob("*.*"))
    python("# on local disk after the download of the checkpoint", "\n".join(restored))

    step("Sync sends only what changed, by content; a second run sends nothing")
    (folder / "2024" / "q2.csv").write_text("region,revenue\nnorth,121\nsouth,95\n")
    storage("sync", "--dry-run", f"{folder}/", "alice/sales")
    storage("sync", f"{folder}/", "alice/sales")
    storage("sync", f"{folder}/", "alice/sales")

    step("Going back in time: what happened (log), what changed (diff), undo (restore)")
    storage("log", "--limit", "6", "alice/sales")
    storage("diff", "alice/sales#-1")
    storage("restore", "alice/sales#-1")
    storage("ls", "-R", "alice/sales")

    step("Sharing: bob sees nothing until alice grants him read access")
    storage("cat", "alice/sales/2024/q2.csv", as_user=bob, expect=3)
    storage("chmod", "alice/sales", "u/bob+r")
    storage("cat", "alice/sales/2024/q2.csv", as_user=bob)
    storage("touch", "alice/sales/from-bob.txt", as_user=bob, expect=4)

    step("Attributes, and what stat shows")
    storage("chattr", "alice/sales", "--title", "Sales", "--tag", "data")
    storage("chattr", "alice/sales/2024/q1.csv", "--metadata", "source=finance")
    storage("stat", "alice/sales")

    step("Deleting: rm -r of a whole project asks first, unless --yes")
    storage("rm", "-r", "--yes", "alice/sales")
    storage("ls", "alice")

    step("A deleted project waits in the trash, history and all; --purge deletes for good")
    storage("ls", "--deleted", "alice")
    storage("restore", "alice/sales")
    storage("ls", "alice/sales")
    storage("rm", "-r", "--purge", "--yes", "alice/sales")
    storage("ls", "--deleted", "alice")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="anaconda-storage-demo-") as tmp:
        data, workdir = Path(tmp) / "data", Path(tmp) / "work"
        workdir.mkdir()
        step(f"Starting anaconda-storage-server serve --data {data}")
        with LocalServer(data) as server:
            print(f"   listening on {server.url}")
            tour(server, workdir)
        step("Server stopped; temporary data removed")
    print("\nDemo complete.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
