"""pyajs.clock: ISO and HTTP dates computed without datetime, checked against datetime."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from pyajs import clock

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_MS = int((datetime(1, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()) * 1000
MAX_MS = int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - EPOCH)
             .total_seconds()) * 1000 + 999


def dt(ms):
    return EPOCH + timedelta(milliseconds=ms)


def ms_of(*args):
    delta = datetime(*args, tzinfo=UTC) - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def expected_iso(ms):
    d = dt(ms)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond // 1000)


def expected_http(ms):
    d = dt(ms)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        days[d.weekday()], d.day, months[d.month - 1], d.year, d.hour, d.minute, d.second)


EDGES = [
    0, 1, -1, 999, -999, 1000, -1000, 86399999, 86400000, -86400000, -86400001,
    ms_of(2000, 2, 29, 12, 0, 0), ms_of(2000, 3, 1), ms_of(1900, 2, 28, 23, 59, 59),
    ms_of(1900, 3, 1), ms_of(2024, 2, 29, 23, 59, 59, 999000), ms_of(2023, 2, 28),
    ms_of(2100, 2, 28), ms_of(2100, 3, 1), ms_of(2400, 2, 29),
    2147483647000, 2147483648000, 2147483647 * 1000 + 999,  # 2038-01-19
    ms_of(1969, 12, 31, 23, 59, 59, 999000), ms_of(1600, 1, 1), ms_of(1, 1, 1),
    MAX_MS, ms_of(1999, 12, 31, 23, 59, 59, 999000), ms_of(2026, 11, 29, 14, 16, 53, 123000),
]
_rng = random.Random(20261129)
RANDOM = [_rng.randint(MIN_MS, MAX_MS) for _ in range(400)] + [
    _rng.randint(-10 ** 12, 4 * 10 ** 12) for _ in range(400)]


@pytest.mark.parametrize("ms", EDGES)
def test_iso_utc_matches_datetime_on_edges(ms):
    assert clock.iso_utc(ms) == expected_iso(ms)


@pytest.mark.parametrize("ms", EDGES)
def test_http_date_matches_datetime_on_edges(ms):
    assert clock.http_date(ms) == expected_http(ms)


@pytest.mark.parametrize("ms", EDGES)
def test_parse_iso_ms_inverts_iso_utc_on_edges(ms):
    assert clock.parse_iso_ms(expected_iso(ms)) == ms


def test_random_values_match_datetime():
    for ms in RANDOM:
        assert clock.iso_utc(ms) == expected_iso(ms), ms
        assert clock.http_date(ms) == expected_http(ms), ms
        assert clock.parse_iso_ms(expected_iso(ms)) == ms, ms


def test_known_literals():
    assert clock.iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert clock.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert clock.iso_utc(-1) == "1969-12-31T23:59:59.999Z"
    assert clock.iso_utc(951782400000) == "2000-02-29T00:00:00.000Z"
    assert clock.http_date(2147483647000) == "Tue, 19 Jan 2038 03:14:07 GMT"
    assert clock.iso_utc(2147483648000) == "2038-01-19T03:14:08.000Z"


def test_float_milliseconds_are_truncated():
    assert clock.iso_utc(1500.9) == "1970-01-01T00:00:01.500Z"


def test_parse_iso_ms_fraction_forms():
    assert clock.parse_iso_ms("1970-01-01T00:00:00Z") == 0
    assert clock.parse_iso_ms("1970-01-01T00:00:01.5Z") == 1500
    assert clock.parse_iso_ms("1970-01-01T00:00:01.05Z") == 1050
    assert clock.parse_iso_ms("1970-01-01T00:00:01.123456Z") == 1123
    assert clock.parse_iso_ms("2000-02-29t12:00:00.000z") == ms_of(2000, 2, 29, 12)


@pytest.mark.parametrize("text", [
    "", "2020", "not a date at all!!", "2020-01-01 00:00:00.000Z", "2020-01-01T00:00:00.000",
    "2020/01/01T00:00:00.000Z", "2020-0a-01T00:00:00.000Z", "2020-01-01T0x:00:00.000Z",
])
def test_parse_iso_ms_rejects_other_text(text):
    assert clock.parse_iso_ms(text) is None


def test_now_ms_is_epoch_milliseconds():
    import time

    before = int(time.time() * 1000)
    value = clock.now_ms()
    after = int(time.time() * 1000)
    assert isinstance(value, int)
    assert before <= value <= after


def test_iso_utc_keeps_the_date_right_across_days():
    day = 86_400_000
    base = 1_764_633_599_999  # 2025-12-01T23:59:59.999Z
    for ms in (base, base + 1, base, base - 40 * day, base + 1, -1, 0):
        assert clock.iso_utc(ms) == expected_iso(ms)
