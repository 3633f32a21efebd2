"""Telling what a write did when its answer was lost, from the file's history.

A write sent again after an attempt whose answer was lost (see `retry.send`) may find that
attempt's change made. The second answer then reports the state the first one left: an
exclusive create (`If-None-Match: *`) or a compare-and-swap (`If-Match`) answers `412`, a
multipart completion `404 missing=upload` (the first consumed the session), a deletion
`404 missing=path`, although the change the caller asked for is there. The Storage API has
no idempotency keys, so these flows read the path's two latest revisions (docs/api.md,
"History": every change is a revision, deletions included) and report the change as done
only when the history shows it made by this caller:

- a write: the current revision has the sha256 of the bytes sent, was created by the
  caller, and follows what the condition required: the `If-Match` revision itself, or
  (`If-None-Match: *`) no live file, the path being new or deleted before. Its `FileInfo`
  (read at that revision) is the result.
- a deletion: the current revision is a deletion created by the caller (with `If-Match`:
  the deletion of that revision).

Otherwise the error stands. So does it when the change was made and someone changed the
path again before the history was read: a write reported failed that was made is the safe
side of a conditional write, whose caller reads the path and decides again.

What the history cannot tell apart: the same caller (another process with the same key)
making the same change in between, with the same bytes on the same base revision. Both
writers are then told they succeeded; a lock taken by exclusive create should hold
something unique to its holder (a host name and process id, a UUID).

A deletion without `If-Match` is settled as done when the path's latest revision is a
deletion by the caller, without knowing whether it is this request's: like S3 (where
`DELETE` of a missing key succeeds) and rclone, a delete whose retry finds the file gone
is a delete that worked. A path that never held a file, or whose deletion someone else
made, still raises `NotFound`.

Deleting many files by name answers success either way: a retry reports what the lost
attempt deleted as `missing`. `review_deletions` reads the history of each path reported
missing (only then, and at most `REVIEW_LIMIT` at once) and counts it deleted on the same
rule. Deleting by prefix cannot be reviewed: the retry names no path, and nothing lists
the files a prefix held; what the lost attempt deleted is then reported as neither.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .effects import Flow, Gather
from .errors import NotFound, PreconditionFailed, StorageError
from .models import DeleteResult, FileInfo, Revision
from .operations.account import get_account
from .operations.call import Api
from .operations.files import get_file_info, list_revisions
from .retry import RetryPolicy, Review, Settle, send

__all__ = ["review_deletions", "settle_delete", "settle_write"]

REVIEW_LIMIT = 8
"""The most histories read at once to review a deletion of many files."""

logger = logging.getLogger("anaconda_storage_core")


def _revision_id(etag: str) -> str:
    return etag.removeprefix("W/").strip('"')


def _latest(
    api: Api, policy: RetryPolicy, owner: str, project: str, path: str
) -> Flow[tuple[Revision, Revision | None] | None]:
    """The path's current revision and the one before it; None if it has no history."""
    try:
        page = yield from send(list_revisions(api, owner, project, path, limit=2), policy)
    except NotFound:
        return None
    if not page.items:
        return None
    return page.items[0], (page.items[1] if len(page.items) > 1 else None)


def _by_caller(api: Api, policy: RetryPolicy, revision: Revision) -> Flow[bool]:
    if revision.created_by is None:
        return False  # the account is not asked for: nothing to compare it with
    return _made_by(revision, (yield from _caller(api, policy)))


def _made_by(revision: Revision, caller: str) -> bool:
    return revision.created_by is not None and revision.created_by.id == caller


def _caller(api: Api, policy: RetryPolicy) -> Flow[str]:
    account = yield from send(get_account(api), policy)
    return account.id


def _follows(before: Revision | None, if_match: str | None, if_none_match: str | None) -> bool:
    """Whether a revision after `before` is one the conditions allowed to be written."""
    if if_match is not None:
        if before is None or before.deleted:
            return False
        if if_match != "*" and before.id != _revision_id(if_match):
            return False
    if if_none_match is not None:
        if if_none_match != "*":
            return False  # a list of revisions: a retry after success would not get 412
        if before is not None and not before.deleted:
            return False
    return True


def settle_write(
    api: Api,
    policy: RetryPolicy,
    owner: str,
    project: str,
    path: str,
    sha256: Callable[[], str | None],
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> Settle[FileInfo]:
    """How to settle a write of `path` (a `PUT`, a multipart completion) sent again.

    Args:
        sha256: The sha256 of the content sent (called only when needed: a multipart
            upload of a local file reads the file again for it); None if unknown.
        if_match, if_none_match: The write's conditions.

    Returns:
        A `Settle` for `retry.send`: the written revision's `FileInfo`, or the error.
    """

    def settle(error: StorageError) -> Flow[FileInfo]:
        lost = isinstance(error, PreconditionFailed) or (
            isinstance(error, NotFound) and error.missing == "upload"
        )
        if not lost:
            raise error
        latest = yield from _latest(api, policy, owner, project, path)
        if latest is None:
            raise error
        current, before = latest
        if current.deleted or not _follows(before, if_match, if_none_match):
            raise error
        expected = sha256()
        if expected is None or current.sha256 != expected:
            raise error
        if not (yield from _by_caller(api, policy, current)):
            raise error
        info = yield from send(
            get_file_info(api, owner, project, path, revision=current.id), policy
        )
        if not isinstance(info, FileInfo):
            raise error
        logger.info(
            "%s/%s/%s: the answer to a write was lost and its retry failed (%s); the"
            " history shows the write made, as revision %s",
            owner,
            project,
            path,
            error.status,
            current.id,
        )
        return info

    return settle


def settle_delete(
    api: Api,
    policy: RetryPolicy,
    owner: str,
    project: str,
    path: str,
    *,
    if_match: str | None = None,
) -> Settle[None]:
    """How to settle a deletion of the file `path` sent again (a directory's: its marker
    `dir/.keep`).

    Returns:
        A `Settle` for `retry.send`: None (deleted), or the error.
    """

    def settle(error: StorageError) -> Flow[None]:
        if not (isinstance(error, NotFound) and error.missing == "path"):
            raise error
        latest = yield from _latest(api, policy, owner, project, path)
        if latest is None:
            raise error
        current, before = latest
        if not current.deleted or not _follows(before, if_match, None):
            raise error
        if not (yield from _by_caller(api, policy, current)):
            raise error
        logger.info(
            "%s/%s/%s: the answer to a deletion was lost and its retry found no file; the"
            " history shows it deleted, as revision %s",
            owner,
            project,
            path,
            current.id,
        )
        return None

    return settle


def review_deletions(
    api: Api, policy: RetryPolicy, owner: str, project: str
) -> Review[DeleteResult]:
    """How to review a deletion of many files by name sent again: the paths its answer
    reports missing whose latest revision is a deletion by the caller count as deleted.

    Returns:
        A `Review` for `retry.send`.
    """

    def deleted_by(caller: str, path: str) -> Flow[bool]:
        latest = yield from _latest(api, policy, owner, project, path)
        if latest is None:
            return False
        current, _ = latest
        return current.deleted and _made_by(current, caller)

    def review(result: DeleteResult) -> Flow[DeleteResult]:
        if not result.missing:
            return result
        caller = yield from _caller(api, policy)
        found: list[bool] = yield Gather(
            (deleted_by(caller, path) for path in result.missing), limit=REVIEW_LIMIT
        )
        settled = [path for path, gone in zip(result.missing, found, strict=True) if gone]
        if not settled:
            return result
        logger.info(
            "%s/%s: the answer to a deletion of many files was lost; the history shows %d"
            " of the %d paths its retry found missing deleted by this caller",
            owner,
            project,
            len(settled),
            len(result.missing),
        )
        gone_now = set(settled)
        return DeleteResult(
            deleted=result.deleted + tuple(settled),
            missing=tuple(p for p in result.missing if p not in gone_now),
        )

    return review
