"""pyajs.analytics: the Python API end to end through FakePlatform (cookies, localStorage,
requests, timers), checked by what is stored and what is sent."""

import re

import pytest
from fakes import DEFAULT_SNAPSHOT, FakePlatform
from pyajs.analytics import CALLBACK_TIMEOUT_MS, Analytics
from pyajs.identity import Group, User
from pyajs.version import __version__

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
NOW_ISO = "2023-11-14T22:13:20.000Z"


def make(options=None, **platform_kw):
    platform = FakePlatform(**platform_kw)
    return Analytics("WK", platform, options), platform


def reload(platform, options=None):
    """The same browser (cookies, localStorage), a new page."""
    new = FakePlatform(hostname=platform.hostname, https=platform.https, jar=platform.jar,
                       local_storage=platform.local_storage)
    return Analytics("WK", new, options), new


def last(platform):
    return platform.requests[-1].body


def ajs_keys(platform):
    cookies = sorted(k for k in platform.jar.cookies if k.startswith("ajs"))
    return cookies, sorted(k for k in platform.local_storage.data if k.startswith("ajs"))


@pytest.fixture
def ap():
    return make()


# -- initialisation ----------------------------------------------------------------------------

def test_init_makes_and_stores_an_anonymous_id(ap):
    a, p = ap
    anon = p.cookie("ajs_anonymous_id")[3:-3]
    assert UUID4.match(anon)
    assert p.cookie("ajs_anonymous_id") == "%22" + anon + "%22"
    assert p.stored("ajs_anonymous_id") == '"' + anon + '"'
    assert p.jar.cookies["ajs_anonymous_id"][1]["domain"] == "example.test"
    assert a.user().anonymous_id() == anon
    assert p.requests == [] and p.warnings == []


def test_init_keeps_a_stored_anonymous_id(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    a2, p2 = reload(p)
    assert a2.user().anonymous_id() == anon
    assert p2.cookie("ajs_anonymous_id") == "%22" + anon + "%22"


def test_init_reads_the_analytics_next_cookie_form():
    p = FakePlatform()
    p.jar.cookies["ajs_anonymous_id"] = ("1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d", {})
    a = Analytics("WK", FakePlatform(jar=p.jar, local_storage=p.local_storage))
    assert a.user().anonymous_id() == "1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d"
    assert p.local_storage.data["ajs_anonymous_id"] == '"1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d"'


def test_cleared_cookie_restored_from_localstorage(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    p.jar.cookies.clear()
    a2, p2 = reload(p)
    assert p2.cookie("ajs_anonymous_id") == "%22" + anon + "%22"
    a2.track("E")
    assert last(p2)["anonymousId"] == anon


def test_both_stores_cleared_makes_a_new_id(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    p.jar.cookies.clear()
    p.local_storage.data.clear()
    a2, _ = reload(p)
    assert UUID4.match(a2.user().anonymous_id()) and a2.user().anonymous_id() != anon


def test_write_key_required():
    with pytest.raises(TypeError):
        Analytics("", FakePlatform())


def test_the_browser_environment_is_read_at_the_first_event_not_at_start():
    p = FakePlatform(environment={"userAgent": "UA/2", "locale": "fr-FR", "timezone": "Asia/Tokyo"})
    reads = []
    p.environment = lambda: reads.append(1) or dict(p._environment)
    a = Analytics("WK", p)
    assert reads == []  # naming the time zone costs a browser tens of ms: not before ready
    a.track("One")
    a.track("Two")
    assert reads == [1]
    assert [r.body["context"]["timezone"] for r in p.requests] == ["Asia/Tokyo"] * 2


def test_delivery_is_built_at_its_first_use_not_at_start():
    """The queue and dispatcher (a tenth of what pyajs imports) are made when first needed:
    in the page that is after ready, unless an event comes first."""
    built = []

    class Counting(Analytics):
        def _delivery(self, options):
            built.append(options.get("queue"))
            return Analytics._delivery(self, options)

    p = FakePlatform()
    a = Counting("WK", p, {"queue": {"maxEvents": 5}})
    assert built == [] and p.requests == []
    assert a.user().anonymous_id()  # identity does not need delivery
    assert built == []
    a.track("One")
    a.track("Two")
    assert built == [{"maxEvents": 5}]  # once, with the load options
    assert [r.body["event"] for r in p.requests] == ["One", "Two"]
    assert a.queue.max_events == 5 and a.dispatcher.queue is a.queue


# -- payloads ------------------------------------------------------------------------------------

def test_track_payload(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    returned = a.track("Clicked", {"sku": "A-1"})
    req, = p.requests
    assert req.url == "https://api.segment.io/v1/t"
    assert req.headers["Content-Type"] == "text/plain"
    assert req.headers["Authorization"] == "Basic V0s6"  # base64("WK:")
    body = req.body
    assert re.match(r"^pyajs-1700000000000-", body.pop("messageId"))
    assert body == {
        "type": "track", "event": "Clicked", "properties": {"sku": "A-1"}, "userId": None,
        "anonymousId": anon,
        "context": {
            "library": {"name": "pyajs", "version": __version__},
            "page": {"path": "/docs/install", "referrer": "https://ref.example.org/",
                     "search": "?utm_source=news", "title": "Install",
                     "url": "https://www.example.test/docs/install?utm_source=news"},
            "userAgent": "FakeBrowser/1.0", "locale": "en-US", "timezone": "UTC",
            "campaign": {"source": "news"}},
        "integrations": {}, "timestamp": NOW_ISO, "writeKey": "WK", "sentAt": NOW_ISO}
    assert returned["event"] == "Clicked" and returned["anonymousId"] == anon


def test_api_host_and_protocol_options():
    a, p = make({"apiHost": "localhost:8000/v1", "protocol": "http"})
    a.page()
    assert p.requests[0].url == "http://localhost:8000/v1/p"
    a, p = make(default_api_host="collector.test/v1")
    a.identify("u1")
    assert p.requests[0].url == "https://collector.test/v1/i"


def test_load_integrations_are_booleans_in_every_event():
    a, p = make({"integrations": {"Segment.io": {"apiHost": "x"}}})
    a.track("E", options={"integrations": {"Other": False}})
    assert last(p)["integrations"] == {"Segment.io": True, "Other": False}


def test_call_time_snapshot_and_time():
    a, p = make()
    snap = dict(DEFAULT_SNAPSHOT, u="https://www.example.test/old", p="/old", s="", t="Old")
    a.track("E", _snapshot=snap, _at=1577836800000)
    body = last(p)
    assert body["context"]["page"]["path"] == "/old"
    assert body["context"]["page"]["url"] == "https://www.example.test/old"
    assert body["timestamp"] == "2020-01-01T00:00:00.000Z"
    assert body["sentAt"] == NOW_ISO


def test_page_payload(ap):
    a, p = ap
    a.page("Docs", "Install", {"a": 1})
    body = last(p)
    assert p.requests[0].url.endswith("/v1/p")
    assert body["type"] == "page"
    assert body["category"] == "Docs" and body["name"] == "Install"
    assert body["properties"] == {
        "path": "/docs/install", "referrer": "https://ref.example.org/",
        "search": "?utm_source=news", "title": "Install",
        "url": "https://www.example.test/docs/install?utm_source=news",
        "name": "Install", "category": "Docs", "a": 1}


def test_screen_payload(ap):
    a, p = ap
    a.screen("Cat", "Home", {"a": 1})
    body = last(p)
    assert p.requests[0].url.endswith("/v1/s")
    assert (body["type"], body["category"], body["name"]) == ("screen", "Cat", "Home")
    assert body["properties"] == {"a": 1}


def test_identify_payload_and_later_events(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    a.identify("u1", {"plan": "pro"})
    body = last(p)
    assert p.requests[0].url.endswith("/v1/i")
    assert (body["type"], body["userId"], body["anonymousId"]) == ("identify", "u1", anon)
    assert body["traits"] == {"plan": "pro"}
    assert "traits" not in body["context"]
    assert p.cookie("ajs_user_id") == "%22u1%22"
    assert p.stored("ajs_user_id") == '"u1"'
    assert p.stored("ajs_user_traits") == '{"plan":"pro"}'
    a.track("E")
    body = last(p)
    assert body["userId"] == "u1" and body["anonymousId"] == anon
    assert "traits" not in body["context"]


def test_identify_merges_and_sends_all_traits(ap):
    a, p = ap
    a.identify("u1", {"a": 1})
    a.identify(traits={"b": 2})
    assert last(p)["userId"] == "u1"
    assert last(p)["traits"] == {"a": 1, "b": 2}
    assert p.stored("ajs_user_traits") == '{"a":1,"b":2}'


def test_identify_other_user_replaces_traits_and_anonymous_id(ap):
    a, p = ap
    a.identify("u1", {"a": 1})
    anon = last(p)["anonymousId"]
    a.identify("u2", {"c": 3})
    body = last(p)
    assert body["userId"] == "u2" and body["traits"] == {"c": 3}
    assert body["anonymousId"] != anon and UUID4.match(body["anonymousId"])
    assert p.cookie("ajs_anonymous_id") == "%22" + body["anonymousId"] + "%22"


def test_user_id_empty_then_identify_makes_new_anonymous_id(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    a.user().id("")
    a.identify("u1")
    assert last(p)["anonymousId"] != anon


def test_empty_user_id_cookie_then_identify_makes_new_anonymous_id(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    p.jar.cookies["ajs_user_id"] = ("", {})
    a2, p2 = reload(p)
    a2.identify("u1")
    assert last(p2)["userId"] == "u1"
    assert last(p2)["anonymousId"] != anon


def test_group_payload(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    assert isinstance(a.group(), Group)
    a.group("g1", {"name": "Acme"})
    body = last(p)
    assert p.requests[0].url.endswith("/v1/g")
    assert (body["type"], body["groupId"], body["traits"]) == ("group", "g1", {"name": "Acme"})
    assert body["anonymousId"] == anon and body["userId"] is None
    assert p.cookie("ajs_group_id") == "%22g1%22"
    assert p.stored("ajs_group_properties") == '{"name":"Acme"}'
    a.group(traits={"size": 5})
    assert last(p)["groupId"] == "g1"
    assert last(p)["traits"] == {"name": "Acme", "size": 5}
    a.group("g2")
    assert last(p)["traits"] == {}
    assert a.user().anonymous_id() == anon


def test_group_without_any_id_raises(ap):
    a, p = ap
    with pytest.raises(ValueError):
        a.group(None, {"a": 1})
    assert p.requests == []


def test_alias_payloads(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    a.alias("new-id")
    body = last(p)
    assert p.requests[0].url.endswith("/v1/a")
    assert (body["type"], body["userId"], body["previousId"]) == ("alias", "new-id", anon)
    a.identify("u1")
    a.alias("new-id")
    assert (last(p)["userId"], last(p)["previousId"]) == ("new-id", "u1")
    a.alias("to-id", "from-id")
    assert (last(p)["userId"], last(p)["previousId"]) == ("to-id", "from-id")


# -- options ---------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda a, o: a.track("E", None, o),
    lambda a, o: a.identify("u1", None, o),
    lambda a, o: a.page(None, "P", None, o),
])
def test_traits_in_options_only_reach_that_event(ap, call):
    a, p = ap
    call(a, {"traits": {"email": "x@y"}})
    assert last(p)["context"]["traits"] == {"email": "x@y"}
    call(a, {"context": {"traits": {"t": 1}}})
    assert last(p)["context"]["traits"] == {"t": 1}
    assert a.user().traits() == {}
    assert p.stored("ajs_user_traits") in (None, "{}")
    a.track("Later")
    assert "traits" not in last(p)["context"]


def test_context_ip_only_on_that_event(ap):
    a, p = ap
    a.track("E", options={"context": {"ip": "0.0.0.0"}})
    assert last(p)["context"]["ip"] == "0.0.0.0"
    a.track("E2")
    assert "ip" not in last(p)["context"]
    a.page(options={"ip": "1.2.3.4"})
    assert last(p)["context"]["ip"] == "1.2.3.4"


@pytest.mark.parametrize("call", [
    lambda a, o: a.track("E", None, o),
    lambda a, o: a.identify("u1", None, o),
    lambda a, o: a.page(None, None, None, o),
    lambda a, o: a.screen(None, "S", None, o),
    lambda a, o: a.group("g", None, o),
])
def test_options_anonymous_id_persists(ap, call):
    a, p = ap
    call(a, {"anonymousId": "X"})
    assert last(p)["anonymousId"] == "X"
    assert p.cookie("ajs_anonymous_id") == "%22X%22"
    assert p.stored("ajs_anonymous_id") == '"X"'
    a.track("Later")
    assert last(p)["anonymousId"] == "X"
    a2, p2 = reload(p)
    a2.track("Next page")
    assert last(p2)["anonymousId"] == "X"


def test_set_anonymous_id(ap):
    a, p = ap
    assert a.set_anonymous_id("X") == "X"
    assert a.set_anonymous_id() == "X"
    a.track("E")
    assert last(p)["anonymousId"] == "X"
    assert p.cookie("ajs_anonymous_id") == "%22X%22"
    with pytest.raises(TypeError):
        a.set_anonymous_id(5)
    with pytest.raises(TypeError):
        a.set_anonymous_id("")


def test_options_user_id_does_not_beat_the_stored_one(ap):
    a, p = ap
    a.track("E", options={"userId": "opt"})
    assert last(p)["userId"] == "opt"
    a.identify("u1")
    a.track("E", options={"userId": "opt"})
    assert last(p)["userId"] == "u1"


# -- reset ------------------------------------------------------------------------------------

def test_reset_forgets_everything_and_makes_a_new_id_lazily(ap):
    a, p = ap
    anon = a.user().anonymous_id()
    a.identify("u1", {"a": 1})
    a.group("g1", {"b": 2})
    got = []
    a.on("reset", lambda *args: got.append(args))
    a.reset()
    assert got == [()]
    assert ajs_keys(p) == ([], [])
    assert a.user().id() is None and a.group().id() is None
    assert a.user().traits() == {} and a.group().traits() == {}
    assert ajs_keys(p) == ([], [])  # reading ids does not make an anonymous id
    a.track("E")
    body = last(p)
    assert body["userId"] is None
    assert UUID4.match(body["anonymousId"]) and body["anonymousId"] != anon
    assert p.cookie("ajs_anonymous_id") == "%22" + body["anonymousId"] + "%22"


# -- callbacks and events ----------------------------------------------------------------------

def test_callback_after_delivery_once(ap):
    a, p = ap
    calls = []
    a.track("E", callback=calls.append)
    assert calls == []
    timer, = p.timers
    assert timer.ms == CALLBACK_TIMEOUT_MS == 1000
    p.respond_all(200)
    assert len(calls) == 1 and calls[0]["event"] == "E"
    p.fire_timers()
    assert len(calls) == 1


def test_callback_after_timeout_when_delivery_hangs(ap):
    a, p = ap
    calls = []
    a.page("P", callback=calls.append)
    p.fire_timers()
    assert len(calls) == 1 and calls[0]["type"] == "page"
    p.respond_all(200)
    assert len(calls) == 1


def test_callback_on_failed_delivery(ap):
    a, p = ap
    calls = []
    errors = []
    a.on("error", errors.append)
    a.identify("u1", callback=calls.append)
    p.respond_all(400)
    assert len(calls) == 1
    assert errors[0]["code"] == "delivery_failure"
    assert "HTTP 400" in errors[0]["reason"]
    assert errors[0]["event"]["type"] == "identify"
    assert any("HTTP 400" in w for w in p.warnings)


def test_no_callback_no_timer(ap):
    a, p = ap
    a.track("E")
    assert p.timers == []


def test_raising_callback_warns(ap):
    a, p = ap

    def bad(_):
        raise RuntimeError("cb boom")

    a.track("E", callback=bad)
    p.respond_all(200)
    assert any("callback" in w and "cb boom" in w for w in p.warnings)


def test_emitter_events_after_delivery(ap):
    a, p = ap
    got = []
    a.on("track", lambda *args: got.append(("track",) + args))
    a.on("identify", lambda *args: got.append(("identify",) + args))
    a.once("page", lambda *args: got.append(("page",) + args))
    a.track("E", {"x": 1}, {"ip": "1"})
    assert got == []
    p.respond_all(200)
    assert got == [("track", "E", {"x": 1}, {"ip": "1"})]
    a.identify("u1", {"t": 1})
    a.page("C", "N")
    a.page("C", "N2")
    p.respond_all(200)
    assert got[1:] == [("identify", "u1", {"t": 1}, {}), ("page", "C", "N", {}, {})]


def test_failed_delivery_does_not_emit_the_type(ap):
    a, p = ap
    got = []
    a.on("track", got.append)
    a.track("E")
    p.respond_all(0, None, "TypeError: Failed to fetch")
    assert got == []


def test_off_removes_listener(ap):
    a, p = ap
    got = []

    def fn(*args):
        got.append(args)

    a.on("track", fn)
    a.off("track", fn)
    a.track("E")
    p.respond_all()
    assert got == []


# -- source middleware -------------------------------------------------------------------------

def test_middleware_modifies_the_event(ap):
    a, p = ap

    def add(payload, next_):
        payload["properties"]["added"] = True
        next_(payload)

    a.add_source_middleware(add)
    a.track("E", {"a": 1})
    assert last(p)["properties"] == {"a": 1, "added": True}


def test_middleware_can_replace_and_chain_in_order(ap):
    a, p = ap
    order = []

    def first(payload, next_):
        order.append("first")
        next_(dict(payload, event="Renamed"))

    def second(payload, next_):
        order.append(("second", payload["event"]))
        next_()

    a.add_source_middleware(first)
    a.add_source_middleware(second)
    a.track("E")
    assert order == ["first", ("second", "Renamed")]
    assert last(p)["event"] == "Renamed"


def test_middleware_drops_the_event(ap):
    a, p = ap
    a.add_source_middleware(lambda payload, next_: None)
    a.track("E")
    a.identify("u1")
    assert p.requests == []
    assert a.user().id() == "u1"  # identity still changed


def test_raising_middleware_warns_and_the_event_goes_on(ap):
    a, p = ap

    def bad(payload, next_):
        raise KeyError("mw boom")

    a.add_source_middleware(bad)
    a.track("E")
    assert len(p.requests) == 1 and last(p)["event"] == "E"
    assert any("middleware" in w and "mw boom" in w for w in p.warnings)


def test_middleware_raising_after_next_sends_once(ap):
    a, p = ap

    def bad(payload, next_):
        next_(payload)
        raise RuntimeError("after next")

    a.add_source_middleware(bad)
    a.track("E")
    assert len(p.requests) == 1
    assert any("after next" in w for w in p.warnings)


def test_middleware_calling_next_twice_sends_once(ap):
    a, p = ap

    def twice(payload, next_):
        next_(payload)
        next_(payload)

    a.add_source_middleware(twice)
    a.track("E")
    assert len(p.requests) == 1


def test_add_source_middleware_needs_a_callable(ap):
    a, _ = ap
    with pytest.raises(TypeError):
        a.add_source_middleware("x")


# -- Python API errors ----------------------------------------------------------------------

@pytest.mark.parametrize("call,words", [
    (lambda a: a.track(5), ["track()", "event", "int"]),
    (lambda a: a.track(""), ["track()", "event"]),
    (lambda a: a.track("x", properties=[1]), ["track()", "properties", "dict", "list"]),
    (lambda a: a.track("x", options="o"), ["track()", "options", "dict", "str"]),
    (lambda a: a.track("x", callback=5), ["track()", "callback", "callable", "int"]),
    (lambda a: a.track("x", options={"anonymousId": 5}), ["anonymousId", "str", "int"]),
    (lambda a: a.identify(traits="x"), ["identify()", "traits", "dict", "str"]),
    (lambda a: a.identify(5), ["identify()", "user_id", "str", "int"]),
    (lambda a: a.identify("u", callback="cb"), ["identify()", "callback", "callable"]),
    (lambda a: a.page(category=5), ["page()", "category"]),
    (lambda a: a.page("c", "n", properties="p"), ["page()", "properties", "dict"]),
    (lambda a: a.screen(name=[1]), ["screen()", "name"]),
    (lambda a: a.group(5), ["group()", "group_id"]),
    (lambda a: a.group("g", traits=[1]), ["group()", "traits", "dict"]),
    (lambda a: a.alias(5), ["alias()", "to"]),
    (lambda a: a.alias("to", 5), ["alias()", "previous_id"]),
    (lambda a: a.on("track", 5), ["on()", "callback"]),
    (lambda a: a.on(5, print), ["on()", "name"]),
    (lambda a: a.ready("x"), ["ready()", "callback"]),
])
def test_python_api_type_errors(ap, call, words):
    a, p = ap
    before = (dict(p.jar.cookies), dict(p.local_storage.data))
    with pytest.raises(TypeError) as info:
        call(a)
    for word in words:
        assert word in str(info.value)
    assert p.requests == []
    assert (dict(p.jar.cookies), dict(p.local_storage.data)) == before


# -- ready / debug -------------------------------------------------------------------------------

def test_ready_callbacks(ap):
    a, p = ap
    got = []
    a.ready(lambda analytics: got.append((1, analytics)))

    def bad(analytics):
        raise RuntimeError("ready boom")

    a.ready(bad)
    a.ready(None)
    assert got == []
    a.mark_ready()
    assert got == [(1, a)]  # the callback gets the Analytics object
    assert any("ready boom" in w for w in p.warnings)
    p.hold_soon = True
    a.ready(lambda analytics: got.append((2, analytics)))
    assert got == [(1, a)]  # already ready: run soon after ready() returns, not inside it
    p.soon_calls.pop()()
    assert got == [(1, a), (2, a)]


def test_debug_flag(ap):
    a, _ = ap
    a.debug()
    assert a.debug_enabled is True
    a.debug(False)
    assert a.debug_enabled is False


def test_user_object(ap):
    a, _ = ap
    assert isinstance(a.user(), User)
    assert a.user() is a.user()


# -- storage that fails ---------------------------------------------------------------------------

def test_no_storage_at_all_still_works():
    p = FakePlatform()
    p.jar.disabled = True
    p.local_storage.broken = True
    a = Analytics("WK", FakePlatform(jar=p.jar, local_storage=p.local_storage))
    a.identify("u1", {"a": 1})
    a.track("E")
    a.track("E2")
    pl = a.platform
    ids = {r.body["anonymousId"] for r in pl.requests}
    assert len(ids) == 1 and UUID4.match(ids.pop())
    assert {r.body["userId"] for r in pl.requests} == {"u1"}
    assert a.user().traits() == {"a": 1}
    assert len(pl.warnings) == 2  # one for cookies, one for localStorage
    assert p.jar.cookies == {} and p.local_storage.data == {}


def test_identity_survives_a_page_load(ap):
    a, p = ap
    a.identify("u1", {"a": 1})
    a.group("g1", {"b": 2})
    anon = a.user().anonymous_id()
    a2, p2 = reload(p)
    assert a2.user().id() == "u1" and a2.user().anonymous_id() == anon
    assert a2.user().traits() == {"a": 1}
    assert a2.group().id() == "g1" and a2.group().traits() == {"b": 2}
    a2.track("E")
    assert (last(p2)["userId"], last(p2)["anonymousId"]) == ("u1", anon)
