"""Generate `client.py` (StorageClient) from `async_client.py` (AsyncStorageClient).

The two clients have the same methods, arguments and docstrings; only `async`/`await` and
a few names differ. Rather than keep two copies by hand, the async module is the source and
this script writes the blocking one (the approach of httpcore's `scripts/unasync.py`).

    python packages/storage-core/scripts/unasync.py           # rewrite client.py
    python packages/storage-core/scripts/unasync.py --check   # fail if client.py is stale

`tests/core/test_unasync.py` runs the check, so `make test` (CI) fails on a stale copy.
The output goes through `ruff format` (a test dependency) so that it passes the format check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "anaconda_storage_core"
SOURCE = PACKAGE / "async_client.py"
TARGET = PACKAGE / "client.py"

HEADER = '''"""`StorageClient`: every call of the Storage API, on `httpx.Client` (blocking).

GENERATED from `async_client.py` by `packages/storage-core/scripts/unasync.py`: do not
edit by hand. Edit `async_client.py`, then run the script (a test fails while they differ).

The client only sends: each method builds its request(s) with the sans-IO `operations`
(or runs a flow of `transfer`) and hands them to its runner.
"""
'''

# Whole-word substitutions, in order (the longer names first).
SUBSTITUTIONS = [
    (r"\bAsyncStorageClient\b", "StorageClient"),
    (r"\bAsyncContentStream\b", "ContentStream"),
    (r"\bAsyncRunner\b", "Runner"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncBaseTransport\b", "BaseTransport"),
    (r"\bAsyncClient\b", "Client"),
    (r"\basync_runner\b", "runner"),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\(asyncio\)", "(blocking)"),
    (r"`async for`", "`for`"),
]


def generate(source: str) -> str:
    """The blocking module for the text of the async one."""
    # Replace the module docstring (the first triple-quoted block) by the header.
    end = source.index('"""', 3) + 3
    body = source[end:]
    for pattern, replacement in SUBSTITUTIONS:
        body = re.sub(pattern, replacement, body)
    return _formatted(HEADER + body)


def _formatted(text: str) -> str:
    # Without `await` some statements fit on fewer lines, and `runner` sorts after what
    # `async_runner` sorted before: sort and format as ruff would, so that the
    # repository's lint and format checks and this script agree.
    for command in (["check", "--select", "I", "--fix", "--quiet"], ["format"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(TARGET), "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=PACKAGE,
        )
        text = result.stdout
    return text


def main(argv: list[str]) -> int:
    expected = generate(SOURCE.read_text(encoding="utf-8"))
    if "--check" in argv:
        actual = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if actual != expected:
            print(f"{TARGET} is stale: run {Path(__file__).name} to regenerate it")
            return 1
        return 0
    TARGET.write_text(expected, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
