"""Connections: header, body and keep-alive timeouts, the cap, framing, 500s (issue 11).

Floods are plain sockets: idle ones (connected, silent) and slowloris ones (a request whose
headers never end, a line now and then). Waits are bounded by a deadline, never timed:
what is asserted is what happened, not how fast.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anaconda_storage_server.testing import LocalServer

DEADLINE = 30.0  # seconds any wait below may take, at most, on a loaded machine


def _address(server: LocalServer) -> tuple[str, int]:
    return server.host, server.port


def _connect(server: LocalServer) -> socket.socket:
    sock = socket.create_connection(_address(server), timeout=DEADLINE)
    sock.setblocking(False)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed `sock` (EOF or reset); False while it is open."""
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def _wait_until_closed(
    sockets: list[socket.socket], *, at_least: int | None = None, trickle: bool = False
) -> int:
    """Wait until the server closed `at_least` of `sockets` (default: all); the count.

    `trickle`: meanwhile, send one more header line on each open socket every 0.2 s, as
    slowloris does.
    """
    wanted = len(sockets) if at_least is None else at_least
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + DEADLINE
    while len(closed) < wanted and time.monotonic() < deadline:
        open_ = [sock for sock in sockets if sock not in closed]
        readable, _, _ = select.select(open_, [], [], 0.2)
        closed.update(sock for sock in readable if _closed_by_server(sock))
        if trickle:
            for sock in open_:
                if sock not in closed:
                    try:
                        sock.send(b"X-Slow: 1\r\n")
                    except OSError:
                        closed.add(sock)
    return len(closed)


def _slowloris(server: LocalServer, count: int) -> list[socket.socket]:
    sockets = [_connect(server) for _ in range(count)]
    for sock in sockets:
        sock.send(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
    return sockets


def _health(server: LocalServer) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
        return client.get("/api/health")


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """A list for the test's sockets, all closed at the end."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """Request headers within 1 s, no body stalling 1 s, kept-alive connections idle 2 s."""
    arguments = ["--header-timeout", "1", "--body-timeout", "1", "--keep-alive-timeout", "2"]
    with LocalServer(tmp_path_factory.mktemp("impatient"), extra_args=arguments) as server:
        yield server


@pytest.fixture
def capped_server(tmp_path: Path) -> Iterator[LocalServer]:
    """At most 50 connections, and a header timeout too long to close any during a test."""
    arguments = ["--max-connections", "50", "--header-timeout", "600"]
    with LocalServer(tmp_path / "capped", extra_args=arguments) as server:
        yield server


# -- header and keep-alive timeouts ---------------------------------------------------------


def test_idle_and_slowloris_connections_are_closed_and_a_request_is_answered_meanwhile(
    impatient_server: LocalServer, sockets: list[socket.socket]
) -> None:
    idle = [_connect(impatient_server) for _ in range(300)]
    slow = _slowloris(impatient_server, 100)
    sockets += idle + slow

    response = _health(impatient_server)

    assert response.status_code == 200
    assert _wait_until_closed(idle) == len(idle)
    assert _wait_until_closed(slow, trickle=True) == len(slow)


def test_headers_sent_in_pieces_within_the_timeout_are_answered(
    impatient_server: LocalServer,
) -> None:
    with socket.create_connection(_address(impatient_server), timeout=DEADLINE) as sock:
        for piece in (b"GET /api/health HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(0.1)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_kept_alive_connection_outlives_the_header_timeout(
    impatient_server: LocalServer,
) -> None:
    connection = http.client.HTTPConnection(*_address(impatient_server), timeout=DEADLINE)
    try:
        connection.request("GET", "/api/health")
        connection.getresponse().read()
        first_socket = connection.sock
        time.sleep(1.5)  # past the header timeout (1 s), short of the keep-alive one (2 s)
        connection.request("GET", "/api/health")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock is first_socket, "the same connection carried both requests"
    finally:
        connection.close()


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    impatient_server: LocalServer, sockets: list[socket.socket]
) -> None:
    sock = _connect(impatient_server)
    sockets.append(sock)
    sock.send(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    select.select([sock], [], [], DEADLINE)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")

    assert _wait_until_closed([sock]) == 1


def test_a_request_that_stalls_on_a_kept_alive_connection_is_cut_off(
    impatient_server: LocalServer, sockets: list[socket.socket]
) -> None:
    sock = _connect(impatient_server)
    sockets.append(sock)
    sock.send(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    select.select([sock], [], [], DEADLINE)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    sock.send(b"GET /api/health HTTP/1.1\r\n")  # and no more

    assert _wait_until_closed([sock]) == 1


def test_pipelined_requests_are_all_answered(impatient_server: LocalServer) -> None:
    request = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(_address(impatient_server), timeout=DEADLINE) as sock:
        sock.sendall(request * 3 + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answers = _read_until_closed(sock)
    assert answers.count(b"HTTP/1.1 200 ") == 4


def _upload_head(api_key: str, path: str, length: int) -> bytes:
    return (
        f"PUT {FILES}/{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api_key}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


@pytest.fixture(scope="module")
def impatient_key(impatient_server: LocalServer) -> str:
    """An API key whose project `p` on the impatient server takes uploads."""
    api_key = impatient_server.add_user("alice")
    with httpx.Client(base_url=impatient_server.url, headers=_auth(api_key)) as client:
        assert client.post("/api/storage/projects/alice", json={"name": "p"}).is_success
    return api_key


def test_an_upload_whose_body_stalls_is_cut_off_and_stores_nothing(
    impatient_server: LocalServer, impatient_key: str, sockets: list[socket.socket]
) -> None:
    sock = _connect(impatient_server)
    sockets.append(sock)
    sock.send(_upload_head(impatient_key, "stalled.bin", 1000) + b"x" * 10)

    assert _wait_until_closed([sock]) == 1
    with httpx.Client(base_url=impatient_server.url, headers=_auth(impatient_key)) as client:
        assert client.get(f"{FILES}/stalled.bin").status_code == 404


def test_an_upload_that_trickles_but_never_stalls_is_stored(
    impatient_server: LocalServer, impatient_key: str
) -> None:
    body = b"0123456789"
    with socket.create_connection(_address(impatient_server), timeout=DEADLINE) as sock:
        sock.sendall(_upload_head(impatient_key, "slow.bin", len(body)))
        for byte in body:  # 10 bytes over 3 s: longer than the body timeout (1 s) in all
            time.sleep(0.3)
            sock.sendall(bytes([byte]))
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]


# -- the connection cap --------------------------------------------------------------------


def test_beyond_the_cap_the_longest_waiting_connections_make_room_for_a_request(
    capped_server: LocalServer, sockets: list[socket.socket]
) -> None:
    flood = [_connect(capped_server) for _ in range(200)]
    sockets += flood

    response = _health(capped_server)

    assert response.status_code == 200
    # The header timeout (600 s) closes none of them: the cap does, oldest first.
    assert _wait_until_closed(flood, at_least=150) >= 150
    assert not any(_closed_by_server(sock) for sock in flood[-40:])


def test_beyond_the_cap_with_every_connection_busy_a_newcomer_gets_503(
    capped_server: LocalServer, sockets: list[socket.socket]
) -> None:
    # A request whose body never comes keeps its connection busy: never evicted.
    busy = [_connect(capped_server) for _ in range(50)]
    sockets += busy
    for sock in busy:
        sock.send(b"POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
    for sock in busy:
        select.select([sock], [], [], DEADLINE)
        assert sock.recv(65536).startswith(b"HTTP/1.1 405 ")  # answered, body still owed

    with socket.create_connection(_address(capped_server), timeout=DEADLINE) as newcomer:
        answer = _read_until_closed(newcomer)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ")
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "unavailable"

    for sock in busy:
        sock.close()
    sockets.clear()
    assert _eventually_answered(capped_server), "the slots of closed connections are free"


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _eventually_answered(server: LocalServer) -> bool:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            if _health(server).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    return False


# -- framing -------------------------------------------------------------------------------


def test_content_length_with_transfer_encoding_is_refused_and_the_connection_closed(
    storage_server: LocalServer,
) -> None:
    # Were the body framed by Content-Length (as a proxy in front may do), the second
    # request would hide inside the first one's body.
    smuggler = (
        b"POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with socket.create_connection(_address(storage_server), timeout=DEADLINE) as sock:
        sock.sendall(smuggler)
        answer = _read_until_closed(sock)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in head.lower()
    error = json.loads(body)["error"]
    assert error["code"] == "invalid"
    assert "Transfer-Encoding" in error["message"]
    assert answer.count(b"HTTP/1.1 ") == 1, "only the refusal: the hidden request is not served"


def test_a_malformed_request_is_answered_with_the_apis_json_error(
    storage_server: LocalServer,
) -> None:
    with socket.create_connection(_address(storage_server), timeout=DEADLINE) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n")
        answer = _read_until_closed(sock)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["error"]["code"] == "invalid"


# -- unexpected errors ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def damaged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, str]]:
    """A server whose data directory is damaged: one blob is a symbolic link to itself.

    Reading that file fails with an error nobody expects (ELOOP): a real 500. Yields the
    server and an API key whose project `p` holds that file, `broken.txt`.
    """
    data = tmp_path_factory.mktemp("damaged")
    with LocalServer(data) as server:
        api_key = server.add_user("alice")
        with httpx.Client(base_url=server.url, headers=_auth(api_key)) as client:
            assert client.post("/api/storage/projects/alice", json={"name": "p"}).is_success
            content = b"soon unreadable"
            assert client.put(f"{FILES}/broken.txt", content=content).is_success
        digest = hashlib.sha256(content).hexdigest()
        blob = data / "blobs" / digest[:2] / digest
        blob.unlink()
        os.symlink(blob, blob)
        yield server, api_key


FILES = "/api/storage/projects/alice/p/files"


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def test_after_a_500_the_same_connection_serves_the_next_request(
    damaged_server: tuple[LocalServer, str],
) -> None:
    server, api_key = damaged_server
    connection = http.client.HTTPConnection(*_address(server), timeout=DEADLINE)
    try:
        connection.request("GET", f"{FILES}/broken.txt", headers=_auth(api_key))
        failed = connection.getresponse()
        body = json.loads(failed.read())
        assert failed.status == 500
        assert body["error"]["code"] == "internal"
        socket_used = connection.sock
        connection.request("GET", "/api/health")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock is socket_used, "the same connection carried both requests"
    finally:
        connection.close()


def test_a_pooled_client_loses_no_request_to_a_reset_after_500s(
    damaged_server: tuple[LocalServer, str],
) -> None:
    server, api_key = damaged_server
    with httpx.Client(base_url=server.url, headers=_auth(api_key), timeout=DEADLINE) as client:
        for _ in range(20):
            assert client.get(f"{FILES}/broken.txt").status_code == 500
            assert client.get("/api/health").status_code == 200


def test_a_500_before_the_body_was_read_reaches_a_client_still_sending_it(
    tmp_path: Path,
) -> None:
    # Content is written to a temp file in blobs/tmp; made a symbolic link to itself, that
    # directory fails every upload at once (ELOOP), before its body is read.
    with LocalServer(tmp_path / "data") as server:
        api_key = server.add_user("alice")
        with httpx.Client(base_url=server.url, headers=_auth(api_key)) as client:
            assert client.post("/api/storage/projects/alice", json={"name": "p"}).is_success
        temp = tmp_path / "data" / "blobs" / "tmp"
        os.rmdir(temp)
        os.symlink(temp, temp)
        connection = http.client.HTTPConnection(*_address(server), timeout=DEADLINE)
        try:
            body = b"x" * (8 * 1024 * 1024)  # more than the socket buffers hold
            connection.request("PUT", f"{FILES}/big.bin", body=body, headers=_auth(api_key))
            failed = connection.getresponse()
            assert json.loads(failed.read())["error"]["code"] == "internal"
            assert failed.status == 500
            connection.request("GET", "/api/health")
            second = connection.getresponse()
            second.read()
            assert second.status == 200
        finally:
            connection.close()


# -- the command line ----------------------------------------------------------------------


def _serve(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "anaconda_storage_server", "serve", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def test_serve_help_documents_the_connection_limits_and_their_defaults() -> None:
    result = _serve("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option, default in (
        ("--header-timeout", "10"),
        ("--body-timeout", "60"),
        ("--keep-alive-timeout", "75"),
        ("--max-connections", "512"),
    ):
        assert option in text
        assert f"(default: {default})" in text


@pytest.mark.parametrize(
    "arguments",
    [
        ("--header-timeout", "0"),
        ("--keep-alive-timeout", "-1"),
        ("--body-timeout", "inf"),
        ("--header-timeout", "nan"),
        ("--max-connections", "0"),
    ],
)
def test_serve_refuses_limits_that_are_not_positive(
    tmp_path: Path, arguments: tuple[str, str]
) -> None:
    result = _serve("--data", str(tmp_path), *arguments)
    assert result.returncode == 2
    assert arguments[0] in result.stderr
