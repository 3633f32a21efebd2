"""`ServerOptions`: one set of options that `serve`, `ThreadedServer`, `LocalServer` and the
pytest plugin all take, so none of them can fall behind the others."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from anaconda_storage_server.cli import _parser, serve_options
from anaconda_storage_server.connection_limits import ConnectionLimits
from anaconda_storage_server.options import (
    CONNECTION_FLAGS,
    SERVE_FLAGS,
    ServerOptions,
    ServerOptionsKeywords,
)
from anaconda_storage_server.sandbox import INI_OPTIONS, ServerSettings
from anaconda_storage_server.testing import LocalServer
from anaconda_storage_server.threaded import ThreadedServer

# Every option away from its default.
UNUSUAL = ServerOptions(
    latency_ms=12.5,
    bandwidth=20e6,
    fault_rate=0.25,
    fault_status=429,
    cut_rate=0.5,
    lose_rate=0.125,
    fault_disk_full_after=4096,
    upload_expiry=2.5,
    retention_days=0,
    connections=ConnectionLimits(
        header_timeout=3.5, body_timeout=7.0, keep_alive_timeout=9.0, max_connections=17
    ),
)


def parsed(arguments: list[str]) -> ServerOptions:
    return serve_options(_parser().parse_args(["serve", "--data", "d", *arguments]))


def test_every_option_is_away_from_its_default_in_the_example() -> None:
    defaults = ServerOptions()
    for field in dataclasses.fields(ServerOptions):
        assert getattr(UNUSUAL, field.name) != getattr(defaults, field.name), field.name
    for field in dataclasses.fields(ConnectionLimits):
        assert getattr(UNUSUAL.connections, field.name) != getattr(defaults.connections, field.name)


def test_serve_reads_back_every_option_its_arguments_carry() -> None:
    # What `LocalServer` runs is what `ThreadedServer` builds.
    assert parsed(UNUSUAL.serve_arguments()) == UNUSUAL


def test_serve_without_options_has_the_defaults() -> None:
    assert parsed([]) == ServerOptions()
    assert ServerOptions().serve_arguments() == []


def test_every_option_has_a_flag() -> None:
    names = {field.name for field in dataclasses.fields(ServerOptions)}
    assert names == {*SERVE_FLAGS, "connections"}
    assert set(CONNECTION_FLAGS) == {field.name for field in dataclasses.fields(ConnectionLimits)}


def test_the_keyword_arguments_are_the_options() -> None:
    assert get_type_hints(ServerOptionsKeywords) == get_type_hints(ServerOptions)


def test_the_plugin_takes_every_option_that_is_a_number() -> None:
    assert set(INI_OPTIONS) == set(SERVE_FLAGS)
    assert ServerSettings().with_options(retention_days=0).options.retention_days == 0
    with pytest.raises(TypeError):
        ServerSettings().with_options(retention=0)


@pytest.mark.parametrize(
    "fields",
    [
        {"latency_ms": -1},
        {"latency_ms": float("nan")},
        {"bandwidth": 0},
        {"bandwidth": float("inf")},
        {"fault_rate": 1.5},
        {"cut_rate": -0.1},
        {"lose_rate": 2},
        {"fault_status": 500},
        {"fault_disk_full_after": -1},
        {"upload_expiry": 0},
        {"upload_expiry": float("inf")},
        {"retention_days": -1},
        {"retention_days": 100_000},
    ],
)
def test_an_option_out_of_range_is_refused(fields: dict[str, Any]) -> None:
    (name,) = fields
    with pytest.raises(ValueError, match=name):
        ServerOptions(**fields)


@pytest.mark.parametrize("kind", [ThreadedServer, LocalServer])
def test_servers_take_options_and_their_fields_as_keywords(kind: Any, tmp_path: Path) -> None:
    assert kind(tmp_path).options == ServerOptions()
    assert kind(tmp_path, latency_ms=20, retention_days=0).options == ServerOptions(
        latency_ms=20, retention_days=0
    )
    # Keywords replace fields of the options given.
    both = kind(tmp_path, UNUSUAL, retention_days=7)
    assert both.options == dataclasses.replace(UNUSUAL, retention_days=7)
    with pytest.raises(TypeError):
        kind(tmp_path, retention=1)
    with pytest.raises(ValueError, match="fault_rate"):
        kind(tmp_path, fault_rate=3)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--latency", "-5"), ("--fault-disk-full-after", "-1"), ("--upload-expiry", "0")],
)
def test_serve_refuses_an_option_out_of_range(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["serve", "--data", "d", flag, value])
    assert exited.value.code == 2
    assert flag in capsys.readouterr().err
