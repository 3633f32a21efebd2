"""The installed distribution's version."""

from __future__ import annotations

from importlib.metadata import version as _version

__version__ = _version("anaconda-storage-core")
