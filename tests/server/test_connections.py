"""Slow, idle and vanishing clients (http.py): idle and read timeouts close what stalls,
connections beyond the bound get a 503 at once, and a client that hangs up leaves no
traceback. Waits are for conditions (the server closing a socket), never fixed sleeps."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyajs_server.http import make_server

from tests.server.helpers import KEY, Client, ev, start

# SO_LINGER on, 0 s: close() resets the connection, as a client that vanishes does
RESET_ON_CLOSE = struct.pack("ii", 1, 0)
WAIT = 20.0  # generous: a loaded machine is slow, and these are waits, not measurements


@pytest.fixture
def server(tree: Path, tmp_path: Path) -> Iterator[Any]:
    made = []

    def build(max_connections: int | None = None, quiet: bool = True) -> Any:
        srv = make_server("127.0.0.1", 0, tmp_path / ("db%d" % len(made)), [KEY], root=tree,
                          quiet=quiet)
        if max_connections is not None:
            srv.slots = threading.BoundedSemaphore(max_connections)
        srv.idle_timeout = 0.3
        srv.read_timeout = 0.6
        made.append((srv, start(srv)))
        return srv

    yield build
    for srv, thread in made:
        srv.shutdown()
        srv.server_close()
        thread.join(2)


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (within WAIT)."""
    sock.settimeout(WAIT)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def connect(srv: Any) -> socket.socket:
    return socket.create_connection(srv.server_address[:2], timeout=WAIT)


def test_idle_and_stalled_connections_are_closed(server: Any) -> None:
    srv = server()
    with connect(srv) as idle:
        assert closed_by_server(idle) == b""  # never sent a byte: closed, no answer
    with connect(srv) as stalled:
        stalled.sendall(b"POST /v1/t HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n")
        assert closed_by_server(stalled) == b""  # headers never finished
    with connect(srv) as slow_body:
        slow_body.sendall(b"POST /v1/t HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain"
                          b"\r\nContent-Length: 100\r\n\r\n{")
        assert closed_by_server(slow_body) == b""  # body never finished: nothing stored
    client = Client(srv)
    assert client.events() == []
    # a keep-alive client that comes back after the idle timeout just reconnects
    status, _, _ = client.request("GET", "/api/health")
    assert status == 200


def test_connections_beyond_the_bound_get_503_at_once(server: Any) -> None:
    srv = server(max_connections=3)
    srv.idle_timeout = 30.0  # the three hold their slots for this test
    held = [connect(srv) for _ in range(3)]
    try:
        for sock in held:  # each is being served: a thread is waiting on it
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.settimeout(WAIT)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        with connect(srv) as extra:
            answer = closed_by_server(extra)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in head
        assert json.loads(body)["code"] == "unavailable"
    finally:
        for sock in held:
            sock.close()
    # slots come back when connections close
    deadline = time.monotonic() + WAIT
    while True:
        status, _, _ = Client(srv).request("GET", "/api/health")
        if status == 200 or time.monotonic() > deadline:
            break
    assert status == 200


def test_a_client_that_hangs_up_leaves_no_traceback(server: Any, capfd: Any) -> None:
    srv = server(quiet=False)
    body = json.dumps(ev("track")).encode()
    for _ in range(20):
        with connect(srv) as sock:
            # reset (RST) right after sending: the answer meets a closed socket
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            sock.sendall(b"POST /v1/t HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
        with connect(srv) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            sock.sendall(b"GET /demo.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    with connect(srv) as idle:
        closed_by_server(idle)  # and one idle timeout
    status, _, _ = Client(srv).request("GET", "/api/health")
    assert status == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err, err[-2000:]
