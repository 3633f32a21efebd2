"""`anaconda storage upload` interrupted with Ctrl-C (SIGINT) keeps what the server received,
says so, and the same command run again resumes, saying so (issue 11, section 4)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from anaconda_storage_core import StorageClient
from anaconda_storage_server.proxy import NetworkProxy

MiB = 1024 * 1024
ANACONDA = Path(sys.executable).with_name("anaconda")


def payload(size: int, seed: int) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB, not all alike
    return (block * (size // len(block) + 1))[:size]


def held_parts(client: StorageClient, uri: str) -> list[int]:
    sessions = list(client.list_uploads(uri))
    if not sessions:
        return []
    return [part.size for part in client.get_upload(uri, sessions[0].id).parts]


def test_upload_resumes_after_sigint(cli: Any, user: Any, tmp_path: Path) -> None:
    # Twelve parts of 5 MiB, four sent at a time: when the first ones are held, more of the
    # file is left than the sockets on the way can buffer, so the upload is still reading
    # it when interrupted (socket buffers are the client's "sent" before the server has it).
    data = payload(60 * MiB, seed=21)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    uri = f"{user.name}/resume/big.bin"
    direct = StorageClient(api_key=user.api_key, domain=user.url)
    direct.create_project(f"{user.name}/resume")
    command = ["upload", "--part-size", "5MiB", str(local), uri]
    # Slow (8 MiB/s) so that the upload is under way when it is interrupted.
    with NetworkProxy(user.url, bandwidth=8 * MiB) as proxy:
        through = {"ANACONDA_CLOUD_API_DOMAIN": proxy.url}
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ANACONDA_")}
        environment.update(cli.env(env=through))
        process = subprocess.Popen(
            [str(ANACONDA), "storage", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        try:
            deadline = time.monotonic() + 60
            while len(held_parts(direct, uri)) < 1 and time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()
                time.sleep(0.02)
            process.send_signal(signal.SIGINT)
            _, err_bytes = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        err = err_bytes.decode()
        assert process.returncode == 130, err
        # What the interrupted run left in the proxy's buffers still reaches the server after
        # the CLI has gone: wait for it, so that neither the parts held nor the bytes the
        # resumed run sends count it.
        settled, deadline = -1, time.monotonic() + 60
        while proxy.forwarded != settled and time.monotonic() < deadline:
            settled = proxy.forwarded
            time.sleep(0.5)
        held = held_parts(direct, uri)  # the session and its parts are kept
        kept = sum(held)
        assert len(held) >= 1, err
        assert kept < len(data)
        # The CLI says what the server had confirmed to it: a part the server stored while
        # its answer was still on the way when Ctrl-C came is kept too, but not counted.
        said = re.search(
            rf"interrupted: ([0-9.]+) MiB of {re.escape(str(local))} kept on the server,"
            " run the same command again to resume",
            err,
        )
        assert said, err
        assert 5 <= float(said[1]) <= kept / MiB

        before = proxy.forwarded
        again = cli.run(*command, env=through)
        assert again.code == 0, again
        assert f"resuming {local}: {kept / MiB:.1f} MiB of 60.0 MiB already on the server" in (
            again.err
        )
        sent = proxy.forwarded - before
        assert sent < len(data) - kept + MiB  # the rest, and a few small requests
    assert hashlib.sha256(direct.read_bytes(uri)).hexdigest() == hashlib.sha256(data).hexdigest()
    assert list(direct.list_uploads(uri)) == []
    direct.close()


def test_part_size_must_be_a_size_of_at_least_5_mib(cli: Any, tmp_path: Path, user: Any) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(b"a")
    result = cli("upload", "--part-size", "1MiB", str(local), f"{user.name}/p/a.bin")
    assert result.code == 2
    assert "--part-size 1MiB" in result.err
    assert "5 MiB" in result.err
    result = cli("upload", "--part-size", "lots", str(local), f"{user.name}/p/a.bin")
    assert result.code == 2
    assert "not a size: 'lots'" in result.err
