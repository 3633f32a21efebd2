"""Resuming a multipart upload of a local file: finding what an earlier, interrupted upload
left on the server, and keeping count of what the server holds.

An upload interrupted in any way (Ctrl-C, a cancelled task, a dropped network, a killed
process, a server killed and restarted) leaves its session on the server with every part
the server saved; nothing on the client's side discards it. The parts in flight at that
moment are lost (the server keeps a part only once all of it arrived and was checked): at
most `concurrency` parts of `part_size` bytes. Run again, the upload of the same local file
to the same path finds the session (`GET uploads?path=`, newest first), keeps the parts
whose size and sha256 match the file's, and sends only the others.

Only two things discard a session of a local file: the caller's explicit abort
(`abort_upload`), and the server's expiry of sessions left idle (`--upload-expiry`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from ..effects import Flow
from ..locations import FileLocation
from ..models import Upload, UploadPart
from ..operations.call import Api
from ..operations.uploads import get_upload, list_uploads
from ..retry import RetryPolicy, send
from .sources import LocalFile, Progress

__all__ = ["MultipartUpload", "kept_parts", "session_to_resume"]

logger = logging.getLogger("anaconda_storage_core")


@dataclass
class MultipartUpload:
    """A multipart upload of a local file and what the server holds of it, kept current
    while the upload runs (parts are counted once the server has saved and checked them).

    What a caller shows when the upload starts (`resumed`: an earlier upload's parts are
    kept) and when it is interrupted (`kept`: what running it again will not send).

    Attributes:
        upload_id: The session.
        path: The destination path in its project.
        size: The file's size.
        parts: How many parts the file is cut into.
        kept: Bytes the server holds of this file (parts saved and checked).
        kept_parts: How many parts those are.
        resumed: Whether parts that an earlier upload left on the server are kept.
    """

    upload_id: str
    path: str
    size: int
    parts: int
    kept: int = 0
    kept_parts: int = 0
    resumed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def saved(self, part: UploadPart) -> None:
        """Count a part the server saved (parts are sent from several threads at once)."""
        with self._lock:
            self.kept += part.size
            self.kept_parts += 1


def session_to_resume(api: Api, policy: RetryPolicy, where: FileLocation) -> Flow[Upload | None]:
    """The newest session in progress for the path, with its parts, if any."""
    page = yield from send(
        list_uploads(api, where.owner, where.project, path=where.path, limit=10), policy
    )
    for session in page.items:
        if session.path == where.path:
            return (
                yield from send(get_upload(api, where.owner, where.project, session.id), policy)
            )
    return None


def kept_parts(
    session: Upload,
    local: LocalFile,
    layout: list[tuple[int, int, int]],
    progress: Progress | None,
) -> dict[int, UploadPart]:
    """The parts of `session` that hold what the local file holds at their place, by number.

    A part of another size, or whose sha256 differs (the file changed since, or the
    session was another upload's), is sent again.
    """
    places = {number: (start, length) for number, start, length in layout}
    kept: dict[int, UploadPart] = {}
    for held in session.parts:
        start, length = places.get(held.number, (0, -1))
        if held.size == length and held.sha256 == local.sha256(start, length):
            kept[held.number] = held
            if progress:
                progress(length)
    logger.info(
        "resuming the upload of %s: %d of %d parts (%d of %d bytes) already on the server",
        session.path,
        len(kept),
        len(layout),
        sum(part.size for part in kept.values()),
        local.size,
    )
    return kept
