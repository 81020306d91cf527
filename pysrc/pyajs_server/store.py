"""The collector's event store: SQLite, deduplicated by (writeKey, messageId)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000


class EventStore:
    """SQLite store for received events, deduplicated by (writeKey, messageId).

    One connection shared by all handler threads and guarded by a lock: every write goes
    through it one at a time (so there is never "database is locked" between our own
    threads), and it is what makes `:memory:` databases work across threads. A request's
    events are committed before the request is answered: with WAL and synchronous=NORMAL a
    commit survives the process being killed (not a power cut, which a dev server can live
    with).

    Delivery is at least once (clients retry when they see no answer), so the same event can
    arrive twice; a UNIQUE index on (write_key, message_id) plus INSERT OR IGNORE makes the
    store read as exactly once: the first copy wins, later ones are counted as duplicates.
    """

    # Version 1 (the first schema) had a plain index on (write_key, message_id); version 2
    # makes it UNIQUE. PRAGMA user_version records which one a database file has.
    SCHEMA_VERSION = 2
    SCHEMA = """
        CREATE TABLE IF NOT EXISTS events (
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
        )
    """
    UNIQUE_INDEX = """
        CREATE UNIQUE INDEX IF NOT EXISTS events_write_key_message_id_unique
            ON events (write_key, message_id)
    """
    BUSY_TIMEOUT_MS = 10_000
    FILTERS = (
        ("writeKey", "write_key"),
        ("type", "type"),
        ("anonymousId", "anonymous_id"),
        ("userId", "user_id"),
        ("messageId", "message_id"),
    )

    def __init__(self, db_path: str | Path):
        self.lock = threading.Lock()
        path = str(db_path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            path,
            check_same_thread=False,
            isolation_level=None,
            timeout=self.BUSY_TIMEOUT_MS / 1000,
        )
        # Another process on the same file (a second server, the sqlite3 shell) waits its
        # turn instead of failing with "database is locked".
        self.conn.execute(f"PRAGMA busy_timeout={self.BUSY_TIMEOUT_MS}")
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        """Create the schema, or bring a file made by an older dev server up to date.

        Version 1 files may hold duplicates (it stored every copy); the first copy (lowest
        id) of each (write_key, message_id) is kept, so ids, and `after` pollers, stay valid.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(self.SCHEMA)
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version < self.SCHEMA_VERSION:
                self.conn.execute(
                    "DELETE FROM events WHERE id NOT IN"
                    " (SELECT MIN(id) FROM events GROUP BY write_key, message_id)"
                )
                self.conn.execute("DROP INDEX IF EXISTS events_write_key_message_id")
                self.conn.execute(self.UNIQUE_INDEX)
                self.conn.execute(f"PRAGMA user_version={self.SCHEMA_VERSION}")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def insert(self, rows: Iterable[tuple[Any, ...]]) -> tuple[int, int]:
        """Insert rows in one committed transaction (a request's events: all or none).

        Returns (stored, duplicates): rows whose (write_key, message_id) is already stored,
        or repeated earlier in `rows`, are ignored and counted as duplicates.
        """
        rows = list(rows)
        with self.lock:
            before = self.conn.total_changes
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(
                    "INSERT OR IGNORE INTO events (received_at, write_key, type, message_id,"
                    " anonymous_id, user_id, body, path, retry_count)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                stored = self.conn.total_changes - before
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        return stored, len(rows) - stored

    def count(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def query(
        self, filters: dict[str, str], after: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[dict[str, Any]]:
        """Events matching all given filters, oldest first (so `after` can page/poll)."""
        clauses: list[str] = []
        params: list[Any] = []
        for name, column in self.FILTERS:
            if name in filters:
                clauses.append(f"{column} = ?")
                params.append(filters[name])
        if after is not None:
            clauses.append("id > ?")
            params.append(after)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            "SELECT id, received_at, write_key, type, message_id, path, retry_count, body"
            f" FROM events{where} ORDER BY id ASC LIMIT ?"
        )
        params.append(limit)
        with self.lock:
            rows = self.conn.execute(sql, params).fetchall()
        return [
            {
                "id": row[0],
                "receivedAt": row[1],
                "writeKey": row[2],
                "type": row[3],
                "messageId": row[4],
                "path": row[5],
                "retryCount": row[6],
                "event": json.loads(row[7]),
            }
            for row in rows
        ]

    def clear(self) -> int:
        """Delete every event; ids keep increasing afterwards so pollers are not confused."""
        with self.lock:
            return self.conn.execute("DELETE FROM events").rowcount

    def close(self) -> None:
        with self.lock:
            self.conn.close()
