"""Install the four packages (editable) and the test tools into the running interpreter.

Usage: ``python scripts/install_dev.py [latest|minimum]``. ``minimum`` pins every declared
dependency to its lower bound (see ``min_constraints.py``), so that bound is really tested.
The Makefile and the hatch matrix both install through this one script.
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


def install(deps: str) -> None:
    """Install with uv (a dependency of the environment) into ``sys.executable``."""
    command = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", sys.executable]
    for package in PACKAGES:
        command += ["-e", str(ROOT / "packages" / package)]
    for requirements in REQUIREMENTS:
        command += ["-r", str(ROOT / requirements)]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        if deps == "minimum":
            constraints.write("".join(f"{n}=={v}\n" for n, v in sorted(lower_bounds().items())))
            command += ["-c", constraints.name]
    subprocess.run(command, check=True, cwd=ROOT)
    Path(constraints.name).unlink()


if __name__ == "__main__":
    deps = sys.argv[1] if len(sys.argv) > 1 else "latest"
    if deps not in {"latest", "minimum"}:
        sys.exit(f"usage: {sys.argv[0]} [latest|minimum]")
    install(deps)
