"""Consent through Analytics and FakePlatform: nothing stored or sent before pyajs's
category is granted, the memory identity persisted and waiting events sent when it is,
everything of pyajs's removed when it is withdrawn; context.consent on every event."""

from fakes import FakePlatform
from pyajs.analytics import Analytics
from pyajs.consent import UPDATED_EVENT


def make(options, platform=None):
    if platform is None:
        platform = FakePlatform(options=options)
    else:  # a reload: the same browser, a new page
        platform = FakePlatform(jar=platform.jar, local_storage=platform.local_storage,
                                options=options)
    return Analytics("WK", platform, options), platform


def footprint(p):
    return (sorted(k for k in p.jar.cookies if k.startswith("ajs")),
            sorted(k for k in p.local_storage.data if k.startswith(("ajs", "pyajs"))))


def sent(p):
    out = []
    for r in p.requests:
        body = r.body
        out.extend(body["batch"] if "batch" in body else [body])
    return out


def live(a):
    a.start_delivery()
    a.mark_ready()


def test_nothing_before_consent():
    a, p = make({"consent": {"categories": {"Analytics": False}}})
    live(a)
    a.identify("u1", {"plan": "pro"})
    a.track("Viewed")
    a.group("g1")
    p.fire_timers()
    assert footprint(p) == ([], []) and p.requests == []
    assert a.user().id() == "u1" and a.user().traits() == {"plan": "pro"}


def test_grant_persists_and_sends_what_waited():
    a, p = make({"consent": {"categories": {"Analytics": False, "Ads": True}}})
    live(a)
    anon = a.user().anonymous_id()
    a.identify("u1")
    a.track("Viewed")
    a.consent({"Analytics": True})
    p.fire_timers()
    assert footprint(p)[0] == ["ajs_anonymous_id", "ajs_user_id"]
    assert p.stored("ajs_anonymous_id") == '"%s"' % anon
    events = sent(p)
    assert [e.get("event", e["type"]) for e in events] == ["identify", "Viewed", UPDATED_EVENT]
    for e in events:
        assert e["context"]["consent"] == {
            "categoryPreferences": {"Analytics": True, "Ads": True}}
        assert e["anonymousId"] == anon


def test_every_event_carries_the_preferences():
    a, p = make({"consent": {"categories": {"Analytics": True, "Ads": False}}})
    live(a)
    a.track("A")
    assert sent(p)[0]["context"]["consent"] == {
        "categoryPreferences": {"Analytics": True, "Ads": False}}
    a.consent({"Ads": True})  # a change: Segment's event
    last = sent(p)[-1]
    assert last["event"] == UPDATED_EVENT
    assert last["context"]["consent"]["categoryPreferences"] == {"Analytics": True, "Ads": True}
    n = len(p.requests)
    a.consent({"Ads": True})  # no change: no event
    assert len(p.requests) == n


def test_without_the_option_no_consent_context():
    a, p = make({})
    live(a)
    a.track("A")
    assert "consent" not in sent(p)[0]["context"]


def test_withdraw_removes_everything_and_stops_sending():
    a, p = make({"consent": {"categories": {"Analytics": True}}})
    live(a)
    a.identify("u1", {"plan": "pro"})
    a.track("A")  # not acknowledged yet: in the queue
    assert footprint(p)[0] and any(k.startswith("pyajs:q:") for k in footprint(p)[1])
    n = len(p.requests)
    a.consent({"Analytics": False})
    assert footprint(p) == ([], [])
    a.track("B")
    p.respond_all(500)
    p.advance(120000)
    assert [e.get("event") for e in sent(p)[n:]] == []
    assert footprint(p) == ([], [])


def test_grant_withdraw_grant_across_reloads():
    opts = {"consent": {"categories": {"Analytics": True}}}
    a, p = make(opts)
    live(a)
    anon = a.user().anonymous_id()
    a.identify("u1")
    a2, p2 = make(opts, p)
    assert a2.user().anonymous_id() == anon and a2.user().id() == "u1"
    a3, p3 = make({"consent": {"categories": {"Analytics": False}}}, p2)  # refused at load
    assert footprint(p3) == ([], [])
    assert a3.user().id() is None
    a4, p4 = make(opts, p3)
    live(a4)
    a4.track("C")
    assert footprint(p4)[0] == ["ajs_anonymous_id"]
    assert a4.user().anonymous_id() != anon


def test_unknown_answer_keeps_a_returning_visitor_without_writing():
    opts = {"consent": {"categories": {"Analytics": True}}}
    a, p = make(opts)
    a.identify("u1")
    before = dict(p.jar.cookies)
    a2, p2 = make({"consent": {}}, p)  # the consent platform has not answered yet
    live(a2)
    a2.track("A")
    assert a2.user().id() == "u1" and p2.requests == []
    assert p2.jar.cookies == before
    a2.consent({"Analytics": True})
    assert [e["userId"] for e in sent(p2)] == ["u1", "u1"]


def test_anonymous_mode_sends_track_page_screen_without_identity():
    a, p = make({"consent": {"categories": {"Analytics": False}, "mode": "anonymous"}})
    live(a)
    a.identify("u1", {"plan": "pro"})
    a.track("A")
    a.page("Home")
    p.fire_timers()
    events = sent(p)
    assert [e["type"] for e in events] == ["track", "page"]
    assert all(e["userId"] is None and "traits" not in e["context"] for e in events)
    page_id = events[0]["anonymousId"]
    assert events[1]["anonymousId"] == page_id != a.user().anonymous_id()
    assert footprint(p) == ([], [])
    a.consent({"Analytics": True})
    events = sent(p)
    assert [e["type"] for e in events] == ["track", "page", "identify", "track"]
    assert events[2]["anonymousId"] == a.user().anonymous_id() != page_id
    assert footprint(p)[0] == ["ajs_anonymous_id", "ajs_user_id"]


def test_waiting_callbacks_still_run():
    a, p = make({"consent": {"categories": {"Analytics": False}}})
    live(a)
    called = []
    a.track("A", callback=called.append)
    p.fire_timers()
    assert called and called[0]["event"] == "A"


def test_debug_lines_for_consent():
    a, p = make({"consent": {}})  # not answered yet
    live(a)
    a.debug(True)
    lines = []
    a._log = lambda event, text: lines.append((event.get("event"), text))
    a.track("A")
    a.consent({"Analytics": False})  # refused: what waited is dropped
    assert ("A", "waits for consent ('Analytics')") in lines
    assert ("A", "dropped: consent refused") in lines


def test_refusal_removes_analytics_js_1_cookies():
    from pyajs.identity import LEGACY_SIO, LEGACY_USER

    p = FakePlatform()
    p.jar.cookies[LEGACY_SIO] = ("legacy-anon----x", {"domain": "example.test"})
    p.jar.cookies[LEGACY_USER] = ('%7B%22id%22%3A%22old%22%7D', {"domain": "example.test"})
    a, p2 = make({"consent": {"categories": {"Analytics": False}}}, p)
    assert LEGACY_SIO + "=" not in p2.jar.read() and LEGACY_USER + "=" not in p2.jar.read()
    assert a.user().id() is None
    a3, _ = make({"consent": {"categories": {"Analytics": True}}}, p2)
    assert a3.user().id() is None and a3.user().anonymous_id() != "legacy-anon"
