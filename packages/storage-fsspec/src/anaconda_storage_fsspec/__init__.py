"""anaconda-storage-fsspec: the ``anaconda://`` fsspec filesystem and UPath class.

    >>> import pandas as pd
    >>> df = pd.read_csv("anaconda://alice/sales/2024/q1.csv")
    >>> from upath import UPath
    >>> UPath("anaconda://alice/sales/2024").glob("*.csv")

fsspec finds :class:`AnacondaFileSystem` through the ``fsspec.specs`` entry point and
universal-pathlib finds :class:`AnacondaPath` through ``universal_pathlib.implementations``;
importing this package registers both as well.
"""

from __future__ import annotations

from importlib.metadata import version as _version

from .files import AnacondaFile
from .filesystem import AnacondaFileSystem
from .path import AnacondaPath

__version__ = _version("anaconda-storage-fsspec")

__all__ = ["AnacondaFile", "AnacondaFileSystem", "AnacondaPath", "__version__"]
