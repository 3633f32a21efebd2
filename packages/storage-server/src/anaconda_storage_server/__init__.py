"""anaconda-storage-server: a local server speaking the Anaconda Cloud Storage API.

`create_app` builds the ASGI application over a data directory; `LocalServer` runs the real
server in a subprocess (tests, demos, benchmarks), `ThreadedServer` on a thread of the
caller. They are imported on first use, so the `users add` command, which imports this
package, stays free of Starlette and starts fast.
"""

from __future__ import annotations

from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

__version__ = _version("anaconda-storage-server")

if TYPE_CHECKING:
    from anaconda_storage_server.app import create_app
    from anaconda_storage_server.testing import LocalServer
    from anaconda_storage_server.threaded import ThreadedServer

__all__ = ["LocalServer", "ThreadedServer", "__version__", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from anaconda_storage_server.app import create_app

        return create_app
    if name == "LocalServer":
        from anaconda_storage_server.testing import LocalServer

        return LocalServer
    if name == "ThreadedServer":
        from anaconda_storage_server.threaded import ThreadedServer

        return ThreadedServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
