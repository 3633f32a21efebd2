"""`client.py` is generated from `async_client.py`: fail while the checked-in copy is stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = (
    Path(__file__).resolve().parents[2] / "packages" / "storage-core" / "scripts" / "unasync.py"
)


def test_generated_sync_client_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_clients_have_the_same_methods() -> None:
    import anaconda_storage_core as core

    sync = {m for m in vars(core.StorageClient) if not m.startswith("__")}
    asynchronous = {m for m in vars(core.AsyncStorageClient) if not m.startswith("__")}
    assert sync - {"close"} == asynchronous - {"aclose"}
