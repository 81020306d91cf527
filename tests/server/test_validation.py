"""What the collector refuses, with a 4xx naming the field, and what it accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.server.helpers import KEY, OTHER_KEY, Client, ev


@pytest.mark.parametrize(
    ("path", "event", "field"),
    [
        ("/v1/t", ev("page"), "type"),
        ("/v1/t", ev("track", messageId=...), "messageId"),
        ("/v1/t", ev("track", messageId=""), "messageId"),
        ("/v1/t", ev("track", messageId=5), "messageId"),
        ("/v1/t", ev("track", anonymousId=...), "userId"),
        ("/v1/t", ev("track", anonymousId=None, userId=None), "userId"),
        ("/v1/t", ev("track", anonymousId=42), "anonymousId"),
        ("/v1/t", ev("track", userId=7), "userId"),
        ("/v1/t", ev("track", userId=""), "userId"),
        ("/v1/t", ev("track", event=...), "event"),
        ("/v1/t", ev("track", event=3), "event"),
        ("/v1/t", ev("track", properties=[1]), "properties"),
        ("/v1/i", ev("identify", traits="x"), "traits"),
        ("/v1/t", ev("track", context=None), "context"),
        ("/v1/t", ev("track", integrations=1), "integrations"),
        ("/v1/t", ev("track", timestamp=123), "timestamp"),
        ("/v1/t", ev("track", sentAt={}), "sentAt"),
        ("/v1/a", ev("alias", userId=...), "userId"),
        ("/v1/a", ev("alias", previousId=1), "previousId"),
        ("/v1/g", ev("group", groupId=...), "groupId"),
        ("/v1/t", [ev("track")], "body"),
        ("/v1/t", "{not json", "body"),
        ("/v1/t", "NaN", "body"),
        ("/v1/t", "", "body"),
        ("/v1/batch", {"writeKey": KEY}, "batch"),
        ("/v1/batch", {"writeKey": KEY, "batch": []}, "batch"),
        ("/v1/batch", {"writeKey": KEY, "batch": {}}, "batch"),
        ("/v1/batch", {"writeKey": KEY, "batch": [ev()], "sentAt": 1}, "sentAt"),
        ("/v1/batch", {"writeKey": KEY, "batch": [ev()], "context": 1}, "context"),
    ],
)
def test_validation_errors(client: Client, path: str, event: Any, field: str) -> None:
    status, body = client.post(path, event)
    assert status == 400, body
    assert body["error"].startswith(field), body
    assert client.events() == []


def test_invalid_utf8_body(client: Client) -> None:
    status, _, data = client.request("POST", "/v1/t", b"\xff\xfe", {"Content-Type": "text/plain"})
    assert status == 400 and b"UTF-8" in data


@pytest.mark.parametrize(
    ("bad_item", "field"),
    [
        ({**ev("track"), "event": None}, "batch[2].event"),
        ({**ev("track"), "type": None}, "batch[2].type"),
        ({**ev("track"), "type": "t"}, "batch[2].type"),
        ("not an object", "batch[2]"),
        ({**ev("track"), "writeKey": OTHER_KEY}, "batch[2].writeKey"),
        ({**ev("group"), "groupId": ""}, "batch[2].groupId"),
    ],
)
def test_batch_is_all_or_nothing(client: Client, bad_item: Any, field: str) -> None:
    payload = {"writeKey": KEY, "batch": [ev("track"), ev("page"), bad_item, ev("identify")]}
    status, body = client.post("/v1/batch", payload)
    assert status == 400
    assert body["error"].startswith(field + ":"), body
    assert client.events() == []


def test_unsupported_content_type(client: Client) -> None:
    for ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        status, body = client.post("/v1/t", ev("track"), content_type=ctype)
        assert status == 415
        assert "Content-Type" in body["error"]
    status, _, data = client.request("POST", "/v1/t", json.dumps(ev("track")))
    assert status == 415, data
    assert client.events() == []


def test_sizes(client: Client) -> None:
    big_event = ev("track", properties={"pad": "x" * (33 * 1024)})
    status, body = client.post("/v1/t", big_event)
    assert status == 413 and body["error"].startswith("event")

    payload = {"writeKey": KEY, "batch": [ev("track"), big_event]}
    status, body = client.post("/v1/batch", payload)
    assert status == 413 and body["error"].startswith("batch[1]")

    items = [ev("track", properties={"pad": "x" * (30 * 1024)}) for _ in range(20)]
    status, body = client.post("/v1/batch", {"writeKey": KEY, "batch": items})
    assert status == 413 and body["error"].startswith("body")

    # Just under the limits is fine.
    items = [ev("track", properties={"pad": "x" * (30 * 1024)}) for _ in range(15)]
    status, body = client.post("/v1/batch", {"writeKey": KEY, "batch": items})
    assert status == 200, body
    assert len(client.events()) == 15
