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


def record(calls, key="WK"):
    return json.dumps({"k": key, "c": calls})


def snap(ts, mid, **extra):
    return dict(DEFAULT_SNAPSHOT, __t="bpc", ts=ts, i=mid, **extra)


def test_leftovers_oldest_page_first_early_calls_first_own_and_other_keys_left():
    shelf = {
        "pyajs:b:new": record([["track", ["B"], snap(20, "m2")]]),
        "pyajs:b:old": record([["track", ["A"], snap(10, "m1")],
                               ["setAnonymousId", ["anon-1"], None]]),
        "pyajs:b:mine": record([["track", ["Mine"], snap(5, "m0")]]),
        "pyajs:b:other-source": record([["track", ["Other"], snap(1, "m9")]], key="OTHER"),
        "pyajs:b:no-load": record([["track", ["C"], snap(30, "m3")]], key=None),
        "ajs_user_id": '"u1"',
    }
    warnings = []
    calls, remove = take_leftovers(list(shelf), shelf.get, "WK", "pyajs:b:mine",
                                   warnings.append)
    assert [c[0] + ":" + str(c[1][0]) for c in calls] == [
        "setAnonymousId:anon-1", "track:A", "track:B", "track:C"]
    assert all(c[2]["x"] == 1 for c in calls if c[2] is not None)
    assert sorted(remove) == ["pyajs:b:mine", "pyajs:b:new", "pyajs:b:no-load", "pyajs:b:old"]
    assert warnings == []


def test_a_corrupt_copy_is_removed_with_a_warning():
    shelf = {"pyajs:b:bad": "{not json", "pyajs:b:odd": '{"k":"WK","c":[5,["track"],'
             '["track",["ok"],null]]}'}
    warnings = []
    calls, remove = take_leftovers(list(shelf), shelf.get, "WK", None, warnings.append)
    assert calls == [["track", ["ok"], None]]
    assert sorted(remove) == ["pyajs:b:bad", "pyajs:b:odd"]
    assert len(warnings) == 1 and "pyajs:b:bad" in warnings[0]


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
