"""Lone UTF-16 surrogates through the page's path (arguments as JSON.stringify writes them,
json.loads, Analytics, the queue, the request body), on whichever runtime runs this file:
tests/test_surrogates.py runs it under CPython and under MicroPython 1.27 and requires the
same output from both. Prints one line: ``RESULT <json>``."""

import json
import sys

sys.path.insert(0, "/lib")
sys.path.insert(0, "/checks")

from fakes import FakePlatform  # noqa: E402
from pyajs import ids  # noqa: E402
from pyajs.analytics import Analytics  # noqa: E402
from pyajs.jscalls import JsApi  # noqa: E402

if sys.implementation.name == "micropython":
    import js

    def crypto_bytes(n):
        buf = js.Uint8Array.new(n)
        js.crypto.getRandomValues(buf)
        return bytes(buf)

    ids.set_random_source(crypto_bytes)  # MicroPython has no os.urandom

# What web/pyajs.js hands Python for each call: JSON.stringify escapes a lone surrogate
# (\ud83d) and writes a well-formed pair (an emoji) as the character itself.
CALLS = [
    ("track", r'["Clicked \ud83d", {"title": "Truncated \ud83d", "ok": "fine \u00e9",'
              r' "emoji": "\ud83d\ude00", "list": ["a", "\udc00b", {"deep": "x\ud800"}],'
              r' "k\udfff": 1}, {"context": {"campaign": {"name": "\ud83d"}}}]'),
    ("identify", r'["user-1", {"name": "Zo\u00eb \ud83d", "plan": "pro"}]'),
    ("page", r'["Docs", "Start \ud83d", {"path": "/x"}]'),
    ("screen", r'["Home \udc00"]'),
    ("group", r'["g\ud83d", {"name": "ACME"}]'),
    ("alias", r'["user-2\ud83d"]'),
    ("track", r'["Clean", {"emoji": "\ud83d\ude00"}]'),
]


def run():
    platform = FakePlatform()
    analytics = Analytics("WK", platform, {})
    analytics.start_delivery()
    api = JsApi(analytics)
    for method, args_json in CALLS:
        api.call(method, json.loads(args_json), None, None)
    platform.respond_all(200)
    events = []
    for request in platform.requests:
        event = request.body
        events.append({
            "type": event["type"], "event": event.get("event"), "name": event.get("name"),
            "userId": event.get("userId"), "groupId": event.get("groupId"),
            "previousId": event.get("previousId") is not None,
            "properties": event.get("properties"), "traits": event.get("traits"),
            "campaign": event["context"].get("campaign"),
            "utf8": request.text.encode("utf-8").decode("utf-8") == request.text,
        })
    warnings = [w for w in platform.warnings if "surrogate" in w]
    return {"events": events, "warnings": warnings}


def sorted_keys(value):
    """Dicts as sorted [key, value] lists: the same text whatever order a runtime keeps."""
    if isinstance(value, dict):
        return [[k, sorted_keys(value[k])] for k in sorted(value)]
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value


if __name__ == "__main__":
    print("RESULT " + json.dumps(sorted_keys(run())))
