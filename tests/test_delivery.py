"""pyajs.delivery: where events go and how the write key is sent (requests themselves are
tested with the dispatcher)."""

import base64

import pytest
from pyajs.delivery import Endpoint, basic_auth


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


def test_body_joins_head_core_less_cut_and_tail():
    from pyajs.delivery import Body

    assert Body('{"batch":[', '{"a":1},{"b":2}', "]}").text() == '{"batch":[{"a":1},{"b":2}]}'
    assert Body("", '{"a":"é"}', ',"s":1}', cut=1).text() == '{"a":"é","s":1}'
