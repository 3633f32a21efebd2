"""Where settings come from: argument > URI option > environment > Anaconda config and login."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from anaconda_storage_core import (
    DEFAULT_API_VERSION,
    ApiKeyDomainMismatch,
    StorageClient,
    StorageConfig,
    parse_uri,
    resolve_config,
)
from anaconda_storage_core.config import parse_extra_headers


def write_config(home: Path, text: str) -> None:
    """`~/.anaconda/config.toml` as anaconda-auth reads it."""
    (home / ".anaconda").mkdir(exist_ok=True)
    (home / ".anaconda" / "config.toml").write_text(textwrap.dedent(text))


def test_defaults_without_any_setting() -> None:
    config = resolve_config()
    assert config.domain == "anaconda.com"
    assert config.base_url == "https://anaconda.com"
    assert config.api_key is None
    assert config.api_version == DEFAULT_API_VERSION == "2023.11.28"
    assert config.extra_headers == {}
    assert config.verify is True
    assert "Authorization" not in config.headers


def test_precedence_of_the_api_key(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    write_config(isolated_home, '[plugin.auth]\ndomain = "anaconda.com"\napi_key = "from-config"\n')
    assert resolve_config().api_key == "from-config"
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", "from-env")
    assert resolve_config().api_key == "from-env"
    options = parse_uri("anaconda://alice/p/f?api_key=from-uri").options
    assert resolve_config(options=options).api_key == "from-uri"
    assert resolve_config(api_key="explicit", options=options).api_key == "explicit"


def test_precedence_of_the_domain(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    write_config(isolated_home, '[plugin.auth]\ndomain = "config.example"\n')
    assert resolve_config().domain == "config.example"
    monkeypatch.setenv("ANACONDA_CLOUD_DOMAIN", "auth-env.example")
    assert resolve_config().domain == "auth-env.example"
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", "seed-env.example")
    assert resolve_config().domain == "seed-env.example"
    options = {"domain": "http://127.0.0.1:8765"}
    assert resolve_config(options=options).base_url == "http://127.0.0.1:8765"
    assert resolve_config(domain="explicit.example", options=options).domain == "explicit.example"


def test_precedence_of_api_version_and_extra_headers(isolated_home: Path) -> None:
    write_config(isolated_home, '[plugin.auth]\nextra_headers = \'{"X-From": "config"}\'\n')
    assert resolve_config().extra_headers == {"X-From": "config"}
    options = {"api_version": "2024.01.01", "extra_headers": '{"X-From": "uri"}'}
    config = resolve_config(options=options)
    assert (config.api_version, config.extra_headers) == ("2024.01.01", {"X-From": "uri"})
    config = resolve_config(
        api_version="2025.01.01", extra_headers={"X-From": "arg"}, options=options
    )
    assert (config.api_version, config.extra_headers) == ("2025.01.01", {"X-From": "arg"})


def test_a_config_key_is_not_sent_to_another_domain(isolated_home: Path) -> None:
    write_config(isolated_home, '[plugin.auth]\ndomain = "anaconda.com"\napi_key = "real-key"\n')
    assert resolve_config(domain="http://127.0.0.1:8765").api_key is None
    assert resolve_config(domain="https://anaconda.com").api_key == "real-key"


def test_a_config_key_is_not_sent_over_another_scheme_or_port(isolated_home: Path) -> None:
    write_config(isolated_home, '[plugin.auth]\ndomain = "anaconda.com"\napi_key = "real-key"\n')
    assert resolve_config(domain="http://anaconda.com").api_key is None
    assert resolve_config(domain="anaconda.com:8443").api_key is None
    assert resolve_config(domain="HTTPS://Anaconda.com:443/").api_key == "real-key"


EVIL = "http://evil.example:1234"


@pytest.mark.parametrize(
    ("env", "call"),
    [
        # The environment's key without a domain of its own belongs with the default one.
        ({}, {"domain": EVIL}),
        ({}, {"options": {"domain": EVIL}}),
        ({"ANACONDA_CLOUD_API_DOMAIN": "http://127.0.0.1:8765"}, {"domain": EVIL}),
        ({"ANACONDA_CLOUD_DOMAIN": "http://127.0.0.1:8765"}, {"options": {"domain": EVIL}}),
        # Same host, another scheme or port: another server as far as the key goes.
        ({"ANACONDA_CLOUD_API_DOMAIN": "https://evil.example"}, {"domain": "http://evil.example"}),
        ({"ANACONDA_CLOUD_API_DOMAIN": "evil.example"}, {"domain": "evil.example:8443"}),
    ],
)
def test_an_environment_key_never_goes_to_a_domain_named_elsewhere(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], call: dict[str, object]
) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", "env-key")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ApiKeyDomainMismatch) as caught:
        resolve_config(**call)  # type: ignore[arg-type]
    error = caught.value
    assert isinstance(error, ValueError)
    assert "env-key" not in str(error)
    named = str(call.get("domain") or call["options"]["domain"])  # type: ignore[index]
    assert error.domain is not None
    assert error.domain in str(error)
    assert named.split("://")[-1] in error.domain
    # It says how to pass a key for that domain.
    assert "api_key=" in str(error)
    assert "ANACONDA_CLOUD_API_DOMAIN" in str(error)
    assert ("?domain=" in str(error)) == ("options" in call)


def test_the_mismatch_pickles_with_its_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", "env-key")
    with pytest.raises(ApiKeyDomainMismatch) as caught:
        resolve_config(domain="http://user:secret@evil.example:1234")
    error = pickle.loads(pickle.dumps(caught.value))
    assert (error.domain, error.key_domain) == ("http://evil.example:1234", "https://anaconda.com")
    assert error.source == "ANACONDA_CLOUD_API_KEY"
    assert "secret" not in str(error)


def test_the_environment_key_goes_with_the_domain_it_came_with(
    monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", "env-key")
    # The default domain, named or not.
    assert resolve_config().api_key == "env-key"
    assert resolve_config(domain="https://anaconda.com").api_key == "env-key"
    # The environment's domain, named again by the URI or the call.
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", "http://127.0.0.1:8765")
    assert resolve_config().api_key == "env-key"
    assert resolve_config(options={"domain": "http://127.0.0.1:8765/"}).api_key == "env-key"
    assert resolve_config(domain="http://127.0.0.1:8765").api_key == "env-key"
    # Without a domain in the environment, the config file's is the key's.
    monkeypatch.delenv("ANACONDA_CLOUD_API_DOMAIN")
    write_config(isolated_home, '[plugin.auth]\ndomain = "config.example"\n')
    assert resolve_config(domain="https://config.example").api_key == "env-key"
    with pytest.raises(ApiKeyDomainMismatch, match=r"anaconda\.com"):
        resolve_config(domain="anaconda.com")


def test_a_key_given_with_the_domain_goes_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", "env-key")
    # Key and domain of one source, or of one call: they were given together.
    both = {"api_key": "uri-key", "domain": EVIL}
    assert resolve_config(options=both).api_key == "uri-key"
    assert resolve_config(api_key="arg-key", domain=EVIL).api_key == "arg-key"
    assert resolve_config(api_key="arg-key", options={"domain": EVIL}).api_key == "arg-key"
    assert resolve_config(domain=EVIL, options={"api_key": "uri-key"}).api_key == "uri-key"
    # A URI's key without a domain goes to the configured one.
    monkeypatch.setenv("ANACONDA_CLOUD_API_DOMAIN", "http://127.0.0.1:8765")
    config = resolve_config(options={"api_key": "uri-key"})
    assert (config.api_key, config.domain) == ("uri-key", "http://127.0.0.1:8765")


def test_verify_from_argument_and_config(isolated_home: Path, tmp_path: Path) -> None:
    write_config(isolated_home, "[plugin.auth]\nssl_verify = false\n")
    assert resolve_config().verify is False
    assert resolve_config(verify=True).verify is True
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    config = resolve_config(verify=str(bundle))
    assert config.verify == str(bundle)
    with pytest.raises(ssl.SSLError):  # an empty bundle: it really is read as one
        config.ssl_context()
    context = ssl.create_default_context()
    assert StorageConfig(verify=context).ssl_context() is context


def test_use_login_false_ignores_the_config(isolated_home: Path) -> None:
    write_config(isolated_home, '[plugin.auth]\ndomain = "config.example"\napi_key = "k"\n')
    config = resolve_config(use_login=False)
    assert (config.domain, config.api_key) == ("anaconda.com", None)


def test_a_broken_config_does_not_stop_explicit_settings(isolated_home: Path) -> None:
    write_config(isolated_home, "this is [not toml\n")
    config = resolve_config(api_key="k", domain="d.example")
    assert (config.api_key, config.domain) == ("k", "d.example")


def test_the_token_anaconda_login_stored(tmp_path: Path) -> None:
    # `anaconda login` stores its token through anaconda-auth's keyring; anaconda-auth fixes
    # the keyring's path when first imported, so each step runs in a fresh interpreter.
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    store = (
        "from anaconda_auth.token import TokenInfo;"
        "TokenInfo(domain='127.0.0.1:8765', api_key='stored-token').save()"
    )
    subprocess.run([sys.executable, "-c", store], env=env, check=True)
    read = (
        "from anaconda_storage_core import resolve_config as r;"
        "print(r(domain='http://127.0.0.1:8765').api_key, r(domain='other.example').api_key,"
        " r(domain='http://127.0.0.1:8765', api_key='explicit').api_key)"
    )
    out = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True
    )
    assert out.stdout.split() == ["stored-token", "None", "explicit"]


def test_legacy_environment_variables_do_not_warn(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # anaconda-auth warns about ANACONDA_CLOUD_* (DeprecationWarning, and in red on stdout);
    # they are the variables the seed documents, so the client silences that. Warnings are
    # errors in this suite, so this test fails if one escapes.
    monkeypatch.setenv("ANACONDA_CLOUD_API_KEY", "k")
    monkeypatch.setenv("ANACONDA_CLOUD_DOMAIN", "d.example")
    assert resolve_config().api_key == "k"
    assert capsys.readouterr().out == ""


def test_extra_headers_never_override_the_clients_own() -> None:
    config = resolve_config(
        api_key="k",
        api_version="2023.11.28",
        extra_headers='{"Authorization": "Bearer other", "api-version": "1999", "X-Trace": "1"}',
        use_login=False,
    )
    headers = config.headers
    assert headers["Authorization"] == "Bearer k"
    assert headers["Api-Version"] == "2023.11.28"
    assert headers["X-Trace"] == "1"
    assert "api-version" not in headers


@pytest.mark.parametrize("bad", ["not json", "[1, 2]", '"a string"'])
def test_extra_headers_must_be_a_json_object(bad: str) -> None:
    with pytest.raises(ValueError, match="JSON object"):
        parse_extra_headers(bad)


def test_extra_headers_as_dict_or_json() -> None:
    assert parse_extra_headers({"A": 1}) == {"A": "1"}
    assert parse_extra_headers(json.dumps({"A": "b"})) == {"A": "b"}
    assert parse_extra_headers(None) == parse_extra_headers("") == {}


@pytest.mark.parametrize(
    ("domain", "base"),
    [
        ("anaconda.com", "https://anaconda.com"),
        ("anaconda.com/", "https://anaconda.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("https://example.org:8443/", "https://example.org:8443"),
    ],
)
def test_domain_with_or_without_scheme(domain: str, base: str) -> None:
    assert StorageConfig(domain=domain).base_url == base


def test_repr_hides_secrets() -> None:
    config = StorageConfig(api_key="s3cr3t", extra_headers={"X-Token": "also-secret"})
    assert "s3cr3t" not in repr(config)
    assert "also-secret" not in repr(config)
    assert "X-Token" in repr(config)


def test_client_from_uri_options() -> None:
    uri = "anaconda://alice/p/f?domain=http://127.0.0.1:1&api_key=from-uri&api_version=2024.01.01"
    with StorageClient.from_uri(uri) as client:
        assert client.config.domain == "http://127.0.0.1:1"
        assert client.config.api_key == "from-uri"
        assert client.config.api_version == "2024.01.01"
    with StorageClient.from_uri(uri, api_key="explicit") as client:
        assert client.config.api_key == "explicit"


def test_anaconda_auth_is_not_imported_when_it_has_nothing_to_say(tmp_path: Path) -> None:
    # Explicit (or environment) key and domain and no config file: anaconda-auth, and
    # pydantic with it, stay unimported (Dask workers each make a client).
    env = {
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "ANACONDA_CLOUD_API_KEY": "k",
        "ANACONDA_CLOUD_API_DOMAIN": "http://127.0.0.1:1",
    }
    code = (
        "import sys; from anaconda_storage_core import StorageClient as C;"
        "C(domain='http://127.0.0.1:1').close(); print('anaconda_auth' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == "False"
    write_config(tmp_path, "[plugin.auth]\nssl_verify = false\n")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == "True"
