"""Tests for serve.py, the dev server: static mapping, pyajs.zip, collector, events API.

Each test runs a real server in a thread (port 0, temp db, temp repo tree) and talks HTTP to
it, because what matters is the wire behaviour the browser and the pyajs client will see.
"""

from __future__ import annotations

import base64
import http.client
import importlib
import io
import json
import os
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# serve.py is a script at the repo root, not part of an installed package.
serve = importlib.import_module("serve")

KEY = serve.DEMO_WRITE_KEY
OTHER_KEY = "second-key"


class Client:
    """Minimal HTTP client bound to one running server."""

    def __init__(self, server: serve.DevServer):
        self.host, self.port = server.server_address[:2]
        self.server = server

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def post(
        self,
        path: str,
        payload: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "text/plain",
    ) -> tuple[int, dict[str, Any]]:
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        all_headers = {"Content-Type": content_type, **(headers or {})}
        status, _, data = self.request("POST", path, body, all_headers)
        return status, json.loads(data)

    def events(self, query: str = "") -> list[dict[str, Any]]:
        status, _, data = self.request("GET", "/api/events" + query)
        assert status == 200, data
        return json.loads(data)["events"]


def make_tree(root: Path) -> Path:
    """A fake repo: web/, pysrc/pyajs/, node_modules/ and a file outside every mount."""
    files = {
        "web/demo.html": "<!doctype html><title>demo</title>",
        "web/app.css": "body{}",
        "web/sub/index.html": "<p>sub</p>",
        "web/data.unknownext": "??",
        "node_modules/pyodide/pyodide.asm.wasm": "\0asm",
        "node_modules/pyodide/pyodide.mjs": "export default 1;",
        "node_modules/pyodide/python_stdlib.zip": "PK",
        "node_modules/@pyscript/core/dist/core.js": "console.log(1)",
        "node_modules/@segment/analytics-next/dist/umd/standalone.js": "var a;",
        "pysrc/pyajs/__init__.py": "VERSION = '0'\n",
        "pysrc/pyajs/codec.py": "def f():\n    return 1\n",
        "pysrc/pyajs/sub/mod.py": "X = 1\n",
        "pysrc/pyajs/__pycache__/codec.cpython-311.pyc": "junk",
        "secret.txt": "top secret",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def start(server: serve.DevServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.002}, daemon=True
    )
    thread.start()
    return thread


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "repo")


@pytest.fixture
def client(tree: Path, tmp_path: Path) -> Iterator[Client]:
    server = serve.make_server(
        "127.0.0.1", 0, tmp_path / "db" / "events.sqlite3", [KEY, OTHER_KEY], root=tree
    )
    thread = start(server)
    try:
        yield Client(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


_counter = iter(range(1, 1_000_000))


def ev(etype: str | None = "track", **fields: Any) -> dict[str, Any]:
    """A valid event of the given type (None: no `type` key); fields override."""
    event: dict[str, Any] = {
        "messageId": f"m-{next(_counter)}",
        "anonymousId": "anon-1",
        "writeKey": KEY,
    }
    if etype is not None:
        event["type"] = etype
    if etype == "track":
        event["event"] = "Clicked"
    if etype == "alias":
        event["userId"] = "u-1"
        event["previousId"] = "anon-1"
    if etype == "group":
        event["groupId"] = "g-1"
    event.update(fields)
    return {k: v for k, v in event.items() if v is not ...}


# ---------------------------------------------------------------------------------------
# static files


def test_root_redirects_to_demo(client: Client) -> None:
    status, headers, _ = client.request("GET", "/")
    assert status == 302
    assert headers["location"] == "/demo.html"


@pytest.mark.parametrize(
    ("path", "content_type", "text"),
    [
        ("/demo.html", "text/html; charset=utf-8", "<!doctype html><title>demo</title>"),
        ("/app.css", "text/css; charset=utf-8", "body{}"),
        ("/sub/", "text/html; charset=utf-8", "<p>sub</p>"),
        ("/data.unknownext", "application/octet-stream", "??"),
        ("/vendor/pyodide/pyodide.asm.wasm", "application/wasm", "\0asm"),
        ("/vendor/pyodide/pyodide.mjs", "text/javascript; charset=utf-8", "export default 1;"),
        ("/vendor/pyodide/python_stdlib.zip", "application/zip", "PK"),
        ("/vendor/pyscript/core.js", "text/javascript; charset=utf-8", "console.log(1)"),
        ("/vendor/analytics-next/standalone.js", "text/javascript; charset=utf-8", "var a;"),
        ("/pyajs/codec.py", "text/x-python; charset=utf-8", "def f():\n    return 1\n"),
    ],
)
def test_static_mapping(client: Client, path: str, content_type: str, text: str) -> None:
    status, headers, body = client.request("GET", path)
    assert status == 200, body
    assert headers["content-type"] == content_type
    assert body == text.encode()
    assert headers["content-length"] == str(len(body))
    assert headers["etag"] and headers["last-modified"]

    status, headers, body = client.request("HEAD", path)
    assert status == 200
    assert body == b""
    assert headers["content-length"] == str(len(text.encode()))


def test_static_conditional_get(client: Client) -> None:
    _, headers, _ = client.request("GET", "/demo.html")
    status, headers2, body = client.request(
        "GET", "/demo.html", headers={"If-None-Match": headers["etag"]}
    )
    assert (status, body) == (304, b"")
    assert headers2["etag"] == headers["etag"]
    status, _, _ = client.request(
        "GET", "/demo.html", headers={"If-Modified-Since": headers["last-modified"]}
    )
    assert status == 304
    status, _, _ = client.request("GET", "/demo.html", headers={"If-None-Match": '"nope"'})
    assert status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/missing.html",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
        "/vendor/pyodide/../../../secret.txt",
        "/vendor/pyodide/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
        "/pyajs/..%5c..%5csecret.txt",
        "/demo.html%00.txt",
        "/vendor/pyodide/",
    ],
)
def test_static_404_and_traversal(client: Client, path: str) -> None:
    status, headers, body = client.request("GET", path)
    assert status == 404
    assert b"top secret" not in body
    assert headers["content-length"] == str(len(body))


def test_symlink_escape_is_404(client: Client, tree: Path) -> None:
    try:
        (tree / "web" / "link.txt").symlink_to(tree / "secret.txt")
    except OSError:
        pytest.skip("no symlinks here")
    status, _, body = client.request("GET", "/link.txt")
    assert status == 404 and b"secret" not in body


def test_static_wrong_method(client: Client) -> None:
    status, headers, _ = client.request("POST", "/demo.html", b"x", {"Content-Type": "text/plain"})
    assert status == 405
    assert "GET" in headers["allow"]


def test_content_type_table() -> None:
    assert serve.content_type_for("a.wasm") == "application/wasm"
    assert serve.content_type_for("a.whl") == "application/zip"
    assert serve.content_type_for("a.tar") == "application/x-tar"
    assert serve.content_type_for("a.js.map") == "application/json; charset=utf-8"
    assert serve.content_type_for("a.json") == "application/json; charset=utf-8"
    assert serve.content_type_for("noext") == "application/octet-stream"


@pytest.mark.skipif(
    not (serve.ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file(),
    reason="node_modules not installed",
)
def test_real_vendor_mapping(tmp_path: Path) -> None:
    server = serve.make_server("127.0.0.1", 0, ":memory:", [KEY])
    thread = start(server)
    try:
        c = Client(server)
        status, headers, body = c.request("HEAD", "/vendor/pyodide/pyodide.asm.wasm")
        assert (status, headers["content-type"], body) == (200, "application/wasm", b"")
        size = (serve.ROOT / "node_modules/pyodide/pyodide.asm.wasm").stat().st_size
        assert headers["content-length"] == str(size)
        status, headers, _ = c.request("HEAD", "/vendor/pyodide/pyodide.mjs")
        assert headers["content-type"] == "text/javascript; charset=utf-8"
        status, headers, _ = c.request("HEAD", "/vendor/pyscript/core.js")
        assert status == 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


# ---------------------------------------------------------------------------------------
# pyajs.zip


def test_package_zip(client: Client, tree: Path) -> None:
    status, headers, body = client.request("GET", "/pyajs/pyajs.zip")
    assert status == 200
    assert headers["content-type"] == "application/zip"
    assert headers["cache-control"] == "no-cache"
    etag = headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = sorted(archive.namelist())
        assert names == ["pyajs/__init__.py", "pyajs/codec.py", "pyajs/sub/mod.py"]
        assert archive.read("pyajs/codec.py") == b"def f():\n    return 1\n"

    status, headers, body = client.request(
        "GET", "/pyajs/pyajs.zip", headers={"If-None-Match": etag}
    )
    assert (status, body, headers["etag"]) == (304, b"", etag)

    # Editing a source rebuilds the archive and changes the ETag.
    source = tree / "pysrc/pyajs/codec.py"
    source.write_text("def f():\n    return 2\n")
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    status, headers, body = client.request(
        "GET", "/pyajs/pyajs.zip", headers={"If-None-Match": etag}
    )
    assert status == 200
    assert headers["etag"] != etag
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.read("pyajs/codec.py") == b"def f():\n    return 2\n"


# ---------------------------------------------------------------------------------------
# collector: success paths


@pytest.mark.parametrize(
    ("path", "etype"),
    [(f"/v1/{short}", long) for short, long in serve.SHORT_TYPES.items()]
    + [(f"/v1/{long}", long) for long in serve.EVENT_TYPES],
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
    items = [ev("track"), ev("page", sentAt="own", context={"own": True}), ev("identify")]
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
    rows = client.events()
    assert [r["type"] for r in rows] == ["track", "page", "identify"] * 2
    assert [r["path"] for r in rows] == ["/v1/batch"] * 3 + ["/v1/b"] * 3
    assert rows[0]["event"]["sentAt"] == "2024-01-01T00:00:00.000Z"
    assert rows[0]["event"]["context"] == {"library": {"name": "pyajs"}}
    assert rows[1]["event"]["sentAt"] == "own"
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


# ---------------------------------------------------------------------------------------
# collector: validation


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


# ---------------------------------------------------------------------------------------
# routing, CORS, events API


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


def test_health(client: Client) -> None:
    status, headers, data = client.request("GET", "/api/health")
    assert (status, json.loads(data)) == (200, {"ok": True})
    assert headers["access-control-allow-origin"] == "*"


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
    assert headers["access-control-allow-origin"] == "*"

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
    assert len(client.events("?limit=999999")) == 4
    for bad in ("?limit=x", "?after=y", "?limit=-1", "?type=t"):
        status, _, data = client.request("GET", "/api/events" + bad)
        assert status == 400
        assert bad[1:].split("=")[0] in json.loads(data)["error"]


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


def test_memory_db_and_defaults(tree: Path) -> None:
    server = serve.make_server("127.0.0.1", 0, ":memory:", [KEY], root=tree)
    thread = start(server)
    try:
        c = Client(server)
        assert c.post("/v1/t", ev("track"))[0] == 200
        assert c.post("/v1/t", ev("track", writeKey=OTHER_KEY))[0] == 401
        assert len(c.events()) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)
    with pytest.raises(ValueError):
        serve.make_server("127.0.0.1", 0, ":memory:", [])


def test_file_db_persists_and_uses_wal(tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "events.sqlite3"
    for round_ in range(2):
        server = serve.make_server("127.0.0.1", 0, db, [KEY], root=tree)
        thread = start(server)
        try:
            c = Client(server)
            assert c.post("/v1/t", ev("track"))[0] == 200
            assert len(c.events()) == round_ + 1
            mode = server.store.conn.execute("PRAGMA journal_mode").fetchone()[0]
            assert mode == "wal"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(2)


def test_cli_prints_port(tree: Path, tmp_path: Path) -> None:
    import subprocess

    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "serve.py"),
            "--port",
            "0",
            "--db",
            ":memory:",
            "--write-key",
            "k1",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("pyajs dev server on http://127.0.0.1:")
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        assert line.strip().endswith(f"(demo: http://127.0.0.1:{port}/demo.html)")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        event = ev("track", writeKey="k1")
        conn.request("POST", "/v1/t", json.dumps(event), {"Content-Type": "text/plain"})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        proc.wait(5)


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
