"""anaconda-storage-fsspec."""

from __future__ import annotations

from importlib.metadata import version as _version

__version__ = _version("anaconda-storage-fsspec")

__all__ = ["__version__"]
