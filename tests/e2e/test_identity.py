"""Identity rules (where the ids live, when they are made, which store wins), read from the
real cookie jar and localStorage of headless Chromium, and from the payloads the collector
received."""

import json
from urllib.parse import unquote

from tests.e2e.conftest import UUID4


def anon_cookie_id(page) -> str:
    raw = page.cookie("ajs_anonymous_id")
    assert raw.startswith("%22") and raw.endswith("%22"), raw
    return json.loads(unquote(raw))


def test_initialization_stores_a_uuid4_anonymous_id_before_any_event(page):
    page.open()
    page.load()
    anon = anon_cookie_id(page)
    assert UUID4.match(anon)
    assert page.storage()["ajs_anonymous_id"] == json.dumps(anon)
    assert page.js("analytics.user().anonymousId()") == anon
    assert page.server.events() == []  # nothing sent: the id exists before any event


def test_reads_the_raw_cookie_analytics_next_writes(page):
    page.open()
    page.js("document.cookie = 'ajs_anonymous_id=raw-next-anon; path=/'")
    page.load(after="analytics.track('After Switch')")
    assert page.js("analytics.user().anonymousId()") == "raw-next-anon"
    assert page.storage()["ajs_anonymous_id"] == '"raw-next-anon"'
    (event,) = page.server.wait_events(1)
    assert event["anonymousId"] == "raw-next-anon"


def test_reads_the_quoted_cookie_classic_analytics_js_writes(page):
    page.open()
    page.js("document.cookie = 'ajs_anonymous_id=%22classic-anon%22; path=/'")
    page.load()
    assert page.js("analytics.user().anonymousId()") == "classic-anon"


def test_cookie_cleared_restores_from_localstorage_both_cleared_new_id(page):
    page.open()
    page.load()
    first = anon_cookie_id(page)
    page.pw.context.clear_cookies()
    page.reload()
    assert anon_cookie_id(page) == first  # found in localStorage and written to a new cookie
    page.pw.context.clear_cookies()
    page.js("localStorage.clear()")
    page.reload()
    second = anon_cookie_id(page)
    assert UUID4.match(second) and second != first
    assert page.storage()["ajs_anonymous_id"] == json.dumps(second)


def test_user_anonymous_id_makes_and_stores_one_when_none(page):
    page.open()
    page.load()
    page.js("analytics.reset()")
    assert page.cookie("ajs_anonymous_id") is None
    assert "ajs_anonymous_id" not in page.storage()
    made = page.js("analytics.user().anonymousId()")
    assert UUID4.match(made)
    assert anon_cookie_id(page) == made
    assert page.storage()["ajs_anonymous_id"] == json.dumps(made)


def test_set_anonymous_id_before_ready_applies_to_earlier_buffered_page(page):
    page.open()
    page.load(before="analytics.page(); analytics.setAnonymousId('ABC-123-XYZ')")
    (event,) = page.server.wait_events(1)
    assert event["type"] == "page" and event["anonymousId"] == "ABC-123-XYZ"
    assert anon_cookie_id(page) == "ABC-123-XYZ"
    assert page.storage()["ajs_anonymous_id"] == '"ABC-123-XYZ"'


def test_anonymous_id_overrides_after_ready_persist(page):
    page.open()
    page.load()
    page.js("analytics.user().anonymousId('via-user')")
    assert anon_cookie_id(page) == "via-user"
    page.js("analytics.track('A')")
    assert page.js("analytics.setAnonymousId('via-set')") == "via-set"
    assert anon_cookie_id(page) == "via-set"
    page.js("analytics.track('B')")
    events = page.server.wait_events(2)
    assert {e["event"]: e["anonymousId"] for e in events} == {"A": "via-user", "B": "via-set"}
    page.reload()
    assert page.js("analytics.user().anonymousId()") == "via-set"


def test_anonymous_id_option_on_track_identify_page_persists(page):
    page.open()
    page.load()
    page.js("analytics.track('T', {}, {anonymousId: 'opt-track'}); analytics.track('T2')")
    page.js("analytics.page('P', {}, {anonymousId: 'opt-page'}); analytics.track('T3')")
    page.js("analytics.identify('u1', {}, {anonymousId: 'opt-identify'}); analytics.track('T4')")
    events = page.server.wait_events(6)
    got = [(e["type"], e.get("event") or e.get("name"), e["anonymousId"]) for e in events]
    got.sort(key=lambda x: x[1] or "")
    assert ("track", "T", "opt-track") in got and ("track", "T2", "opt-track") in got
    assert ("page", "P", "opt-page") in got and ("track", "T3", "opt-page") in got
    assert ("identify", None, "opt-identify") in got and ("track", "T4", "opt-identify") in got
    assert anon_cookie_id(page) == "opt-identify"


def test_reset_gives_a_new_anonymous_id_and_removes_every_key(page):
    page.open()
    page.load()
    before = anon_cookie_id(page)
    page.js("analytics.identify('u1', {a: 1}); analytics.group('g1', {b: 2}); analytics.reset()")
    assert not [n for n in page.cookies() if n.startswith("ajs_")]
    assert not [k for k in page.storage() if k.startswith("ajs_")]
    page.js("analytics.track('After Reset')")
    after = [e for e in page.server.wait_events(3) if e["type"] == "track"][0]
    assert after["userId"] is None and after["anonymousId"] != before
    assert UUID4.match(after["anonymousId"])


def test_identify_with_a_different_user_starts_a_new_anonymous_id(page):
    page.open()
    page.load()
    page.js("analytics.identify('u1'); analytics.identify('u1')")
    same = anon_cookie_id(page)
    page.js("analytics.identify('u2')")
    events = page.server.wait_events(3)
    assert [e["anonymousId"] == same for e in events].count(True) == 2
    assert events[-1]["userId"] == "u2" or any(e["userId"] == "u2" for e in events)
    new = anon_cookie_id(page)
    assert new != same and UUID4.match(new)
    assert [e for e in events if e["userId"] == "u2"][0]["anonymousId"] == new


def test_empty_user_id_cookie_then_identify_starts_a_new_anonymous_id(page):
    page.open()
    page.load()
    page.js("analytics.identify('u1')")
    first = anon_cookie_id(page)
    page.js("document.cookie = 'ajs_user_id=; path=/'")
    assert page.js("analytics.user().id()") is None
    page.js("analytics.identify('u2')")
    assert anon_cookie_id(page) != first
    assert json.loads(unquote(page.cookie("ajs_user_id"))) == "u2"


def test_user_id_empty_string_then_identify_starts_a_new_anonymous_id(page):
    page.open()
    page.load()
    page.js("analytics.identify('u1')")
    first = anon_cookie_id(page)
    page.js("analytics.user().id('')")
    page.js("analytics.identify('u3')")
    assert anon_cookie_id(page) != first
    assert page.js("analytics.user().id()") == "u3"


def test_identify_and_group_cache_traits_merge_and_clear(page):
    page.open()
    page.load()
    page.js("analytics.identify('u1', {a: 1}); analytics.identify({b: 2})")
    assert json.loads(page.storage()["ajs_user_traits"]) == {"a": 1, "b": 2}
    assert page.cookie("ajs_user_id") == "%22u1%22"
    assert page.storage()["ajs_user_id"] == '"u1"'
    assert "ajs_user_traits" not in page.cookies()  # traits never go in a cookie
    page.js("analytics.group('g1', {name: 'Acme'}); analytics.group({size: 5})")
    assert page.cookie("ajs_group_id") == "%22g1%22"
    assert page.storage()["ajs_group_id"] == '"g1"'
    assert json.loads(page.storage()["ajs_group_properties"]) == {"name": "Acme", "size": 5}
    events = page.server.wait_events(4)
    identifies = [e for e in events if e["type"] == "identify"]
    assert sorted(json.dumps(e["traits"], sort_keys=True) for e in identifies) == [
        '{"a": 1, "b": 2}', '{"a": 1}']
    groups = [e for e in events if e["type"] == "group"]
    assert {e["groupId"] for e in groups} == {"g1"}
    # a different user replaces the traits
    page.js("analytics.identify('u2', {c: 3})")
    assert json.loads(page.storage()["ajs_user_traits"]) == {"c": 3}
    page.js("analytics.user().traits({}); analytics.group().traits({})")
    assert page.js("analytics.user().traits()") == {}
    assert page.js("analytics.group().traits()") == {}
    assert json.loads(page.storage()["ajs_user_traits"]) == {}
    assert json.loads(page.storage()["ajs_group_properties"]) == {}


def test_user_and_group_readable_inside_ready_and_after_reload(page):
    page.open()
    page.load(before="analytics.identify('u9', {plan: 'pro'}); analytics.group('g9', {tier: 1});"
              "analytics.ready(() => { window.seen = [analytics.user().id(),"
              " analytics.user().traits(), analytics.user().anonymousId(),"
              " analytics.group().id(), analytics.group().traits()]; })")
    uid, traits, anon, gid, gtraits = page.js("window.seen")
    assert (uid, traits, gid, gtraits) == ("u9", {"plan": "pro"}, "g9", {"tier": 1})
    assert UUID4.match(anon)
    page.reload(before="analytics.ready(() => { window.seen = [analytics.user().id(),"
                " analytics.user().traits(), analytics.group().id()]; })")
    assert page.js("window.seen") == ["u9", {"plan": "pro"}, "g9"]


def test_cookie_wins_when_stores_disagree_and_localstorage_is_resynced(page):
    page.open()
    page.js("""
      document.cookie = 'ajs_anonymous_id=%22cookie-anon%22; path=/';
      document.cookie = 'ajs_user_id=%22cookie-user%22; path=/';
      document.cookie = 'ajs_group_id=%22cookie-group%22; path=/';
      localStorage.setItem('ajs_anonymous_id', '"ls-anon"');
      localStorage.setItem('ajs_user_id', '"ls-user"');
      localStorage.setItem('ajs_group_id', '"ls-group"');
    """)
    page.load(after="analytics.track('Disagree')")
    (event,) = page.server.wait_events(1)
    assert (event["anonymousId"], event["userId"]) == ("cookie-anon", "cookie-user")
    assert page.js("analytics.group().id()") == "cookie-group"
    storage = page.storage()
    assert storage["ajs_anonymous_id"] == '"cookie-anon"'
    assert storage["ajs_user_id"] == '"cookie-user"'
    assert storage["ajs_group_id"] == '"cookie-group"'


def test_values_answered_to_the_page_are_null_as_in_analytics_js(page):
    """No id is ``null`` (not ``undefined``): ``=== null`` checks hold and
    ``JSON.stringify`` keeps the key; methods that chain in Analytics.js answer the
    instance."""
    page.open()
    page.load()
    got = page.js("""() => {
      const u = analytics.user(), g = analytics.group();
      return {
        ids: [u.id(), g.id(), u.id(null), g.id(null)].map((v) => v === null),
        json: JSON.stringify({id: u.id(), groupId: g.id()}),
        traits: [u.traits(), g.traits()],
        groupAnonymousId: g.anonymousId() === undefined,
        anonymousId: typeof u.anonymousId(),
        setAnonymousId: typeof analytics.setAnonymousId('a-1'),
        nothing: [u.reset(), g.logout(), analytics.reset()].map((v) => v === undefined),
        chained: [analytics.debug(false), analytics.on('x', () => {}), analytics.once('x',
                  () => {}), analytics.off('x')].map((v) => v === analytics),
        middleware: analytics.addSourceMiddleware(({next, payload}) => next(payload))
          instanceof Promise,
      };
    }""")
    assert got == {
        "ids": [True, True, True, True], "json": '{"id":null,"groupId":null}',
        "traits": [{}, {}], "groupAnonymousId": True, "anonymousId": "string",
        "setAnonymousId": "string", "nothing": [True, True, True],
        "chained": [True, True, True, True], "middleware": True}
    assert page.warnings() == []


def test_stored_traits_keep_the_page_key_order_on_both_runtimes(page):
    """Both runtimes write the same text: traits in the order the page gave them (buffered,
    live, merged, and after a reload), as ``JSON.stringify`` writes them."""
    page.open()
    page.load(before="analytics.identify('u-1', {name: 'Ann', plan: 'pro', email: 'a@b.test'})",
              after="analytics.identify('u-1', {address: {zip: '1', city: 'c'}, seat: 2});"
                    "analytics.group('g-1', {size: 3, industry: 'x', account: {b: 1, a: 2}})")
    page.server.wait_events(3)
    page.reload(before="analytics.identify({vip: true, age: 40})")
    storage, cookies = page.storage(), page.cookies()
    assert storage["ajs_user_traits"] == (
        '{"name":"Ann","plan":"pro","email":"a@b.test","address":{"zip":"1","city":"c"},'
        '"seat":2,"vip":true,"age":40}')
    assert storage["ajs_group_properties"] == '{"size":3,"industry":"x","account":{"b":1,"a":2}}'
    assert (storage["ajs_user_id"], storage["ajs_group_id"]) == ('"u-1"', '"g-1"')
    assert (cookies["ajs_user_id"]["value"], cookies["ajs_group_id"]["value"]) == (
        "%22u-1%22", "%22g-1%22")
    assert page.js("JSON.stringify(analytics.user().traits())") == storage["ajs_user_traits"]
