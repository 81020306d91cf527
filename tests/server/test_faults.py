"""Fault injection (--faults): statuses, Retry-After, stalls, drops, random faults."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyajs_server.http import make_server

from tests.server.helpers import KEY, Client, ev, serving, start, stats


@pytest.fixture
def fclient(tree: Path, tmp_path: Path) -> Iterator[Client]:
    server = make_server(
        "127.0.0.1", 0, tmp_path / "fdb" / "events.sqlite3", [KEY], root=tree, faults=True
    )
    with serving(server) as client:
        yield client


def queue(client: Client, *specs: dict[str, Any]) -> list[dict[str, Any]]:
    payload: Any = specs[0] if len(specs) == 1 else list(specs)
    status, body = client.post("/api/faults", payload, content_type="application/json")
    assert status == 200, body
    return body["pending"]


def outcome(client: Client, event: dict[str, Any] | None = None) -> Any:
    """Post one event on a fresh connection: its status, or 'drop' if no answer came."""
    try:
        status, _, _ = client.request(
            "POST", "/v1/t", json.dumps(event or ev("track")), {"Content-Type": "text/plain"}
        )
    except (http.client.RemoteDisconnected, ConnectionError):
        return "drop"
    return status


def test_faults_api_is_404_without_the_flag(client: Client) -> None:
    for method in ("GET", "POST", "DELETE"):
        status, _, data = client.request(method, "/api/faults", b'{"mode": "drop"}')
        assert status == 404
        assert "--faults" in json.loads(data)["error"]
    assert client.post("/v1/t", ev("track"))[0] == 200


def test_fault_status_count(fclient: Client) -> None:
    pending = queue(fclient, {"mode": "status", "status": 503, "count": 3})
    assert pending == [{"mode": "status", "count": 3, "status": 503}]
    event = ev("track")
    status, headers, data = fclient.request(
        "POST", "/v1/t", json.dumps(event), {"Content-Type": "text/plain", "Origin": "http://x"}
    )
    assert status == 503
    assert "injected" in json.loads(data)["error"]
    assert "retry-after" not in headers
    assert headers["access-control-allow-origin"] == "http://x"
    status, _, data = fclient.request("GET", "/api/faults")
    assert json.loads(data) == {"pending": [{"mode": "status", "count": 2, "status": 503}]}
    assert [outcome(fclient, event) for _ in range(3)] == [503, 503, 200]
    assert fclient.events()[0]["messageId"] == event["messageId"]
    assert stats(fclient) == {"events": 1, "duplicates": 0, "requests": 4, "faults_injected": 3}
    assert json.loads(fclient.request("GET", "/api/faults")[2]) == {"pending": []}


def test_fault_429_with_retry_after_keeps_the_connection(fclient: Client) -> None:
    queue(fclient, {"mode": "status", "status": 429, "retryAfter": 2})
    conn = http.client.HTTPConnection(fclient.host, fclient.port, timeout=5)
    try:
        expected = [(429, "2"), (200, None)]
        for want_status, want_retry in expected:
            conn.request("POST", "/v1/t", json.dumps(ev("track")), {"Content-Type": "text/plain"})
            resp = conn.getresponse()
            resp.read()
            assert (resp.status, resp.getheader("Retry-After")) == (want_status, want_retry)
    finally:
        conn.close()
    assert len(fclient.events()) == 1


def test_faults_only_hit_collector_posts(fclient: Client) -> None:
    queue(fclient, {"mode": "status", "status": 500})
    assert fclient.request("OPTIONS", "/v1/batch")[0] == 204
    assert fclient.request("GET", "/v1/t")[0] == 405
    assert fclient.request("POST", "/v1/nope", b"{}", {"Content-Type": "text/plain"})[0] == 404
    assert fclient.request("GET", "/api/events")[0] == 200
    assert fclient.request("GET", "/demo.html")[0] == 200
    # Faults come before validation: even a bad request gets the injected answer.
    assert fclient.post("/v1/t", "{bad")[0] == 500
    assert fclient.post("/v1/t", "{bad")[0] == 400


def test_fault_drop(fclient: Client) -> None:
    queue(fclient, {"mode": "drop", "count": 2})
    event = ev("track")
    assert [outcome(fclient, event) for _ in range(3)] == ["drop", "drop", 200]
    assert len(fclient.events()) == 1
    assert stats(fclient)["faults_injected"] == 2


def test_fault_stall_does_not_block_others(fclient: Client) -> None:
    queue(fclient, {"mode": "stall", "seconds": 0.5})
    results: list[Any] = []
    stalled = threading.Thread(target=lambda: results.append(outcome(fclient)))
    started = time.monotonic()
    stalled.start()
    while stats(fclient)["faults_injected"] == 0:  # the stalled request has arrived
        time.sleep(0.005)
    assert outcome(fclient) == 200  # served while the other one is held
    assert fclient.request("GET", "/api/health")[0] == 200
    assert stalled.is_alive() and results == []  # still held, unanswered
    stalled.join(5)
    assert results == ["drop"]  # closed unanswered once the stall ran out
    assert time.monotonic() - started >= 0.5
    assert len(fclient.events()) == 1


def test_fault_stall_ends_at_shutdown(tree: Path) -> None:
    server = make_server("127.0.0.1", 0, ":memory:", [KEY], root=tree, faults=True)
    thread = start(server)
    c = Client(server)
    queue(c, {"mode": "stall", "seconds": 30})
    results: list[Any] = []
    stalled = threading.Thread(target=lambda: results.append(outcome(c)))
    stalled.start()
    while stats(c)["faults_injected"] == 0:
        time.sleep(0.005)
    started = time.monotonic()
    server.shutdown()
    server.server_close()
    thread.join(2)
    stalled.join(5)
    assert results == ["drop"]
    assert time.monotonic() - started < 2


def test_fault_queue_order_list_and_clear(fclient: Client) -> None:
    pending = queue(
        fclient,
        {"mode": "status", "status": 500},
        {"mode": "drop"},
        {"mode": "status", "status": 503, "count": 2},
    )
    assert [p["mode"] for p in pending] == ["status", "drop", "status"]
    pending = queue(fclient, {"mode": "stall", "seconds": 5, "count": 4})
    assert pending[-1] == {"mode": "stall", "count": 4, "seconds": 5.0}
    assert [outcome(fclient) for _ in range(4)] == [500, "drop", 503, 503]
    status, _, data = fclient.request("DELETE", "/api/faults")
    assert (status, json.loads(data)) == (200, {"cleared": 1})
    assert outcome(fclient) == 200
    assert fclient.request("OPTIONS", "/api/faults")[0] == 204
    assert fclient.request("PUT", "/api/faults", b"")[0] == 405


def test_fault_random_is_seeded_and_bounded(fclient: Client) -> None:
    spec = {
        "mode": "random",
        "rate": 0.5,
        "statuses": [500, 503, 429, "drop"],
        "retryAfter": 1,
        "count": 16,
        "seed": 1,
    }
    runs = []
    for _ in range(2):
        pending = queue(fclient, spec)
        assert pending == [{**spec, "count": 16}]
        seen = []
        for _ in range(16):
            try:
                status, headers, _ = fclient.request(
                    "POST", "/v1/t", json.dumps(ev("track")), {"Content-Type": "text/plain"}
                )
            except (http.client.RemoteDisconnected, ConnectionError):
                seen.append("drop")
                continue
            assert headers.get("retry-after") == ("1" if status == 429 else None)
            seen.append(status)
        runs.append(seen)
        assert outcome(fclient) == 200  # the count is used up
    assert runs[0] == runs[1]  # same seed, same faults
    failures = [s for s in runs[0] if s != 200]
    assert 0 < len(failures) < 16
    assert set(failures) <= {500, 503, 429, "drop"}
    figures = stats(fclient)
    assert figures["faults_injected"] == 2 * len(failures)
    assert figures["events"] == 2 * (16 - len(failures)) + 2


def test_fault_random_rates_zero_and_one(fclient: Client) -> None:
    queue(fclient, {"mode": "random", "rate": 0, "count": 3})
    assert [outcome(fclient) for _ in range(3)] == [200] * 3
    queue(fclient, {"mode": "random", "rate": 1, "statuses": [502], "count": 3})
    assert [outcome(fclient) for _ in range(4)] == [502, 502, 502, 200]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "mode"),
        ({"mode": "explode"}, "mode"),
        ({"mode": "status"}, "status"),
        ({"mode": "status", "status": 200}, "status"),
        ({"mode": "status", "status": "503"}, "status"),
        ({"mode": "status", "status": 503, "count": 0}, "count"),
        ({"mode": "status", "status": 503, "count": "3"}, "count"),
        ({"mode": "status", "status": 503, "count": True}, "count"),
        ({"mode": "status", "status": 429, "retryAfter": -1}, "retryAfter"),
        ({"mode": "status", "status": 429, "retry_after": 2}, "retry_after"),
        ({"mode": "stall"}, "seconds"),
        ({"mode": "stall", "seconds": 0}, "seconds"),
        ({"mode": "stall", "seconds": 1e9}, "seconds"),
        ({"mode": "drop", "status": 500}, "status"),
        ({"mode": "random"}, "rate"),
        ({"mode": "random", "rate": 1.5}, "rate"),
        ({"mode": "random", "rate": 0.5, "statuses": []}, "statuses"),
        ({"mode": "random", "rate": 0.5, "statuses": [500, "stall"]}, "statuses"),
        ({"mode": "random", "rate": 0.5, "seed": 1.5}, "seed"),
        ([{"mode": "drop"}, {"mode": "nope"}], "[1].mode"),
        ([{"mode": "drop"}, 3], "[1]"),
        ([], "body"),
        ("{not json", "body"),
        ("3", "body"),
    ],
)
def test_bad_fault_json_is_400_naming_the_field(fclient: Client, payload: Any, field: str) -> None:
    status, body = fclient.post("/api/faults", payload, content_type="application/json")
    assert status == 400, body
    assert body["error"].startswith(field + ":"), body
    assert json.loads(fclient.request("GET", "/api/faults")[2]) == {"pending": []}
