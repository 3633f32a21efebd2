"""anaconda-storage-server."""

from __future__ import annotations

from importlib.metadata import version as _version

__version__ = _version("anaconda-storage-server")

__all__ = ["__version__"]
