"""Write the constraints that pin every declared dependency to its declared lower bound.

`make test` installs the packages a second time under these constraints and runs the
suite again, so every `>=` in a pyproject.toml is a bound that has really been tested.
"""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOWER_BOUND = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)(?:\[[^\]]*\])?\s*>=\s*(?P<version>[^,;\s]+)")


def lower_bounds() -> dict[str, str]:
    """Map each third-party dependency of packages/* to its declared minimum version."""
    bounds: dict[str, str] = {}
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        for requirement in project.get("dependencies", []):
            match = LOWER_BOUND.match(requirement)
            if match:
                bounds[match["name"].lower()] = match["version"]
    return bounds


def main() -> None:
    lines = [f"{name}=={version}" for name, version in sorted(lower_bounds().items())]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
