"""pyajs.delivery: URLs, headers and bodies of tracking requests, and failures."""

import base64
import json

import pytest
from pyajs.delivery import Delivery, Endpoint, basic_auth

NOW = 1700000000000


class Transport:
    def __init__(self, fail=None):
        self.requests = []
        self.fail = fail

    def __call__(self, url, headers, body, done):
        if self.fail:
            raise self.fail
        self.requests.append((url, headers, body, done))


def make(api_host="api.segment.io/v1", protocol="https", fail=None):
    transport = Transport(fail)
    warnings = []
    d = Delivery(Endpoint(api_host, protocol), "WK", transport, warnings.append,
                 clock=lambda: NOW)
    return d, transport, warnings


EVENT = {"type": "track", "event": "E", "messageId": "m-1", "writeKey": "WK"}


@pytest.mark.parametrize("kind,letter", [("track", "t"), ("page", "p"), ("identify", "i"),
                                         ("group", "g"), ("alias", "a"), ("screen", "s")])
def test_url_per_type(kind, letter):
    assert Endpoint("api.segment.io/v1").url(kind) == "https://api.segment.io/v1/" + letter


@pytest.mark.parametrize("host,protocol,base", [
    ("api.segment.io/v1", "https", "https://api.segment.io/v1"),
    ("localhost:8000/v1/", "http", "http://localhost:8000/v1"),
    ("localhost:8000/v1", "http:", "http://localhost:8000/v1"),
    ("http://127.0.0.1:9/v1", "https", "http://127.0.0.1:9/v1"),
])
def test_endpoint_base(host, protocol, base):
    assert Endpoint(host, protocol).url("track") == base + "/t"


def test_basic_auth_is_write_key_colon():
    assert basic_auth("WK") == "Basic " + base64.b64encode(b"WK:").decode()
    assert basic_auth("a-much-longer-write-key-1234567890") == \
        "Basic " + base64.b64encode(b"a-much-longer-write-key-1234567890:").decode()


def test_request_shape():
    d, t, warnings = make()
    results = []
    d.deliver(dict(EVENT), lambda *a: results.append(a))
    assert d.in_flight == 1
    (url, headers, body, done), = t.requests
    assert url == "https://api.segment.io/v1/t"
    assert headers == {"Content-Type": "text/plain",
                       "Authorization": "Basic " + base64.b64encode(b"WK:").decode()}
    assert json.loads(body) == dict(EVENT, sentAt="2023-11-14T22:13:20.000Z")
    assert body.startswith('{"type":"track"')  # compact JSON, as JSON.stringify writes
    assert results == []
    done(200)
    assert results == [(True, 200, None)]
    assert d.in_flight == 0
    assert warnings == []


def test_event_is_not_changed():
    d, t, _ = make()
    event = dict(EVENT)
    d.deliver(event, lambda *a: None)
    assert "sentAt" not in event


def test_non_ascii_body_is_utf8_text():
    d, t, _ = make()
    d.deliver(dict(EVENT, event="Café ☕"), lambda *a: None)
    assert "Café ☕" in t.requests[0][2]


@pytest.mark.parametrize("status", [200, 204, 299, 302, 399])
def test_success_statuses(status):
    d, t, warnings = make()
    results = []
    d.deliver(dict(EVENT), lambda *a: results.append(a))
    t.requests[0][3](status)
    assert results == [(True, status, None)]
    assert warnings == []


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
def test_http_errors_warn(status):
    d, t, warnings = make()
    results = []
    d.deliver(dict(EVENT), lambda *a: results.append(a))
    t.requests[0][3](status, None, None)
    assert results == [(False, status, None)]
    assert len(warnings) == 1
    assert "HTTP %d" % status in warnings[0]
    assert "track" in warnings[0] and "m-1" in warnings[0]


def test_network_error_status_zero_warns_with_the_error():
    d, t, warnings = make()
    results = []
    d.deliver(dict(EVENT), lambda *a: results.append(a))
    t.requests[0][3](0, None, "TypeError: Failed to fetch")
    assert results == [(False, 0, "TypeError: Failed to fetch")]
    assert len(warnings) == 1 and "Failed to fetch" in warnings[0]
    assert d.in_flight == 0


def test_send_that_raises_is_a_network_error():
    d, t, warnings = make(fail=RuntimeError("no fetch"))
    results = []
    d.deliver(dict(EVENT), lambda *a: results.append(a))
    assert results == [(False, 0, "RuntimeError: no fetch")]
    assert len(warnings) == 1 and "no fetch" in warnings[0]
    assert d.in_flight == 0
