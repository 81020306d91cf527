"""The collector: Segment's HTTP Tracking API (/v1/*) with write keys, and the inspection
endpoints (/api/events, /api/stats, /api/health).

POST /v1/{t,p,i,g,a,s,track,...,batch,b}; GET/DELETE /api/events (listing, filters);
GET /api/stats ({"events", "duplicates", "requests", "faults_injected"}). Events are
deduplicated by (writeKey, messageId): a repeat is answered 200 with "duplicates": n and not
stored again.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from . import faults
from .store import DEFAULT_LIMIT, MAX_LIMIT, EventStore
from .validation import (
    EVENT_TYPES,
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    SHORT_TYPES,
    ApiError,
    compact_size,
    is_iso_datetime,
    parse_json_body,
    validate_event,
)

if TYPE_CHECKING:
    from .http import DevHandler

DEMO_WRITE_KEY = "pyajs-demo-key"

BATCH = "batch"

# Collector path -> event type (or BATCH).
COLLECT_ROUTES: dict[str, str] = {
    **{f"/v1/{short}": long for short, long in SHORT_TYPES.items()},
    **{f"/v1/{long}": long for long in EVENT_TYPES},
    "/v1/batch": BATCH,
    "/v1/b": BATCH,
}

ACCEPTED_CONTENT_TYPES = ("text/plain", "application/json")


def utc_now_iso() -> str:
    """ISO-8601 UTC timestamp with milliseconds, the format Segment uses for receivedAt."""
    now = datetime.now(UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def route_collector(h: DevHandler, method: str, path: str, query: str) -> None:
    """/v1/<type> and /v1/batch: validate, store, answer (faults first, with --faults)."""
    route = COLLECT_ROUTES.get(path.rstrip("/"))
    if route is None:
        raise ApiError(404, f"no such endpoint: {path}")
    if method == "OPTIONS":
        h.preflight("POST, OPTIONS")
        return
    if method != "POST":
        raise h.method_not_allowed(method, "POST, OPTIONS")
    h.server.counters.add(requests=1)
    queue = h.server.faults
    action = queue.take() if queue is not None else None
    if action is not None:
        h.server.counters.add(faults_injected=1)
        faults.inject(h, action)
        return
    collect(h, path, route)


def route_api(h: DevHandler, method: str, path: str, query: str) -> None:
    """/api/events, /api/stats, /api/health (/api/faults is faults.route_faults)."""
    path = path.rstrip("/")
    if path == "/api/events":
        allowed = "GET, HEAD, DELETE, OPTIONS"
        if method in ("GET", "HEAD"):
            list_events(h, query)
        elif method == "DELETE":
            deleted = h.server.store.clear()
            h.send_json(200, {"deleted": deleted}, {"Cache-Control": "no-store"})
        elif method == "OPTIONS":
            h.preflight(allowed)
        else:
            raise h.method_not_allowed(method, allowed)
    elif path == "/api/stats":
        if method in ("GET", "HEAD"):
            h.send_json(200, stats(h), {"Cache-Control": "no-store"})
        elif method == "OPTIONS":
            h.preflight("GET, HEAD, OPTIONS")
        else:
            raise h.method_not_allowed(method, "GET, HEAD, OPTIONS")
    elif path == "/api/faults":
        faults.route_faults(h, method, path, query)
    elif path == "/api/health":
        if method in ("GET", "HEAD"):
            h.send_json(200, {"ok": True}, {"Cache-Control": "no-store"})
        elif method == "OPTIONS":
            h.preflight("GET, HEAD, OPTIONS")
        else:
            raise h.method_not_allowed(method, "GET, HEAD, OPTIONS")
    else:
        raise ApiError(404, f"no such endpoint: {path}")


def stats(h: DevHandler) -> dict[str, int]:
    counters = h.server.counters
    with counters.lock:
        figures = {
            "duplicates": counters.duplicates,
            "requests": counters.requests,
            "faults_injected": counters.faults_injected,
        }
    return {"events": h.server.store.count(), **figures}


def header_write_key(h: DevHandler) -> str | None:
    auth = h.headers.get("Authorization")
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


def request_write_key(h: DevHandler, payload: dict[str, Any]) -> str:
    """The request's writeKey, from the body or Basic auth (401 missing/unknown)."""
    body_key = payload.get("writeKey")
    if body_key is not None and not isinstance(body_key, str):
        raise ApiError(400, "writeKey: must be a string")
    body_key = body_key or None
    header_key = header_write_key(h)
    if body_key and header_key and body_key != header_key:
        raise ApiError(400, "writeKey: the body's writeKey differs from the Authorization one")
    key = body_key or header_key
    if not key:
        raise ApiError(
            401,
            "writeKey: missing; send it as the body's writeKey or as Basic auth"
            " (base64 of 'KEY:')",
        )
    if key not in h.server.write_keys:
        raise ApiError(401, f"writeKey: unknown key {key!r}")
    return key


def collect(h: DevHandler, path: str, route: str) -> None:
    """Validate a /v1 POST's event(s) and store them; answered once committed."""
    raw = h.read_body(MAX_BODY_BYTES)
    media_type = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_CONTENT_TYPES:
        raise ApiError(
            415,
            f"Content-Type: {media_type or 'missing'}; use text/plain or application/json",
        )
    if route != BATCH and len(raw) > MAX_EVENT_BYTES:
        raise ApiError(
            413, f"event: {len(raw)} bytes is over the {MAX_EVENT_BYTES}-byte event limit"
        )
    payload, replaced = parse_json_body(raw)
    write_key = request_write_key(h, payload)
    if route == BATCH:
        events = batch_events(payload, write_key)
    else:
        events = [(validate_event(payload, route), payload)]

    retry = h.headers.get("X-Retry-Count")
    retry_value: int | str | None = retry
    if retry is not None and retry.strip().isdigit() and len(retry.strip()) < 10:
        retry_value = int(retry.strip())  # else kept as the text it was (SQLite: 64-bit ints)
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
    _stored, duplicates = h.server.store.insert(rows)
    answer: dict[str, Any] = {"success": True}
    if replaced:
        # Kept, with U+FFFD in place of each lone surrogate (validation's Unicode rule).
        answer["warnings"] = [f"{where}: a lone UTF-16 surrogate was replaced with U+FFFD"
                              for where in replaced]
    if duplicates:
        # Still a success: the client must stop retrying what we already have.
        h.server.counters.add(duplicates=duplicates)
        answer["duplicates"] = duplicates
    h.send_json(200, answer)


def batch_events(
    payload: dict[str, Any], write_key: str
) -> list[tuple[str, dict[str, Any]]]:
    """Validate every batch item and merge batch-level sentAt/context.

    All or nothing: one invalid item refuses the whole batch (400 or 413 naming it, e.g.
    `batch[3].event: ...`) and nothing of it is stored. A client gets one answer per
    request, so a 2xx has to mean that every event was stored: were the valid ones kept
    and the request answered 4xx, the client could not tell which were; answered 2xx, the
    invalid ones would be lost without a word. The refusal makes the bug visible at once.
    """
    batch = payload.get("batch")
    if not isinstance(batch, list):
        raise ApiError(400, "batch: required array of events")
    if not batch:
        raise ApiError(400, "batch: must not be empty")
    if "sentAt" in payload and not is_iso_datetime(payload["sentAt"]):
        raise ApiError(400, "sentAt: must be an ISO 8601 date-time string")
    if "context" in payload and not isinstance(payload["context"], dict):
        raise ApiError(400, "context: must be a JSON object")
    events = []
    for index, item in enumerate(batch):
        prefix = f"batch[{index}]."
        if isinstance(item, dict):
            size = compact_size(item)
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


def list_events(h: DevHandler, query: str) -> None:
    params = {key: values[-1] for key, values in parse_qs(query).items()}
    filters = {name: params[name] for name, _ in EventStore.FILTERS if name in params}
    if "type" in filters and filters["type"] not in EVENT_TYPES:
        raise ApiError(400, f"type: must be one of {', '.join(EVENT_TYPES)}")
    after = None
    if "after" in params:
        after = _int_param(params["after"], "after", 0, MAX_ROW_ID, "a row id")
    limit = DEFAULT_LIMIT
    if "limit" in params:
        limit = _int_param(params["limit"], "limit", 0, MAX_LIMIT, "a count")
    events = h.server.store.query(filters, after=after, limit=limit)
    h.send_json(200, {"events": events}, {"Cache-Control": "no-store"})



# SQLite's row ids are signed 64-bit integers.
MAX_ROW_ID = 2**63 - 1


def _int_param(text: str, name: str, low: int, high: int, what: str) -> int:
    """A query parameter that must be an integer in [low, high] (400 naming it otherwise)."""
    value = text.strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not digits.isdigit() or not digits.isascii() or len(digits) > 20:
        raise ApiError(400, f"{name}: must be an integer ({what}), got {text[:40]!r}")
    number = int(value)
    if not low <= number <= high:
        raise ApiError(400, f"{name}: must be between {low} and {high}, got {text[:40]}")
    return number
