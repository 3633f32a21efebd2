"""`python -m anaconda_storage_server`: the same command line as `anaconda-storage-server`."""

from __future__ import annotations

import sys

from anaconda_storage_server.cli import main

if __name__ == "__main__":
    sys.exit(main())
