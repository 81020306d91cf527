"""The event store: SQLite files and :memory:, schema migration, durability across kills."""

from __future__ import annotations

import http.client
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from pyajs_server.http import make_server
from pyajs_server.store import EventStore

from tests.server.helpers import KEY, OTHER_KEY, REPO, Client, ev, start


def test_memory_db_and_defaults(tree: Path) -> None:
    server = make_server("127.0.0.1", 0, ":memory:", [KEY], root=tree)
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
        make_server("127.0.0.1", 0, ":memory:", [])


def test_file_db_persists_and_uses_wal(tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "events.sqlite3"
    for round_ in range(2):
        server = make_server("127.0.0.1", 0, db, [KEY], root=tree)
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


OLD_SCHEMA = """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        write_key TEXT NOT NULL,
        type TEXT NOT NULL,
        message_id TEXT NOT NULL,
        anonymous_id TEXT,
        user_id TEXT,
        body TEXT NOT NULL,
        path TEXT NOT NULL,
        retry_count
    );
    CREATE INDEX events_write_key_message_id ON events (write_key, message_id);
"""


def test_migrates_a_database_made_by_the_old_schema(tree: Path, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(OLD_SCHEMA)
    old_rows = [
        (KEY, "a", '{"n": 1}'),
        (KEY, "b", "{}"),
        (KEY, "a", '{"n": 2}'),  # a duplicate the old schema let in
        (OTHER_KEY, "a", "{}"),
        (KEY, "gone", "{}"),
    ]
    for key, msg, body in old_rows:
        conn.execute(
            "INSERT INTO events (received_at, write_key, type, message_id, body, path)"
            " VALUES ('2024-01-01T00:00:00.000Z', ?, 'track', ?, ?, '/v1/t')",
            (key, msg, body),
        )
    conn.execute("DELETE FROM events WHERE message_id = 'gone'")  # ids never go back
    conn.commit()
    conn.close()

    for _ in range(2):  # the second start finds the new schema and changes nothing
        server = make_server("127.0.0.1", 0, db, [KEY, OTHER_KEY], root=tree)
        thread = start(server)
        try:
            c = Client(server)
            rows = c.events()
            assert [(r["id"], r["writeKey"], r["messageId"]) for r in rows][:3] == [
                (1, KEY, "a"),
                (2, KEY, "b"),
                (4, OTHER_KEY, "a"),
            ]
            assert rows[0]["event"] == {"n": 1}
            status, body = c.post("/v1/t", ev("track", messageId="b"))
            assert (status, body) == (200, {"success": True, "duplicates": 1})
            c.post("/v1/t", ev("track"))
            assert c.events()[-1]["id"] > 5
            version = server.store.conn.execute("PRAGMA user_version").fetchone()[0]
            assert version == EventStore.SCHEMA_VERSION
            indexes = server.store.conn.execute("PRAGMA index_list(events)").fetchall()
            assert [(name, unique) for _, name, unique, *_ in indexes] == [
                ("events_write_key_message_id_unique", 1)
            ]
        finally:
            server.shutdown()
            server.server_close()
            thread.join(2)
    assert len(rows) == 4  # seen at the second start: 3 migrated + 1 posted in the first


def _spawn(db: Path, *extra: str) -> tuple[Any, int]:
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, str(REPO / "serve.py"), "--port", "0", "--db", str(db), "--quiet"]
        + list(extra),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    return proc, port


def _http(port: int, method: str, path: str, payload: Any = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        body = None if payload is None else json.dumps(payload)
        conn.request(method, path, body=body, headers={"Content-Type": "text/plain"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    import signal

    db = tmp_path / "kill" / "events.sqlite3"
    proc, port = _spawn(db, "--faults")
    acked: list[str] = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for n in range(20):  # keep-alive, as a browser would send them
            items = [ev("track", writeKey=...) for _ in range(5)]
            payload = json.dumps({"writeKey": KEY, "batch": items})
            conn.request("POST", "/v1/batch", payload, {"Content-Type": "text/plain"})
            resp = conn.getresponse()
            assert json.loads(resp.read()) == {"success": True}
            assert resp.status == 200
            acked += [item["messageId"] for item in items]
            if n == 10:  # a faulted request in the middle stores nothing
                assert _http(port, "POST", "/api/faults", {"mode": "status", "status": 503})[0]
                conn.request("POST", "/v1/t", json.dumps(ev("track")), {"Content-Type": "x"})
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 503
        conn.close()
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean-up at all
        proc.wait(5)
        assert proc.stdout is not None
        proc.stdout.close()

    proc, port = _spawn(db)
    try:
        status, body = _http(port, "GET", "/api/events?limit=10000")
        assert status == 200
        assert [row["messageId"] for row in body["events"]] == acked
        assert _http(port, "GET", "/api/stats")[1]["events"] == len(acked)
        # After the restart, resending what was acknowledged is still recognised.
        resend = [row["event"] for row in body["events"][:5]]
        status, answer = _http(port, "POST", "/v1/batch", {"writeKey": KEY, "batch": resend})
        assert (status, answer) == (200, {"success": True, "duplicates": 5})
        assert _http(port, "GET", "/api/faults")[0] == 404  # not started with --faults
    finally:
        proc.terminate()  # SIGTERM: a clean stop
        assert proc.wait(5) == 0
        assert proc.stdout is not None
        proc.stdout.close()
