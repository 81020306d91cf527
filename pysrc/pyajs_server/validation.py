"""What the collector accepts: the Tracking API's event rules, JSON bodies, and the error
answer (status + a message naming the field) raised anywhere inside a handler."""

from __future__ import annotations

import json
from typing import Any

# Segment's documented limits: 500 KB per request, 32 KB per event.
MAX_BODY_BYTES = 500 * 1024
MAX_EVENT_BYTES = 32 * 1024

SHORT_TYPES = {
    "t": "track",
    "p": "page",
    "i": "identify",
    "g": "group",
    "a": "alias",
    "s": "screen",
}
EVENT_TYPES = tuple(SHORT_TYPES.values())

OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
STRING_FIELDS = ("timestamp", "sentAt")


class ApiError(Exception):
    """An error answer (status + message) raised anywhere inside a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}



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


def reject_constant(name: str) -> Any:
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
        payload = json.loads(text, parse_constant=reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"body: not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ApiError(400, f"body: must be a JSON object (got {type(payload).__name__})")
    return payload


def compact_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

