"""Start-up of the local server: in a subprocess (`LocalServer`) against on a thread
(`ThreadedServer`), and the cost of adding a user with each; what the pytest plugin chooses by.

Each run is a fresh Python process, as a test session is, so the thread's figure includes
importing Starlette and uvicorn into the test process (the subprocess pays that in its own
process). Timed from `start()` to "listening and answering `/api/health`", then one
`add_user` (the `anaconda_storage` fixture makes one per test), then a second server started
in the same process (what a test that asks for its own server with faults pays).

    python bench/server_startup.py               # the figures of the README
    python bench/server_startup.py --rounds 3    # a quick look
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = ("subprocess", "thread")


def _one(kind: str) -> dict[str, float]:
    """One fresh process's figures, in seconds."""
    start = time.perf_counter()
    if kind == "thread":
        from anaconda_storage_server.threaded import ThreadedServer as Server
    else:
        from anaconda_storage_server.testing import LocalServer as Server  # type: ignore[assignment]
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as data:
        server = Server(Path(data) / "first")
        server.start()
        figures["start"] = time.perf_counter() - start
        _check(server.url)
        start = time.perf_counter()
        server.add_user("alice")
        figures["add_user"] = time.perf_counter() - start
        server.stop()
        start = time.perf_counter()
        with Server(Path(data) / "second"):
            figures["second_start"] = time.perf_counter() - start
    return figures


def _check(url: str) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/api/health", timeout=5) as answer:
        assert answer.status == 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="median of this many runs")
    parser.add_argument("--one", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args.one)))
        return

    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for _ in range(args.rounds):
        for kind in KINDS:  # interleaved, so that a busy spell hits both
            done = subprocess.run(
                [sys.executable, __file__, "--one", kind],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[kind].append(json.loads(done.stdout))

    print(f"medians of {args.rounds} fresh processes, milliseconds")
    print(f"{'':12}{'start':>10}{'add_user':>10}{'2nd start':>11}")
    medians = {}
    for kind in KINDS:
        median = {
            name: statistics.median(run[name] for run in runs[kind]) * 1000
            for name in ("start", "add_user", "second_start")
        }
        medians[kind] = median
        print(
            f"{kind:12}{median['start']:>10.0f}{median['add_user']:>10.1f}"
            f"{median['second_start']:>11.0f}"
        )
    ratio = medians["subprocess"]["start"] / medians["thread"]["start"]
    print(f"the thread starts {ratio:.1f}x faster than the subprocess")


if __name__ == "__main__":
    main()
