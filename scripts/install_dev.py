"""Install the four packages (editable) and the test tools into the running interpreter.

Usage::

    python scripts/install_dev.py latest   [--locked]   # newest releases, or lock.txt's
    python scripts/install_dev.py minimum  [--locked]   # declared floors, or lock-minimum.txt's
    python scripts/install_dev.py lock                  # write both locks afresh

``make test`` installs ``--locked``: every package at the version its committed lock names
(``requirements/lock.txt`` for the latest leg, ``requirements/lock-minimum.txt`` for the
minimum leg), so a release published tomorrow cannot change what today's commit tests.
Without ``--locked`` the newest allowed releases are resolved afresh (``make test-latest``,
``make matrix``): drift from upstream is seen on purpose, not by accident. ``minimum``
pins every declared dependency to its lower bound (``min_constraints.py``) in both forms,
so that each bound is really tested. ``make lock`` refreshes both locks.

The Makefile and the hatch matrix both install through this one script. It also keeps
universal-pathlib's shared tests for the version installed (``upath_shared_tests.py``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from min_constraints import lower_bounds

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
PACKAGES = ["storage-core", "storage-fsspec", "storage-cli", "storage-server"]
# lock.in names the packages and these files: what a lock is compiled from.
TOOLS = ["test.txt", "ecosystem.txt"]
LOCKS = {"latest": REQUIREMENTS / "lock.txt", "minimum": REQUIREMENTS / "lock-minimum.txt"}
# With our dependencies at their floors, the ecosystem must be one that accepts them:
# pandas 3 refuses fsspec older than 2025.7.0 (its optional-dependency check), our floor
# is 2024.6.0, and pandas 2 supports that. These only hold in the minimum leg.
FLOOR_ECOSYSTEM = ["pandas<3"]
# The oldest Python the distributions support: a lock must hold on every supported one.
OLDEST_PYTHON = "3.10"


def _uv(*args: str, cwd: Path = ROOT) -> None:
    # uv is a dependency of every environment this runs in (requirements/bootstrap.txt).
    subprocess.run([sys.executable, "-m", "uv", *args], check=True, cwd=cwd)


def _floor_constraints(into: Path) -> Path:
    pins = [f"{n}=={v}" for n, v in sorted(lower_bounds().items())]
    into.write_text("".join(f"{line}\n" for line in [*pins, *FLOOR_ECOSYSTEM]))
    return into


def install(deps: str, *, locked: bool) -> None:
    """Install the packages and tools of leg ``deps`` into ``sys.executable``.

    Args:
        deps: ``"latest"`` or ``"minimum"``.
        locked: Take every version from the leg's committed lock; otherwise resolve the
            newest allowed releases now (``--upgrade``: what is installed is no reason to
            stay behind).
    """
    command = ["pip", "install", "--quiet", "--python", sys.executable]
    for package in PACKAGES:
        command += ["-e", str(ROOT / "packages" / package)]
    for tools in TOOLS:
        command += ["-r", str(REQUIREMENTS / tools)]
    with tempfile.TemporaryDirectory() as scratch:
        if locked:
            command += ["-c", str(LOCKS[deps])]
        else:
            command.append("--upgrade")
            if deps == "minimum":
                command += ["-c", str(_floor_constraints(Path(scratch) / "floors.txt"))]
        _uv(*command)
    _keep_upath_shared_tests()


def lock() -> None:
    """Write ``lock.txt`` and ``lock-minimum.txt``: one resolution each, for every Python
    from 3.10 on and every platform (``--universal``), the newest releases allowed."""
    ours = [name for package in PACKAGES for name in ("--no-emit-package", f"anaconda-{package}")]
    with tempfile.TemporaryDirectory() as scratch:
        floors = _floor_constraints(Path(scratch) / "floors.txt")
        for deps, path in LOCKS.items():
            constraints = ["-c", str(floors)] if deps == "minimum" else []
            # Run from requirements/: lock.in's paths are relative to it, and the command
            # that uv writes into the lock's header then names no machine's own paths.
            _uv(
                "pip", "compile", "lock.in", "--output-file", path.name, "--quiet",
                "--universal", "--python-version", OLDEST_PYTHON, "--no-python-downloads",
                "--upgrade", *ours, *constraints,
                "--custom-compile-command", "make lock",
                cwd=REQUIREMENTS,
            )  # fmt: skip


def _keep_upath_shared_tests() -> None:
    # universal-pathlib's shared tests ship in its sdist only: keep those of the version
    # just installed, so that the suite runs them offline (tests/fsspec/test_upath_shared.py,
    # which fetches them itself, or fails saying why, if this could not).
    script = ROOT / "scripts" / "upath_shared_tests.py"
    kept = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    if kept.returncode == 0:
        print(f"universal-pathlib's shared tests: {kept.stdout.strip()}")
    else:
        print(f"universal-pathlib's shared tests not fetched: {kept.stderr.strip()}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments == ["lock"]:
        lock()
    elif arguments[:1] in (["latest"], ["minimum"]) and arguments[1:] in ([], ["--locked"]):
        install(arguments[0], locked=arguments[1:] == ["--locked"])
    else:
        sys.exit(f"usage: {sys.argv[0]} {{latest|minimum}} [--locked] | lock")
