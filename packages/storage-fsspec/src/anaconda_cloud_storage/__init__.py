"""The seed's import path, kept working: ``from anaconda_cloud_storage import
AnacondaFileSystem``. Everything here lives in :mod:`anaconda_storage_fsspec`."""

from __future__ import annotations

from anaconda_storage_fsspec import AnacondaFile, AnacondaFileSystem, AnacondaPath

__all__ = ["AnacondaFile", "AnacondaFileSystem", "AnacondaPath"]
