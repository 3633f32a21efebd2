"""anaconda-storage-core: the Anaconda Cloud Storage client, sync and async.

    >>> from anaconda_storage_core import StorageClient
    >>> with StorageClient() as client:  # after `anaconda login`, or with ANACONDA_CLOUD_API_KEY
    ...     client.upload("alice/sales/q1.csv", b"a,b\\n1,2\\n")
    ...     client.read_bytes("alice/sales/q1.csv#-1")   # the previous revision

Modules: `uri` (the URI grammar), `permission` (chmod strings), `attributes` (chattr rules),
`config` (where settings come from), `errors` (the exception tree), `models` (what the API
answers), `operations` (each API call as a request builder and a response parser),
`transfer` (uploads and downloads), `client` / `async_client` (the two clients).

Names are imported on first use (PEP 562): importing a light module such as
`anaconda_storage_core.uri` (the local server's `users add` does) runs this file, and must
not load httpx and both clients.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from .async_client import AsyncStorageClient as AsyncStorageClient
    from .async_runner import AsyncContentStream as AsyncContentStream
    from .attributes import FileAttributes as FileAttributes
    from .attributes import InvalidAttribute as InvalidAttribute
    from .attributes import ProjectAttributes as ProjectAttributes
    from .attributes import validate_file_attributes as validate_file_attributes
    from .attributes import validate_project_attributes as validate_project_attributes
    from .client import StorageClient as StorageClient
    from .config import DEFAULT_API_VERSION as DEFAULT_API_VERSION
    from .config import DEFAULT_DOMAIN as DEFAULT_DOMAIN
    from .config import ApiKeyDomainMismatch as ApiKeyDomainMismatch
    from .config import StorageConfig as StorageConfig
    from .config import resolve_config as resolve_config
    from .errors import AuthenticationRequired as AuthenticationRequired
    from .errors import ChecksumMismatch as ChecksumMismatch
    from .errors import Conflict as Conflict
    from .errors import InsufficientStorage as InsufficientStorage
    from .errors import InvalidRequest as InvalidRequest
    from .errors import NotFound as NotFound
    from .errors import PermissionDenied as PermissionDenied
    from .errors import PreconditionFailed as PreconditionFailed
    from .errors import RangeNotSatisfiable as RangeNotSatisfiable
    from .errors import ReadOnlyError as ReadOnlyError
    from .errors import RequestTooLarge as RequestTooLarge
    from .errors import ServerError as ServerError
    from .errors import StorageConnectionError as StorageConnectionError
    from .errors import StorageError as StorageError
    from .history import DeletedProject as DeletedProject
    from .history import DiffEntry as DiffEntry
    from .history import FileState as FileState
    from .history import LogEntry as LogEntry
    from .history import LogSource as LogSource
    from .history import Restoration as Restoration
    from .history import RestoreChange as RestoreChange
    from .models import Account as Account
    from .models import Checkpoint as Checkpoint
    from .models import ContentInfo as ContentInfo
    from .models import CopiedFile as CopiedFile
    from .models import CopyResult as CopyResult
    from .models import DeleteResult as DeleteResult
    from .models import DirectoryInfo as DirectoryInfo
    from .models import Entry as Entry
    from .models import FileInfo as FileInfo
    from .models import FileRead as FileRead
    from .models import Grant as Grant
    from .models import Health as Health
    from .models import Owner as Owner
    from .models import Page as Page
    from .models import Permissions as Permissions
    from .models import Project as Project
    from .models import ProjectInfo as ProjectInfo
    from .models import Revision as Revision
    from .models import Upload as Upload
    from .models import UploadPart as UploadPart
    from .permission import InvalidPermission as InvalidPermission
    from .permission import PermissionChange as PermissionChange
    from .permission import implied_levels as implied_levels
    from .permission import parse_permission as parse_permission
    from .permission import parse_permissions as parse_permissions
    from .retry import RetryPolicy as RetryPolicy
    from .runner import ContentStream as ContentStream
    from .transfer.resume import MultipartUpload as MultipartUpload
    from .transfer.upload import UploadSettings as UploadSettings
    from .uri import CheckpointRef as CheckpointRef
    from .uri import InvalidURI as InvalidURI
    from .uri import Relative as Relative
    from .uri import RevisionRef as RevisionRef
    from .uri import StorageURI as StorageURI
    from .uri import TimePoint as TimePoint
    from .uri import VersionId as VersionId
    from .uri import format_uri as format_uri
    from .uri import has_trailing_slash as has_trailing_slash
    from .uri import parse_uri as parse_uri
    from .uri import redact_uri as redact_uri

# Each public name and the module that defines it.
_EXPORTS = {
    "Account": "models",
    "ApiKeyDomainMismatch": "config",
    "AsyncContentStream": "async_runner",
    "AsyncStorageClient": "async_client",
    "AuthenticationRequired": "errors",
    "Checkpoint": "models",
    "CheckpointRef": "uri",
    "ChecksumMismatch": "errors",
    "Conflict": "errors",
    "ContentInfo": "models",
    "ContentStream": "runner",
    "CopiedFile": "models",
    "CopyResult": "models",
    "DEFAULT_API_VERSION": "config",
    "DEFAULT_DOMAIN": "config",
    "DeleteResult": "models",
    "DeletedProject": "history",
    "DiffEntry": "history",
    "DirectoryInfo": "models",
    "Entry": "models",
    "FileAttributes": "attributes",
    "FileInfo": "models",
    "FileRead": "models",
    "FileState": "history",
    "Grant": "models",
    "Health": "models",
    "InsufficientStorage": "errors",
    "InvalidAttribute": "attributes",
    "InvalidPermission": "permission",
    "InvalidRequest": "errors",
    "InvalidURI": "uri",
    "LogEntry": "history",
    "LogSource": "history",
    "MultipartUpload": "transfer.resume",
    "NotFound": "errors",
    "Owner": "models",
    "Page": "models",
    "PermissionChange": "permission",
    "PermissionDenied": "errors",
    "Permissions": "models",
    "PreconditionFailed": "errors",
    "Project": "models",
    "ProjectAttributes": "attributes",
    "ProjectInfo": "models",
    "RangeNotSatisfiable": "errors",
    "ReadOnlyError": "errors",
    "Relative": "uri",
    "RequestTooLarge": "errors",
    "Restoration": "history",
    "RestoreChange": "history",
    "RetryPolicy": "retry",
    "Revision": "models",
    "RevisionRef": "uri",
    "ServerError": "errors",
    "StorageClient": "client",
    "StorageConfig": "config",
    "StorageConnectionError": "errors",
    "StorageError": "errors",
    "StorageURI": "uri",
    "TimePoint": "uri",
    "Upload": "models",
    "UploadPart": "models",
    "UploadSettings": "transfer.upload",
    "VersionId": "uri",
    "format_uri": "uri",
    "has_trailing_slash": "uri",
    "implied_levels": "permission",
    "parse_permission": "permission",
    "parse_permissions": "permission",
    "parse_uri": "uri",
    "redact_uri": "uri",
    "resolve_config": "config",
    "validate_file_attributes": "attributes",
    "validate_project_attributes": "attributes",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # found once; later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return list(__all__)  # the public API, loaded or not
