"""What the collector accepts: the Tracking API's event rules, request bodies (UTF-8 JSON,
plain or gzip/deflate-compressed), and the error answer (status + a message naming the field)
raised anywhere inside a handler.

Unicode rule: a lone UTF-16 surrogate in a string (JSON's "\\ud83d" without its other half:
JavaScript strings can hold one, UTF-8 cannot) is replaced with U+FFFD and the event is kept,
as the page's pyajs does; the answer lists the fields it was found in.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from datetime import datetime
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
# ISO 8601 date-times when present: what Segment's clients send (Z or an offset, any
# fraction of a second).
TIME_FIELDS = ("timestamp", "sentAt", "originalTimestamp")
ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)

# Machine-readable `code` of each error status: Segment's and RudderStack's Python clients
# read `code` and `message` from an error answer (RudderStack's fails without them).
ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    421: "misdirected_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_body(status: int, message: str) -> dict[str, Any]:
    """An error answer's JSON: `code` + `message` (what clients read), `error` (the same
    message, as answered before) and `success: false`."""
    code = ERROR_CODES.get(status, "client_error" if status < 500 else "server_error")
    return {"success": False, "code": code, "message": message, "error": message}


class ApiError(Exception):
    """An error answer (status + message) raised anywhere inside a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message)



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
    for field in TIME_FIELDS:
        if field in event and not is_iso_datetime(event[field]):
            raise bad(field, f"must be an ISO 8601 date-time string (got {_shown(event[field])})")
    if "writeKey" in event and not isinstance(event["writeKey"], str):
        raise bad("writeKey", "must be a string")
    return etype


def is_iso_datetime(value: Any) -> bool:
    """An ISO 8601 date and time (`2024-05-01T12:00:00.000Z`, with or without an offset)."""
    if not isinstance(value, str) or not ISO_DATETIME.match(value):
        return False
    try:
        # fromisoformat takes at most 6 fractional digits; more precision is still ISO.
        datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00"))
    except ValueError:  # e.g. month 13, February 30
        return False
    return True


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: JSON has no infinity, and it could not be answered back
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def parse_json_body(raw: bytes) -> tuple[dict[str, Any], list[str]]:
    """Decode a request body into a JSON object, or raise ApiError(400) saying why not.
    Returns the object and where lone surrogates were replaced (see the module's rule)."""
    if not raw.strip():
        raise ApiError(400, "body: empty; expected a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"body: not valid UTF-8 (byte {exc.start})") from None
    try:
        payload = json.loads(text, parse_constant=reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"body: not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ApiError(400, f"body: must be a JSON object (got {type(payload).__name__})")
    replaced: list[str] = []
    if _SURROGATE_ESCAPE.search(text):  # cheap; the walk only when there may be one
        payload, replaced = replace_lone_surrogates(payload)
    return payload, replaced


# JSON's escape of a UTF-16 surrogate; json.loads joins a correct pair into one character,
# so any surrogate left in the result is a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(value: Any) -> tuple[Any, list[str]]:
    """`value` with every lone surrogate (in strings and keys) replaced with U+FFFD, and the
    sorted paths (`batch[0].properties.title`) where there were some."""
    found: list[str] = []

    def walk(item: Any, where: str) -> Any:
        if isinstance(item, str):
            if _SURROGATE.search(item) is None:
                return item
            found.append(where or "body")
            return _SURROGATE.sub("\ufffd", item)
        if isinstance(item, dict):
            out = {}
            for key, sub in item.items():
                name = _SURROGATE.sub("\ufffd", key)
                path = f"{where}.{name}" if where else name
                if name != key:
                    found.append(path + " (a key)")
                out[name] = walk(sub, path)
            return out
        if isinstance(item, list):
            return [walk(sub, f"{where}[{i}]") for i, sub in enumerate(item)]
        return item

    fixed = walk(value, "")
    return fixed, sorted(found)


def decode_body(raw: bytes, coding: str | None, limit: int) -> bytes:
    """The body as sent before `Content-Encoding` (gzip, deflate or identity); the limit is
    applied to the decompressed bytes as they come out, so a small bomb costs `limit`
    bytes of memory at most before its 413."""
    coding = (coding or "identity").strip().lower()
    if coding == "identity":
        return raw
    if coding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif coding == "deflate":
        # HTTP's deflate is the zlib format; some clients send bare deflate data.
        wbits = zlib.MAX_WBITS if raw[:1] and (raw[0] & 0x0F) == 8 and (
            int.from_bytes(raw[:2], "big") % 31 == 0) else -zlib.MAX_WBITS
    else:
        raise ApiError(415, f"Content-Encoding: {coding[:40]!r} is not supported;"
                       " use gzip, deflate or none")
    out = bytearray()
    data = raw
    while True:  # gzip allows several members back to back
        inflater = zlib.decompressobj(wbits)
        try:
            while data:
                out += inflater.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise ApiError(413, f"body: over the {limit}-byte request limit once"
                                   f" decompressed ({coding})")
                data = inflater.unconsumed_tail
            out += inflater.flush()
        except zlib.error as exc:
            raise ApiError(400, f"body: not valid {coding} data ({exc})") from None
        if len(out) > limit:
            raise ApiError(413, f"body: over the {limit}-byte request limit once"
                           f" decompressed ({coding})")
        if not inflater.eof:
            raise ApiError(400, f"body: {coding} data is truncated")
        data = inflater.unused_data
        if not data or wbits != 16 + zlib.MAX_WBITS:
            if data:
                raise ApiError(400, f"body: bytes after the end of the {coding} data")
            return bytes(out)


def compact_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

