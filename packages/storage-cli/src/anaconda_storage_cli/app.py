"""``anaconda storage``: the typer app that anaconda-cli-base loads as a plugin.

This module only wires: the commands live one module per group under
``anaconda_storage_cli.commands``, their shared options in ``options``, their output in
``output``, and the exception table in ``errors``. The ``anaconda`` CLI imports every plugin
on every run, so nothing heavy is imported here: the core client, httpx and fsspec are
imported inside the commands that use them.
"""

from __future__ import annotations

import difflib
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from anaconda_storage_cli.commands import browse, change, history, projects, sync, transfer
from anaconda_storage_cli.completion import enable_shell_completion
from anaconda_storage_cli.errors import ExitCode
from anaconda_storage_cli.help import HELP_OPTIONS, LONG_HELP_ONLY, StorageCommand

__all__ = ["app"]

# The framework's own exceptions (usage errors, --help's exit, a declined prompt) pass
# through: typer handles them. Typer 0.29 vendors click, so they are found through typer.
_CLICK_EXCEPTION: type[Exception] = next(
    kind for kind in typer.BadParameter.__mro__ if kind.__name__ == "ClickException"
)
_PASS_THROUGH: tuple[type[BaseException], ...] = (_CLICK_EXCEPTION, typer.Exit, typer.Abort)


class StorageGroup(TyperGroup):
    """The ``storage`` group: every command runs inside the one error choke point.

    Any exception a command raises becomes a one-line ``error: ...`` on stderr and the exit
    code of its row in ``errors.error_table()``; never a traceback, unless
    ``ANACONDA_STORAGE_DEBUG=1`` (or ``anaconda --verbose``) asks for one.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except BrokenPipeError:
            # `anaconda storage cat o/p/f | head`: the reader left; that is not an error.
            _silence_stdout()
            ctx.exit(ExitCode.BROKEN_PIPE)
        except (Exception, KeyboardInterrupt) as exc:
            ctx.exit(_report(exc, verbose=bool(ctx.find_root().params.get("verbose"))))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _CLICK_EXCEPTION as exc:
            # `anaconda storage cpy`: suggest the nearest command.
            name = args[0] if args else ""
            matches = difflib.get_close_matches(name, self.list_commands(ctx), n=2)
            message = getattr(exc, "message", None)
            known = isinstance(message, str) and "Did you mean" in message
            if matches and isinstance(message, str) and not known and not name.startswith("-"):
                exc.message = f"{message.rstrip('.')}. Did you mean {' or '.join(matches)}?"  # type: ignore[attr-defined]
            raise


def _silence_stdout() -> None:
    # Python would report the broken pipe again when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _report(exc: BaseException, *, verbose: bool) -> int:
    from anaconda_storage_cli import errors
    from anaconda_storage_cli.output import error_console

    console = error_console()
    if verbose or errors.debug_enabled():
        console.print(errors.format_traceback(exc), markup=False, end="")
    from rich.markup import escape

    console.print(f"[bold red]error:[/bold red] {escape(errors.describe(exc))}")
    return int(errors.exit_code_of(exc))


app = typer.Typer(
    name="storage",
    cls=StorageGroup,
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
    help="Anaconda Cloud Storage: versioned, permissioned files, from the terminal.",
    epilog=(
        "Paths are owner/project/path, anaconda:// optional; owner/project#<checkpoint>/path"
        " and owner/project/path#<revision> read history. Run `anaconda storage COMMAND"
        " --help` for examples."
    ),
)


@app.callback()
def storage() -> None:
    """Anaconda Cloud Storage: versioned, permissioned files, from the terminal.

    Paths are owner/project/path, anaconda:// optional; add #<checkpoint> to the project or
    #<revision> to a file to read history.
    """


def _examples(lines: tuple[str, ...]) -> str:
    return "Examples:\n\n" + "\n\n".join(f"  $ {line}" for line in lines)


_PANELS = {
    browse: "Read",
    transfer: "Copy and transfer",
    sync: "Copy and transfer",
    change: "Change files",
    projects: "Projects",
    history: "History",
}
# `ls -h` is human sizes, as in GNU ls; `ls --help` still helps.
_SETTINGS = {"ls": LONG_HELP_ONLY}
enable_shell_completion()

for _module, _panel in _PANELS.items():
    for _name, (_function, _lines) in _module.COMMANDS.items():
        app.command(
            name=_name,
            cls=StorageCommand,
            context_settings=_SETTINGS.get(_name),
            epilog=_examples(_lines),
            rich_help_panel=_panel,
        )(_function)
