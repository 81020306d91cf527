"""pyajs.storage: cookie + localStorage + memory, the cookie-wins rule, failures that are
not fatal, and the cookie load option."""

import pytest
from fakes import MemoryCookieJar, MemoryLocalStorage, _parse_http_date
from pyajs.clock import http_date
from pyajs.codec import parse_cookie_header
from pyajs.storage import (
    MemoryStore,
    Storage,
    build_storages,
    cookie_attributes,
    local_storage_in_use,
)

NOW = 1700000000000
DAY = 86400000
HOST = "www.example.test"


class Browser:
    """A cookie jar and localStorage that survive "page loads" (build_storages calls)."""

    def __init__(self, hostname=HOST, https=False):
        self.hostname = hostname
        self.https = https
        self.jar = MemoryCookieJar(hostname, secure_context=https, clock=lambda: NOW)
        self.ls = MemoryLocalStorage()
        self.warnings = []

    def load(self, cookie_options=None, jar=True, ls=True):
        self.warnings.clear()
        ids, user_traits, group_traits, attrs = build_storages(
            self.jar if jar else None, self.ls if ls else None, self.hostname, self.https,
            cookie_options, self.warnings.append, lambda: NOW)
        self.ids, self.user_traits, self.group_traits, self.attrs = (
            ids, user_traits, group_traits, attrs)
        return ids

    def cookie(self, name):
        return parse_cookie_header(self.jar.read()).get(name)

    def set_cookie(self, name, raw):
        self.jar.cookies[name] = (raw, {"domain": "example.test"})

    def cookie_attrs(self, name):
        return self.jar.cookies[name][1]


@pytest.fixture
def browser():
    return Browser()


# -- writing ---------------------------------------------------------------------------------

def test_ids_are_mirrored_as_json(browser):
    ids = browser.load()
    ids.write_id("ajs_user_id", "u1")
    assert browser.cookie("ajs_user_id") == "%22u1%22"
    assert browser.ls.data["ajs_user_id"] == '"u1"'
    assert ids.read_id("ajs_user_id") == "u1"
    assert browser.warnings == []


def test_cookie_carries_the_default_attributes(browser):
    browser.load().write_id("ajs_anonymous_id", "a b")
    write = [w for w in browser.jar.writes if w.startswith("ajs_anonymous_id=")][-1]
    assert write == ("ajs_anonymous_id=%22a%20b%22; path=/; expires=" +
                     http_date(NOW + 365 * DAY) + "; domain=example.test; samesite=Lax")


def test_writing_none_removes_everywhere(browser):
    ids = browser.load()
    ids.write_id("ajs_user_id", "u1")
    ids.write_id("ajs_user_id", None)
    assert browser.cookie("ajs_user_id") is None
    assert "ajs_user_id" not in browser.ls.data
    assert ids.read_id("ajs_user_id") is None
    assert browser.load().read_id("ajs_user_id") is None


def test_values_survive_a_reload(browser):
    browser.load().write_id("ajs_group_id", "g1")
    assert browser.load().read_id("ajs_group_id") == "g1"


# -- the cookie-wins rule ----------------------------------------------------------------------

def test_cookie_wins_and_localstorage_is_resynced(browser):
    browser.set_cookie("ajs_user_id", "%22cookie-user%22")
    browser.ls.data["ajs_user_id"] = '"ls-user"'
    ids = browser.load()
    assert ids.read_id("ajs_user_id") == "cookie-user"
    assert browser.ls.data["ajs_user_id"] == '"cookie-user"'
    assert browser.cookie("ajs_user_id") == "%22cookie-user%22"


@pytest.mark.parametrize("key", ["ajs_anonymous_id", "ajs_user_id", "ajs_group_id"])
def test_cookie_wins_for_every_id_even_unquoted(browser, key):
    browser.set_cookie(key, "cookie-value")  # analytics-next writes ids unquoted
    browser.ls.data[key] = '"ls-value"'
    assert browser.load().read_id(key, allow_empty=key != "ajs_anonymous_id") == "cookie-value"
    assert browser.ls.data[key] == '"cookie-value"'


def test_an_empty_id_is_still_read_from_every_store(browser):
    """An anonymous visitor's user id is read at every event: while no store holds one,
    nothing is compared or re-written, but a value another page put in either store is
    found at the next read, by the same rule."""
    ids = browser.load()
    writes = len(browser.jar.writes)
    assert [ids.read_id("ajs_user_id") for _ in range(3)] == [None, None, None]
    assert len(browser.jar.writes) == writes
    browser.ls.data["ajs_user_id"] = '"from-another-tab"'  # its cookie write failed
    assert ids.read_id("ajs_user_id") == "from-another-tab"
    assert browser.cookie("ajs_user_id") == "%22from-another-tab%22"
    ids.write_id("ajs_user_id", None)
    assert ids.read_id("ajs_user_id") is None
    browser.set_cookie("ajs_user_id", "%22on-the-cookie%22")
    assert ids.read_id("ajs_user_id") == "on-the-cookie"
    assert browser.ls.data["ajs_user_id"] == '"on-the-cookie"'


def test_an_empty_string_is_not_taken_for_an_empty_store(browser):
    ids = browser.load()
    assert ids.read_id("ajs_anonymous_id", allow_empty=False) is None
    browser.ls.data["ajs_anonymous_id"] = '""'
    assert ids.read_id("ajs_anonymous_id", allow_empty=False) is None
    browser.set_cookie("ajs_anonymous_id", "%22a1%22")
    assert ids.read_id("ajs_anonymous_id", allow_empty=False) == "a1"
    assert browser.ls.data["ajs_anonymous_id"] == '"a1"'


def test_a_store_that_starts_throwing_is_reported_once(browser):
    ids = browser.load()
    assert ids.read_id("ajs_user_id") is None

    def broken(key):
        raise RuntimeError("SecurityError")

    browser.ls.getItem = broken
    browser.set_cookie("ajs_user_id", "%22u7%22")
    assert ids.read_id("ajs_user_id") == "u7"
    assert ids.read_id("ajs_user_id") == "u7"
    assert [w for w in browser.warnings if "cannot read localStorage" in w] == [
        browser.warnings[-1]]


def test_localstorage_only_id_is_written_back_to_the_cookie(browser):
    browser.ls.data["ajs_anonymous_id"] = '"ls-only-anon"'
    ids = browser.load()
    assert browser.cookie("ajs_anonymous_id") is None
    assert ids.read_id("ajs_anonymous_id", allow_empty=False) == "ls-only-anon"
    assert browser.cookie("ajs_anonymous_id") == "%22ls-only-anon%22"
    assert browser.cookie_attrs("ajs_anonymous_id")["domain"] == "example.test"


def test_cookie_only_id_is_written_to_localstorage(browser):
    browser.set_cookie("ajs_user_id", "%22u9%22")
    assert browser.load().read_id("ajs_user_id") == "u9"
    assert browser.ls.data["ajs_user_id"] == '"u9"'


def test_legacy_localstorage_unquoted_value(browser):
    browser.ls.data["ajs_user_id"] = "legacy-user"
    assert browser.load().read_id("ajs_user_id") == "legacy-user"
    assert browser.cookie("ajs_user_id") == "%22legacy-user%22"


def test_localstorage_null_text_counts_as_absent(browser):
    browser.ls.data["ajs_anonymous_id"] = "null"  # what analytics-next leaves after logout
    browser.set_cookie("ajs_anonymous_id", "%22c%22")
    assert browser.load().read_id("ajs_anonymous_id", allow_empty=False) == "c"
    assert browser.ls.data["ajs_anonymous_id"] == '"c"'


def test_number_cookie_reads_as_string(browser):
    browser.set_cookie("ajs_group_id", "12345")
    ids = browser.load()
    assert ids.read_id("ajs_group_id") == "12345"
    assert browser.ls.data["ajs_group_id"] == '"12345"'
    assert browser.warnings == []


def test_number_localstorage_reads_as_string(browser):
    browser.ls.data["ajs_user_id"] = "42.0"
    assert browser.load().read_id("ajs_user_id") == "42"
    browser.ls.data["ajs_user_id"] = "4.5"
    browser.jar.cookies.clear()
    assert browser.load().read_id("ajs_user_id") == "4.5"


def test_numeric_ids_of_analytics_js_1_are_rewritten_as_strings(browser):
    # Analytics.js 1.0 stored numeric ids as JSON numbers; Analytics.js re-writes them as
    # JSON strings when it reads them, in every store
    browser.ls.data["ajs_user_id"] = "12345"
    browser.ls.data["ajs_group_id"] = "678"
    browser.set_cookie("ajs_group_id", "678")
    ids = browser.load()
    assert (ids.read_id("ajs_user_id"), ids.read_id("ajs_group_id")) == ("12345", "678")
    assert (browser.ls.data["ajs_user_id"], browser.ls.data["ajs_group_id"]) == (
        '"12345"', '"678"')
    assert browser.cookie("ajs_user_id") == "%2212345%22"
    assert browser.cookie("ajs_group_id") == "%22678%22"
    assert browser.warnings == []


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_plain_text_ids(browser, raw):
    browser.set_cookie("ajs_user_id", raw)
    assert browser.load().read_id("ajs_user_id") == raw


def test_empty_cookie_is_a_value_for_user_ids(browser):
    browser.set_cookie("ajs_user_id", "")
    browser.ls.data["ajs_user_id"] = '"u1"'
    assert browser.load().read_id("ajs_user_id") == ""


def test_empty_values_do_not_count_for_the_anonymous_id(browser):
    browser.set_cookie("ajs_anonymous_id", "")
    browser.ls.data["ajs_anonymous_id"] = '"ls-anon"'
    ids = browser.load()
    assert ids.read_id("ajs_anonymous_id", allow_empty=False) == "ls-anon"
    assert browser.cookie("ajs_anonymous_id") == "%22ls-anon%22"
    browser.jar.cookies.clear()
    browser.ls.data["ajs_anonymous_id"] = '""'
    assert browser.load().read_id("ajs_anonymous_id", allow_empty=False) is None


# -- corrupt values ----------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ['{"a":1}', "[1,2]", "true", "false"])
def test_corrupt_cookie_id_is_ignored_with_one_warning(browser, raw):
    from pyajs.codec import encode_cookie_value

    browser.ls.data["ajs_user_id"] = '"ls-user"'
    ids = browser.load()
    for _ in range(5):
        browser.set_cookie("ajs_user_id", encode_cookie_value(raw))  # e.g. another tab
        assert ids.read_id("ajs_user_id") == "ls-user"
        assert browser.cookie("ajs_user_id") == "%22ls-user%22"  # replaced by the winner
    assert len(browser.warnings) == 1
    assert "ajs_user_id" in browser.warnings[0]


@pytest.mark.parametrize("raw", ['{"a":1}', "true", "[]"])
def test_corrupt_localstorage_id_is_ignored_with_one_warning(browser, raw):
    ids = browser.load()
    for _ in range(5):
        browser.ls.data["ajs_anonymous_id"] = raw
        assert ids.read_id("ajs_anonymous_id", allow_empty=False) is None
        assert "ajs_anonymous_id" not in browser.ls.data  # the corrupt value is removed
    assert len(browser.warnings) == 1


def test_corrupt_value_that_cannot_be_replaced_still_warns_once(browser):
    browser.set_cookie("ajs_user_id", "%22u1%22")
    browser.ls.data["ajs_user_id"] = "true"
    ids = browser.load()
    browser.ls.full = True
    for _ in range(5):
        assert ids.read_id("ajs_user_id") == "u1"
    assert browser.ls.data["ajs_user_id"] == "true"
    corrupt = [w for w in browser.warnings if "not an id" in w]
    assert len(corrupt) == 1
    assert len(browser.warnings) == 2  # plus one "cannot write localStorage"


def test_non_json_cookie_text_is_read_raw(browser):
    browser.set_cookie("ajs_user_id", "%7Bnot-json")
    assert browser.load().read_id("ajs_user_id") == "{not-json"
    assert browser.warnings == []


def test_traits_storage_reads_json(browser):
    browser.load()
    browser.user_traits.write("ajs_user_traits", {"a": 1, "é": "ü"})
    assert browser.ls.data["ajs_user_traits"] == '{"a":1,"é":"ü"}'
    assert browser.user_traits.read("ajs_user_traits") == {"a": 1, "é": "ü"}
    assert browser.cookie("ajs_user_traits") is None  # traits never go to a cookie
    browser.ls.data["ajs_group_properties"] = "not json"
    assert browser.group_traits.read("ajs_group_properties") == "not json"


# -- failing stores ------------------------------------------------------------------------

def test_broken_localstorage_uses_cookie_and_memory(browser):
    browser.ls.broken = True
    ids = browser.load()
    assert len(browser.warnings) == 1 and "localStorage" in browser.warnings[0]
    ids.write_id("ajs_user_id", "u1")
    assert ids.read_id("ajs_user_id") == "u1"
    assert browser.cookie("ajs_user_id") == "%22u1%22"
    browser.user_traits.write("ajs_user_traits", {"a": 1})
    assert browser.user_traits.read("ajs_user_traits") == {"a": 1}
    assert browser.load().read_id("ajs_user_id") == "u1"  # the cookie persisted it


def test_missing_localstorage_uses_cookie_and_memory(browser):
    ids = browser.load(ls=False)
    assert len(browser.warnings) == 1
    ids.write_id("ajs_anonymous_id", "a1")
    assert ids.read_id("ajs_anonymous_id", allow_empty=False) == "a1"
    assert browser.cookie("ajs_anonymous_id") == "%22a1%22"


def test_localstorage_breaking_later_warns_once(browser):
    ids = browser.load()
    ids.write_id("ajs_user_id", "u1")
    browser.ls.broken = True
    for _ in range(5):
        ids.write_id("ajs_user_id", "u2")
        assert ids.read_id("ajs_user_id") == "u2"
    assert len(browser.warnings) == 2  # one for reading, one for writing
    assert all("localStorage" in w for w in browser.warnings)


def test_disabled_cookies_use_localstorage(browser):
    browser.jar.disabled = True
    ids = browser.load()
    assert len(browser.warnings) == 1 and "cookies" in browser.warnings[0]
    ids.write_id("ajs_user_id", "u1")
    assert browser.ls.data["ajs_user_id"] == '"u1"'
    assert browser.jar.cookies == {}
    assert browser.load().read_id("ajs_user_id") == "u1"


def test_secure_cookie_option_on_http_falls_back_to_localstorage(browser):
    ids = browser.load({"secure": True})
    assert any("cookies" in w for w in browser.warnings)
    ids.write_id("ajs_user_id", "u1")
    assert browser.jar.cookies == {}
    assert browser.ls.data["ajs_user_id"] == '"u1"'


def test_no_store_at_all_keeps_ids_in_memory(browser):
    browser.jar.disabled = True
    browser.ls.broken = True
    ids = browser.load()
    assert len(browser.warnings) == 2
    assert ids.read_id("ajs_anonymous_id") is None
    ids.write_id("ajs_anonymous_id", "mem-anon")
    for _ in range(3):
        assert ids.read_id("ajs_anonymous_id", allow_empty=False) == "mem-anon"
    browser.user_traits.write("ajs_user_traits", {"t": 1})
    assert browser.user_traits.read("ajs_user_traits") == {"t": 1}
    ids.write_id("ajs_anonymous_id", None)
    assert ids.read_id("ajs_anonymous_id") is None
    assert len(browser.warnings) == 2


def test_full_localstorage_at_load_keeps_ids_readable(browser):
    browser.ls.data["ajs_user_id"] = '"old"'
    browser.ls.full = True
    ids = browser.load()
    ids.write_id("ajs_user_id", "u1")
    assert ids.read_id("ajs_user_id") == "u1"
    assert browser.cookie("ajs_user_id") == "%22u1%22"


def test_localstorage_full_later_keeps_ids_readable(browser):
    ids = browser.load()
    ids.write_id("ajs_user_id", "u1")
    browser.ls.full = True
    ids.write_id("ajs_user_id", "u2")
    assert ids.read_id("ajs_user_id") == "u2"
    assert browser.cookie("ajs_user_id") == "%22u2%22"
    browser.user_traits.write("ajs_user_traits", {"a": 1})
    assert browser.user_traits.read("ajs_user_traits") == {"a": 1}  # from memory
    assert len([w for w in browser.warnings if "cannot write localStorage" in w]) == 1


def test_write_reaching_no_store_is_read_from_memory():
    class Failing:
        name = "failing"

        def __init__(self):
            self.fail = False
            self.data = {}

        def get(self, key):
            return self.data.get(key)

        def set(self, key, value):
            if self.fail:
                raise OSError("nope")
            self.data[key] = value

    store = Failing()
    warnings = []
    s = Storage([store], warnings.append)
    s.write_id("k", "v1")
    store.fail = True
    s.write_id("k", "v2")
    assert s.read_id("k") == "v2"
    assert s.read("k") == "v2"
    store.fail = False
    s.write_id("k", "v3")
    assert s.read_id("k") == "v3" and store.data["k"] == "v3"
    assert len(warnings) == 1


def test_memory_store():
    m = MemoryStore()
    m.set("a", 1)
    assert m.get("a") == 1
    m.set("a", None)
    assert m.get("a") is None and m.data == {}


# -- the cookie option ---------------------------------------------------------------------

def attrs_of(options, host=HOST, https=False):
    warnings = []
    jar = MemoryCookieJar(host, secure_context=https, clock=lambda: NOW)
    return cookie_attributes(options, host, https, jar, warnings.append, lambda: NOW), warnings


def test_cookie_defaults_http():
    attrs, warnings = attrs_of(None)
    assert attrs == {"maxage": 365, "path": "/", "sameSite": "Lax", "secure": False,
                     "domain": "example.test"}
    assert warnings == []


def test_cookie_defaults_https_are_secure():
    attrs, _ = attrs_of({}, https=True)
    assert attrs["secure"] is True
    browser = Browser(https=True)
    browser.load().write_id("ajs_user_id", "u1")
    assert browser.cookie_attrs("ajs_user_id")["samesite"] == "Lax"
    assert "secure" in browser.cookie_attrs("ajs_user_id")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_cookie_host_only_on_localhost_and_ip(host):
    attrs, _ = attrs_of({}, host=host)
    assert "domain" not in attrs
    browser = Browser(hostname=host)
    browser.load().write_id("ajs_user_id", "u1")
    assert "domain" not in browser.cookie_attrs("ajs_user_id")
    assert browser.cookie("ajs_user_id") == "%22u1%22"


def test_cookie_overrides():
    attrs, warnings = attrs_of({"maxage": 7, "path": "/app", "sameSite": "Strict",
                                "secure": True, "domain": ".example.test"}, https=False)
    assert attrs == {"maxage": 7, "path": "/app", "sameSite": "Strict", "secure": True,
                     "domain": "example.test"}
    assert warnings == []


def test_cookie_secure_false_overrides_https():
    attrs, _ = attrs_of({"secure": False}, https=True)
    assert attrs["secure"] is False


def test_cookie_domain_override_skips_the_probe():
    browser = Browser(hostname="a.b.example.co.uk")
    browser.load({"domain": "b.example.co.uk"})
    assert not any("__tld__" in w and "domain=.co.uk" in w for w in browser.jar.writes)
    browser.ids.write_id("ajs_user_id", "u1")
    assert browser.cookie_attrs("ajs_user_id")["domain"] == "b.example.co.uk"


def test_cookie_maxage_days_sets_expires():
    browser = Browser()
    browser.load({"maxage": 7}).write_id("ajs_user_id", "u1")
    assert browser.cookie_attrs("ajs_user_id")["expires"] == http_date(NOW + 7 * DAY)


def test_cookie_maxage_in_milliseconds_is_converted_with_a_warning():
    attrs, warnings = attrs_of({"maxage": 31536000000})
    assert attrs["maxage"] == 365
    assert len(warnings) == 1 and "maxage" in warnings[0] and "milliseconds" in warnings[0]
    attrs, warnings = attrs_of({"maxage": 7 * DAY})
    assert attrs["maxage"] == 7 and len(warnings) == 1


@pytest.mark.parametrize("key,value", [
    ("maxage", "7"), ("maxage", True), ("maxage", 0), ("maxage", -3), ("maxage", [7]),
    ("path", 5), ("sameSite", False), ("secure", "yes"), ("secure", 1), ("domain", 7),
])
def test_bad_cookie_options_are_warned_and_ignored(key, value):
    attrs, warnings = attrs_of({key: value})
    defaults, _ = attrs_of({})
    assert attrs == defaults
    assert len(warnings) == 1
    assert "cookie." + key in warnings[0]


def test_none_cookie_options_mean_default():
    attrs, warnings = attrs_of({"maxage": None, "domain": None, "secure": None})
    assert attrs == attrs_of({})[0] and warnings == []


def test_build_storages_returns_cookie_attributes():
    browser = Browser()
    browser.load({"maxage": 30})
    assert browser.attrs["maxage"] == 30
    assert browser.attrs["domain"] == "example.test"
    browser.load(jar=False)
    assert browser.attrs is None


# -- found by the conformance suite (tests/conformance) --------------------------------------

def test_a_visit_renews_the_cookie_expiry_once(browser):
    """Analytics.js re-writes ids on read, so a returning visitor's cookie lasts a year from
    the last visit; pyajs renews it on the first read of each page."""
    browser.jar.cookies["ajs_user_id"] = ("raw-user", {"domain": "example.test",
                                                       "expires_ms": NOW + 3 * DAY})
    ids = browser.load()
    writes = len(browser.jar.writes)
    assert ids.read_id("ajs_user_id") == "raw-user"
    value, attrs = browser.jar.cookies["ajs_user_id"]
    assert value == "%22raw-user%22"  # pyajs's format, with the current attributes
    assert attrs["expires_ms"] == NOW + 365 * DAY
    after_first = len(browser.jar.writes)
    assert after_first > writes
    ids.read_id("ajs_user_id")
    ids.read_id("ajs_user_id")
    assert len(browser.jar.writes) == after_first  # once a page


def test_no_renewal_for_an_id_written_on_this_page_or_absent(browser):
    ids = browser.load()
    ids.write("ajs_group_id", "g1")
    writes = len(browser.jar.writes)
    assert ids.read_id("ajs_group_id") == "g1"
    assert ids.read_id("ajs_user_id") is None
    assert len(browser.jar.writes) == writes


class ScopedJar:
    """``document.cookie`` with host-only and domain cookies of the same name, listed in
    creation order as browsers do for one path."""

    def __init__(self):
        self.cookies = []  # [name, value, domain or None]

    def read(self):
        return "; ".join("%s=%s" % (n, v) for n, v, _ in self.cookies)

    def write(self, text):
        first, _, rest = text.partition(";")
        name, _, value = first.partition("=")
        attrs = dict(p.strip().partition("=")[::2] for p in rest.split(";") if p.strip())
        domain = attrs.get("domain")
        expires = _parse_http_date(attrs["expires"]) if "expires" in attrs else None
        gone = expires is not None and expires <= NOW
        for i, (n, _, d) in enumerate(self.cookies):
            if n == name and d == domain:
                if gone:
                    del self.cookies[i]
                else:
                    self.cookies[i][1] = value
                return
        if not gone:
            self.cookies.append([name, value, domain])


def scoped_ids(jar):
    from pyajs.storage import CookieStore

    attrs = {"maxage": 365, "path": "/", "sameSite": "Lax", "domain": "shop.test"}
    return Storage([CookieStore(jar, attrs, lambda: NOW)], warn=print)


def test_a_host_only_cookie_that_hides_the_written_id_is_removed():
    jar = ScopedJar()
    jar.cookies.append(["ajs_user_id", "", None])  # set by the page, without a domain
    ids = scoped_ids(jar)
    assert ids.read_id("ajs_user_id") == ""
    ids.write("ajs_user_id", "u-1")
    assert jar.cookies == [["ajs_user_id", "%22u-1%22", "shop.test"]]
    assert ids.read_id("ajs_user_id") == "u-1"


def test_a_host_only_cookie_does_not_survive_a_logout():
    jar = ScopedJar()
    jar.cookies.append(["ajs_anonymous_id", "stale", None])
    jar.cookies.append(["ajs_anonymous_id", "%22current%22", "shop.test"])
    ids = scoped_ids(jar)
    ids.write("ajs_anonymous_id", None)
    assert jar.cookies == []


def test_a_host_only_cookie_with_the_same_value_is_left_alone():
    jar = ScopedJar()
    jar.cookies.append(["ajs_user_id", "%22u-1%22", None])
    ids = scoped_ids(jar)
    ids.write("ajs_user_id", "u-1")
    assert ["ajs_user_id", "%22u-1%22", None] in jar.cookies
    assert len(jar.cookies) == 2


@pytest.mark.parametrize("works", [True, False])
def test_localstorage_is_probed_once_and_the_answer_kept(browser, works):
    probes = []
    real = browser.ls.setItem

    def set_item(key, value):
        if key == "__pyajs_probe__":
            probes.append(key)
            if not works:
                raise RuntimeError("QuotaExceededError")
        real(key, value)

    browser.ls.setItem = set_item
    ids = browser.load()
    assert local_storage_in_use(ids) is works
    assert len(probes) == 1
    assert ("localStorage is not available" in " ".join(browser.warnings)) is not works


# -- the cookie probe ----------------------------------------------------------------------
@pytest.mark.parametrize("options, probed", [
    (None, False), ({}, False), ({"maxage": 7}, False),
    ({"domain": "127.0.0.1"}, True), ({"path": "/shop"}, True), ({"secure": True}, True),
    ({"sameSite": "Strict"}, True)])
def test_cookies_are_probed_only_for_attributes_the_site_chose(options, probed):
    """With the browser's word that cookies are on, the default attributes need no probe;
    a domain, path, SameSite or Secure the site chose might be refused or not shown to this
    page: written and read back first (and the stores fall back when refused). (An IP
    host: no top-domain probe either.)"""
    b = Browser(hostname="127.0.0.1")
    b.jar.enabled = True
    ids = b.load(options)
    assert any(w.startswith("__tld__=1") for w in b.jar.writes) is probed
    if not probed:
        assert ids.stores[0].name == "cookie" and b.jar.writes == []
    if options == {"secure": True}:  # refused on http: localStorage and memory
        assert [s.name for s in ids.stores] == ["localStorage"]


@pytest.mark.parametrize("enabled", [None, False])
def test_without_the_browser_s_word_the_default_attributes_are_probed(enabled):
    """navigator.cookieEnabled unknown (not readable) or false: the probe decides."""
    b = Browser(hostname="127.0.0.1")
    b.jar.enabled = enabled
    ids = b.load(None)
    assert [w.split("=")[0] for w in b.jar.writes] == ["__tld__", "__tld__"]
    assert ids.stores[0].name == "cookie"


def _trusted_browser():
    b = Browser(hostname="127.0.0.1")
    b.jar.enabled = True
    return b


def _load_found(b):
    from pyajs.storage import build_identity_storages

    return build_identity_storages(b.jar, b.ls, b.hostname, b.https, {}, b.warnings.append,
                                   lambda: NOW)


def test_cookies_taken_on_the_browser_s_word_are_kept_when_the_browser_kept_them():
    from pyajs.storage import confirm_cookies

    b = _trusted_browser()
    found = _load_found(b)
    found["user_ids"].write_id("ajs_anonymous_id", "a1")
    confirm_cookies(found["cookie_store"], (found["user_ids"],), b.warnings.append)
    assert b.warnings == []
    assert [s.name for s in found["user_ids"].stores] == ["cookie", "localStorage"]
    assert found["cookie_store"].unconfirmed is None  # checked once


def test_cookies_the_browser_dropped_after_all_are_given_up_with_the_probe_s_warning():
    """navigator.cookieEnabled said yes, but what was written is not there (an extension,
    a blocked site): from then on ids live in localStorage and memory, as when the probe
    fails, and the visitor keeps the same id."""
    from pyajs.storage import NO_COOKIES, confirm_cookies

    b = _trusted_browser()
    b.jar.disabled = True  # takes writes, keeps nothing
    found = _load_found(b)
    ids = found["user_ids"]
    ids.write_id("ajs_anonymous_id", "a1")
    assert b.warnings == []
    confirm_cookies(found["cookie_store"], (ids, found["group_ids"]), b.warnings.append)
    assert b.warnings == [NO_COOKIES]
    assert [s.name for s in ids.stores] == ["localStorage"]
    assert ids.read_id("ajs_anonymous_id") == "a1"
    writes = len(b.jar.writes)
    ids.write_id("ajs_user_id", "u1")
    assert len(b.jar.writes) == writes  # no more cookie writes


def test_nothing_to_confirm_when_the_probe_ran_or_nothing_was_written():
    from pyajs.storage import confirm_cookies

    b = Browser(hostname="127.0.0.1")  # the jar does not say: probed
    found = _load_found(b)
    assert found["cookie_store"].unconfirmed is None
    b = _trusted_browser()
    b.jar.disabled = True
    found = _load_found(b)  # nothing written yet (consent pending, say): nothing to tell
    confirm_cookies(found["cookie_store"], (found["user_ids"],), b.warnings.append)
    assert b.warnings == [] and found["user_ids"].stores[0].name == "cookie"
