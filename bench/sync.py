"""`anaconda storage sync` over 10,000 small files, when nothing changed and when 1% did,
against an `aws s3 sync`-style baseline on the same server in the same run.

The baseline does what `aws s3 sync` does to find changes, with raw aiohttp: one paged
listing of the remote directory (`GET .../tree?prefix=data/`, 1,000 entries a page) and one
`os.stat` per local file, comparing sizes (aws compares size and modification time; it
cannot see a change that keeps both, where sync compares sha256). When files changed, it
then PUTs them, 8 at a time. `sync` reads the same listing (it carries each file's
sha256), stats each local file, and reads a local file only when its size, mtime or inode
is not in its hash cache: so when nothing changed it should cost about what the baseline
costs, and it sends nothing and adds no revision.

The sync runs in-process (typer's runner), as `anaconda storage sync -q --json`, so the
figures leave out the interpreter's start (about half a second for `anaconda`).

    python bench/sync.py                     # the figures of the README ("Sync")
    python bench/sync.py --files 2000        # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from anaconda_storage_server.testing import LocalServer

OWNER = "bench"
PROJECT = "sync"
DIRECTORIES = 100
HOUR_NS = 3600 * 10**9


def _timed(
    run: Callable[[], object], rounds: int, setup: Callable[[], object] = lambda: None
) -> float:
    times = []
    for _ in range(rounds):
        setup()  # not timed
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _write(path: Path, text: str) -> None:
    """A small file, dated an hour back: out of the hash cache's two-second racy window,
    as a file left alone since the last cron run is."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - HOUR_NS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share changed per round")
    parser.add_argument("--latency", type=float, default=0, help="ms added per request")
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs")
    args = parser.parse_args()
    n = args.files
    k = max(1, int(n * args.changed))

    from anaconda_cli_base.cli import app
    from typer.testing import CliRunner

    with (
        tempfile.TemporaryDirectory() as scratch,
        LocalServer(Path(scratch) / "server", latency_ms=args.latency) as server,
    ):
        api_key = server.add_user(OWNER)
        headers = {"Authorization": f"Bearer {api_key}", "Api-Version": "2023.11.28"}
        base = f"{server.url}/api/storage/projects/{OWNER}/{PROJECT}"
        root = Path(scratch) / "data"
        per_directory = max(1, n // DIRECTORIES)
        paths = [f"d{i // per_directory:03d}/f{i:05d}.csv" for i in range(n)]
        for i, relative in enumerate(paths):
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            _write(root / relative, f"{i:05d},{'x' * 90}\n")
        env = {
            "HOME": scratch,
            "XDG_CACHE_HOME": str(Path(scratch) / "cache"),
            "ANACONDA_CLOUD_API_DOMAIN": server.url,
            "ANACONDA_CLOUD_API_KEY": api_key,
            "ANACONDA_TELEMETRY_ENABLED": "false",
            "OTEL_SDK_DISABLED": "true",
        }
        runner = CliRunner()

        def sync() -> dict[str, Any]:
            target = f"{OWNER}/{PROJECT}/data"
            result = runner.invoke(
                app, ["storage", "sync", "-q", "--json", f"{root}/", target], env=env
            )
            assert result.exit_code == 0, result.output
            summary: dict[str, Any] = json.loads(result.stdout)
            return summary

        result = runner.invoke(app, ["storage", "mkdir", f"{OWNER}/{PROJECT}"], env=env)
        assert result.exit_code == 0, result.output
        started = time.perf_counter()
        first = sync()
        assert first["copied"] == n, first
        print(f"first sync: {n} files in {time.perf_counter() - started:.1f} s")

        async def listing() -> dict[str, int]:
            sizes: dict[str, int] = {}
            cursor = None
            async with aiohttp.ClientSession(headers=headers) as session:
                while True:
                    params = {"prefix": "data/", "limit": "1000"}
                    if cursor:
                        params["cursor"] = cursor
                    async with session.get(f"{base}/tree", params=params) as response:
                        page = await response.json()
                    for item in page["items"]:
                        sizes[item["path"][len("data/") :]] = item.get("size", 0)
                    cursor = page["next_cursor"]
                    if not cursor:
                        return sizes

        async def put(relatives: list[str]) -> None:
            semaphore = asyncio.Semaphore(8)
            async with aiohttp.ClientSession(headers=headers) as session:

                async def one(relative: str) -> None:
                    data = (root / relative).read_bytes()
                    url = f"{base}/files/data/{relative}"
                    async with semaphore, session.put(url, data=data) as response:
                        response.raise_for_status()

                await asyncio.gather(*(one(r) for r in relatives))

        def baseline(expected: int) -> None:
            remote = asyncio.run(listing())
            differ = []
            for relative in paths:
                stat = os.stat(root / relative)
                if remote.get(relative) != stat.st_size:
                    differ.append(relative)
            # Same sizes: aws would compare modification times too; a changed file here is
            # one with another size, so the sizes find it.
            assert len(differ) == expected, (len(differ), expected)
            if differ:
                asyncio.run(put(differ))

        def unchanged() -> None:
            summary = sync()
            assert summary["copied"] == 0, summary
            assert summary["skipped"] == n, summary

        rounds = iter(range(1, 1_000))

        def change() -> list[str]:
            step = next(rounds)
            chosen = paths[step * 7 % (n - k) :][:k]
            for relative in chosen:  # one more byte: a size aws sees too
                _write(root / relative, (root / relative).read_text() + "y" * step)
            return chosen

        def changed_sync() -> None:
            summary = sync()
            assert summary["copied"] == k, summary

        rows = [
            ("nothing changed", "sync", _timed(unchanged, args.rounds)),
            ("nothing changed", "baseline", _timed(lambda: baseline(0), args.rounds)),
        ]
        # Before each timed run, k other files change (one byte more: a size aws sees).
        case = f"{k} changed ({args.changed:.0%})"
        rows += [
            (case, "sync", _timed(changed_sync, args.rounds, change)),
            (case, "baseline", _timed(lambda: baseline(k), args.rounds, change)),
        ]

    print(f"\n{n} files of ~100 B in {DIRECTORIES} directories, latency {args.latency:g} ms,")
    print(f"median of {args.rounds}\n")
    print(f"{'case':20} {'client':10} {'seconds':>8} {'files/s':>9}   vs baseline")
    raw = {case: seconds for case, client, seconds in rows if client == "baseline"}
    for case, client, seconds in rows:
        ratio = seconds / raw[case]
        print(f"{case:20} {client:10} {seconds:8.2f} {n / seconds:9,.0f}   {ratio:5.2f}x")


if __name__ == "__main__":
    main()
