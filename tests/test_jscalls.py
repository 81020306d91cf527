"""pyajs.jscalls: window.analytics calls (Segment's argument forms) routed to Analytics;
a bad call warns with the method name and never raises."""

import json
import re

import pytest
from fakes import DEFAULT_SNAPSHOT, FakePlatform
from pyajs.analytics import Analytics
from pyajs.jscalls import JsApi, result_json

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
AT = 1577836800000  # 2020-01-01T00:00:00.000Z
SNAP = dict(DEFAULT_SNAPSHOT, u="https://www.example.test/buffered?q=1", p="/buffered",
            s="?q=1", t="Buffered")


@pytest.fixture
def env():
    platform = FakePlatform()
    analytics = Analytics("WK", platform)
    return JsApi(analytics), analytics, platform


def last(platform):
    return platform.requests[-1].body


# -- events ------------------------------------------------------------------------------------

def test_track_uses_the_call_snapshot_and_time(env):
    api, a, p = env
    assert api.call("track", ["Clicked", {"id": 3}], SNAP, AT) is None
    body = last(p)
    assert p.requests[-1].url == "https://api.segment.io/v1/t"
    assert (body["event"], body["properties"]) == ("Clicked", {"id": 3})
    assert body["timestamp"] == "2020-01-01T00:00:00.000Z"
    assert body["context"]["page"] == {"path": "/buffered", "referrer": "https://ref.example.org/",
                                       "search": "?q=1", "title": "Buffered",
                                       "url": "https://www.example.test/buffered?q=1"}
    assert p.warnings == []


def test_track_without_snapshot_uses_the_live_page(env):
    api, a, p = env
    api.call("track", ["E"])
    assert last(p)["context"]["page"]["path"] == "/docs/install"
    assert last(p)["timestamp"] == "2023-11-14T22:13:20.000Z"


def test_track_object_form(env):
    api, a, p = env
    api.call("track", [{"event": "E", "properties": {"a": 1}}, {"context": {"ip": "0.0.0.0"}}])
    assert last(p)["properties"] == {"a": 1}
    assert last(p)["context"]["ip"] == "0.0.0.0"


def test_track_with_callback(env):
    api, a, p = env
    got = []
    api.call("track", ["E", got.append])
    p.respond_all(200)
    assert len(got) == 1 and got[0]["event"] == "E"


def test_track_wrong_properties_warns_and_still_sends(env):
    api, a, p = env
    api.call("track", ["E", "bad"])
    assert last(p)["properties"] == {}
    assert p.warnings == ["pyajs: analytics.track(): ignored properties (string 'bad')"]


@pytest.mark.parametrize("args", [[], [5], [""], [{}], [None, {"a": 1}]])
def test_track_without_event_warns(env, args):
    api, a, p = env
    assert api.call("track", args) is None
    assert p.requests == []
    assert len(p.warnings) == 1
    assert p.warnings[0].startswith("pyajs: analytics.track(): ")
    assert "event name" in p.warnings[0]


def test_page_forms(env):
    api, a, p = env
    api.call("page", [])
    assert "name" not in last(p)
    api.call("page", ["Install"])
    assert last(p)["name"] == "Install" and "category" not in last(p)
    api.call("page", ["Docs", "Install", {"a": 1}, {"ip": "1.1.1.1"}])
    body = last(p)
    assert (body["category"], body["name"], body["properties"]["a"]) == ("Docs", "Install", 1)
    assert body["context"]["ip"] == "1.1.1.1"
    api.call("page", [{"title": "Custom"}])
    assert last(p)["properties"]["title"] == "Custom"
    assert last(p)["context"]["page"]["title"] == "Custom"
    api.call("page", [None, None, None, {"anonymousId": "opt"}])
    assert last(p)["anonymousId"] == "opt"
    assert p.warnings == []


def test_screen(env):
    api, a, p = env
    api.call("screen", ["Cat", "Home", {"a": 1}])
    body = last(p)
    assert p.requests[-1].url.endswith("/v1/s")
    assert (body["category"], body["name"], body["properties"]) == ("Cat", "Home", {"a": 1})


def test_page_ignored_argument_warns(env):
    api, a, p = env
    api.call("screen", ["Home", 5])
    assert p.warnings == ["pyajs: analytics.screen(): ignored argument (number 5)"]
    assert last(p)["name"] == "Home"


def test_identify_forms(env):
    api, a, p = env
    api.call("identify", ["u1", {"a": 1}])
    assert (last(p)["userId"], last(p)["traits"]) == ("u1", {"a": 1})
    api.call("identify", [{"b": 2}])
    assert (last(p)["userId"], last(p)["traits"]) == ("u1", {"a": 1, "b": 2})
    api.call("identify", [None, {"c": 3}, {"context": {"traits": {"ctx": 1}}}])
    assert last(p)["traits"] == {"a": 1, "b": 2, "c": 3}
    assert last(p)["context"]["traits"] == {"ctx": 1}
    api.call("identify", [42])
    assert last(p)["userId"] == "42"
    assert p.cookie("ajs_user_id") == "%2242%22"
    assert p.stored("ajs_user_traits") == "{}"  # a different user: traits replaced


def test_identify_option_anonymous_id_persists(env):
    api, a, p = env
    api.call("identify", ["u1", {}, {"anonymousId": "X"}])
    assert last(p)["anonymousId"] == "X"
    api.call("track", ["E"])
    assert last(p)["anonymousId"] == "X"
    assert p.cookie("ajs_anonymous_id") == "%22X%22"


def test_identify_bad_traits_warns(env):
    api, a, p = env
    api.call("identify", ["u1", "x"])
    assert p.warnings == ["pyajs: analytics.identify(): ignored traits (string 'x')"]
    assert last(p)["userId"] == "u1"


def test_group_and_alias(env):
    api, a, p = env
    anon = a.user().anonymous_id()
    api.call("group", ["g1", {"n": 1}])
    assert (last(p)["groupId"], last(p)["traits"]) == ("g1", {"n": 1})
    api.call("group", [{"m": 2}])
    assert (last(p)["groupId"], last(p)["traits"]) == ("g1", {"n": 1, "m": 2})
    api.call("alias", ["new"])
    assert (last(p)["userId"], last(p)["previousId"]) == ("new", anon)
    api.call("alias", [7, "old"])
    assert (last(p)["userId"], last(p)["previousId"]) == ("7", "old")
    assert p.warnings == []


def test_group_without_id_warns(env):
    api, a, p = env
    assert api.call("group", [{"a": 1}]) is None
    assert len(p.warnings) == 1 and p.warnings[0].startswith("pyajs: analytics.group(): ")
    assert p.requests == []


def test_alias_without_target_warns(env):
    api, a, p = env
    api.call("alias", [])
    assert len(p.warnings) == 1 and p.warnings[0].startswith("pyajs: analytics.alias(): ")


def test_strict_api_errors_become_warnings(env):
    api, a, p = env
    api.call("track", ["E", {}, {"anonymousId": 5}])
    assert p.warnings == ["pyajs: analytics.track(): options.anonymousId must be a str, got int"]
    assert p.requests == []


# -- identity routes ----------------------------------------------------------------------------

def test_set_anonymous_id(env):
    api, a, p = env
    first = api.call("setAnonymousId", [])
    assert UUID4.match(first)
    assert api.call("setAnonymousId", [None]) == first
    assert api.call("setAnonymousId", ["X"]) == "X"
    assert p.cookie("ajs_anonymous_id") == "%22X%22"
    assert p.stored("ajs_anonymous_id") == '"X"'
    assert api.call("setAnonymousId", [12]) == "12"
    assert api.call("setAnonymousId", [12.0]) == "12"
    api.call("track", ["E"])
    assert last(p)["anonymousId"] == "12"


@pytest.mark.parametrize("bad", [{}, [1], True, ""])
def test_set_anonymous_id_bad_value_warns(env, bad):
    api, a, p = env
    anon = a.user().anonymous_id()
    assert api.call("setAnonymousId", [bad]) is None
    assert len(p.warnings) == 1 and "analytics.setAnonymousId" in p.warnings[0]
    assert a.user().anonymous_id() == anon


def test_user_id_route(env):
    api, a, p = env
    anon = a.user().anonymous_id()
    assert api.call("user.id", []) is None
    assert api.call("user.id", ["u1"]) == "u1"
    assert p.cookie("ajs_user_id") == "%22u1%22"
    assert api.call("user.id", []) == "u1"
    assert api.call("user.anonymousId", []) == anon
    assert api.call("user.id", [None]) is None
    assert p.cookie("ajs_user_id") is None
    assert api.call("user.id", [5]) == "5"
    api.call("user.id", [{}])
    assert len(p.warnings) == 1 and "user().id" in p.warnings[0]


def test_user_anonymous_id_route(env):
    api, a, p = env
    assert api.call("user.anonymousId", ["X"]) == "X"
    assert api.call("user.anonymousId", []) == "X"
    assert p.cookie("ajs_anonymous_id") == "%22X%22"
    assert api.call("user.anonymousId", [None]) is None
    assert p.cookie("ajs_anonymous_id") is None
    new = api.call("user.anonymousId", [])
    assert UUID4.match(new)
    assert p.cookie("ajs_anonymous_id") == "%22" + new + "%22"


def test_user_traits_route(env):
    api, a, p = env
    assert api.call("user.traits", []) == {}
    assert api.call("user.traits", [{"a": 1}]) == {"a": 1}
    assert p.stored("ajs_user_traits") == '{"a":1}'
    assert api.call("user.traits", []) == {"a": 1}
    assert api.call("user.traits", [{}]) == {}
    assert p.stored("ajs_user_traits") == "{}"
    assert api.call("user.traits", ["x"]) is None
    assert len(p.warnings) == 1 and "analytics.user().traits()" in p.warnings[0]


def test_group_routes(env):
    api, a, p = env
    anon = a.user().anonymous_id()
    assert api.call("group.id", []) is None
    assert api.call("group.id", ["g1"]) == "g1"
    assert api.call("group.id", ["g2"]) == "g2"
    assert a.user().anonymous_id() == anon
    assert p.cookie("ajs_group_id") == "%22g2%22"
    assert api.call("group.traits", [{"n": 1}]) == {"n": 1}
    assert p.stored("ajs_group_properties") == '{"n":1}'
    assert api.call("group.traits", []) == {"n": 1}
    api.call("group.reset", [])
    assert api.call("group.id", []) is None
    assert p.cookie("ajs_group_id") is None and p.stored("ajs_group_properties") is None
    assert a.user().anonymous_id() == anon


def test_user_reset_and_logout_routes(env):
    api, a, p = env
    api.call("identify", ["u1", {"a": 1}])
    api.call("user.logout", [])
    assert p.cookie("ajs_user_id") is None and p.cookie("ajs_anonymous_id") is None
    api.call("identify", ["u2", {"b": 1}])
    api.call("user.reset", [])
    assert api.call("user.id", []) is None
    assert api.call("user.traits", []) == {}
    assert p.stored("ajs_user_traits") is None


def test_reset_route(env):
    api, a, p = env
    api.call("identify", ["u1", {"a": 1}])
    api.call("group", ["g1", {"b": 1}])
    anon = a.user().anonymous_id()
    got = []
    api.call("on", ["reset", lambda *args: got.append(args)])
    assert api.call("reset", []) is None
    assert got == [()]
    assert not [k for k in p.jar.cookies if k.startswith("ajs")]
    assert not [k for k in p.local_storage.data if k.startswith("ajs")]
    api.call("track", ["E"])
    assert last(p)["userId"] is None and last(p)["anonymousId"] != anon


# -- lifecycle -----------------------------------------------------------------------------------

def test_on_once_off(env):
    api, a, p = env
    got = []

    def listener(*args):
        got.append(args)

    api.call("on", ["track", listener])
    api.call("once", ["page", lambda *args: got.append(("page",) + args)])
    api.call("track", ["E", {"x": 1}])
    api.call("page", ["P"])
    api.call("page", ["P2"])
    p.respond_all(200)
    assert got == [("E", {"x": 1}, {}), ("page", None, "P", {}, {})]
    api.call("off", ["track", listener])
    api.call("track", ["E2"])
    p.respond_all(200)
    assert len(got) == 2
    assert p.warnings == []


def test_on_without_function_warns(env):
    api, a, p = env
    api.call("on", ["track", "nope"])
    api.call("on", [])
    assert len(p.warnings) == 2
    assert all(w.startswith("pyajs: analytics.on(): ") for w in p.warnings)


def test_ready(env):
    api, a, p = env
    got = []
    api.call("ready", [lambda *args: got.append(("r", args))])
    assert got == []
    a.mark_ready()
    # one argument, as Analytics.js: its plugins' ready results (pyajs has none)
    assert got == [("r", ([],))]
    p.hold_soon = True
    api.call("ready", [lambda *args: got.append(("r2", args))])
    assert got == [("r", ([],))]  # already ready: soon after the call, not inside it
    p.soon_calls.pop()()
    assert got == [("r", ([],)), ("r2", ([],))]
    api.call("ready", [])
    api.call("ready", ["x"])
    assert len(p.warnings) == 1 and "analytics.ready()" in p.warnings[0]


def test_value_methods_answer_null_not_undefined(env):
    api, a, p = env
    for method in ("user.id", "group.id", "user.traits", "group.traits", "user.anonymousId",
                   "setAnonymousId"):
        result = api.call(method, [])
        assert result_json(method, result, json.dumps) == json.dumps(result)
    assert result_json("user.id", api.call("user.id", []), json.dumps) == "null"
    assert result_json("group.id", api.call("group.id", []), json.dumps) == "null"
    assert result_json("user.id", api.call("user.id", [None]), json.dumps) == "null"
    # methods that answer nothing stay undefined
    for method, args in (("track", ["E"]), ("reset", []), ("user.logout", []),
                         ("group.logout", []), ("debug", [])):
        assert result_json(method, api.call(method, args), json.dumps) is None
    assert p.warnings == []


def test_group_logout(env):
    api, a, p = env
    api.call("group", ["g-1", {"n": 1}])
    api.call("group.logout", [])
    assert (a.group().id(), a.group().traits()) == (None, {})
    assert p.warnings == []


def test_debug_and_timeout(env):
    api, a, p = env
    api.call("debug", [])
    assert a.debug_enabled is True
    api.call("debug", [False])
    assert a.debug_enabled is False
    assert api.call("timeout", [300]) is None
    assert p.warnings == []


def test_add_source_middleware(env):
    api, a, p = env

    def mw(payload, next_):
        payload["properties"]["mw"] = 1
        next_(payload)

    api.call("addSourceMiddleware", [mw])
    api.call("track", ["E"])
    assert last(p)["properties"] == {"mw": 1}
    api.call("addSourceMiddleware", ["x"])
    api.call("addSourceMiddleware", [])
    assert len(p.warnings) == 2
    assert all("analytics.addSourceMiddleware" in w for w in p.warnings)


def test_load_again_warns(env):
    api, a, p = env
    api.call("load", ["WK2", {}])
    assert len(p.warnings) == 1 and "load()" in p.warnings[0]


@pytest.mark.parametrize("method", ["trackLink", "trackForm", "trackClick", "trackSubmit",
                                    "pageview"])
def test_unsupported_methods_warn(env, method):
    api, a, p = env
    assert api.call(method, [1, 2]) is None
    assert p.warnings == ["pyajs: analytics.%s() is not supported; the call was ignored"
                          % method]


@pytest.mark.parametrize("method", ["nope", "user.nope", "_ignored", "__init__", "call", ""])
def test_unknown_methods_warn(env, method):
    api, a, p = env
    assert api.call(method, []) is None
    assert len(p.warnings) == 1
    assert "analytics.%s" % method in p.warnings[0]
    assert "not a function" in p.warnings[0]


def test_call_never_raises(env):
    api, a, p = env
    assert api.call(None, []) is None
    assert api.call("track", None) is None
    assert api.call("identify", 5) is None
    assert len(p.warnings) == 3
    assert p.requests == []


def test_internal_errors_become_warnings(env):
    api, a, p = env

    def broken_snapshot():
        raise RuntimeError("no document")

    p.page_snapshot = broken_snapshot
    assert api.call("track", ["E"]) is None
    assert p.warnings == ["pyajs: analytics.track() failed: RuntimeError: no document"]
    api.call("track", ["E"], SNAP, AT)  # later calls still work
    assert len(p.requests) == 1


def test_calls_go_on_after_a_bad_call(env):
    api, a, p = env
    api.call("track", [])
    api.call("identify", ["u1"])
    api.call("track", ["E"])
    assert [r.body["type"] for r in p.requests] == ["identify", "track"]
    assert last(p)["userId"] == "u1"
