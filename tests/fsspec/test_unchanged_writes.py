"""Writing unchanged data through the filesystem adds no revision (docs/api.md, PUT): a
pipeline run again, `fs.put` of the same file or `to_csv` of the same frame, leaves the
history as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anaconda_storage_core import StorageClient
from anaconda_storage_fsspec import AnacondaFileSystem


def test_put_pipe_and_open_of_unchanged_data_add_no_revision(
    fs: AnacondaFileSystem, account: Any, project: str, tmp_path: Path
) -> None:
    def revisions(path: str) -> int:
        with StorageClient(**account.options) as client:
            return len(list(client.list_revisions(path)))

    local = tmp_path / "q1.csv"
    local.write_bytes(b"a,b\n1,2\n")
    target = f"{project}/q1.csv"
    fs.put(str(local), target)
    first = fs.info(target)["revision"]
    fs.put(str(local), target)
    fs.pipe(target, b"a,b\n1,2\n")
    with fs.open(target, "wb") as stream:
        stream.write(b"a,b\n1,2\n")
    assert fs.info(target)["revision"] == first
    assert revisions(target) == 1
    fs.pipe(target, b"a,b\n3,4\n")
    assert revisions(target) == 2
