"""HTTP plumbing: body reading, keep-alive after errors, 500s, CORS, routing, concurrency."""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any

import pytest

from tests.server.helpers import Client, ev


def test_missing_content_length_is_411(client: Client) -> None:
    conn = http.client.HTTPConnection(client.host, client.port, timeout=5)
    try:
        conn.putrequest("POST", "/v1/t")
        conn.putheader("Content-Type", "text/plain")
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 411
        assert "Content-Length" in json.loads(resp.read())["error"]
    finally:
        conn.close()


def test_keep_alive_after_errors(client: Client) -> None:
    """Several requests on one connection, errors included, stay in sync."""
    conn = http.client.HTTPConnection(client.host, client.port, timeout=5)
    try:
        plain = {"Content-Type": "text/plain"}
        sequence = [
            ("POST", "/v1/t", "{bad", plain, 400),
            ("POST", "/v1/t", json.dumps(ev("track")), {"Content-Type": "x/y"}, 415),
            ("POST", "/v1/nope", "whatever", plain, 404),
            ("DELETE", "/api/health", "ignored body", plain, 405),
            ("POST", "/v1/t", json.dumps(ev("track")), plain, 200),
            ("GET", "/demo.html", None, {}, 200),
            ("HEAD", "/demo.html", None, {}, 200),
            ("GET", "/api/health", None, {}, 200),
        ]
        for method, path, body, headers, expected in sequence:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == expected, (method, path)
    finally:
        conn.close()
    assert len(client.events()) == 1


def test_server_survives_bad_requests(client: Client) -> None:
    for payload in ["{", "[]", "null", '{"batch": 1}', "\x00", '{"a":' * 5000]:
        client.request("POST", "/v1/t", payload, {"Content-Type": "text/plain"})
        client.request("POST", "/v1/batch", payload, {"Content-Type": "text/plain"})
    status, _ = client.post("/v1/t", ev("track"))
    assert status == 200
    assert len(client.events()) == 1


def test_internal_error_is_500_and_server_goes_on(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(rows: Any) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(client.server.store, "insert", boom)
    status, body = client.post("/v1/t", ev("track"))
    assert status == 500 and "error" in body
    monkeypatch.undo()
    assert client.post("/v1/t", ev("track"))[0] == 200
    assert len(client.events()) == 1


def test_cors_preflight_and_post_headers(client: Client) -> None:
    origin = "http://localhost:5173"
    status, headers, body = client.request(
        "OPTIONS",
        "/v1/batch",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == origin
    assert headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert headers["access-control-allow-headers"] == ("Authorization, Content-Type, X-Retry-Count")
    assert headers["access-control-max-age"] == "600"

    status, headers, _ = client.request("OPTIONS", "/v1/t")
    assert headers["access-control-allow-origin"] == "*"

    body_bytes = json.dumps(ev("track"))
    for payload, expected in ((body_bytes, 200), ("{", 400)):
        status, headers, _ = client.request(
            "POST", "/v1/t", payload, {"Content-Type": "text/plain", "Origin": origin}
        )
        assert status == expected
        assert headers["access-control-allow-origin"] == origin


def test_unknown_routes_and_wrong_methods(client: Client) -> None:
    for method, path, status in [
        ("POST", "/v1/x", 404),
        ("POST", "/v1", 404),
        ("GET", "/api/nope", 404),
        ("GET", "/v1/t", 405),
        ("PUT", "/v1/batch", 405),
        ("POST", "/api/events", 405),
        ("PATCH", "/api/events", 405),
        ("POST", "/api/health", 405),
    ]:
        got, headers, data = client.request(method, path, b"", {"Content-Type": "text/plain"})
        assert got == status, (method, path)
        assert headers["content-type"].startswith("application/json")
        assert "error" in json.loads(data)
        if status == 405:
            assert headers["allow"]


def test_concurrent_posts(client: Client) -> None:
    errors: list[Any] = []

    def worker() -> None:
        for _ in range(10):
            status, body = client.post("/v1/t", ev("track"))
            if status != 200:
                errors.append(body)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert len(client.events()) == 50
    assert time.monotonic() - started < 5
