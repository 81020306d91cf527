"""The collector against Segment-compatible clients that no one here wrote: Segment's Python
client (segment-analytics-python), RudderStack's (rudder-sdk-python) and Segment's Node client
(@segment/analytics-node), all pinned test-only dependencies.

Each client sends identify, track, page, screen, group and alias, one event per request
("single") and many per request ("bulk"), with its default settings and with gzip on and off.
What each put on the wire is recorded (decompressed) and compared with what the collector
stored: every event kept, every field intact.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import threading
from datetime import datetime
from typing import Any

import pytest
import rudderstack.analytics.client as rudder_client
import rudderstack.analytics.request as rudder_request
import segment.analytics.client as segment_client
import segment.analytics.request as segment_request

from tests.server.running import ROOT, RunningServer

NODE_SCRIPT = ROOT / "tests" / "clients" / "segment_node.cjs"
# Retries are the clients' business, not what is tested here; a few keep a failing run short.
MAX_RETRIES = 2
ROUNDS = {"single": 2, "bulk": 25}  # rounds of the six calls

PYTHON_CLIENTS = ("segment-python", "rudder-python")
# gzip: "default" leaves the client's own setting (Segment's Python client: off; RudderStack's:
# on; the Node client has no such setting and never compresses by itself).
SCENARIOS = [
    (client, gz, mode)
    for client in PYTHON_CLIENTS
    for gz in ("default", "on", "off")
    for mode in ("single", "bulk")
] + [("segment-node", gz, mode) for gz in ("default", "on") for mode in ("single", "bulk")]


def write_key(client: str, gz: str, mode: str) -> str:
    return "%s-%s-%s" % (client, gz, mode)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    keys: list[str] = []
    for scenario in SCENARIOS:
        keys += ["--write-key", write_key(*scenario)]
    running = RunningServer(tmp_path_factory.mktemp("real-clients") / "events.sqlite3", *keys)
    yield running
    running.stop()


# ---- the calls -------------------------------------------------------------------------

PROPERTIES = {
    "price": 12.5,
    "quantity": 3,
    "big": 9007199254740991,
    "tiny": -1.5e-7,
    "text": "caf\u00e9 \u2615 \U0001f600 \u65e5\u672c\u8a9e \"quoted\" back\\slash",
    "newline": "a\nb\tc",
    "empty": "",
    "none": None,
    "flag": False,
    "list": [1, "two", None, True, {"x": []}],
    "nested": {"a": {"b": {"c": [1.25, {"d": "deep"}]}}},
}


def calls(prefix: str, rounds: int) -> list[dict[str, Any]]:
    """The six calls, ``rounds`` times, as neutral descriptions (each client maps them)."""
    out = []
    for n in range(rounds):
        base = {
            "userId": "user-%d" % n,
            "anonymousId": "anon-%s-%d" % (prefix, n),
            "timestamp": "2026-03-0%dT12:34:56.789Z" % (1 + n % 9),
            "context": {"ip": "203.0.113.%d" % (n % 250), "locale": "fr-FR"},
        }
        props = dict(PROPERTIES, round=n)
        out += [
            dict(base, type="identify", traits={"email": "u%d@example.com" % n,
                                                "name": "Zo\u00eb \U0001f600", "plan": None}),
            dict(base, type="track", event="Order Completed \u2713", properties=props),
            dict(base, type="page", category="Docs", name="Getting Started",
                 properties={"path": "/docs/%d" % n, "title": "D\u00e9marrer"}),
            dict(base, type="screen", name="Home \u2302", properties={"variant": n}),
            dict(base, type="group", groupId="group-%d" % n,
                 traits={"name": "ACME \u00c9", "employees": 42}),
            dict(base, type="alias", previousId="anon-%s-%d" % (prefix, n)),
        ]
    for i, call in enumerate(out):
        call["messageId"] = "%s-%04d" % (prefix, i)
    return out


def _when(call: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(call["timestamp"].replace("Z", "+00:00"))


def python_call(client: Any, call: dict[str, Any]) -> None:
    """One call through a Python client's public method (both share Segment's signatures)."""
    common = {"context": dict(call["context"]), "timestamp": _when(call),
              "message_id": call["messageId"]}
    kind = call["type"]
    if kind == "alias":
        client.alias(previous_id=call["previousId"], user_id=call["userId"], **common)
        return
    common.update(user_id=call["userId"], anonymous_id=call["anonymousId"])
    if kind == "identify":
        client.identify(traits=call["traits"], **common)
    elif kind == "track":
        client.track(event=call["event"], properties=call["properties"], **common)
    elif kind in ("page", "screen"):
        getattr(client, kind)(category=call.get("category"), name=call["name"],
                              properties=call["properties"], **common)
    elif kind == "group":
        client.group(group_id=call["groupId"], traits=call["traits"], **common)


def node_params(call: dict[str, Any]) -> dict[str, Any]:
    params = {key: value for key, value in call.items() if key != "type"}
    if call["type"] == "alias":
        params.pop("anonymousId")
    return params


# ---- the wire ----------------------------------------------------------------------------

class Wire:
    """Records the bodies a Python client posts (decompressed), by wrapping its session."""

    def __init__(self, module: Any):
        self.module = module
        self.bodies: list[dict[str, Any]] = []
        self.encodings: list[str | None] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def __enter__(self) -> Wire:
        session = self.module._session
        self.original = session.post

        def post(url: str, **kwargs: Any) -> Any:
            data = kwargs["data"]
            encoding = kwargs["headers"].get("Content-Encoding")
            raw = gzip.decompress(data) if encoding == "gzip" else data
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8")
            response = self.original(url, **kwargs)
            with self.lock:
                self.bodies.append(json.loads(raw))
                self.encodings.append(encoding)
                self.statuses.append(response.status_code)
            return response

        session.post = post
        return self

    def __exit__(self, *exc: Any) -> None:
        self.module._session.post = self.original


def run_python(client_name: str, gz: str, mode: str, server: RunningServer,
               todo: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send ``todo`` with a Python client; returns (batch bodies sent, report)."""
    module, cls = {
        "segment-python": (segment_request, segment_client.Client),
        "rudder-python": (rudder_request, rudder_client.Client),
    }[client_name]
    errors: list[str] = []
    options: dict[str, Any] = {"host": server.base, "max_retries": MAX_RETRIES,
                               "on_error": lambda exc, batch: errors.append(repr(exc))}
    if gz != "default":
        options["gzip"] = gz == "on"
    if mode == "single":
        options["sync_mode"] = True
    with Wire(module) as wire:
        client = cls(write_key(client_name, gz, mode), **options)
        try:
            for call in todo:
                try:
                    python_call(client, call)
                except Exception as exc:  # noqa: BLE001 (sync mode raises what it got back)
                    errors.append(repr(exc))
            if mode == "bulk":
                client.flush()
        finally:
            if client.consumers:  # None in sync mode
                client.join()
    return wire.bodies, {"errors": errors, "statuses": wire.statuses,
                         "encodings": sorted(set(map(str, wire.encodings)))}


def run_node(gz: str, mode: str, server: RunningServer,
             todo: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    config = {
        "host": server.base,
        "writeKey": write_key("segment-node", gz, mode),
        "maxRetries": MAX_RETRIES,
        "flushAt": 1 if mode == "single" else None,
        "gzip": gz == "on",
        "calls": [{"method": call["type"], "params": node_params(call)} for call in todo],
    }
    proc = subprocess.run(["node", str(NODE_SCRIPT)], input=json.dumps(config), text=True,
                          capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["bodies"], {"errors": result["failures"], "statuses": result["statuses"]}


def expected_events(bodies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """messageId -> the event as the collector must store it: the item, with the batch's
    sentAt and context when the item has none (the Tracking API's batch rule)."""
    out: dict[str, dict[str, Any]] = {}
    for body in bodies:
        for item in body["batch"]:
            merged = dict(item)
            for field in ("sentAt", "context"):
                if field not in merged and field in body:
                    merged[field] = body[field]
            out[merged["messageId"]] = merged
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by scripts/setup.sh")
@pytest.mark.parametrize("client_name,gz,mode", SCENARIOS)
def test_real_client_events_are_stored_intact(server: RunningServer, client_name: str,
                                              gz: str, mode: str) -> None:
    key = write_key(client_name, gz, mode)
    todo = calls(key, ROUNDS[mode])
    if client_name == "segment-node":
        bodies, report = run_node(gz, mode, server, todo)
    else:
        bodies, report = run_python(client_name, gz, mode, server, todo)
    expected = expected_events(bodies)
    rows = server.rows(writeKey=key)
    stored = {row["messageId"]: row["event"] for row in rows}
    print("%s: %d calls, %d events sent in %d requests, %d stored; statuses %s" % (
        key, len(todo), len(expected), len(report["statuses"]), len(stored),
        sorted(set(report["statuses"]))))

    assert report["errors"] == []
    assert set(report["statuses"]) == {200}
    assert sorted(expected) == sorted(call["messageId"] for call in todo)
    assert len(rows) == len(todo)
    for message_id, event in expected.items():
        assert stored.get(message_id) == event, message_id
    types = sorted({row["type"] for row in rows})
    assert types == ["alias", "group", "identify", "page", "screen", "track"]
    if mode == "bulk":
        assert len(report["statuses"]) < len(todo)  # really batched
    else:
        assert len(report["statuses"]) == len(todo)
    if "encodings" in report:
        on = gz == "on" or (gz == "default" and client_name == "rudder-python")
        assert report["encodings"] == (["gzip"] if on else ["None"])


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("module,cls", [(segment_request, segment_client.Client),
                                        (rudder_request, rudder_client.Client)],
                         ids=["segment-python", "rudder-python"])
def test_python_clients_read_our_error_answers(server: RunningServer, module: Any, cls: Any,
                                               gz: bool) -> None:
    """A refused request reaches the application as the client's own APIError with our
    status, code and message (RudderStack's client used to crash reading it)."""
    client = cls("not-a-key", host=server.base, gzip=gz, sync_mode=True, max_retries=0)
    with pytest.raises(module.APIError) as caught:
        client.track(user_id="u1", event="Refused", message_id="refused-1")
    error = caught.value
    assert (error.status, error.code) == (401, "unauthorized")
    assert error.message.startswith("writeKey: unknown key")
    assert server.rows(messageId="refused-1") == []
