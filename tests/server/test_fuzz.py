"""Fuzzing the collector: a few thousand random and mutated requests (seeded, so a failure
can be replayed) at every endpoint. Whatever comes in, the answer is 2xx or 4xx, never a 5xx
or a dropped connection; the server keeps serving; what it stored stays readable; and a
batch mixing valid and invalid events is refused whole, nothing of it stored (the rule in
collector.batch_events)."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import random
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyajs_server.http import make_server

from tests.server.helpers import KEY, basic, make_tree, start

SEED = 20261202
BODIES = 2500  # about a second or two of requests on a quiet machine

COLLECT_PATHS = ["/v1/t", "/v1/p", "/v1/i", "/v1/g", "/v1/a", "/v1/s", "/v1/track",
                 "/v1/page", "/v1/identify", "/v1/group", "/v1/alias", "/v1/screen",
                 "/v1/batch", "/v1/b"]
API_PATHS = ["/api/events", "/api/stats", "/api/health", "/api/faults", "/api/nope", "/v1/x"]
METHODS = ["POST"] * 8 + ["GET", "HEAD", "DELETE", "PUT", "PATCH", "OPTIONS"]
TYPES = ["track", "page", "identify", "group", "alias", "screen"]


class Fuzzer:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.n = 0

    def mid(self) -> str:
        self.n += 1
        return "fz-%d" % self.n

    def valid_event(self, etype: str | None = None) -> dict[str, Any]:
        rng = self.rng
        etype = etype or rng.choice(TYPES)
        event: dict[str, Any] = {"type": etype, "messageId": self.mid(),
                                 "anonymousId": "anon-%d" % rng.randrange(5),
                                 "timestamp": "2026-01-0%dT00:00:00.000Z" % rng.randrange(1, 9),
                                 "properties": {"n": rng.random(), "s": "caf\u00e9"},
                                 "context": {"library": {"name": "fuzz"}}}
        if etype == "track":
            event["event"] = "Fuzzed %d" % rng.randrange(100)
        if etype in ("alias",):
            event["userId"] = "user-%d" % rng.randrange(5)
            event["previousId"] = "anon-1"
        if etype == "group":
            event["groupId"] = "g-%d" % rng.randrange(5)
        return event

    def random_json(self, depth: int = 0) -> Any:
        rng = self.rng
        kind = rng.randrange(9 if depth < 3 else 6)
        if kind == 0:
            return None
        if kind == 1:
            return rng.choice([True, False])
        if kind == 2:
            return rng.choice([0, -1, 2**53 + 1, 2**64, rng.randrange(-10**6, 10**6)])
        if kind == 3:
            return rng.choice([0.5, -0.0, 1e308, 5e-324, rng.random()])
        if kind == 4:
            return rng.choice(["", "x", "\u0000", "\ud83d", "\U0001f600", "<script>", "a" * 300])
        if kind == 5:
            return "%d" % rng.randrange(10**9)
        if kind == 6:
            return [self.random_json(depth + 1) for _ in range(rng.randrange(4))]
        return {rng.choice(["type", "event", "x", "\ud800", "userId", "messageId"]):
                self.random_json(depth + 1) for _ in range(rng.randrange(4))}

    def wrong_types(self) -> dict[str, Any]:
        event = self.valid_event()
        for _ in range(self.rng.randrange(1, 4)):
            field = self.rng.choice(["type", "messageId", "userId", "anonymousId", "event",
                                     "properties", "traits", "context", "integrations",
                                     "timestamp", "sentAt", "originalTimestamp", "groupId",
                                     "previousId", "writeKey", "batch"])
            event[field] = self.random_json()
        return event

    def text(self, value: Any) -> str:
        # ensure_ascii: lone surrogates become \\udXXX escapes, as JSON.stringify writes them
        return json.dumps(value)

    def mutate(self, data: bytes) -> bytes:
        rng = self.rng
        buf = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            op = rng.randrange(6)
            pos = rng.randrange(len(buf) + 1)
            if op == 0 and buf:
                buf[min(pos, len(buf) - 1)] = rng.randrange(256)
            elif op == 1:
                buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
            elif op == 2:
                del buf[pos:pos + rng.randrange(1, 20)]
            elif op == 3:
                buf[pos:pos] = rng.choice([b"\\ud83d", b"\\udc00", b"\xed\xa0\xbd", b"\xff",
                                           b"\xc3", b"\x00", b"1e999", b"-", b'"', b"{", b"]"])
            elif op == 4:
                buf = buf[:pos]
            else:
                buf[pos:pos] = buf[: rng.randrange(1, 40)]
        return bytes(buf)

    def body(self) -> tuple[bytes, str | None, str]:
        """(body, Content-Encoding, what kind)."""
        rng = self.rng
        kind = rng.choice(["random", "mutated", "wrong_types", "surrogates", "deep", "numbers",
                           "gzip", "gzip_garbage", "gzip_truncated", "deflate", "valid",
                           "random_json", "batch_mutated"])
        coding = None
        if kind == "random":
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        elif kind == "mutated":
            data = self.mutate(self.text(self.valid_event()).encode())
        elif kind == "batch_mutated":
            batch = {"writeKey": KEY, "batch": [self.valid_event() for _ in range(3)]}
            data = self.mutate(self.text(batch).encode())
        elif kind == "wrong_types":
            data = self.text(self.wrong_types()).encode()
        elif kind == "surrogates":
            event = self.valid_event()
            half = rng.choice(["\ud83d", "\udfff", "\ud800x", "x\udc00"])
            target = rng.choice(["event", "properties", "key", "anonymousId", "context"])
            if target == "properties":
                event["properties"]["t"] = "Truncated " + half
            elif target == "key":
                event["properties"]["k" + half] = 1
            elif target == "context":
                event["context"]["page"] = {"title": [half]}
            else:
                event[target] = "a" + half
            data = self.text(event).encode()
        elif kind == "deep":
            depth = rng.choice([50, 500, 990, 5000, 100000])
            inner = "[" * depth + "]" * depth
            data = ('{"type":"track","messageId":"%s","anonymousId":"a","event":"E",'
                    '"properties":{"d":%s}}' % (self.mid(), inner)).encode()
        elif kind == "numbers":
            number = rng.choice(["1e999", "-1e400", "1" * 5000, "1" * 4000, "0." + "0" * 400 +
                                 "1", "123456789012345678901234567890", "-0", "1E+2"])
            data = ('{"type":"track","messageId":"%s","anonymousId":"a","event":"E",'
                    '"properties":{"n":%s}}' % (self.mid(), number)).encode()
        elif kind in ("gzip", "gzip_truncated"):
            data = gzip.compress(self.text(self.valid_event()).encode())
            coding = "gzip"
            if kind == "gzip_truncated":
                data = data[: rng.randrange(len(data))]
        elif kind == "gzip_garbage":
            data = self.mutate(gzip.compress(self.text(self.valid_event()).encode()))
            coding = rng.choice(["gzip", "deflate", "br", "gzip, gzip", ""])
        elif kind == "deflate":
            data = zlib.compress(self.mutate(self.text(self.valid_event()).encode())
                                 if rng.random() < 0.5 else self.text(self.valid_event()).encode())
            coding = "deflate"
        elif kind == "random_json":
            data = self.text(self.random_json()).encode()
        else:
            data = self.text(self.valid_event()).encode()
        return data, coding, kind

    def headers(self, coding: str | None) -> dict[str, str]:
        rng = self.rng
        headers = {"Content-Type": rng.choice(["text/plain", "application/json"] * 4 + [
            "application/json; charset=utf-8", "text/html", "", "text/plain;;;"])}
        if coding is not None:
            headers["Content-Encoding"] = coding
        auth = rng.randrange(8)
        if auth < 6:
            headers["Authorization"] = basic(KEY)
        elif auth == 6:
            headers["Authorization"] = rng.choice(["Basic !!!", "Bearer x", "Basic " +
                                                   base64.b64encode(b"\xff\xfe:").decode(), ""])
        if rng.random() < 0.1:
            headers["X-Retry-Count"] = rng.choice(["1", "-1", "x" * 50, "99999999999999999999"])
        if rng.random() < 0.05:
            headers["Origin"] = "http://127.0.0.1"
        return headers

    def query(self) -> str:
        rng = self.rng
        parts = []
        for name in rng.sample(["after", "limit", "type", "writeKey", "userId", "anonymousId",
                                "messageId", "x"], rng.randrange(4)):
            value = rng.choice(["1", "0", "-1", "99999999999999999999999", "1e3", "%ff%fe",
                                "track", "t", "", "%ED%A0%BD", "%D9%A1", "10000", "10001"])
            parts.append("%s=%s" % (name, value))
        return ("?" + "&".join(parts)) if parts else ""


class Connection:
    """One keep-alive connection, reopened whenever the server closes it."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None,
                headers: dict[str, str]) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.conn.close()
            self.conn = None
        return resp.status, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@pytest.fixture
def fuzz_server(tmp_path: Path) -> Iterator[Any]:
    servers = []
    for faults in (False, True):
        server = make_server("127.0.0.1", 0, tmp_path / ("db%d.sqlite3" % faults), [KEY],
                             root=make_tree(tmp_path / ("repo%d" % faults)), faults=faults)
        servers.append((server, start(server)))
    yield [server for server, _ in servers]
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(2)


def test_fuzzed_requests_get_2xx_or_4xx_and_mixed_batches_are_refused_whole(
        fuzz_server: list[Any]) -> None:
    main, with_faults = fuzz_server
    fuzz = Fuzzer(SEED)
    conn = Connection(main.server_address[1])
    faults_conn = Connection(with_faults.server_address[1])
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    failures = []
    try:
        for i in range(BODIES):
            body, coding, kind = fuzz.body()
            headers = fuzz.headers(coding)
            roll = fuzz.rng.random()
            target = conn
            if roll < 0.75:
                method, path = "POST", fuzz.rng.choice(COLLECT_PATHS)
            else:
                method = fuzz.rng.choice(METHODS)
                path = fuzz.rng.choice(API_PATHS) + fuzz.query()
                if path.startswith("/api/faults"):
                    # its own server, so that no fuzzed fault makes the collector fail
                    target = faults_conn
                if method == "DELETE" and path.startswith("/api/events"):
                    method = "GET"  # keep what was stored, to read it back at the end
            send = None if method in ("GET", "HEAD", "OPTIONS") and roll < 0.9 else body
            status, data = target.request(method, path, send, headers)
            statuses[status] += 1
            kinds[kind] += 1
            if not (200 <= status < 500):
                failures.append((i, method, path, kind, status, data[:200], body[:200]))
            elif status >= 400 and method != "HEAD":
                answer = json.loads(data)
                assert answer["code"] and answer["message"], answer
            if target is faults_conn:
                faults_conn.request("DELETE", "/api/faults", None, {})
        print("fuzz: %d requests, statuses %s, bodies %s" % (
            BODIES, dict(sorted(statuses.items())), dict(sorted(kinds.items()))))
        assert failures == []
        assert statuses[200] > 50 and statuses[400] > 100  # both paths really exercised

        # Mixed batches: valid events beside an invalid one are refused with the batch.
        for n in range(40):
            items = [fuzz.valid_event() for _ in range(4)]
            bad = fuzz.wrong_types()
            bad["messageId"] = fuzz.rng.choice([None, 5, "", {"x": 1}])
            items.insert(fuzz.rng.randrange(5), bad)
            payload = json.dumps({"writeKey": KEY, "batch": items}).encode()
            status, data = conn.request("POST", "/v1/batch", payload,
                                        {"Content-Type": "application/json"})
            assert status == 400, data
            index = items.index(bad)
            assert json.loads(data)["message"].startswith("batch[%d]" % index), data
            for item in items:
                if isinstance(item.get("messageId"), str) and item["messageId"]:
                    status, data = conn.request(
                        "GET", "/api/events?messageId=" + item["messageId"], None, {})
                    assert json.loads(data)["events"] == [], (n, item)
            # the same valid events alone are all stored
            valid = json.dumps({"writeKey": KEY, "batch": [e for e in items if e is not bad]})
            status, data = conn.request("POST", "/v1/batch", valid.encode(),
                                        {"Content-Type": "application/json"})
            assert status == 200, data

        # Everything stored reads back as JSON, and the server still answers.
        status, data = conn.request("GET", "/api/events?limit=10000", None, {})
        assert status == 200
        events = json.loads(data)["events"]
        assert len(events) >= 160
        assert "\ud83d" not in data.decode("utf-8", "surrogatepass")
        status, _ = conn.request("GET", "/api/health", None, {})
        assert status == 200
    finally:
        conn.close()
        faults_conn.close()
