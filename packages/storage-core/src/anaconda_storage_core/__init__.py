"""anaconda-storage-core: the Anaconda Cloud Storage client, sync and async.

    >>> from anaconda_storage_core import StorageClient
    >>> with StorageClient() as client:  # after `anaconda login`, or with ANACONDA_CLOUD_API_KEY
    ...     client.upload("alice/sales/q1.csv", b"a,b\\n1,2\\n")
    ...     client.read_bytes("alice/sales/q1.csv#-1")   # the previous revision

Modules: `uri` (the URI grammar), `permission` (chmod strings), `attributes` (chattr rules),
`config` (where settings come from), `errors` (the exception tree), `models` (what the API
answers), `operations` (each API call as a request builder and a response parser),
`transfer` (uploads and downloads), `client` / `async_client` (the two clients).
"""

from __future__ import annotations

from ._version import __version__
from .async_client import AsyncStorageClient
from .async_runner import AsyncContentStream
from .attributes import (
    FileAttributes,
    InvalidAttribute,
    ProjectAttributes,
    validate_file_attributes,
    validate_project_attributes,
)
from .client import StorageClient
from .config import DEFAULT_API_VERSION, DEFAULT_DOMAIN, StorageConfig, resolve_config
from .errors import (
    AuthenticationRequired,
    ChecksumMismatch,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RangeNotSatisfiable,
    ReadOnlyError,
    RequestTooLarge,
    ServerError,
    StorageConnectionError,
    StorageError,
)
from .models import (
    Account,
    Checkpoint,
    ContentInfo,
    CopiedFile,
    CopyResult,
    DeleteResult,
    DirectoryInfo,
    Entry,
    FileInfo,
    Grant,
    Health,
    Owner,
    Page,
    Permissions,
    Project,
    ProjectInfo,
    Revision,
    Upload,
    UploadPart,
)
from .permission import (
    InvalidPermission,
    PermissionChange,
    implied_levels,
    parse_permission,
    parse_permissions,
)
from .retry import RetryPolicy
from .runner import ContentStream
from .transfer.upload import UploadSettings
from .uri import (
    CheckpointRef,
    InvalidURI,
    Relative,
    RevisionRef,
    StorageURI,
    TimePoint,
    VersionId,
    format_uri,
    has_trailing_slash,
    parse_uri,
    redact_uri,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_DOMAIN",
    "Account",
    "AsyncContentStream",
    "AsyncStorageClient",
    "AuthenticationRequired",
    "Checkpoint",
    "CheckpointRef",
    "ChecksumMismatch",
    "Conflict",
    "ContentInfo",
    "ContentStream",
    "CopiedFile",
    "CopyResult",
    "DeleteResult",
    "DirectoryInfo",
    "Entry",
    "FileAttributes",
    "FileInfo",
    "Grant",
    "Health",
    "InvalidAttribute",
    "InvalidPermission",
    "InvalidRequest",
    "InvalidURI",
    "NotFound",
    "Owner",
    "Page",
    "PermissionChange",
    "PermissionDenied",
    "Permissions",
    "PreconditionFailed",
    "Project",
    "ProjectAttributes",
    "ProjectInfo",
    "RangeNotSatisfiable",
    "ReadOnlyError",
    "Relative",
    "RequestTooLarge",
    "RetryPolicy",
    "Revision",
    "RevisionRef",
    "ServerError",
    "StorageClient",
    "StorageConfig",
    "StorageConnectionError",
    "StorageError",
    "StorageURI",
    "TimePoint",
    "Upload",
    "UploadPart",
    "UploadSettings",
    "VersionId",
    "__version__",
    "format_uri",
    "has_trailing_slash",
    "implied_levels",
    "parse_permission",
    "parse_permissions",
    "parse_uri",
    "redact_uri",
    "resolve_config",
    "validate_file_attributes",
    "validate_project_attributes",
]
