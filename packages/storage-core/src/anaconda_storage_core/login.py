"""What `anaconda login` and the Anaconda config file say: the one module that uses anaconda-auth.

anaconda-auth (the maintained successor of anaconda-cloud-auth) reads
`~/.anaconda/config.toml` (`[plugin.auth]`: `domain`, `api_key`, `ssl_verify`,
`extra_headers`) and keeps the token `anaconda login` stored in its keyring, by domain.
This module reads both through its public classes, lazily: importing it costs nothing, and
nothing here touches the network (the OIDC discovery of anaconda-auth is never reached).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LoginSettings", "configured", "login_settings", "stored_token"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginSettings:
    """The settings found in the Anaconda config file (each None when unset there).

    Attributes:
        domain: The configured domain (anaconda-auth's default is `anaconda.com`).
        api_key: An API key written in the config file (`[plugin.auth] api_key`).
        ssl_verify: False, True, or a CA bundle path.
        extra_headers: A dict, or a JSON string of one.
    """

    domain: str | None = None
    api_key: str | None = field(default=None, repr=False)
    ssl_verify: bool | str | None = None
    extra_headers: dict[str, str] | str | None = field(default=None, repr=False)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # anaconda-auth warns (DeprecationWarning, and in red on its console) whenever an
    # ANACONDA_CLOUD_* variable is set; those are exactly the variables the seed documents,
    # so the warning would greet every user who follows our README. Silence it here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        console: Any = None
        with contextlib.suppress(ImportError):  # anaconda-cli-base comes with anaconda-auth
            from anaconda_cli_base.console import console
        quiet = getattr(console, "quiet", None)
        if console is not None:
            console.quiet = True
        try:
            yield
        finally:
            if console is not None:
                console.quiet = quiet


def configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether anaconda-auth has settings to read: a config file, or ANACONDA_AUTH_*
    variables. Checked without importing it (which costs a few tens of MiB and ms)."""
    env = os.environ if environ is None else environ
    path = env.get("ANACONDA_CONFIG_TOML") or "~/.anaconda/config.toml"
    if Path(os.path.expandvars(os.path.expanduser(path))).is_file():
        return True
    return any(name.startswith("ANACONDA_AUTH_") for name in env)


def login_settings() -> LoginSettings:
    """Read the Anaconda config file through anaconda-auth (no network I/O).

    Returns:
        The settings; all None when anaconda-auth cannot read its configuration.
    """
    try:
        with _quiet():
            from anaconda_auth.config import AnacondaAuthConfig

            config = AnacondaAuthConfig()
    except Exception as exc:  # a broken config file must not stop an explicit api_key
        logger.debug("anaconda-auth configuration not readable: %s", type(exc).__name__)
        return LoginSettings()
    return LoginSettings(
        domain=getattr(config, "domain", None),
        api_key=getattr(config, "api_key", None),
        ssl_verify=getattr(config, "ssl_verify", None),
        extra_headers=getattr(config, "extra_headers", None),
    )


def stored_token(domain: str) -> str | None:
    """The API key `anaconda login` stored for `domain` (a host, maybe with a port).

    Args:
        domain: The host the token was stored for, e.g. `anaconda.com`.

    Returns:
        The token, or None when there is none (or the keyring cannot be read).
    """
    try:
        with _quiet():
            from anaconda_auth.token import TokenInfo

            token = TokenInfo.load(domain)
    except Exception as exc:  # TokenNotFoundError, or no usable keyring backend
        logger.debug("no stored token for %s: %s", domain, type(exc).__name__)
        return None
    api_key = getattr(token, "api_key", None)
    return api_key if isinstance(api_key, str) and api_key else None
