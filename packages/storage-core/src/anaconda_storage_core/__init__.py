"""anaconda-storage-core."""

from __future__ import annotations

from importlib.metadata import version as _version

__version__ = _version("anaconda-storage-core")

__all__ = ["__version__"]
