"""What the dev server's tests share: a minimal HTTP client bound to a running server, a
fake repository tree, and valid events to post.

Each test runs a real server in a thread (port 0, temp db, temp repo tree) and talks HTTP to
it, because what matters is the wire behaviour the browser and the pyajs client will see.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pyajs_server.collector import DEMO_WRITE_KEY
from pyajs_server.http import DevServer

REPO = Path(__file__).resolve().parents[2]
KEY = DEMO_WRITE_KEY
OTHER_KEY = "second-key"


def request(host: str, port: int, method: str, path: str, body: bytes | str | None = None,
            headers: dict[str, str] | None = None,
            timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


class Client:
    """Minimal HTTP client bound to one running server."""

    def __init__(self, server: DevServer):
        self.host, self.port = server.server_address[:2]
        self.server = server

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        return request(self.host, self.port, method, path, body, headers, timeout=5)

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



def start(server: DevServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.002}, daemon=True
    )
    thread.start()
    return thread


@contextlib.contextmanager
def serving(server: DevServer) -> Iterator[Client]:
    """``server`` answering in a thread while the block runs, a client bound to it; then
    stopped and closed."""
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


def fresh_id() -> str:
    """A messageId no other event of the run has."""
    return f"m-{next(_counter)}"


def ev(etype: str | None = "track", **fields: Any) -> dict[str, Any]:
    """A valid event of the given type (None: no `type` key); fields override."""
    event: dict[str, Any] = {
        "messageId": fresh_id(),
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


def stats(client: Client) -> dict[str, int]:
    status, _, data = client.request("GET", "/api/stats")
    assert status == 200, data
    return json.loads(data)
