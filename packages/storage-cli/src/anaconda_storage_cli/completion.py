"""Shell completion: typer's, for commands and options, plus remote paths.

The ``anaconda`` app is made without typer's completion options, and typer only registers
its shell classes (bash, zsh, fish, PowerShell) when an app asks for them; this module does
it, so that ``eval "$(_ANACONDA_COMPLETE=source_bash anaconda)"`` works. Remote path
arguments complete owners, projects and directories from the server, quietly: a completion
that fails (no network, not logged in) offers nothing rather than an error.
"""

from __future__ import annotations

import re

import typer

__all__ = [
    "REMOTE_COMPLETION",
    "complete_remote_path",
    "enable_shell_completion",
    "remote_completer",
]

# A completion runs while the user waits at the prompt: answer fast or not at all.
_TIMEOUT_SECONDS = 3.0
_MAX_SUGGESTIONS = 200


def _typer_version() -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"[0-9]+", typer.__version__)[:3])


REMOTE_COMPLETION = _typer_version() >= (0, 15, 1)
"""Whether remote paths complete. Typer before 0.15.1 reads a parameter's completion
function only under a name it deprecates (``autocompletion``, which warns each time a
command is built); from 0.15.1 that name is the supported one. With an older typer,
commands and options still complete, paths do not."""


def remote_completer() -> dict[str, object]:
    """The keyword arguments that give a ``typer.Argument`` remote path completion."""
    return {"autocompletion": complete_remote_path} if REMOTE_COMPLETION else {}


def enable_shell_completion() -> None:
    """Register typer's shell completion classes (what an app with completion does)."""
    import typer.completion

    # Public in typer.completion (the module typer's own --install-completion uses), though
    # not in its __all__.
    completion_init = getattr(typer.completion, "completion_init", None)
    if completion_init is not None:
        completion_init()


def complete_remote_path(incomplete: str) -> list[str]:
    """Remote paths that start with ``incomplete``: owners, projects, directories, files.

    Args:
        incomplete: What the user has typed so far (``alice/sa``, ``anaconda://alice/``).

    Returns:
        Completions; directories and projects end with ``/`` so that completion goes on.
    """
    try:
        return _complete(incomplete)
    except Exception:  # a completion never fails loudly
        return []


def _complete(incomplete: str) -> list[str]:
    from anaconda_storage_core import DirectoryInfo, StorageClient, parse_uri

    scheme = "anaconda://" if incomplete.lower().startswith("anaconda://") else ""
    typed = incomplete[len(scheme) :]
    parent, slash, partial = typed.rpartition("/")
    base = f"{scheme}{parent}{slash}"
    uri = parse_uri(parent)
    with StorageClient(timeout=_TIMEOUT_SECONDS, retry=1) as client:
        names: list[str] = []
        if uri.is_root:
            names = [f"{owner.name}/" for owner in client.list_owners()]
        elif uri.is_owner:
            names = [f"{project.name}/" for project in client.list_projects(uri)]
        else:
            start = f"{uri.path}/" if uri.path else ""
            for entry in client.list_tree(uri, prefix=partial, delimiter="/"):
                name = entry.path[len(start) :] if entry.path.startswith(start) else entry.path
                names.append(name + "/" if isinstance(entry, DirectoryInfo) else name)
                if len(names) >= _MAX_SUGGESTIONS:
                    break
    return [base + name for name in names if name.startswith(partial)]
