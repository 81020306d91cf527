"""The collector: /v1 endpoints, write keys, the events API, deduplication and stats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pyajs_server.validation import EVENT_TYPES, SHORT_TYPES

from tests.server.helpers import KEY, OTHER_KEY, Client, basic, ev, fresh_id, stats


@pytest.mark.parametrize(
    ("path", "etype"),
    [(f"/v1/{short}", long) for short, long in SHORT_TYPES.items()]
    + [(f"/v1/{long}", long) for long in EVENT_TYPES],
)
def test_single_event_endpoints(client: Client, path: str, etype: str) -> None:
    event = ev(etype)
    status, body = client.post(path, event, headers={"X-Retry-Count": "2"})
    assert (status, body) == (200, {"success": True})
    [row] = client.events()
    assert row["type"] == etype
    assert row["path"] == path
    assert row["writeKey"] == KEY
    assert row["messageId"] == event["messageId"]
    assert row["retryCount"] == 2
    assert row["event"] == event
    assert row["receivedAt"].endswith("Z") and len(row["receivedAt"]) == 24


def test_single_event_without_type_and_json_content_type(client: Client) -> None:
    event = ev(None, event="Clicked", userId="u-9", anonymousId=None)
    status, _ = client.post("/v1/t", event, content_type="application/json; charset=utf-8")
    assert status == 200
    [row] = client.events()
    assert row["type"] == "track"
    assert row["retryCount"] is None
    assert row["event"]["userId"] == "u-9"


def test_batch_success_merges_sent_at_and_context(client: Client) -> None:
    items = [ev("track"), ev("page", sentAt="2023-05-05T05:05:05+02:00", context={"own": True}),
             ev("identify")]
    for item in items:
        del item["writeKey"]
    payload = {
        "batch": items,
        "writeKey": KEY,
        "sentAt": "2024-01-01T00:00:00.000Z",
        "context": {"library": {"name": "pyajs"}},
    }
    for path in ("/v1/batch", "/v1/b"):
        status, body = client.post(path, payload)
        assert (status, body) == (200, {"success": True})
        # Fresh messageIds for the second post (the same ones would be duplicates).
        for item in items:
            item["messageId"] = fresh_id()
    rows = client.events()
    assert [r["type"] for r in rows] == ["track", "page", "identify"] * 2
    assert [r["path"] for r in rows] == ["/v1/batch"] * 3 + ["/v1/b"] * 3
    assert rows[0]["event"]["sentAt"] == "2024-01-01T00:00:00.000Z"
    assert rows[0]["event"]["context"] == {"library": {"name": "pyajs"}}
    assert rows[1]["event"]["sentAt"] == "2023-05-05T05:05:05+02:00"
    assert rows[1]["event"]["context"] == {"own": True}
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


def test_write_key_from_basic_auth(client: Client) -> None:
    event = ev("track")
    del event["writeKey"]
    status, _ = client.post("/v1/t", event, headers={"Authorization": basic(OTHER_KEY)})
    assert status == 200
    assert client.events()[0]["writeKey"] == OTHER_KEY
    # Same key in both places is fine.
    event = ev("track", writeKey=KEY)
    assert client.post("/v1/t", event, headers={"Authorization": basic(KEY)})[0] == 200


@pytest.mark.parametrize(
    ("body_key", "auth", "status", "needle"),
    [
        (None, None, 401, "missing"),
        ("nope", None, 401, "unknown"),
        (None, basic("nope"), 401, "unknown"),
        (KEY, basic(OTHER_KEY), 400, "writeKey"),
        (None, "Bearer xyz", 401, "Authorization"),
        (None, "Basic !!!notbase64", 401, "Authorization"),
        (123, None, 400, "writeKey"),
    ],
)
def test_write_key_errors(
    client: Client, body_key: Any, auth: str | None, status: int, needle: str
) -> None:
    event = ev("track", writeKey=body_key if body_key is not None else ...)
    headers = {"Authorization": auth} if auth else {}
    got, body = client.post("/v1/t", event, headers=headers)
    assert got == status
    assert needle in body["error"]
    assert client.events() == []


def test_health(client: Client) -> None:
    status, headers, data = client.request("GET", "/api/health")
    assert (status, json.loads(data)) == (200, {"ok": True})
    assert "access-control-allow-origin" not in headers  # /api: no CORS (access.py)


def test_events_filters(client: Client) -> None:
    posts = [
        (ev("track", anonymousId="a1"), {}),
        (ev("page", anonymousId="a2", userId="u1"), {}),
        (ev("identify", anonymousId="a1", userId="u1"), {}),
        (ev("track", anonymousId="a2", writeKey=OTHER_KEY), {}),
    ]
    for event, headers in posts:
        assert client.post("/v1/" + event["type"], event, headers)[0] == 200
    rows = client.events()
    ids = [r["id"] for r in rows]
    assert len(rows) == 4

    status, headers, _ = client.request("GET", "/api/events")
    assert headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in headers  # /api: no CORS (access.py)

    assert [r["type"] for r in client.events("?type=track")] == ["track", "track"]
    assert len(client.events(f"?writeKey={OTHER_KEY}")) == 1
    assert len(client.events("?anonymousId=a1")) == 2
    assert len(client.events("?userId=u1")) == 2
    assert len(client.events("?userId=u1&type=page&anonymousId=a2")) == 1
    msg = rows[2]["messageId"]
    assert [r["messageId"] for r in client.events(f"?messageId={msg}")] == [msg]
    assert [r["id"] for r in client.events(f"?after={ids[1]}")] == ids[2:]
    assert [r["id"] for r in client.events("?limit=2")] == ids[:2]
    assert [r["id"] for r in client.events(f"?after={ids[0]}&limit=1")] == [ids[1]]
    assert len(client.events("?limit=10000")) == 4
    assert client.events("?after=9223372036854775807") == []
    for bad in ("?limit=x", "?after=y", "?limit=-1", "?type=t", "?limit=10001", "?after=-1",
                "?after=99999999999999999999999", "?after=9223372036854775808", "?limit=1.5",
                "?after=%D9%A3"):
        status, _, data = client.request("GET", "/api/events" + bad)
        assert status == 400, (bad, data)
        assert json.loads(data)["message"].startswith(bad[1:].split("=")[0] + ":")


def test_delete_events(client: Client) -> None:
    for _ in range(3):
        client.post("/v1/t", ev("track"))
    last_id = client.events()[-1]["id"]
    status, _, data = client.request("DELETE", "/api/events")
    assert (status, json.loads(data)) == (200, {"deleted": 3})
    assert client.events() == []
    client.post("/v1/t", ev("track"))
    [row] = client.events()
    assert row["id"] > last_id  # ids never go backwards, so `after` pollers keep working



def test_duplicate_message_id_is_stored_once(client: Client) -> None:
    event = ev("track", properties={"copy": 1})
    assert client.post("/v1/t", event) == (200, {"success": True})
    # A retry (maybe with a different body or retry count): acknowledged, not stored again.
    again = {**event, "properties": {"copy": 2}}
    status, body = client.post("/v1/track", again, headers={"X-Retry-Count": "1"})
    assert (status, body) == (200, {"success": True, "duplicates": 1})
    batch = {"writeKey": KEY, "batch": [{**event, "type": "track"}, ev("page")]}
    assert client.post("/v1/batch", batch) == (200, {"success": True, "duplicates": 1})
    rows = client.events()
    assert [r["type"] for r in rows] == ["track", "page"]
    assert rows[0]["event"]["properties"] == {"copy": 1}  # the first copy wins
    assert rows[0]["retryCount"] is None and rows[0]["path"] == "/v1/t"
    assert stats(client) == {"events": 2, "duplicates": 2, "requests": 3, "faults_injected": 0}


def test_duplicates_are_per_write_key(client: Client) -> None:
    event = ev("track")
    assert client.post("/v1/t", event) == (200, {"success": True})
    other = {**event, "writeKey": OTHER_KEY}
    assert client.post("/v1/t", other) == (200, {"success": True})
    assert sorted(r["writeKey"] for r in client.events()) == sorted([KEY, OTHER_KEY])


def test_duplicates_within_one_batch_collapse(client: Client) -> None:
    first, second = ev("track", properties={"n": 1}), ev("identify")
    items = [first, {**first, "properties": {"n": 2}}, second, dict(second), dict(first)]
    status, body = client.post("/v1/batch", {"writeKey": KEY, "batch": items})
    assert (status, body) == (200, {"success": True, "duplicates": 3})
    rows = client.events()
    assert [r["messageId"] for r in rows] == [first["messageId"], second["messageId"]]
    assert rows[0]["event"]["properties"] == {"n": 1}
    assert stats(client)["duplicates"] == 3


def test_rejected_then_retried_batch_is_stored_once(client: Client) -> None:
    items = [ev("track"), ev("page")]
    bad = {"writeKey": KEY, "batch": [*items, {**ev("track"), "event": None}]}
    assert client.post("/v1/batch", bad)[0] == 400  # all or nothing: none stored
    good = {"writeKey": KEY, "batch": items}
    assert client.post("/v1/batch", good) == (200, {"success": True})
    assert client.post("/v1/batch", good) == (200, {"success": True, "duplicates": 2})
    assert len(client.events()) == 2


def test_stats_endpoint(client: Client) -> None:
    assert stats(client) == {"events": 0, "duplicates": 0, "requests": 0, "faults_injected": 0}
    client.post("/v1/t", "{bad")  # counted as a request, stores nothing
    client.post("/v1/t", ev("track"))
    client.request("OPTIONS", "/v1/t")  # not a POST: not counted
    assert stats(client) == {"events": 1, "duplicates": 0, "requests": 2, "faults_injected": 0}
    status, headers, _ = client.request("GET", "/api/stats")
    assert headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in headers  # /api: no CORS (access.py)
    assert client.request("POST", "/api/stats", b"")[0] == 405
    assert client.request("OPTIONS", "/api/stats")[0] == 204
