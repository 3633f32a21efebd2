"""Listing 10,000 files through the fsspec driver: `ls` of a large directory, `find` of a
deep tree, against raw aiohttp paging the same tree listing, on one server, in one run.

Two trees of `--files` files each are made in one project (with raw aiohttp, concurrently):
`flat/` holds them all in one directory; `nested/` spreads them over 100 directories. Then:

- `ls flat/`: the driver's `fs.ls(..., refresh=True)` against raw aiohttp reading every
  page of `GET .../tree?prefix=flat/&delimiter=/` (1,000 entries a page);
- `find nested/`: the driver's `fs.find` (one recursive listing, paged) against raw aiohttp
  reading every page of `GET .../tree?prefix=nested/`; and, for contrast, fsspec's generic
  `find`, which walks the tree one `ls` per directory;
- `glob nested/*/f000?7.bin` and `du nested/`, which ride on `find`;
- then the project grows to `--grow` files (in `other/`, 1,000 a directory) and `ls flat/`
  runs again through both clients: a listing's cost should not depend on what else the
  project holds.

    python bench/fsspec_listing.py                      # the figures of the README ("Speed")
    python bench/fsspec_listing.py --files 2000         # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import aiohttp
from fsspec.asyn import AsyncFileSystem, sync
from process_cpu import cpu_seconds

from anaconda_storage_fsspec import AnacondaFileSystem
from anaconda_storage_server.testing import LocalServer

OWNER = "bench"
PROJECT = "listing"
DIRECTORIES = 100


class Timed(NamedTuple):
    """Medians over the rounds: wall seconds, and the CPU seconds of client and server."""

    seconds: float
    client_cpu: float
    server_cpu: float


def _timed(run: Callable[[], object], rounds: int, server_pid: int | None) -> Timed:
    times, client, server = [], [], []
    for _ in range(rounds):
        server_before = cpu_seconds(server_pid) or 0.0
        cpu_before = time.process_time()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        client.append(time.process_time() - cpu_before)
        server.append((cpu_seconds(server_pid) or 0.0) - server_before)
    return Timed(statistics.median(times), statistics.median(client), statistics.median(server))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=20, help="ms added per request")
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs")
    parser.add_argument(
        "--grow", type=int, default=100_000, help="files in the project for the last rows (0: skip)"
    )
    args = parser.parse_args()
    n = args.files

    with (
        tempfile.TemporaryDirectory() as data,
        LocalServer(Path(data), latency_ms=args.latency) as server,
    ):
        api_key = server.add_user(OWNER)
        headers = {"Authorization": f"Bearer {api_key}", "Api-Version": "2023.11.28"}
        base = f"{server.url}/api/storage/projects/{OWNER}/{PROJECT}"
        fs = AnacondaFileSystem(api_key=api_key, domain=server.url, skip_instance_cache=True)
        fs.mkdir(f"{OWNER}/{PROJECT}")
        flat = [f"flat/f{i:05d}.bin" for i in range(n)]
        per_directory = max(1, n // DIRECTORIES)
        nested = [f"nested/d{i // per_directory:03d}/f{i:05d}.bin" for i in range(n)]

        async def upload(paths: list[str]) -> None:
            semaphore = asyncio.Semaphore(64)
            async with aiohttp.ClientSession(headers=headers) as session:

                async def one(path: str) -> None:
                    async with semaphore, session.put(f"{base}/files/{path}", data=b"x") as r:
                        r.raise_for_status()

                await asyncio.gather(*(one(p) for p in paths))

        started = time.perf_counter()
        asyncio.run(upload(flat + nested))
        print(f"made {2 * n} files in {time.perf_counter() - started:.1f} s")

        async def raw_listing(prefix: str, delimiter: str | None) -> int:
            count, cursor = 0, None
            async with aiohttp.ClientSession(headers=headers) as session:
                while True:
                    params = {"prefix": prefix, "limit": "1000"}
                    if delimiter:
                        params["delimiter"] = delimiter
                    if cursor:
                        params["cursor"] = cursor
                    async with session.get(f"{base}/tree", params=params) as response:
                        page = await response.json()
                    count += len(page["items"])
                    cursor = page["next_cursor"]
                    if not cursor:
                        return count

        project = f"{OWNER}/{PROJECT}"
        rows: list[tuple[str, str, Timed]] = []

        def row(what: str, client: str, run: Callable[[], object]) -> None:
            rows.append((what, client, _timed(run, args.rounds, server.pid)))

        assert len(fs.ls(f"{project}/flat", refresh=True)) == n
        row("ls flat/", "anaconda", lambda: fs.ls(f"{project}/flat", refresh=True))
        row("ls flat/", "aiohttp", lambda: asyncio.run(raw_listing("flat/", "/")))

        def find() -> list[str]:
            fs.invalidate_cache()
            found = fs.find(f"{project}/nested")
            assert len(found) == n
            return found

        def walk_find() -> list[str]:
            fs.invalidate_cache()
            found: list[str] = sync(fs.loop, AsyncFileSystem._find, fs, f"{project}/nested")
            assert len(found) == n
            return found

        row("find nested/", "anaconda", find)
        row("find nested/", "aiohttp", lambda: asyncio.run(raw_listing("nested/", None)))
        row("find nested/", "fsspec walk", walk_find)

        def glob() -> None:
            fs.invalidate_cache()
            assert len(fs.glob(f"{project}/nested/*/f000?7.bin")) == min(n, 100) // 10

        row("glob nested/*/f000?7.bin", "anaconda", glob)

        def du() -> None:
            fs.invalidate_cache()
            assert fs.du(f"{project}/nested") == n

        row("du nested/", "anaconda", du)

        grown = args.grow - 2 * n
        if grown > 0:
            started = time.perf_counter()
            asyncio.run(upload([f"other/d{i // 1000:03d}/g{i:06d}.bin" for i in range(grown)]))
            print(f"made {grown} more files in {time.perf_counter() - started:.1f} s")
            os.sync()  # the uploads' writeback is not the listing's to pay for
            what = f"ls flat/, project of {args.grow}"
            row(what, "anaconda", lambda: fs.ls(f"{project}/flat", refresh=True))
            row(what, "aiohttp", lambda: asyncio.run(raw_listing("flat/", "/")))
        fs.close()

    print(f"\n{n} files, server latency {args.latency:g} ms, median of {args.rounds}\n")
    print(f"{'operation':34} {'client':12} {'seconds':>8}   vs aiohttp   CPU s: client server")
    raw = {what: timed.seconds for what, client, timed in rows if client == "aiohttp"}
    for what, client, timed in rows:
        ratio = f"{timed.seconds / raw[what]:5.2f}x" if what in raw else "      "
        print(
            f"{what:34} {client:12} {timed.seconds:8.2f}   {ratio}"
            f"        {timed.client_cpu:6.2f} {timed.server_cpu:6.2f}"
        )
    grown = {client: timed for what, client, timed in rows if what.startswith("ls flat/,")}
    if grown:
        small = {client: timed for what, client, timed in rows if what == "ls flat/"}
        print(f"\nls flat/ as the project grows from {2 * n} to {args.grow} files:")
        for client, timed in grown.items():
            before = small[client]
            print(
                f"  {client:12} {before.seconds:.2f} s -> {timed.seconds:.2f} s"
                f" ({timed.seconds / before.seconds - 1:+.0%}); CPU s, client"
                f" {before.client_cpu:.2f} -> {timed.client_cpu:.2f}"
                f" ({timed.client_cpu / before.client_cpu - 1:+.0%}), server"
                f" {before.server_cpu:.2f} -> {timed.server_cpu:.2f}"
                f" ({timed.server_cpu / before.server_cpu - 1:+.0%})"
            )


if __name__ == "__main__":
    main()
