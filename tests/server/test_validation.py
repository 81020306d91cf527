"""What the collector refuses, with a 4xx naming the field, and what it accepts."""

from __future__ import annotations

import gzip
import json
import zlib
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


# ---- request bodies: compression, Unicode, numbers, timestamps ---------------------------

def _post_raw(client: Client, path: str, body: bytes, coding: str | None = None,
              ) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if coding:
        headers["Content-Encoding"] = coding
    status, _, data = client.request("POST", path, body, headers)
    return status, json.loads(data)


def _deflate(data: bytes, raw: bool = False) -> bytes:
    packer = zlib.compressobj(wbits=-15 if raw else 15)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "deflate-raw", "GZIP"])
def test_compressed_bodies_are_accepted(client: Client, coding: str) -> None:
    event = ev("track", properties={"text": "caf\u00e9 \U0001f600"})
    plain = json.dumps(event).encode()
    if coding.lower() in ("gzip", "x-gzip"):
        body = gzip.compress(plain)
    else:
        body = _deflate(plain, raw=coding == "deflate-raw")
    status, answer = _post_raw(client, "/v1/t", body, coding.replace("-raw", ""))
    assert (status, answer) == (200, {"success": True})
    assert [row["event"] for row in client.events()] == [event]


def test_gzip_members_back_to_back_are_one_body(client: Client) -> None:
    text = json.dumps({"writeKey": KEY, "batch": [ev("track"), ev("page")]}).encode()
    body = gzip.compress(text[:20]) + gzip.compress(text[20:])
    status, answer = _post_raw(client, "/v1/batch", body, "gzip")
    assert status == 200, answer
    assert len(client.events()) == 2


@pytest.mark.parametrize(
    ("body", "coding", "status", "needle"),
    [
        (b"not gzip at all", "gzip", 400, "not valid gzip"),
        (gzip.compress(json.dumps(ev()).encode())[:-9], "gzip", 400, "truncated"),
        (gzip.compress(json.dumps(ev()).encode()) + b"junk", "gzip", 400, "not valid gzip"),
        (_deflate(b"{}")[:3], "deflate", 400, "truncated"),
        (b"\x78\x9c\xff\xff", "deflate", 400, "not valid deflate"),
        (gzip.compress(b"\xff\xfe{}"), "gzip", 400, "UTF-8"),
        (b"{}", "br", 415, "Content-Encoding"),
        (b"{}", "gzip, deflate", 415, "Content-Encoding"),
    ],
)
def test_bad_compressed_bodies(client: Client, body: bytes, coding: str, status: int,
                               needle: str) -> None:
    got, answer = _post_raw(client, "/v1/t", body, coding)
    assert got == status and needle in answer["message"], answer
    assert answer["code"] and answer["error"] == answer["message"]
    assert client.events() == []


def test_zip_bomb_is_413_without_inflating_it(client: Client) -> None:
    # 50 MB of zeros in about 50 KB; the server stops inflating at the 500 KB limit.
    bomb = gzip.compress(b"0" * (50 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024
    status, answer = _post_raw(client, "/v1/batch", bomb, "gzip")
    assert status == 413 and "once decompressed" in answer["message"], answer
    assert answer["code"] == "payload_too_large"
    # one event: its own 32 KB limit applies to the decompressed size too
    big = gzip.compress(json.dumps(ev(properties={"pad": "x" * 40000})).encode())
    status, answer = _post_raw(client, "/v1/t", big, "gzip")
    assert status == 413 and answer["message"].startswith("event"), answer


def test_error_answers_carry_code_and_message(client: Client) -> None:
    status, answer = client.post("/v1/t", ev(messageId=""))
    assert status == 400
    assert answer == {"success": False, "code": "invalid_request",
                      "message": answer["error"], "error": answer["error"]}
    status, answer = client.post("/v1/t", {**ev(), "writeKey": "nope"})
    assert status == 401 and answer["code"] == "unauthorized"
    status, _, data = client.request("GET", "/v1/t")
    assert status == 405 and json.loads(data)["code"] == "method_not_allowed"


def test_lone_surrogates_are_replaced_and_the_event_kept(client: Client) -> None:
    body = (r'{"writeKey": "%s", "batch": [{"type": "track", "messageId": "s1",'
            r' "anonymousId": "a\ud83d", "event": "Half \ud83d", "properties":'
            r' {"t": "Truncated \ud83d", "k\udc00": ["ok \ud83d\ude00", "\udfff"]}},'
            r' {"type": "page", "messageId": "s2", "userId": "u1", "name": "clean"}]}' % KEY)
    status, answer = _post_raw(client, "/v1/batch", body.encode())
    assert status == 200, answer
    assert answer["warnings"] == [
        "batch[0].anonymousId: a lone UTF-16 surrogate was replaced with U+FFFD",
        "batch[0].event: a lone UTF-16 surrogate was replaced with U+FFFD",
        "batch[0].properties.k\ufffd (a key): a lone UTF-16 surrogate was replaced with U+FFFD",
        "batch[0].properties.k\ufffd[1]: a lone UTF-16 surrogate was replaced with U+FFFD",
        "batch[0].properties.t: a lone UTF-16 surrogate was replaced with U+FFFD",
    ]
    first, second = [row["event"] for row in client.events()]
    assert first["event"] == "Half \ufffd" and first["anonymousId"] == "a\ufffd"
    assert first["properties"] == {"t": "Truncated \ufffd",
                                   "k\ufffd": ["ok \U0001f600", "\ufffd"]}
    assert second["name"] == "clean"
    assert client.events("?anonymousId=a%EF%BF%BD")[0]["messageId"] == "s1"


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1" + "0" * 5000])
def test_numbers_out_of_range_are_400(client: Client, number: str) -> None:
    body = '{"writeKey": "%s", "type": "track", "messageId": "n", "anonymousId": "a",' \
           ' "event": "E", "properties": {"n": %s}}' % (KEY, number)
    status, answer = _post_raw(client, "/v1/t", body.encode())
    assert status == 400 and answer["message"].startswith("body: not valid JSON"), answer


def test_big_numbers_within_range_are_kept(client: Client) -> None:
    props = {"big": 2**70, "small": 1e-300, "float": 1.7976931348623157e308}
    status, answer = client.post("/v1/t", ev(properties=props))
    assert status == 200, answer
    assert client.events()[0]["event"]["properties"] == props


GOOD_TIMES = ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00Z", "2024-02-29T23:59:59+02:00",
              "2026-12-02T16:32:01.390123+00:00", "2024-01-01T00:00:00.123456789Z",
              "2024-01-01T00:00-0500", "2024-01-01T00:00:00"]
BAD_TIMES = ["<script>alert(1)</script>", "", "2024-01-01", "2024-13-01T00:00:00Z",
             "2023-02-29T00:00:00Z", "yesterday", "2024-01-01 00:00:00Z", 1700000000000,
             None, {"t": 1}, "2024-01-01T25:00:00Z", "2024-01-01T00:00:00.Z"]


@pytest.mark.parametrize("field", ["timestamp", "sentAt", "originalTimestamp"])
def test_timestamps_must_be_iso_8601(client: Client, field: str) -> None:
    for good in GOOD_TIMES:
        status, answer = client.post("/v1/t", ev(**{field: good}))
        assert status == 200, (good, answer)
    for bad in BAD_TIMES:
        status, answer = client.post("/v1/t", ev(**{field: bad}))
        assert status == 400, (bad, answer)
        assert answer["message"].startswith(field + ": must be an ISO 8601"), answer
        status, answer = client.post("/v1/batch", {"writeKey": KEY,
                                                   "batch": [ev(), ev(**{field: bad})]})
        assert status == 400 and answer["message"].startswith("batch[1]." + field), answer
    status, answer = client.post("/v1/batch", {"writeKey": KEY, "batch": [ev()],
                                               "sentAt": "<script>"})
    assert status == 400 and answer["message"].startswith("sentAt:"), answer
    assert len(client.events()) == len(GOOD_TIMES)
