"""Posting events to a Segment-compatible tracking API.

The transport is the edge: ``send(url, headers, body_text, done)`` where ``done(status,
retry_after, error)`` is called once (status 0 with an ``error`` text on a network failure).
The browser binding implements it with ``fetch``; tests with a list.

    >>> Endpoint("http://localhost:8000/v1").url("track")
    'http://localhost:8000/v1/t'
"""

from binascii import b2a_base64

from .clock import iso_utc, now_ms
from .codec import dumps
from .events import endpoint_letter


def basic_auth(write_key: str) -> str:
    """``Basic base64("<writeKey>:")``, the Authorization Segment's API accepts."""
    return "Basic " + b2a_base64((write_key + ":").encode()).decode().strip()


class Endpoint:
    """Where events go: ``apiHost`` with or without a scheme (``protocol`` fills it in)."""

    def __init__(self, api_host: str, protocol: str = "https"):
        api_host = api_host.rstrip("/")
        if "://" not in api_host:
            api_host = protocol.rstrip(":") + "://" + api_host
        self.base = api_host

    def url(self, event_type: str) -> str:
        return self.base + "/" + endpoint_letter(event_type)


class Delivery:
    """One request per event (Segment's standard strategy)."""

    def __init__(self, endpoint: Endpoint, write_key: str, send, warn, clock=now_ms):
        self.endpoint = endpoint
        self.headers = {"Content-Type": "text/plain", "Authorization": basic_auth(write_key)}
        self.send_fn = send
        self.warn = warn
        self.clock = clock
        self.in_flight = 0

    def deliver(self, event: dict, on_done) -> None:
        """Post ``event``; ``on_done(ok, status, error)`` once the request settled."""
        body = dict(event)
        body["sentAt"] = iso_utc(self.clock())
        self.in_flight += 1

        def done(status, retry_after=None, error=None):
            self.in_flight -= 1
            ok = 200 <= status < 400
            if not ok:
                what = error or ("HTTP %d" % status)
                self.warn("pyajs: %s %r was not delivered (%s)" % (
                    event.get("type"), event.get("messageId"), what))
            on_done(ok, status, error)

        try:
            self.send_fn(self.endpoint.url(event["type"]), self.headers, dumps(body), done)
        except Exception as exc:
            done(0, None, "%s: %s" % (type(exc).__name__, exc))
