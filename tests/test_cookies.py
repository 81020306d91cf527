"""pyajs.cookies: host-only rules, the top-domain probe and cookie attribute strings."""

import pytest
from fakes import MemoryCookieJar
from pyajs import cookies
from pyajs.clock import http_date

NOW = 1700000000000  # Tue, 14 Nov 2023 22:13:20 GMT
DAY = 86400000


@pytest.mark.parametrize("host", [
    "localhost", "intranet", "127.0.0.1", "10.0.0.255", "192.168.1.1", "::1", "[::1]",
    "2001:db8::1", "[2001:db8::1]", "fe80::1%eth0", "",
])
def test_is_ip_or_single_label_true(host):
    assert cookies.is_ip_or_single_label(host) is True


@pytest.mark.parametrize("host", [
    "example.com", "www.example.com", "a.b.example.co.uk", "1.2.3.example", "1.2.3",
    "1.2.3.4.5", "www.pyajs.test", "x1.2.3.4",
])
def test_is_ip_or_single_label_false(host):
    assert cookies.is_ip_or_single_label(host) is False


@pytest.mark.parametrize("host,expected", [
    ("a.b.example.co.uk", ["co.uk", "example.co.uk", "b.example.co.uk", "a.b.example.co.uk"]),
    ("www.example.test", ["example.test", "www.example.test"]),
    ("example.com", ["example.com"]),
    ("localhost", []),
])
def test_domain_candidates(host, expected):
    assert cookies.domain_candidates(host) == expected


@pytest.mark.parametrize("host,expected", [
    ("www.example.test", "example.test"),
    ("example.test", "example.test"),
    ("a.b.example.co.uk", "example.co.uk"),
    ("shop.example.co.uk", "example.co.uk"),
    ("deep.sub.site.org", "site.org"),
])
def test_top_domain_skips_public_suffixes(host, expected):
    jar = MemoryCookieJar(host, clock=lambda: NOW)
    assert cookies.top_domain(host, jar, NOW) == expected
    assert jar.cookies == {}  # the probe cookie was removed
    assert any(w.startswith("__tld__=1;") and "domain=." + expected in w for w in jar.writes)
    assert jar.writes[-1].startswith("__tld__=;")


def test_top_domain_tries_candidates_shortest_first():
    jar = MemoryCookieJar("a.b.example.co.uk", clock=lambda: NOW)
    cookies.top_domain("a.b.example.co.uk", jar, NOW)
    probes = [w.split("domain=")[1] for w in jar.writes if w.startswith("__tld__=1")]
    assert probes == [".co.uk", ".example.co.uk"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "[::1]"])
def test_top_domain_host_only_without_probing(host):
    jar = MemoryCookieJar(host, clock=lambda: NOW)
    assert cookies.top_domain(host, jar, NOW) is None
    assert jar.writes == []


def test_top_domain_none_when_no_candidate_sticks():
    jar = MemoryCookieJar("www.example.test", clock=lambda: NOW)
    jar.disabled = True
    assert cookies.top_domain("www.example.test", jar, NOW) is None
    jar = MemoryCookieJar("foo.test", public_suffixes=("test", "foo.test"), clock=lambda: NOW)
    assert cookies.top_domain("foo.test", jar, NOW) is None


def test_top_domain_none_when_the_jar_throws():
    class Throwing:
        def read(self):
            raise RuntimeError("SecurityError")

        def write(self, text):
            raise RuntimeError("SecurityError")

    assert cookies.top_domain("www.example.test", Throwing(), NOW) is None


def test_cookie_string_defaults():
    text = cookies.cookie_string("ajs_user_id", '"u1"', {}, NOW)
    assert text == "ajs_user_id=%22u1%22; path=/; expires=" + http_date(NOW + 365 * DAY)
    assert "Wed, 13 Nov 2024 22:13:20 GMT" in text  # 2024 is a leap year


def test_cookie_string_all_attributes():
    attrs = {"maxage": 7, "path": "/app", "domain": "example.test", "sameSite": "Strict",
             "secure": True}
    text = cookies.cookie_string("ajs_anonymous_id", '"a b"', attrs, NOW)
    assert text == ("ajs_anonymous_id=%22a%20b%22; path=/app; expires=Tue, 21 Nov 2023 "
                    "22:13:20 GMT; domain=example.test; samesite=Strict; secure")


def test_cookie_string_fractional_days():
    text = cookies.cookie_string("k", "v", {"maxage": 0.5}, NOW)
    assert text.endswith("expires=" + http_date(NOW + DAY // 2))


def test_cookie_string_omits_false_attributes():
    text = cookies.cookie_string("k", "v", {"secure": False, "sameSite": None, "domain": None,
                                            "path": None}, NOW)
    assert text == "k=v; path=/; expires=" + http_date(NOW + 365 * DAY)


def test_cookie_string_deletion_is_in_the_past():
    attrs = {"domain": "example.test", "sameSite": "Lax", "secure": True, "path": "/"}
    text = cookies.cookie_string("ajs_user_id", None, attrs, NOW)
    assert text == ("ajs_user_id=; path=/; expires=Mon, 13 Nov 2023 22:13:20 GMT; "
                    "domain=example.test; samesite=Lax; secure")


def test_cookie_string_round_trips_through_the_jar():
    clock = [NOW]
    jar = MemoryCookieJar("www.example.test", clock=lambda: clock[0])
    attrs = {"domain": "example.test", "sameSite": "Lax", "maxage": 2}
    jar.write(cookies.cookie_string("ajs_user_id", '"u1"', attrs, NOW))
    assert jar.read() == "ajs_user_id=%22u1%22"
    clock[0] = NOW + 2 * DAY + 1
    assert jar.read() == ""  # expired after maxage days
    clock[0] = NOW
    jar.write(cookies.cookie_string("ajs_user_id", None, attrs, NOW))
    assert jar.read() == ""


def test_cookies_work():
    jar = MemoryCookieJar("www.example.test", clock=lambda: NOW)
    assert cookies.cookies_work(jar, {"domain": "example.test"}, NOW) is True
    assert jar.cookies == {}
    assert cookies.cookies_work(jar, {"secure": True}, NOW) is False  # http page
    jar.disabled = True
    assert cookies.cookies_work(jar, {}, NOW) is False
