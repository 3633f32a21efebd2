"""`make demo`: start the local server and tour the product against it over HTTP.

Every step is a real request to a real `anaconda-storage-server` on a temporary data
directory; the server is stopped at the end, whatever happens.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anaconda_storage_core import PermissionDenied, StorageClient
from anaconda_storage_server.testing import LocalServer


def step(title: str) -> None:
    print(f"\n== {title}")


def show(label: str, value: object) -> None:
    text = textwrap.indent(str(value).rstrip("\n"), "   ")
    print(f"-> {label}\n{text}" if "\n" in text.strip() else f"-> {label}: {str(value).strip()}")


@contextmanager
def local_server() -> Iterator[LocalServer]:
    with tempfile.TemporaryDirectory(prefix="anaconda-storage-demo-") as data:
        step(f"Starting anaconda-storage-server on a temporary data directory ({data})")
        with LocalServer(Path(data)) as server:
            show("listening on", server.url)
            yield server
        step("Server stopped; temporary data removed")


def tour(server: LocalServer) -> None:
    step("Creating users alice and bob (anaconda-storage-server users add NAME)")
    alice = StorageClient(domain=server.url, api_key=server.add_user("alice"))
    bob = StorageClient(domain=server.url, api_key=server.add_user("bob"))
    show("alice is", alice.account().name)

    step("alice creates the project anaconda://alice/sales and uploads a folder")
    alice.create_project("alice/sales", title="Sales figures", tags=["data"])
    alice.upload("alice/sales/2024/q1.csv", b"region,revenue\nnorth,100\nsouth,80\n")
    alice.upload("alice/sales/2024/q2.csv", b"region,revenue\nnorth,120\nsouth,95\n")
    alice.upload("alice/sales/README.md", b"# Sales\n")
    alice.make_directory("alice/sales/2025")
    listing = [f"{e.type:9} {e.path}" for e in alice.list_tree("alice/sales", delimiter="/")]
    show("ls anaconda://alice/sales", "\n".join(listing))
    files = [f"{e.path} ({getattr(e, 'size', 0)} bytes)" for e in alice.list_tree("alice/sales")]
    show("every file, recursively", "\n".join(files))

    step("Every change is a revision: alice corrects q1.csv, then reads the old one")
    alice.upload("alice/sales/2024/q1.csv", b"region,revenue\nnorth,105\nsouth,80\n")
    show("q1.csv now", alice.read_bytes("alice/sales/2024/q1.csv").decode())
    show(
        "q1.csv#-1 (the previous revision)", alice.read_bytes("alice/sales/2024/q1.csv#-1").decode()
    )
    revisions = [
        f"{r.index:>3}  {r.id}  {r.size} bytes"
        for r in alice.list_revisions("alice/sales/2024/q1.csv")
    ]
    show("its revisions, newest first", "\n".join(revisions))

    step("Checkpoints: the state of the whole project at an instant")
    checkpoint = alice.create_checkpoint("alice/sales", "before the Q3 upload")
    show("new ad-hoc checkpoint", checkpoint.id)
    time.sleep(1.1)  # time points have a resolution of one second
    before_q3 = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    alice.upload("alice/sales/2024/q3.csv", b"region,revenue\nnorth,130\nsouth,99\n")
    alice.delete("alice/sales/README.md")
    now = sorted(e.path for e in alice.list_tree("alice/sales"))
    at_checkpoint = sorted(e.path for e in alice.list_tree("alice/sales#-1"))
    at_time = sorted(e.path for e in alice.list_tree(f"alice/sales#{before_q3}"))
    show("files now", ", ".join(now))
    show("files at checkpoint #-1", ", ".join(at_checkpoint))
    show(f"files at time point #{before_q3}", ", ".join(at_time))
    show("the deleted README.md#-1", alice.read_bytes("alice/sales/README.md#-1").decode())

    step("Sharing: alice grants bob read access (chmod u/bob+r)")
    try:
        bob.read_bytes("alice/sales/2024/q2.csv")
    except FileNotFoundError as error:
        show("before, bob sees nothing", error)
    alice.chmod("alice/sales", ["u/bob+r"])
    show("bob reads q2.csv", bob.read_bytes("alice/sales/2024/q2.csv").decode())
    try:
        bob.upload("alice/sales/2024/q2.csv", b"tampered")
    except PermissionDenied as error:
        show("bob may not write", error)
    grants = [f"{g.principal.name}: {g.level}" for g in alice.get_permissions("alice/sales").grants]
    show("permissions", ", ".join(grants))

    step("Attributes (chattr) and server-side copy")
    alice.update_project("alice/sales", description="Quarterly revenue by region")
    alice.update_file("alice/sales/2024/q1.csv", metadata={"source": "finance"})
    alice.copy("alice/sales/2024/q1.csv", "alice/sales/archive/q1-2024.csv")
    info = alice.info("alice/sales/archive/q1-2024.csv")
    show("copied without re-sending data; sha256", getattr(info, "sha256", None))

    step("Cleaning up: alice deletes the project")
    alice.delete_project("alice/sales", recursive=True)
    show("alice's projects", [p.name for p in alice.list_projects("alice")] or "none")
    alice.close()
    bob.close()


def main() -> int:
    with local_server() as server:
        tour(server)
    print("\nDemo complete.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
