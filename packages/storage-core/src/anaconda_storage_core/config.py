"""Where the client finds its API key, domain, API version and extra headers.

Each setting is resolved once, when a client is made, taking the first value found in:

1. the explicit argument (`StorageClient(api_key=...)`);
2. the URI's query options (`anaconda://o/p/f?api_key=...&domain=...&api_version=...
   &extra_headers=...`);
3. the environment: `ANACONDA_CLOUD_API_KEY`, then `ANACONDA_CLOUD_API_DOMAIN` (the seed's
   name) or `ANACONDA_CLOUD_DOMAIN` (the auth library's);
4. the Anaconda config file (`~/.anaconda/config.toml`) and, for the key, the token that
   `anaconda login` stored for the domain (see `login.py`).

`domain` may carry a scheme (`http://127.0.0.1:8765` for the local server); without one it
is https. No network I/O happens here. The API key never appears in a repr.

An API key goes only to the domain it was given with (issue 11, 2.1): a key and a domain
of the same call (arguments, or an argument and the URI it names) or of the same source (the
URI's query, the environment, the config file) go together; a key from the environment or
the config file never goes to a domain named elsewhere. A domain named by an argument or a
URI with an environment key configured for another domain is refused with
`ApiKeyDomainMismatch`, before any request; a config-file key is left out instead, and the
token `anaconda login` stored for that domain, if any, is used.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from . import login
from ._version import __version__
from .errors import StorageError

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_DOMAIN",
    "ApiKeyDomainMismatch",
    "StorageConfig",
    "VerifyTypes",
    "resolve_config",
]

DEFAULT_API_VERSION = "2023.11.28"
DEFAULT_DOMAIN = "anaconda.com"
"""The domain when nothing else says: anaconda-auth's default, where `anaconda login` stores."""

ENV_API_KEY = "ANACONDA_CLOUD_API_KEY"
ENV_DOMAINS = ("ANACONDA_CLOUD_API_DOMAIN", "ANACONDA_CLOUD_DOMAIN")

VerifyTypes: TypeAlias = bool | str | ssl.SSLContext

# The headers the client sets itself; `extra_headers` never overrides them (the seed: "Only
# new keys will be passed on to the client").
_OWN_HEADERS = frozenset(["authorization", "api-version", "user-agent"])


def parse_extra_headers(value: Mapping[str, Any] | str | None) -> dict[str, str]:
    """`extra_headers` given as a dict or as a JSON string of one.

    Raises:
        ValueError: When the string is not a JSON object.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(
                "extra_headers must be a JSON object of header names and values"
            ) from None
        if not isinstance(value, Mapping):
            raise ValueError("extra_headers must be a JSON object of header names and values")
    return {str(k): str(v) for k, v in value.items()}


def _base_url(domain: str) -> str:
    domain = domain.strip().rstrip("/")
    if "://" not in domain:
        domain = f"https://{domain}"
    return domain


def _host(domain: str) -> str:
    # anaconda-auth keys its keyring by host (with port), never by URL.
    return _base_url(domain).split("://", 1)[1].split("/", 1)[0]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(domain: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: what decides where a request, and its key, goes."""
    parts = urlsplit(_base_url(domain))
    try:
        port = parts.port
    except ValueError:  # not a port: the text itself then, so it never equals another
        return parts.scheme.lower(), parts.netloc.lower(), None
    return parts.scheme.lower(), parts.hostname or "", port or _DEFAULT_PORTS.get(parts.scheme)


def same_origin(a: str, b: str) -> bool:
    """Whether two domains name the same server (`anaconda.com` = `https://anaconda.com:443`)."""
    return _origin(a) == _origin(b)


class ApiKeyDomainMismatch(StorageError, ValueError):
    """An API key would go to a domain it was not given for; nothing was sent.

    Raised when a client is made: the key comes from the environment (configured for one
    domain) while an argument or a URI's `?domain=` names another.

    Attributes:
        domain: The domain that was named (where the key would have gone).
        key_domain: The domain the key belongs with.
        source: Where the key came from (`ANACONDA_CLOUD_API_KEY`).
    """

    def __init__(
        self,
        message: str,
        *,
        domain: str | None = None,
        key_domain: str | None = None,
        source: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(message, **kwargs)
        self.domain = domain
        self.key_domain = key_domain
        self.source = source


@dataclass(frozen=True)
class StorageConfig:
    """The resolved settings of a client.

    Attributes:
        domain: Where the Storage API lives: `anaconda.com`, or `http://127.0.0.1:8765`.
        api_key: The bearer token (never shown by repr).
        api_version: Sent as `Api-Version`.
        extra_headers: Sent with every request, except where they would replace a header
            the client sets itself (`Authorization`, `Api-Version`, `User-Agent`).
        verify: TLS verification: True, False, a CA bundle path or an `ssl.SSLContext`.
    """

    domain: str = DEFAULT_DOMAIN
    api_key: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    extra_headers: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    verify: VerifyTypes = True

    def __repr__(self) -> str:
        key = "'***'" if self.api_key else "None"
        names = sorted(self.extra_headers)  # header values may be secrets too
        return (
            f"StorageConfig(domain={self.domain!r}, api_key={key}, "
            f"api_version={self.api_version!r}, extra_headers={names!r}, verify={self.verify!r})"
        )

    @property
    def base_url(self) -> str:
        """The server's root URL: the domain with its scheme (https unless given)."""
        return _base_url(self.domain)

    @property
    def headers(self) -> dict[str, str]:
        """The headers every request carries."""
        headers = {
            "Api-Version": self.api_version,
            "User-Agent": f"anaconda-storage-core/{__version__}",
        }
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for name, value in self.extra_headers.items():
            if name.lower() not in _OWN_HEADERS:
                headers[name] = value
        return headers

    def ssl_context(self) -> bool | ssl.SSLContext:
        """`verify` as httpx (0.27 and 0.28 alike) takes it without a deprecation warning."""
        if isinstance(self.verify, str):
            path = Path(self.verify)
            if path.is_dir():
                return ssl.create_default_context(capath=str(path))
            return ssl.create_default_context(cafile=str(path))
        return self.verify


def _shown(domain: str) -> str:
    # The domain as a URL, without any user:password@ it may carry.
    parts = urlsplit(_base_url(domain))
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _mismatch(domain: str, key_domain: str, named_by: str) -> ApiKeyDomainMismatch:
    where = "the domain argument" if named_by == "argument" else "the URI's ?domain="
    shown = _shown(domain)
    return ApiKeyDomainMismatch(
        f"not sending the API key from {ENV_API_KEY} to {shown}: it is the key for "
        f"{_shown(key_domain)}, and {shown} was named by {where}. To use {shown}, pass "
        f"its key with it (api_key=, or ?api_key= in the URI), or set "
        f"{ENV_DOMAINS[0]}={shown} beside {ENV_API_KEY}",
        domain=shown,
        key_domain=_shown(key_domain),
        source=ENV_API_KEY,
    )


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    return None


def _verify(value: Any) -> VerifyTypes | None:
    if value is None or isinstance(value, (bool, ssl.SSLContext)):
        return value
    text = str(value)
    if text.lower() in ("0", "false", "no", "off"):
        return False
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    return text


def resolve_config(
    *,
    api_key: str | None = None,
    domain: str | None = None,
    api_version: str | None = None,
    extra_headers: Mapping[str, Any] | str | None = None,
    verify: VerifyTypes | None = None,
    options: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    use_login: bool = True,
) -> StorageConfig:
    """Resolve the client's settings: argument > URI option > environment > Anaconda login.

    Args:
        api_key: The API key or access token.
        domain: The Storage API's domain, with or without a scheme.
        api_version: The `Api-Version` to send (default `2023.11.28`).
        extra_headers: More headers to send, as a dict or a JSON string of one.
        verify: TLS verification (default on): a bool, a CA bundle path or an SSLContext.
        options: The query options of a URI (`StorageURI.options`).
        environ: The environment to read (default `os.environ`).
        use_login: Whether to fall back to anaconda-auth's config file and stored token.

    Returns:
        The settings. `api_key` is None when none was found anywhere; requests are then
        sent without one and the server answers `AuthenticationRequired`.

    Raises:
        ApiKeyDomainMismatch: When the key would come from `ANACONDA_CLOUD_API_KEY` while
            `domain` or the URI names a domain other than the environment's (or the
            config's): a key is only sent to the domain it was given with.
        ValueError: When `extra_headers` is not a JSON object.
    """
    env = os.environ if environ is None else environ
    options = options or {}
    env_domain = _first(*(env.get(name) for name in ENV_DOMAINS))
    given_key = _first(api_key, options.get("api_key"))
    named_domain = _first(domain, options.get("domain"))
    resolved_key = _first(given_key, env.get(ENV_API_KEY))
    resolved_domain = _first(named_domain, env_domain)
    # anaconda-auth is asked only when it may have something to say: a setting is still
    # missing, or it has a config file (or variables) that may set verify/extra_headers.
    ask = use_login and (resolved_key is None or resolved_domain is None or login.configured(env))
    saved = login.login_settings() if ask else login.LoginSettings()
    resolved_domain = str(_first(resolved_domain, saved.domain, DEFAULT_DOMAIN))

    if resolved_key is not None and given_key is None and named_domain is not None:
        # The environment's key belongs with the environment's domain (or, without one,
        # the domain the client uses when none is named): a URI must not redirect it.
        key_domain = str(_first(env_domain, saved.domain, DEFAULT_DOMAIN))
        if not same_origin(key_domain, resolved_domain):
            raise _mismatch(resolved_domain, key_domain, "argument" if domain else "URI")

    if resolved_key is None and use_login:
        # A key written in the config file belongs to the config's domain: never send it
        # to another server (the local one, say).
        if saved.api_key and same_origin(saved.domain or DEFAULT_DOMAIN, resolved_domain):
            resolved_key = saved.api_key
        else:
            resolved_key = login.stored_token(_host(resolved_domain))

    headers = _first(extra_headers, options.get("extra_headers"), saved.extra_headers)
    resolved_verify = _first(_verify(verify), _verify(saved.ssl_verify))

    return StorageConfig(
        domain=resolved_domain,
        api_key=resolved_key,
        api_version=str(_first(api_version, options.get("api_version"), DEFAULT_API_VERSION)),
        extra_headers=parse_extra_headers(headers),
        verify=True if resolved_verify is None else resolved_verify,
    )
