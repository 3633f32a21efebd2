"""What ``upload`` says about resuming: that a file continues an earlier, interrupted upload,
and, when this one ends early, what the server keeps of each file.

A file that goes in parts (larger than the multipart threshold) is resumable: the core
client keeps the session whatever interrupts it (Ctrl-C, a dropped network, a killed
process) and tells, through ``on_multipart``, what the server holds (a ``MultipartUpload``
it keeps current). Running the same command again continues from there. The parts in flight
when it stops are lost: a part is kept once all of it arrived.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from anaconda_storage_cli.formats import human_size
from anaconda_storage_cli.output import Output

if TYPE_CHECKING:
    from anaconda_storage_core import MultipartUpload

__all__ = ["Resumable"]

AGAIN = "run the same command again to resume"


class Resumable:
    """The multipart uploads of one run, by source, until each is done."""

    def __init__(self, output: Output) -> None:
        self._output = output
        self._lock = threading.Lock()
        self._open: dict[str, MultipartUpload] = {}

    def watch(self, source: str) -> Callable[[MultipartUpload], None]:
        """The ``on_multipart`` callback for the upload of ``source``."""

        def started(state: MultipartUpload) -> None:
            with self._lock:
                self._open[source] = state
            if state.resumed:
                self._output.info(
                    f"resuming {source}: {human_size(state.kept)} of"
                    f" {human_size(state.size)} already on the server"
                )

        return started

    def done(self, source: str) -> None:
        """The upload of ``source`` completed: its session is gone."""
        with self._lock:
            self._open.pop(source, None)

    def interrupted(self) -> None:
        """Say what the server keeps of each upload the interruption stopped."""
        for source, state in self._unfinished():
            if state.kept:
                self._output.info(
                    f"interrupted: {human_size(state.kept)} of {source} kept on the server, {AGAIN}"
                )
            else:
                self._output.info(
                    f"interrupted: no part of {source} had reached the server yet"
                    " (a part is kept once all of it arrived)"
                )

    def failed(self) -> None:
        """Say what the server keeps of each upload that failed (a dropped network)."""
        for source, state in self._unfinished():
            if state.kept:
                self._output.info(
                    f"{human_size(state.kept)} of {source} kept on the server, {AGAIN}"
                )

    def _unfinished(self) -> list[tuple[str, MultipartUpload]]:
        with self._lock:
            return sorted(self._open.items())
