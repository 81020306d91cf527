"""The pure core under MicroPython 1.27: identity, events, storage failures and delivery,
checked with the same fakes as the CPython tests. Prints one line per check and a closing
'N passed, N failed' line; tests/test_micropython.py runs it through Node.js."""

import json
import sys

import js

sys.path.insert(0, "/lib")
sys.path.insert(0, "/checks")

from fakes import FakePlatform, MemoryLocalStorage  # noqa: E402
from pyajs import ids  # noqa: E402
from pyajs.analytics import Analytics  # noqa: E402
from pyajs.jscalls import JsApi  # noqa: E402


def crypto_bytes(n):
    buf = js.Uint8Array.new(n)
    js.crypto.getRandomValues(buf)
    return bytes(buf)


ids.set_random_source(crypto_bytes)  # MicroPython has no os.urandom
results = []


def check(name, fn):
    try:
        fn()
        results.append(True)
        print("ok", name)
    except Exception as exc:  # noqa: BLE001 - report and go on
        results.append(False)
        print("FAIL", name, type(exc).__name__, exc)


def make(options=None, **kw):
    p = FakePlatform(**kw)
    a = Analytics("WK", p, options or {})
    a.start_delivery()
    return a, JsApi(a), p


def bodies(p):
    return [r.body for r in p.requests]


def c_identity():
    a, api, p = make()
    anon = a.user().anonymous_id()
    assert len(anon) == 36 and anon[14] == "4", anon
    assert p.cookie("ajs_anonymous_id") == "%22" + anon + "%22"
    assert p.stored("ajs_anonymous_id") == json.dumps(anon)
    api.call("identify", ["u1", {"a": 1}], None, None)
    api.call("identify", [{"b": 2}], None, None)
    assert a.user().traits() == {"a": 1, "b": 2}
    assert p.cookie("ajs_user_id") == "%22u1%22"
    api.call("identify", ["u2"], None, None)
    assert a.user().anonymous_id() != anon
    api.call("reset", [], None, None)
    assert p.cookie("ajs_user_id") is None and p.stored("ajs_user_traits") is None


def c_traits_keep_their_order():
    # MicroPython's dicts lose the order json.loads met the keys in: stored traits must be
    # the text the page's order gives (as on Pyodide), on every write and after a reload
    from pyajs.jscalls import args_in_order

    a, api, p = make()
    text = '["u1",{"name":"Ann","plan":"pro","email":"a@b.test","address":{"zip":"1","city":"c"}}]'
    api.call("identify", args_in_order("identify", json.loads(text), text), None, None)
    want = '{"name":"Ann","plan":"pro","email":"a@b.test","address":{"zip":"1","city":"c"}}'
    assert p.stored("ajs_user_traits") == want, p.stored("ajs_user_traits")
    a2, api2, p2 = make(jar=p.jar, local_storage=p.local_storage)
    text = '["u1",{"seat":2,"area":"eu"}]'
    api2.call("identify", args_in_order("identify", json.loads(text), text), None, None)
    want = want[:-1] + ',"seat":2,"area":"eu"}'
    assert p2.stored("ajs_user_traits") == want, p2.stored("ajs_user_traits")
    assert a2.user().traits()["seat"] == 2 and a2.user().traits() == json.loads(want)
    assert list(api2.call("user.traits", [], None, None)) == [
        "name", "plan", "email", "address", "seat", "area"]
    text = '["g1",{"b":1,"a":2}]'
    api2.call("group", args_in_order("group", json.loads(text), text), None, None)
    assert p2.stored("ajs_group_properties") == '{"b":1,"a":2}'


def c_cookie_wins():
    p0 = FakePlatform()
    p0.jar.write("ajs_anonymous_id=%22cookie-anon%22; path=/")
    p0.local_storage.setItem("ajs_anonymous_id", '"ls-anon"')
    a, api, p = make(jar=p0.jar, local_storage=p0.local_storage)
    assert a.user().anonymous_id() == "cookie-anon"
    assert p.stored("ajs_anonymous_id") == '"cookie-anon"'


def c_events():
    a, api, p = make()
    api.call("track", ["Clicked", {"n": 1}, {"context": {"ip": "0.0.0.0"}}], None, None)
    api.call("page", ["Docs", "Install"], None, None)
    api.call("track", [5], None, None)
    p.respond_all(200)
    t, pg = bodies(p)
    assert t["type"] == "track" and t["event"] == "Clicked" and t["properties"] == {"n": 1}
    assert t["context"]["ip"] == "0.0.0.0" and t["context"]["library"]["name"] == "pyajs"
    assert t["timestamp"].endswith("Z") and len(t["timestamp"]) == 24
    assert pg["category"] == "Docs" and pg["name"] == "Install"
    assert any("got number 5" in w for w in p.warnings)


def c_storage_failures():
    broken = MemoryLocalStorage()
    broken.broken = True
    a, api, p = make(local_storage=broken)
    anon = a.user().anonymous_id()
    api.call("track", ["Still Sent"], None, None)
    assert bodies(p)[0]["anonymousId"] == anon
    assert any("localStorage is not available" in w for w in p.warnings)


def c_retries_and_queue():
    a, api, p = make()
    api.call("track", ["Retried"], None, None)
    mid = bodies(p)[0]["messageId"]
    assert any(k.startswith("pyajs:q:WK:") for k in p.local_storage.data)
    p.requests[0].respond(503)
    p.advance(60000)
    assert p.requests[1].headers["X-Retry-Count"] == "1"
    assert p.requests[1].body["messageId"] == mid
    p.requests[1].respond(200)
    assert not any(k.startswith("pyajs:q:WK:") for k in p.local_storage.data)


def c_batching():
    a, api, p = make({"deliveryStrategy": {"strategy": "batching", "config": {"size": 3}}})
    for n in range(3):
        api.call("track", ["B%d" % n], None, None)
    (req,) = p.requests
    assert req.url.endswith("/batch") and [e["event"] for e in req.body["batch"]] == [
        "B0", "B1", "B2"]


def c_sized_dumps_and_clock():
    from pyajs.clock import iso_utc
    from pyajs.codec import SizedDumps, dumps

    sized = SizedDumps(hint=32)  # smaller than the values: the buffer has to grow
    for value in ({}, {"a": "é \u2603", "n": [1, 2.5, None, True]}, {"k": "x" * 3000}):
        assert sized(value) == dumps(value), sized(value)[:80]
        assert json.loads(sized(value)) == value
    assert sized.hint > 3000  # sized from the last text
    day = 86400000
    for ms in (1764633599999, 1764633600000, 1764633599999 - 40 * day, 0):
        assert iso_utc(ms) in ("2025-12-01T23:59:59.999Z", "2025-12-02T00:00:00.000Z",
                               "2025-10-22T23:59:59.999Z", "1970-01-01T00:00:00.000Z"), ms


def c_builtin_modules():
    # PyScript's MicroPython freezes pure-Python binascii, os, io and time (they carry a
    # __file__), and looks on the file system before each extensible built-in: compat must
    # hand pyajs the built-ins themselves.
    from pyajs import compat

    assert compat.MICROPYTHON
    for name in ("binascii", "io", "json", "os", "random", "time"):
        module = getattr(compat, name)
        assert not hasattr(module, "__file__"), (name, module)
    assert compat.binascii.hexlify(b"\x01\xff") == b"01ff"


def c_plugins():
    from pyajs.plugins import Context

    a, api, p = make()
    seen = []

    class Enrich:
        name, type = "Enrich", "enrichment"

        async def load(self, ctx, analytics):  # a coroutine is a generator here
            self.ready = True

        async def track(self, ctx):
            ctx.update_event("properties.enriched", True)
            return ctx

    class Before:
        name, type = "Before", "before"

        def track(self, ctx):
            if ctx.event["event"] == "Bad":
                raise ValueError("bad event")
            return Context(dict(ctx.event, event=ctx.event["event"] + "!"))

    class Dest:
        name, type = "Dest", "destination"

        def track(self, ctx):
            seen.append(ctx.event["event"])

    errors = []
    a.on("error", errors.append)
    a.register(Dest(), Enrich(), Before())
    a.add_destination_middleware("dest", lambda payload, next_: next_(payload))
    api.call("track", ["Good"], None, None)
    api.call("track", ["Bad"], None, None)
    api.call("track", ["Quiet", {}, {"integrations": {"Segment.io": False}}], None, None)
    assert [b["event"] for b in bodies(p)] == ["Good!"], bodies(p)
    assert bodies(p)[0]["properties"] == {"enriched": True}
    assert seen == ["Good!", "Quiet!"], seen
    assert errors and errors[0]["plugin"] == "Before"
    try:
        a.register(object())
        raise AssertionError("no TypeError")
    except TypeError as exc:
        assert "needs a name" in str(exc)


def c_storage_options_and_consent():
    opts = {"storage": {"stores": ["localStorage"]},
            "user": {"cookie": {"key": "my_uid"}, "localStorage": {"key": "my_traits"}}}
    p = FakePlatform(options=opts)
    a = Analytics("WK", p, opts)
    a.identify("u1", {"plan": "pro"})
    assert p.cookie("my_uid") is None and p.stored("my_uid") == '"u1"', p.stored("my_uid")
    assert p.stored("my_traits") == '{"plan":"pro"}'
    opts = {"consent": {"categories": {"Analytics": False, "Ads": True}}}
    p = FakePlatform(options=opts)
    a = Analytics("WK", p, opts)
    a.start_delivery()
    a.identify("u1")
    a.track("Waits")
    assert p.requests == [] and p.cookie("ajs_anonymous_id") is None
    assert p.stored("ajs_anonymous_id") is None and a.user().id() == "u1"
    assert a.consent({"Analytics": True}) == {"Analytics": True, "Ads": True}
    assert [b.get("event") for b in bodies(p)] == [
        None, "Waits", "Segment Consent Preference Updated"], bodies(p)
    assert bodies(p)[1]["context"]["consent"]["categoryPreferences"]["Analytics"] is True
    assert p.cookie("ajs_user_id") == "%22u1%22"
    a.consent({"Analytics": False})
    assert p.cookie("ajs_user_id") is None and p.stored("ajs_anonymous_id") is None


for name, fn in (("plugins", c_plugins),
                 ("storage options and consent", c_storage_options_and_consent),
                 ("identity", c_identity), ("cookie wins", c_cookie_wins),
                 ("traits keep their order", c_traits_keep_their_order),
                 ("events", c_events), ("storage failures", c_storage_failures),
                 ("retries and queue", c_retries_and_queue), ("batching", c_batching),
                 ("sized dumps and clock", c_sized_dumps_and_clock),
                 ("built-in modules", c_builtin_modules)):
    check(name, fn)
print("micropython: %d passed, %d failed" % (results.count(True), results.count(False)))
