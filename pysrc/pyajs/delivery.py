"""Where events go and how they are authorised, for any Segment-compatible tracking API.

``apiHost`` is written as Segment writes it (``api.segment.io/v1``, with a separate
``protocol``) or as a full URL; the write key goes as HTTP Basic authorization.

    >>> Endpoint("http://localhost:8000/v1").url("track")
    'http://localhost:8000/v1/t'
    >>> Body("", '{"a":1}', ',"b":2}', cut=1).text()
    '{"a":1,"b":2}'
"""

from .compat import binascii
from .events import endpoint_letter


def basic_auth(write_key: str) -> str:
    """``Basic base64("<writeKey>:")``, the Authorization Segment's API accepts."""
    return "Basic " + binascii.b2a_base64((write_key + ":").encode()).decode().strip()


class Endpoint:
    """Where events go: ``apiHost`` with or without a scheme (``protocol`` fills it in)."""

    def __init__(self, api_host: str, protocol: str = "https"):
        api_host = api_host.rstrip("/")
        if "://" not in api_host:
            api_host = protocol.rstrip(":") + "://" + api_host
        self.base = api_host

    def url(self, event_type: str) -> str:
        return self.base + "/" + endpoint_letter(event_type)


class Body:
    """A request body as ``head + core + tail`` (``core`` without its last ``cut``
    characters), joined where it is sent. Each event is serialised once; its text is the
    core of every request that carries it, and the browser binding lets JavaScript do the
    joining: under MicroPython each new Python string of a few hundred bytes costs an
    allocation that a fragmented heap makes slow."""

    def __init__(self, head: str, core: str, tail: str, cut: int = 0):
        self.head = head
        self.core = core
        self.tail = tail
        self.cut = cut

    def text(self) -> str:
        core = self.core[: len(self.core) - self.cut] if self.cut else self.core
        return self.head + core + self.tail
