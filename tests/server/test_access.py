"""Who may talk to the server (access.py): Host names against DNS rebinding, the inspection
API (/api/*) refused to other origins unless they hold the --api-token, the collector (/v1/*)
open to every origin, and the warning for --host beyond loopback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyajs_server.access import Access, is_loopback, same_origin, split_host
from pyajs_server.http import make_server

from tests.server.helpers import KEY, Client, ev, start
from tests.server.running import RunningServer

EVIL = "http://evil.test:9999"


@pytest.fixture
def make(tree: Path, tmp_path: Path) -> Iterator[Any]:
    servers = []

    def build(**options: Any) -> Client:
        server = make_server("127.0.0.1", 0, tmp_path / ("db%d" % len(servers)), [KEY],
                             root=tree, **options)
        servers.append((server, start(server)))
        return Client(server)

    yield build
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(2)


def test_split_host_and_helpers() -> None:
    assert split_host("LocalHost:8000") == ("localhost", 8000)
    assert split_host("[::1]:80") == ("::1", 80)
    assert split_host("[::1]") == ("::1", None)
    assert split_host("shop.test.") == ("shop.test", None)
    for bad in ("", "a b", "x:y", "x:0", "x:70000", "[::1", "a/b", "u@h", "[::1]x"):
        assert split_host(bad) is None, bad
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("127.1.2.3") and not is_loopback("0.0.0.0") and not is_loopback("::")
    assert not is_loopback("192.168.1.2") and not is_loopback("example.test")
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert same_origin("http://shop.test", "shop.test:80")
    assert not same_origin("http://127.0.0.1:8001", "127.0.0.1:8000")
    assert not same_origin("https://127.0.0.1:8000", "127.0.0.1:8000")
    assert not same_origin("null", "127.0.0.1:8000")
    assert not same_origin("http://127.0.0.1:8000/x", "127.0.0.1:8000")
    assert same_origin("https://shop.test", "shop.test", "https")  # behind a TLS proxy


def test_host_rules() -> None:
    access = Access("127.0.0.1", 8000, [".pyajs.test", "shop.test", "cdn.test:9000"])
    allowed = ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "127.0.0.1", "LOCALHOST:8000",
               "www.pyajs.test:8000", "pyajs.test:1234", "a.b.pyajs.test", "shop.test:5555",
               "cdn.test:9000", None]
    refused = ["127.0.0.1:8001", "evil.test:8000", "pyajs.test.evil:8000", "xpyajs.test",
               "cdn.test:9001", "", "127.0.0.2:8000", "0.0.0.0:8000", "shop.test@evil"]
    assert [h for h in allowed if not access.host_allowed(h)] == []
    assert [h for h in refused if access.host_allowed(h)] == []
    bound = Access("192.168.10.5", 8000)
    assert bound.host_allowed("192.168.10.5:8000") and not bound.host_allowed("192.168.10.6")
    with pytest.raises(ValueError):
        Access("127.0.0.1", 8000, ["not a host"])


def test_a_host_the_server_does_not_serve_is_421(make: Any) -> None:
    client = make()
    for host in ("evil.example", "evil.example:%d" % client.port, "127.0.0.1:1"):
        for path in ("/api/events", "/v1/t", "/demo.html"):
            status, _, data = client.request("GET", path, headers={"Host": host})
            assert status == 421, (host, path)
            answer = json.loads(data)
            assert answer["code"] == "misdirected_request"
            assert "--allowed-host" in answer["message"] and host in answer["message"]
    # DNS rebinding: the attacker's name resolving to 127.0.0.1, its page same-origin to it
    status, _, _ = client.request("DELETE", "/api/events", headers={
        "Host": "rebind.evil:%d" % client.port, "Origin": "http://rebind.evil:%d" % client.port})
    assert status == 421
    status, _, _ = client.request("GET", "/api/health",
                                  headers={"Host": "localhost:%d" % client.port})
    assert status == 200
    allowed = make(allowed_hosts=["shop.test"])
    status, _, _ = allowed.request("GET", "/api/health", headers={"Host": "shop.test:1"})
    assert status == 200


def test_request_without_host_is_served(make: Any) -> None:
    client = make()
    with socket.create_connection((client.host, client.port), timeout=10) as sock:
        sock.sendall(b"GET /api/health HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.0 200") or data.startswith(b"HTTP/1.1 200"), data[:100]


def _post_event(client: Client, origin: str | None) -> int:
    headers = {"Content-Type": "text/plain"}
    if origin:
        headers["Origin"] = origin
    status, answer = client.post("/v1/t", ev("track"), headers)
    return status


def test_api_refuses_other_origins_and_serves_its_own(make: Any) -> None:
    client = make()
    own = "http://127.0.0.1:%d" % client.port
    assert _post_event(client, EVIL) == 200  # the collector takes events from any origin
    # no Origin (curl, scripts) and the server's own pages: as before
    for headers in ({}, {"Origin": own}):
        status, got, data = client.request("GET", "/api/events", headers=headers)
        assert status == 200 and len(json.loads(data)["events"]) == 1
        assert "access-control-allow-origin" not in got
    # another origin: refused, and told why (CORS so that the page can read the refusal)
    for method, path in (("GET", "/api/events"), ("DELETE", "/api/events"),
                         ("POST", "/api/events"), ("GET", "/api/stats"),
                         ("GET", "/api/faults"), ("OPTIONS", "/api/events"),
                         ("GET", "/api/health")):
        for origin in (EVIL, "null", "http://localhost:%d" % client.port,
                       "https://127.0.0.1:%d" % client.port):
            status, got, data = client.request(method, path, b"{}" if method == "POST" else None,
                                               {"Origin": origin})
            assert status == 403, (method, path, origin)
            answer = json.loads(data)
            assert answer["code"] == "forbidden" and "--api-token" in answer["message"]
            assert got["access-control-allow-origin"] == origin
    assert len(client.events()) == 1  # nothing deleted


def test_api_token_lets_a_chosen_origin_in(make: Any) -> None:
    client = make(api_token="s3cret")
    _post_event(client, None)
    status, got, _ = client.request("OPTIONS", "/api/events", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization"})
    assert status == 204 and got["access-control-allow-origin"] == EVIL
    assert "Authorization" in got["access-control-allow-headers"]
    for token in ("wrong", "s3cret "[:-2], ""):
        status, _, _ = client.request("GET", "/api/events", headers={
            "Origin": EVIL, "Authorization": "Bearer " + token})
        assert status == 403, token
    status, got, data = client.request("GET", "/api/events", headers={
        "Origin": EVIL, "Authorization": "Bearer s3cret"})
    assert status == 200 and len(json.loads(data)["events"]) == 1
    assert got["access-control-allow-origin"] == EVIL and "Origin" in got["vary"]
    status, _, data = client.request("DELETE", "/api/events", headers={
        "Origin": EVIL, "Authorization": "bearer s3cret"})
    assert status == 200 and json.loads(data) == {"deleted": 1}


def test_collector_cors_is_open_to_every_origin(make: Any) -> None:
    client = make()
    status, got, _ = client.request("OPTIONS", "/v1/batch", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert status == 204 and got["access-control-allow-origin"] == EVIL
    assert _post_event(client, EVIL) == 200 and _post_event(client, "null") == 200


def test_host_other_than_loopback_is_warned_about(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "db", "--host", "0.0.0.0")
    try:
        assert server.banner.startswith("pyajs dev server on http://127.0.0.1:")
        status, _, _ = server.request("GET", "/api/health")
        assert status == 200
    finally:
        err = server.stop()
    assert "WARNING: listening on 0.0.0.0" in err
    assert "/v1/*" in err and "/api/*" in err and "--allowed-host" in err
    quiet = RunningServer(tmp_path / "db2")
    assert "WARNING" not in quiet.stop()
