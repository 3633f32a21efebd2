"""Core's models as fsspec info dicts: what ``ls``, ``info`` and ``find`` return.

Every dict has fsspec's ``name`` (an fs path), ``size`` and ``type`` (``"file"`` or
``"directory"``); the rest says what Anaconda Cloud Storage knows. Times are aware
datetimes in UTC under the keys UPath's ``stat()`` reads (``mtime``, ``created``).

The root lists owners and an owner lists projects: both are directories. A project's
``info`` carries its ``checkpoints`` and ``permissions``, a file's its ``revisions`` (the
seed's ``stat``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from anaconda_storage_core.models import (
    Checkpoint,
    DirectoryInfo,
    Entry,
    FileInfo,
    Owner,
    Permissions,
    Project,
    ProjectInfo,
    Revision,
)
from anaconda_storage_core.uri import StorageURI

__all__ = [
    "KEEP",
    "checkpoint_dict",
    "directory_entry",
    "entry_of",
    "owner_entry",
    "permissions_dict",
    "project_entry",
    "project_info_entry",
    "revision_entry",
    "root_entry",
]

Info = dict[str, Any]

KEEP = ".keep"
"""The marker that keeps an empty directory (DESIGN.md): listings show the directory."""


def root_entry() -> Info:
    """The root of the store: lists the owners the caller can see."""
    return {"name": "", "size": 0, "type": "directory"}


def owner_entry(owner: Owner) -> Info:
    """An owner (user or organization): a directory of projects."""
    return {"name": owner.name, "size": 0, "type": "directory", "kind": owner.kind, "id": owner.id}


def project_entry(project: Project, name: str | None = None) -> Info:
    """A project as listed under its owner (``name`` overrides its fs path)."""
    return {
        "name": name or project.full_name,
        "size": project.size,
        "type": "directory",
        "id": project.id,
        "owner": project.owner.name,
        "title": project.title,
        "description": project.description,
        "tags": list(project.tags),
        "hidden": project.hidden,
        "file_count": project.file_count,
        "access": project.access,
        "created": project.created_at,
        "mtime": project.updated_at,
    }


def checkpoint_dict(checkpoint: Checkpoint) -> Info:
    """A checkpoint: its ``id`` (the UUID to write after ``#``), when, by whom, why."""
    return {
        "id": checkpoint.id,
        "created": checkpoint.created_at,
        "created_by": checkpoint.created_by.name if checkpoint.created_by else None,
        "message": checkpoint.message,
    }


def permissions_dict(permissions: Permissions) -> Info:
    """Who owns a project and who else may read (``r``) or write (``w``) it."""
    return {
        "owner": permissions.owner.name,
        "owner_kind": permissions.owner.kind,
        "grants": [
            {"principal": g.principal.name, "kind": g.principal.kind, "level": g.level}
            for g in permissions.grants
        ],
    }


def project_info_entry(project: ProjectInfo, name: str) -> Info:
    """A project's ``info``: its entry, with its checkpoints (newest first) and
    permissions."""
    info = project_entry(project, name)
    info["checkpoints"] = [checkpoint_dict(c) for c in project.checkpoints]
    info["permissions"] = permissions_dict(project.permissions) if project.permissions else None
    return info


def directory_entry(name: str) -> Info:
    """A virtual directory."""
    return {"name": name, "size": 0, "type": "directory"}


def file_entry(file: FileInfo, name: str) -> Info:
    """A file at the revision described by ``file``."""
    return {
        "name": name,
        "size": file.size,
        "type": "file",
        "revision": file.revision,
        "sha256": file.sha256,
        "mtime": file.modified,
        "created": file.created_at,
        "modified_by": file.modified_by.name if file.modified_by else None,
        "description": file.description,
        "metadata": dict(file.metadata),
    }


def entry_of(entry: Entry, name: str) -> Info:
    """The info dict of a tree entry or a file's metadata, named ``name``."""
    if isinstance(entry, DirectoryInfo):
        return directory_entry(name)
    return file_entry(entry, name)


def revision_entry(revision: Revision, uri: StorageURI) -> Info:
    """One revision of the file ``uri``, named with its UUID (``owner/project/f#<uuid>``),
    which reads that revision back."""
    return {
        "name": uri.with_revision(revision.id).fs_path,
        "size": revision.size,
        "type": "file",
        "revision": revision.id,
        "index": revision.index,
        "deleted": revision.deleted,
        "sha256": revision.sha256,
        "mtime": revision.created_at,
        "created_by": revision.created_by.name if revision.created_by else None,
        "description": revision.description,
        "metadata": dict(revision.metadata),
    }


def revision_dicts(revisions: Iterable[Revision], uri: StorageURI) -> list[Info]:
    """Revisions as listed in a file's ``info`` (newest first)."""
    return [revision_entry(r, uri) for r in revisions]
