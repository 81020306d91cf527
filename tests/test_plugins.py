"""pyajs.plugins through the Python API: Analytics.js's plugin order and failure rules,
integrations filtering, destination middleware, async plugins and debug lines, checked by
what the plugins saw and what reached the (fake) collector."""

import asyncio
import threading

import pytest
from fakes import FakePlatform
from pyajs.analytics import Analytics
from pyajs.plugins import Context, Pipeline, destination_allowed, drive, python_plugin


def make(options=None):
    platform = FakePlatform()
    return Analytics("WK", platform, options), platform


def sent(platform):
    return [r.body for r in platform.requests]


class Recorder:
    """A plugin of ``kind`` that records each call in ``log`` and may change the event."""

    def __init__(self, name, kind, log, change=None, fail=None):
        self.name, self.type, self.version = name, kind, "1.0.0"
        self.log, self.change, self.fail = log, change, fail

    def track(self, ctx):
        self.log.append((self.name, ctx.event.get("event"), dict(ctx.event["properties"])))
        if self.fail:
            raise RuntimeError(self.fail)
        if self.change:
            ctx.event["properties"][self.change] = True
        return ctx

    page = identify = track


# -- order ---------------------------------------------------------------------------------

def test_types_run_in_analytics_js_order_whatever_the_registration_order():
    a, p = make()
    log = []
    a.register(Recorder("after", "after", log), Recorder("dest", "destination", log),
               Recorder("enrich", "enrichment", log, change="enriched"),
               Recorder("before", "before", log, change="befored"),
               Recorder("util", "utility", log))
    a.track("E", {"x": 1})
    assert [entry[0] for entry in log] == ["before", "enrich", "dest", "after"]
    assert log[1][2] == {"x": 1, "befored": True}  # enrichment sees what before did
    assert log[2][2] == {"x": 1, "befored": True, "enriched": True}
    assert sent(p)[0]["properties"] == {"x": 1, "befored": True, "enriched": True}


def test_plugins_of_one_type_run_in_registration_order_with_source_middleware():
    a, p = make()
    log = []
    a.register(Recorder("b1", "before", log, change="b1"))

    def middleware(payload, next_):
        log.append(("mw", payload["event"], dict(payload["properties"])))
        next_(payload)

    a.add_source_middleware(middleware)
    a.register(Recorder("b2", "before", log))
    a.track("E")
    assert [entry[0] for entry in log] == ["b1", "mw", "b2"]
    assert a.plugins() == ["b1", "Source Middleware middleware", "b2"]


def test_a_plugin_may_replace_the_event_by_returning_another_context():
    a, p = make()

    class Replace:
        name, type = "R", "enrichment"

        def track(self, ctx):
            return Context(dict(ctx.event, event="Renamed"))

    a.register(Replace())
    a.track("E")
    assert sent(p)[0]["event"] == "Renamed"


def test_update_event_sets_a_nested_path():
    ctx = Context({"traits": {"a": 1}})
    ctx.update_event("traits.custom.plan", "pro")
    ctx.update_event("context.x", 2)
    assert ctx.event == {"traits": {"a": 1, "custom": {"plan": "pro"}}, "context": {"x": 2}}


def test_only_the_methods_a_plugin_has_are_called():
    a, p = make()
    log = []

    class PageOnly:
        name, type = "P", "enrichment"

        def page(self, ctx):
            log.append(ctx.event["type"])

    a.register(PageOnly())
    a.track("E")
    a.page("Home")
    assert log == ["page"] and len(p.requests) == 2


# -- failures ------------------------------------------------------------------------------

def test_a_before_plugin_that_raises_stops_the_event_with_an_error_event():
    a, p = make()
    log = []
    errors = []
    a.on("error", errors.append)
    a.register(Recorder("bad", "before", log, fail="nope"), Recorder("e", "enrichment", log),
               Recorder("d", "destination", log))
    a.track("E")
    assert p.requests == [] and [entry[0] for entry in log] == ["bad"]
    assert len(errors) == 1
    assert errors[0]["code"] == "plugin_failure" and errors[0]["plugin"] == "bad"
    assert "RuntimeError: nope" in errors[0]["reason"] and errors[0]["event"]["event"] == "E"
    assert any("'bad' failed" in w and "not sent" in w for w in p.warnings)
    a.deregister("bad")
    a.identify("u1")
    assert len(p.requests) == 1


def test_enrichment_and_destination_failures_are_reported_and_the_rest_goes_on():
    a, p = make()
    log = []
    a.register(Recorder("e1", "enrichment", log, fail="e1 down"),
               Recorder("e2", "enrichment", log, change="e2"),
               Recorder("d1", "destination", log, fail="d1 down"),
               Recorder("d2", "destination", log), Recorder("after", "after", log))
    a.track("E")
    assert [entry[0] for entry in log] == ["e1", "e2", "d1", "d2", "after"]
    assert sent(p)[0]["properties"] == {"e2": True}
    assert any("e1 down" in w for w in p.warnings) and any("d1 down" in w for w in p.warnings)


def test_destinations_each_get_their_own_copy():
    a, p = make()
    seen = []

    class Greedy:
        name, type = "Greedy", "destination"

        def track(self, ctx):
            ctx.event["properties"]["mine"] = True
            seen.append(ctx.event["properties"])

    class Other:
        name, type = "Other", "destination"

        def track(self, ctx):
            seen.append(dict(ctx.event["properties"]))

    a.register(Greedy(), Other())
    a.track("E", {"x": 1})
    assert seen == [{"x": 1, "mine": True}, {"x": 1}]
    assert sent(p)[0]["properties"] == {"x": 1}


def test_a_failed_load_removes_the_plugin_and_unload_runs_on_deregister():
    a, p = make()
    log = []

    class Broken(Recorder):
        def load(self, ctx, analytics):
            raise ValueError("no config")

    class Unloading(Recorder):
        def load(self, ctx, analytics):
            log.append(("load", analytics is a))

        def unload(self, ctx, analytics):
            log.append(("unload", analytics is a))

    a.register(Broken("broken", "enrichment", log), Unloading("u", "enrichment", log))
    assert a.plugins() == ["u"] and any("'broken' failed to load" in w for w in p.warnings)
    a.deregister("u")
    a.deregister("missing")
    assert a.plugins() == [] and log == [("load", True), ("unload", True)]
    assert any("no plugin named 'missing'" in w for w in p.warnings)
    a.track("E")
    assert ("u", "E", {}) not in log and len(p.requests) == 1


# -- integrations --------------------------------------------------------------------------

@pytest.mark.parametrize("integrations, d1, d2, segment", [
    ({}, True, True, True),
    ({"All": False}, False, False, True),  # All: false never stops Segment.io
    ({"All": False, "D1": True}, True, False, True),
    ({"D2": False}, True, False, True),
    ({"Segment.io": False}, True, True, False),
    ({"All": False, "Segment.io": False, "D2": {}}, False, True, False),
])
def test_integrations_choose_the_destinations(integrations, d1, d2, segment):
    a, p = make()
    log = []
    a.register(Recorder("D1", "destination", log), Recorder("D2", "destination", log))
    done = []
    a.track("E", {}, {"integrations": integrations}, callback=done.append)
    assert [entry[0] for entry in log] == [n for n, on in (("D1", d1), ("D2", d2)) if on]
    assert len(p.requests) == (1 if segment else 0)
    if not segment:  # settled at once: its callback does not wait for a request
        assert len(done) == 1


def test_load_time_integrations_keep_segment_io_out_as_analytics_js_does():
    for integrations, sends in (({"Segment.io": False}, False), ({"All": False}, False),
                                ({"All": False, "Segment.io": True}, True),
                                ({"All": False, "Segment.io": {"apiHost": "x/v1"}}, True)):
        a, p = make({"integrations": integrations})
        a.track("E")
        assert len(p.requests) == (1 if sends else 0), integrations


def test_destination_allowed_rules():
    assert destination_allowed("X", None)
    assert not destination_allowed("X", {"X": False})
    assert destination_allowed("X", {"All": False, "X": True})
    assert destination_allowed("X", {"All": False, "X": {"setting": 1}})
    assert not destination_allowed("X", {"All": False, "X": None})


# -- middleware ----------------------------------------------------------------------------

def test_destination_middleware_changes_or_drops_one_destinations_copy_only():
    a, p = make()
    log = []
    a.register(Recorder("Amp", "destination", log), Recorder("Other", "destination", log))

    def rename(payload, next_):
        payload["properties"]["amp"] = True
        next_(payload)

    def drop_secret(payload, next_):
        if payload["event"] != "Secret":
            next_(payload)

    a.add_destination_middleware("amp", rename, drop_secret)  # names match in any case
    a.track("E")
    a.track("Secret")
    assert log == [("Amp", "E", {"amp": True}), ("Other", "E", {}), ("Other", "Secret", {})]
    assert [b["properties"] for b in sent(p)] == [{}, {}]


def test_destination_middleware_for_every_destination_and_not_for_segment():
    a, p = make()
    log = []
    a.register(Recorder("D", "destination", log))
    a.add_destination_middleware("*", lambda payload, next_: next_(None))
    a.add_destination_middleware("Segment.io", lambda payload, next_: None)
    a.track("E")
    assert log == [] and len(p.requests) == 1
    assert any("Segment.io" in w and "addSourceMiddleware" in w for w in p.warnings)


def test_source_middleware_that_never_calls_next_drops_the_event_before_enrichment():
    a, p = make()
    log = []
    a.add_source_middleware(lambda payload, next_: None)
    a.register(Recorder("e", "enrichment", log))
    a.track("E")
    assert p.requests == [] and log == []


# -- async ---------------------------------------------------------------------------------

def test_async_methods_are_awaited():
    a, p = make()

    class Async:
        name, type = "A", "enrichment"

        async def load(self, ctx, analytics):
            self.loaded = True

        async def track(self, ctx):
            ctx.event["properties"]["async"] = True
            return ctx

    plugin = Async()
    a.register(plugin)
    a.track("E")
    assert plugin.loaded and sent(p)[0]["properties"] == {"async": True}


def test_events_wait_for_a_pending_load_and_keep_their_order():
    a, p = make()
    pending = []

    def later(awaitable, done):  # an event loop that runs when the test says so
        pending.append((awaitable, done))

    p.run_coroutine = later
    loop = asyncio.new_event_loop()
    gate = loop.create_future()

    class Slow:
        name, type = "Slow", "enrichment"

        async def load(self, ctx, analytics):
            await gate

        def track(self, ctx):
            ctx.event["properties"]["slow"] = True

    a.register(Slow())
    a.track("One")
    a.track("Two")
    assert p.requests == []
    gate.set_result(None)

    async def run_all():
        for awaitable, done in pending:
            done(await awaitable, None)

    # in a thread of its own: the e2e suite's Playwright keeps a loop running in this one
    worker = threading.Thread(target=loop.run_until_complete, args=(run_all(),))
    worker.start()
    worker.join()
    loop.close()
    assert [(b["event"], b["properties"]) for b in sent(p)] == [
        ("One", {"slow": True}), ("Two", {"slow": True})]


def test_drive_reports_an_awaitable_that_needs_a_loop():
    got = []

    async def suspends():
        await asyncio.sleep(0)

    drive(suspends(), lambda value, error: got.append(error))
    assert isinstance(got[0], RuntimeError)


# -- registration errors -------------------------------------------------------------------

@pytest.mark.parametrize("plugin, words", [
    ({"name": "x", "type": "before"}, "instance of a plugin class"),
    (type("NoName", (), {"type": "before"})(), "needs a name"),
    (type("BadType", (), {"name": "B", "type": "middle"})(), "'middle'"),
    (type("NotMethod", (), {"name": "B", "type": "after", "track": 3})(), "track must be"),
])
def test_register_raises_type_error_naming_the_problem(plugin, words):
    a, p = make()
    with pytest.raises(TypeError, match=words):
        a.register(plugin)
    assert a.plugins() == []


# -- consent and debug ---------------------------------------------------------------------

def test_destinations_needing_a_category_are_skipped_without_it():
    log = []
    pipeline = Pipeline(print)
    granted = {"Ads"}
    pipeline.allows = lambda categories: all(c in granted for c in categories)
    ads = python_plugin(Recorder("Ads", "destination", log))
    ads.categories = ("Ads",)
    perf = python_plugin(Recorder("Perf", "destination", log))
    perf.categories = ("Performance",)
    pipeline.register(ads)
    pipeline.register(perf)
    pipeline.run({"type": "track", "event": "E", "properties": {}, "integrations": {}},
                 lambda event, to_segment: None)
    assert [entry[0] for entry in log] == ["Ads"]


def test_debug_prints_a_line_per_step_and_nothing_when_off():
    a, p = make()
    lines = []
    p.log = lines.append
    a.register(Recorder("enrich", "enrichment", []))
    a.track("Quiet")
    p.respond_all(200)
    assert lines == []
    a.debug(True)
    a.track("Loud")
    p.respond_all(500)
    p.advance(60000)
    p.respond_all(200)
    text = "\n".join(lines)
    assert 'track "Loud"' in text
    for step in ("enrichment plugin 'enrich' ran", "queued", "sent", "retried in",
                 "acknowledged (HTTP 200)"):
        assert step in text, step
    a.debug(False)
    count = len(lines)
    a.track("Quiet again")
    p.respond_all(200)
    assert len(lines) == count


# -- from JavaScript (jscalls, with the loader's plugin descriptions faked) ----------------

class FakeJsPlugin:
    """What browser.JsPlugin gives the pipeline, answering synchronously."""

    def __init__(self, name, kind, log):
        self.name, self.type, self.version, self.categories = name, kind, None, ()
        self.log = log

    def has(self, method):
        return method in ("track", "load")

    def call(self, method, args, done):
        self.log.append((self.name, method))
        done(None, None)

    def run(self, kind, ctx, done):
        self.log.append((self.name, kind))
        done(Context(dict(ctx.event, event=ctx.event["event"] + " (js)")), None)


def test_register_from_javascript_loads_then_resolves_and_warns_about_non_plugins():
    from pyajs.jscalls import JsApi

    a, p = make()
    api = JsApi(a)
    log = []
    resolved = []
    api.call("register", [FakeJsPlugin("J", "enrichment", log), {"name": "x"},
                          FakeJsPlugin("", "before", log), FakeJsPlugin("T", "middle", log),
                          lambda: resolved.append(True)])
    assert resolved == [True] and a.plugins() == ["J"] and log == [("J", "load")]
    assert len(p.warnings) == 3
    assert "argument 2 is not a plugin" in p.warnings[0]
    assert "needs a name" in p.warnings[1] and "'middle'" in p.warnings[2]
    api.call("track", ["E"])
    assert sent(p)[0]["event"] == "E (js)"
    api.call("deregister", ["J", lambda: resolved.append("gone")])
    assert resolved[-1] == "gone" and a.plugins() == []


def test_buffered_plugins_and_middleware_are_replayed_before_the_buffered_events():
    from pyajs.early import replay_order

    calls = [["track", ["A"]], ["addDestinationMiddleware", ["d"]],
             ["addSourceMiddleware", ["s"]], ["register", ["p"]], ["debug", [True]]]
    assert [c[0] for c in replay_order(calls)] == [
        "register", "addSourceMiddleware", "addDestinationMiddleware", "track", "debug"]


def test_consent_keeps_destinations_out_until_their_categories_are_granted():
    a, p = make({"consent": {"categories": {"Analytics": True, "Advertising": False}}})
    log = []

    class Ads(Recorder):
        consent_categories = ["Advertising"]

    a.register(Ads("Ads", "destination", log), Recorder("Plain", "destination", log))
    a.track("Before")
    a.consent({"Advertising": True})
    a.track("After")
    assert [(n, e) for n, e, _ in log if e in ("Before", "After")] == [
        ("Plain", "Before"), ("Ads", "After"), ("Plain", "After")]


def test_consent_first_asked_after_plugins_were_registered_still_gates_them():
    """No consent option at load: nothing is gated, until the site's first consent() call,
    which the registered destinations then follow."""
    a, p = make({})
    log = []

    class Ads(Recorder):
        consent_categories = ["Advertising"]

    a.register(Ads("Ads", "destination", log), Recorder("Plain", "destination", log))
    a.track("Unasked")
    a.consent({"Analytics": True, "Advertising": False})
    a.track("Refused")
    a.consent({"Advertising": True})
    a.track("Granted")
    assert [(n, e) for n, e, _ in log if e in ("Unasked", "Refused", "Granted")] == [
        ("Ads", "Unasked"), ("Plain", "Unasked"), ("Plain", "Refused"), ("Ads", "Granted"),
        ("Plain", "Granted")]
    assert a.consent() == {"Analytics": True, "Advertising": True}
