"""pyajs.early: the snippet's localStorage copies of calls made before ready, taken over by
the next pyajs page; and the Analytics side of replaying them (messageId kept, an event the
collector acknowledged already not sent again, another page's calls delivered only)."""

import json
import re
from pathlib import Path

from fakes import DEFAULT_SNAPSHOT, FakePlatform
from pyajs.analytics import Analytics
from pyajs.early import replay_order, take_leftovers
from pyajs.jscalls import JsApi
from pyajs.version import LIBRARY_NAME, __version__

ROOT = Path(__file__).resolve().parents[1]
MID = "pyajs-1577836800000-0b2f6c52-8a3f-4d0e-9d53-1c6a2b0e7f10"


def entries(page, calls, key="WK"):
    return {"pyajs:b:%s:%d" % (page, n): json.dumps(list(call) + [key])
            for n, call in enumerate(calls)}


def snap(ts, mid, **extra):
    return dict(DEFAULT_SNAPSHOT, __t="bpc", ts=ts, i=mid, **extra)


def test_leftovers_oldest_page_first_early_calls_first_own_and_other_keys_left():
    shelf = {"ajs_user_id": '"u1"'}
    shelf.update(entries("new", [["track", ["B"], snap(20, "m2")]]))
    shelf.update(entries("old", [["track", ["A"], snap(10, "m1")],
                                 ["setAnonymousId", ["anon-1"], None]]))
    shelf.update(entries("mine", [["track", ["Mine"], snap(5, "m0")]]))
    shelf.update(entries("other-source", [["track", ["Other"], snap(1, "m9")]], key="OTHER"))
    shelf.update(entries("no-load", [["track", ["C"], snap(30, "m3")]], key=None))
    many = [["track", ["N%d" % i], snap(40 + i, "n%d" % i)] for i in range(12)]
    shelf.update(entries("many", many))  # "10" after "9", not after "1"
    warnings = []
    calls, remove = take_leftovers(list(shelf), shelf.get, "WK", "pyajs:b:mine:",
                                   warnings.append)
    assert [c[0] + ":" + str(c[1][0]) for c in calls] == [
        "setAnonymousId:anon-1", "track:A", "track:B", "track:C"] + [
        "track:N%d" % i for i in range(12)]
    assert all(c[2]["x"] == 1 for c in calls if c[2] is not None)
    assert sorted(remove) == sorted(k for k in shelf if k.startswith("pyajs:b:") and
                                    "other-source" not in k)
    assert warnings == []


def test_a_corrupt_copy_is_removed_with_a_warning():
    shelf = {"pyajs:b:p:0": "{not json", "pyajs:b:p:1": '[5, "track"]',
             "pyajs:b:p:x": '["track", [], null, "WK"]',
             "pyajs:b:p:2": '["track", ["ok"], null, "WK"]'}
    warnings = []
    calls, remove = take_leftovers(list(shelf), shelf.get, "WK", None, warnings.append)
    assert calls == [["track", ["ok"], None]]
    assert sorted(remove) == sorted(shelf)
    assert len(warnings) == 1 and "pyajs:b:p:0" in warnings[0]


def test_replay_order_puts_set_anonymous_id_on_and_middleware_first():
    calls = [["track", 1], ["on", 2], ["setAnonymousId", 3], ["page", 4], ["setAnonymousId", 5]]
    assert [c[1] for c in replay_order(calls)] == [3, 5, 2, 1, 4]


def api():
    platform = FakePlatform()
    analytics = Analytics("WK", platform)
    return JsApi(analytics), analytics, platform


def test_the_message_id_minted_at_call_time_is_kept():
    js, a, p = api()
    js.call("track", ["E"], snap(0, MID), 1577836800000)
    assert p.requests[-1].body["messageId"] == MID
    js.call("track", ["E"], snap(0, MID), 1577836800000)  # same call again: same id
    js.call("track", ["F"], DEFAULT_SNAPSHOT, 1577836800000)
    assert re.match(r"^pyajs-1577836800000-", p.requests[-1].body["messageId"])
    assert p.requests[-1].body["messageId"] != MID


def test_an_acknowledged_copy_is_not_sent_again_but_its_callback_and_listeners_run():
    js, a, p = api()
    seen, called = [], []
    a.on("track", lambda *args: seen.append(args[0]))
    js.call("track", ["Sent", {}, {}, lambda *_: called.append(1)], snap(0, MID, d=2), 1)
    assert p.requests == [] and seen == ["Sent"] and called == [1]
    js.call("track", ["Unconfirmed"], snap(0, MID + "2", d=1), 1)  # may be lost: sent again
    assert p.requests[-1].body["event"] == "Unconfirmed"


def test_another_pages_call_is_delivered_and_changes_identity_but_no_listener_runs():
    js, a, p = api()
    seen = []
    a.on("identify", lambda *args: seen.append(args))
    js.call("identify", ["u-left", {"plan": "a"}], snap(0, MID, x=1), 1)
    p.respond_all(200)
    assert p.requests[-1].body["userId"] == "u-left"
    assert a.user().id() == "u-left" and a.user().traits() == {"plan": "a"}
    assert seen == []


def test_the_first_call_from_python_runs_the_replay_first():
    platform = FakePlatform()
    a = Analytics("WK", platform)
    order = []
    a.before_first_call(lambda: order.append("replay"))
    a.track("From Python")
    a.track("Again")
    assert order == ["replay"]
    b = Analytics("WK", FakePlatform())
    b.before_first_call(lambda: order.append("identity"))
    b.user()
    assert order == ["replay", "identity"]


def test_the_snippet_names_this_library_and_version():
    """The snippet builds context.library itself for the events it sends before Python."""
    text = (ROOT / "web" / "snippet.js").read_text()
    assert 'var V = "%s";' % __version__ in text
    assert 'name: "%s"' % LIBRARY_NAME in text


def test_the_anonymous_id_the_snippet_sent_a_call_with_is_adopted():
    js, a, p = api()
    js.call("reset", [])
    js.call("track", ["After Reset"], snap(0, MID, a="made-by-the-snippet", d=1), 1)
    assert p.requests[-1].body["anonymousId"] == "made-by-the-snippet"
    assert a.user().anonymous_id() == "made-by-the-snippet"
