"""How ``--help`` reads: like git's or rclone's, in one place.

Typer (0.29 at least) prints the Python type of every parameter: ``<bool>`` beside each
flag as if it took a value, ``<list[str]>`` beside ``SRC... DST``, and a usage line of
``{SRC... DST}...``. :class:`StorageCommand`, the class of every command, shows instead:

- a flag as itself (``-n, --dry-run``), an option with a value by its metavar
  (``--jobs N``, ``--exclude PATTERN``);
- an argument by its metavar alone, in the options' table and in the usage line
  (``Usage: anaconda storage cp [OPTIONS] SRC... DST``; ``[PATH]`` when optional).

It does so by giving each parameter a subclass of its own class that overrides only these
renderings; older typers, which render through click's ``make_metavar``, never printed
the types, and get the usage line only. ``-h`` is ``--help`` everywhere (``HELP_OPTIONS``) but
on ``ls``, where ``-h`` means human-readable sizes, as in GNU ls.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand

__all__ = ["HELP_OPTIONS", "LONG_HELP_ONLY", "StorageCommand"]

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
"""The context settings of the ``storage`` group: its commands inherit them."""

LONG_HELP_ONLY = {"help_option_names": ["--help"]}
"""For a command whose ``-h`` means something else (``ls -h``: human sizes)."""


class StorageCommand(TyperCommand):
    """A command whose help shows flags, metavars and a usage line as a person writes them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _plain(param)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            _plain(option)
        return option


def _plain(param: Any) -> None:
    # Every typer gets the usage line's rendering (older ones print an optional argument
    # without its brackets); the type column's only matters where typer renders types.
    param.__class__ = _plain_class(type(param))


_PLAIN: dict[type[Any], type[Any]] = {}


def _plain_class(kind: type[Any]) -> type[Any]:
    if kind in _PLAIN.values():
        return kind
    if kind not in _PLAIN:
        _PLAIN[kind] = _subclass(kind)
    return _PLAIN[kind]


def _subclass(kind: type[Any]) -> type[Any]:
    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if self.param_type_name == "argument" or getattr(self, "is_flag", False):
            return None  # the name (or metavar) says it all; a flag takes no value
        metavar = getattr(self, "metavar", None)
        if metavar is not None:
            return str(metavar)
        return str(kind.display_type_rich(self, ctx))

    def get_usage_pieces(self: Any, ctx: Any) -> list[str]:
        if self.param_type_name != "argument" or self.metavar is None:
            return list(kind.get_usage_pieces(self, ctx))
        return [self.metavar if self.required else f"[{self.metavar}]"]

    return type(
        kind.__name__,
        (kind,),
        {"display_type_rich": display_type_rich, "get_usage_pieces": get_usage_pieces},
    )
