"""Sync: make a destination directory hold what a source directory holds, sending only what
differs by content (sha256).

- :mod:`.plan`: :func:`plan_sync`, the pure comparison of two listings (copy, skip, delete),
  with ``--delete`` and gitignore-style filters (:class:`PathFilter`);
- :mod:`.listings`: a local directory's listing (:func:`local_listing`) and a remote one's
  (:func:`remote_listing`, one paged tree listing, digests included);
- :mod:`.hashes`: :class:`HashCache`, local digests remembered by path, size, mtime and
  inode, so a second run reads no unchanged file.

    >>> from anaconda_storage_core import StorageClient
    >>> from anaconda_storage_core.sync import HashCache, local_listing, plan_sync, remote_listing
    >>> with StorageClient() as client, HashCache("data") as cache:
    ...     local = local_listing("data")
    ...     plan = plan_sync(local.entries, remote_listing(client, "alice/sales/data"),
    ...                      source_digest=local.digest_with(cache))
    ...     [step.path for step in plan.copies]   # what differs: upload these

Running the plan (uploading, downloading, copying on the server) is the caller's: the
``anaconda storage sync`` command is one such caller.
"""

from __future__ import annotations

from .hashes import EMPTY_SHA256, HashCache, default_cache_dir, file_sha256
from .listings import KEEP, LocalListing, local_listing, remote_listing
from .plan import Action, PathFilter, SyncAction, SyncEntry, SyncPlan, plan_sync

__all__ = [
    "EMPTY_SHA256",
    "KEEP",
    "Action",
    "HashCache",
    "LocalListing",
    "PathFilter",
    "SyncAction",
    "SyncEntry",
    "SyncPlan",
    "default_cache_dir",
    "file_sha256",
    "local_listing",
    "plan_sync",
    "remote_listing",
]
