"""pyajs.codec: js-cookie's value encoding, lenient decoding and JSON reading."""

import json
import random
import re
from urllib.parse import quote

import pytest
from pyajs import codec

# js-cookie 3 write converter: encodeURIComponent, then these escapes back to literals.
_JS_COOKIE_RESTORE = re.compile(r"%(2[346BF]|3[AC-F]|40|5[BDE]|60|7[BCD])")


def js_cookie_encode(text):
    encoded = quote(text, safe="-_.!~*'()")  # == encodeURIComponent for valid Unicode
    return _JS_COOKIE_RESTORE.sub(lambda m: chr(int(m.group(1), 16)), encoded)


ASCII = "".join(chr(c) for c in range(32, 127))
SAMPLES = [
    "", "abc", "a b", '"u1"', ASCII, "#$&+/:<=>?@[]^`{|}", " \",;%\\", "é", "€", "😀",
    "日本語", "naïve café", '{"id":"abc","type":"dataxu"}', "\t\n\x00\x7f",
    "1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_encode_cookie_value_matches_js_cookie(text):
    assert codec.encode_cookie_value(text) == js_cookie_encode(text)


def test_encode_cookie_value_random_unicode_matches_js_cookie():
    rng = random.Random(7)
    pool = ASCII + "éüß€中文😀🎉\u00a0\u2028\u07ff\u0800\uffff\U00010000"
    for _ in range(500):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 30)))
        assert codec.encode_cookie_value(text) == js_cookie_encode(text), text


def test_encode_cookie_value_literals_and_escapes():
    # the literal set js-cookie restores, and characters that stay encoded
    assert codec.encode_cookie_value("#$&+/:<=>?@[]^`{|}") == "#$&+/:<=>?@[]^`{|}"
    assert codec.encode_cookie_value(" \",;%\\") == "%20%22%2C%3B%25%5C"
    assert codec.encode_cookie_value("é€😀") == "%C3%A9%E2%82%AC%F0%9F%98%80"
    assert codec.encode_cookie_value(codec.dumps({"id": "abc", "type": "dataxu"})) == \
        "{%22id%22:%22abc%22%2C%22type%22:%22dataxu%22}"
    assert codec.encode_cookie_value(codec.dumps("u1")) == "%22u1%22"


def test_dumps_is_json_stringify():
    assert codec.dumps({"a": 1, "b": [1, 2], "c": "é"}) == '{"a":1,"b":[1,2],"c":"é"}'
    assert codec.dumps("x") == '"x"'
    assert codec.dumps(None) == "null"
    assert codec.dumps(True) == "true"


@pytest.mark.parametrize("raw,expected", [
    ("%22u1%22", '"u1"'),
    ('"abc"', "abc"),
    ('"%22u1%22"', '"u1"'),
    ("plain", "plain"),
    ("", ""),
    ('"', '"'),
    ('""', ""),
    ("a%20b", "a b"),
    ("%C3%A9", "é"),
    ("%c3%a9", "é"),
    ("%F0%9F%98%80", "😀"),
    ("100%", "100%"),
    ("%zz", "%zz"),
    ("%4", "%4"),
    ("a%2", "a%2"),
    ("%C3%A9%zz", "é%zz"),
    ("%41", "A"),
    ("x%41", "xA"),
])
def test_decode_cookie_value(raw, expected):
    assert codec.decode_cookie_value(raw) == expected


def test_decode_cookie_value_keeps_invalid_utf8_raw():
    assert codec.decode_cookie_value("%FF") == "%FF"
    assert codec.decode_cookie_value("%C3") == "%C3"


@pytest.mark.parametrize("text", SAMPLES)
def test_encode_then_decode_round_trips(text):
    assert codec.decode_cookie_value(codec.encode_cookie_value(text)) == text


@pytest.mark.parametrize("text,expected", [
    (None, None),
    ('"u1"', "u1"),
    ("u1", "u1"),  # analytics-next's unquoted ids
    ("1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d", "1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d"),
    ("12345", 12345),
    ("1.5", 1.5),
    ("true", True),
    ("null", None),
    ('{"a":1}', {"a": 1}),
    ("[1,2]", [1, 2]),
    ("", ""),
    ("{not json", "{not json"),
    ('"unterminated', '"unterminated'),
])
def test_parse_stored(text, expected):
    assert codec.parse_stored(text) == expected


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"a":NaN}', "[Infinity]"])
def test_parse_stored_rejects_what_json_parse_rejects(text):
    # JSON.parse throws on these, so Analytics.js reads them as the raw string
    assert codec.parse_stored(text) == text


@pytest.mark.parametrize("header,expected", [
    ("", {}),
    (None, {}),
    ("a=1", {"a": "1"}),
    ("a=1; b=2", {"a": "1", "b": "2"}),
    ("a=1;b=2", {"a": "1", "b": "2"}),
    ("  a =  1 ;   b=2  ", {"a": "1", "b": "2"}),
    ("a=1; a=2", {"a": "1"}),
    ("a=2; b=x; a=1", {"a": "2", "b": "x"}),
    ("x=a=b; y==", {"x": "a=b", "y": "="}),
    ("flag; a=1", {"flag": "", "a": "1"}),
    ("empty=; a=1", {"empty": "", "a": "1"}),
    ("; ;=v; a=1", {"a": "1"}),
    ("s%3Acontext.referrer={%22id%22:1}", {"s:context.referrer": "{%22id%22:1}"}),
    ("ajs_user_id=%22u1%22", {"ajs_user_id": "%22u1%22"}),
])
def test_parse_cookie_header(header, expected):
    assert codec.parse_cookie_header(header) == expected


def test_full_cookie_read_path():
    header = "other=1; ajs_anonymous_id=%22abc-1%22; ajs_user_id=u2; ajs_group_id=12345"
    jar = codec.parse_cookie_header(header)
    read = {k: codec.parse_stored(codec.decode_cookie_value(v)) for k, v in jar.items()}
    assert read == {"other": 1, "ajs_anonymous_id": "abc-1", "ajs_user_id": "u2",
                    "ajs_group_id": 12345}
    assert json.loads(codec.dumps(read)) == read
