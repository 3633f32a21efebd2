"""Virtual directories: `/api/storage/projects/{o}/{p}/directories/{path}`."""

from __future__ import annotations

from ..models import DirectoryInfo
from .call import Api, Call, location, parse_json, parse_nothing, project_route, quote_path

__all__ = ["make_directory", "remove_directory"]


def make_directory(api: Api, owner: str, project: str, path: str) -> Call[DirectoryInfo]:
    """`PUT .../directories/{path}`: writes the marker `{path}/.keep` unless the directory
    exists (`Conflict` if a file has that path)."""
    target = location(owner, project, path)
    return Call(
        api.request("PUT", f"{project_route(owner, project)}/directories/{quote_path(path)}"),
        parse_json(DirectoryInfo.from_json, target),
        idempotent=True,
        target=target,
    )


def remove_directory(api: Api, owner: str, project: str, path: str) -> Call[None]:
    """`DELETE .../directories/{path}`: deletes the marker of a directory that holds nothing
    else (`Conflict` otherwise, `NotFound` if there is no such directory)."""
    target = location(owner, project, path)
    return Call(
        api.request("DELETE", f"{project_route(owner, project)}/directories/{quote_path(path)}"),
        parse_nothing(target),
        idempotent=True,
        target=target,
    )
