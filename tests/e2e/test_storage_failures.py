"""Rules 11 and 12: storage that fails or holds garbage never stops pyajs from starting and
sending, and a person reading the console learns what happened (once)."""

import json

from tests.e2e.conftest import UUID4

THROWING_LOCAL_STORAGE = """
  for (const m of ['getItem', 'setItem', 'removeItem']) {
    Storage.prototype[m] = function () { throw new DOMException('denied', 'SecurityError'); };
  }
"""
NO_LOCAL_STORAGE = "Object.defineProperty(window, 'localStorage', {get() { return null; }});"
COOKIES_DISABLED = """
  Object.defineProperty(Document.prototype, 'cookie', {get() { return ''; }, set(v) {}});
"""


def two_tracks(page):
    page.js("analytics.track('One'); analytics.track('Two')")
    events = page.server.wait_events(2)
    assert events[0]["anonymousId"] == events[1]["anonymousId"]
    return events[0]["anonymousId"]


def test_localstorage_throwing_uses_cookies_and_memory(page):
    page.pw.add_init_script(THROWING_LOCAL_STORAGE)
    page.open()
    page.load()
    anon = two_tracks(page)
    assert UUID4.match(anon)
    assert page.cookie("ajs_anonymous_id") == "%22" + anon + "%22"
    page.js("analytics.identify('u1', {plan: 'pro'})")
    assert page.js("analytics.user().traits()") == {"plan": "pro"}  # traits in memory
    assert sum("localStorage is not available" in w for w in page.warnings()) == 1


def test_localstorage_missing_uses_cookies(page):
    page.pw.add_init_script(NO_LOCAL_STORAGE)
    page.open()
    page.load()
    anon = two_tracks(page)
    assert page.cookie("ajs_anonymous_id") == "%22" + anon + "%22"


def test_cookies_disabled_uses_localstorage(page):
    page.pw.add_init_script(COOKIES_DISABLED)
    page.open()
    page.load()
    anon = two_tracks(page)
    assert page.storage()["ajs_anonymous_id"] == json.dumps(anon)
    assert any("cookies are not available" in w for w in page.warnings())
    page.reload()
    assert page.js("analytics.user().anonymousId()") == anon  # kept by localStorage


def test_both_failing_keeps_a_stable_id_in_memory(page):
    page.pw.add_init_script(THROWING_LOCAL_STORAGE + COOKIES_DISABLED)
    page.open()
    page.load()
    anon = two_tracks(page)
    page.js("analytics.identify('mem-user')")
    assert page.js("analytics.user().id()") == "mem-user"
    assert page.js("analytics.user().anonymousId()") == anon


def test_corrupted_values_are_ignored_with_one_warning(page):
    page.open()
    page.js("""
      document.cookie = 'ajs_anonymous_id=; path=/';
      document.cookie = 'ajs_group_id=true; path=/';
      localStorage.setItem('ajs_user_traits', '{not json');
      localStorage.setItem('ajs_group_properties', '[1, 2]');
      localStorage.setItem('ajs_anonymous_id', '{"an": "object"}');
    """)
    page.load(after="analytics.identify({x: 1}); analytics.track('Works')")
    events = page.server.wait_events(2)
    identify = [e for e in events if e["type"] == "identify"][0]
    assert identify["traits"] == {"x": 1}  # the corrupt stored traits were dropped
    anon = identify["anonymousId"]
    assert UUID4.match(anon)  # empty cookie and an object in localStorage: a new id
    assert page.storage()["ajs_anonymous_id"] == json.dumps(anon)
    assert page.js("analytics.group().traits()") == {}
    assert page.js("analytics.group().traits()") == {}
    assert page.js("analytics.group().id()") is None
    warnings = page.warnings()
    assert sum("ajs_group_properties" in w for w in warnings) == 1
    assert sum("ajs_group_id" in w for w in warnings) == 1


def test_numeric_cookie_id_is_read_as_text(page):
    page.open()
    page.js("document.cookie = 'ajs_user_id=12345; path=/'")
    page.load(after="analytics.track('Numeric')")
    (event,) = page.server.wait_events(1)
    assert event["userId"] == "12345"
