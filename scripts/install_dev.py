"""Install the four packages (editable) and the test tools into the running interpreter.

Usage: ``python scripts/install_dev.py [latest|minimum]``. ``minimum`` pins every declared
dependency to its lower bound (see ``min_constraints.py``), so that bound is really tested.
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
PACKAGES = ["storage-core", "storage-fsspec", "storage-cli", "storage-server"]
REQUIREMENTS = ["requirements/test.txt", "requirements/ecosystem.txt"]
# With our dependencies at their floors, the ecosystem must be one that accepts them:
# pandas 3 refuses fsspec older than 2025.7.0 (its optional-dependency check), our floor
# is 2024.6.0, and pandas 2 supports that. These only hold in the minimum leg.
FLOOR_ECOSYSTEM = ["pandas<3"]


def install(deps: str) -> None:
    """Install with uv (a dependency of the environment) into ``sys.executable``."""
    command = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", sys.executable]
    for package in PACKAGES:
        command += ["-e", str(ROOT / "packages" / package)]
    for requirements in REQUIREMENTS:
        command += ["-r", str(ROOT / requirements)]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        if deps == "minimum":
            pins = [f"{n}=={v}" for n, v in sorted(lower_bounds().items())]
            constraints.write("".join(f"{line}\n" for line in [*pins, *FLOOR_ECOSYSTEM]))
            command += ["-c", constraints.name]
    subprocess.run(command, check=True, cwd=ROOT)
    Path(constraints.name).unlink()
    # universal-pathlib's shared tests ship in its sdist only: keep those of the version
    # just installed, so that the suite runs them offline (tests/fsspec/test_upath_shared.py,
    # which fetches them itself, or fails saying why, if this could not).
    subprocess.run([sys.executable, str(ROOT / "scripts" / "upath_shared_tests.py")], check=False)


if __name__ == "__main__":
    deps = sys.argv[1] if len(sys.argv) > 1 else "latest"
    if deps not in {"latest", "minimum"}:
        sys.exit(f"usage: {sys.argv[0]} [latest|minimum]")
    install(deps)
