"""Plugins in the page, on both runtimes: a plugin taken unchanged from Segment's
Analytics.js documentation, JavaScript and Python plugins side by side, destination
middleware, source middleware that drops with ``next(null)``, ``integrations`` filtering,
a ``before`` plugin that throws, and ``debug(true)``'s console lines; checked by what the
collector received and what each destination saw."""

import json

import pytest

from tests.e2e.conftest import BOOT_TIMEOUT_MS, WRITE_KEY

pytestmark = pytest.mark.e2e

# Segment's "Identity Stitching" example plugin for Analytics.js, as its documentation gives it
# (comments left out); its lookup of the user is answered by the test (page.route).
IDENTITY_STITCHING = """
const identityStitching = () => {
  let user

  const identity = {
    name: 'Identity Stitching',
    type: 'enrichment',
    version: '0.1.0',

    load: async (_ctx, ajs) => {
      user = ajs.user()
    },

    isLoaded: () => user !== undefined,

    async identify(ctx) {
      const req = await fetch(
        `https://jsonplaceholder.typicode.com/users/${ctx.event.userId}`
      )
      const userReq = await req.json()

      ctx.updateEvent('traits.custom', userReq)
      user.traits(userReq)

      return ctx
    },
  }

  return identity
}
"""

# A destination plugin that records what it gets, a before plugin that throws for one event,
# source middleware that drops one with next(null), and destination middleware for one
# destination that changes its copy and drops another event.
PAGE_PLUGINS = """
window.seen = [];
window.errors = [];
analytics.on('error', (e) => window.errors.push([e.code, e.plugin, e.reason, e.event.event]));
analytics.register({
  name: 'Recorder', type: 'destination', version: '1.0.0',
  isLoaded: () => true, load: () => Promise.resolve(),
  track: (ctx) => { window.seen.push([ctx.event.event, ctx.event.properties]); return ctx; },
});
analytics.register({
  name: 'Picky', type: 'before', version: '1.0.0', isLoaded: () => true,
  load: async () => {},
  track: async (ctx) => {
    if (ctx.event.event === 'Bad') throw new Error('not this one');
    return ctx;
  },
});
analytics.addSourceMiddleware(function dropper({ payload, next }) {
  next(payload.obj.event === 'Dropped' ? null : payload);
});
analytics.addDestinationMiddleware('recorder', ({ payload, next }) => {
  if (payload.obj.event === 'Secret') return next(null);
  payload.obj.properties.viaMiddleware = true;
  next(payload);
});
"""


def test_javascript_plugins_middleware_integrations_and_debug(page):
    page.pw.route("https://jsonplaceholder.typicode.com/users/*", lambda route: route.fulfill(
        status=200, content_type="application/json", headers={
            "Access-Control-Allow-Origin": "*"},
        body=json.dumps({"id": 1, "name": "Leanne Graham", "company": {"name": "Acme"}})))
    page.open()
    # buffered before load, as a site's snippet code does: replayed when pyajs is ready
    page.load(before=IDENTITY_STITCHING + "analytics.debug(true);"
              "analytics.register(identityStitching());")
    page.js(PAGE_PLUGINS)
    page.js("""async () => {
      analytics.identify('1');
      for (const name of ['Good', 'Bad', 'Dropped', 'Secret']) analytics.track(name);
      analytics.track('Only Segment', {}, {integrations: {All: false}});
      analytics.track('Not Segment', {}, {integrations: {'Segment.io': false}});
      analytics.track('Named', {}, {integrations: {All: false, Recorder: true}});
    }""")
    events = page.server.wait_events(5)
    page.pw.wait_for_function("window.seen.length >= 3")
    names = sorted(e.get("event") or e["type"] for e in events)
    assert names == ["Good", "Named", "Only Segment", "Secret", "identify"], names
    (identify,) = [e for e in events if e["type"] == "identify"]
    assert identify["userId"] == "1"
    assert identify["traits"]["custom"]["company"] == {"name": "Acme"}  # the plugin's lookup
    assert page.js("analytics.user().traits().name") == "Leanne Graham"
    assert all(e.get("properties", {}).get("viaMiddleware") is None for e in events)
    assert sorted(map(tuple, [[n, json.dumps(p)] for n, p in page.js("window.seen")])) == [
        ("Good", '{"viaMiddleware": true}'), ("Named", '{"viaMiddleware": true}'),
        ("Not Segment", '{"viaMiddleware": true}')]
    (error,) = page.js("window.errors")
    assert error[:2] == ["plugin_failure", "Picky"] and "not this one" in error[2]
    assert error[3] == "Bad"
    logs = page.wait_console("log", lambda line: line.startswith(
        'pyajs debug: track "Good"') and "acknowledged" in line)
    good = [line for line in logs if line.startswith('pyajs debug: track "Good"')]
    for step in ("before plugin 'Source Middleware dropper' ran", "before plugin 'Picky' ran",
                 "queued",
                 "sent", "acknowledged (HTTP 200)", "destination 'Recorder' ran"):
        assert any(step in line for line in good), (step, good)
    assert any("identify" in line and "enrichment plugin 'Identity Stitching' ran" in line
               for line in logs), logs
    assert any("Not Segment" in line and "not sent" in line for line in logs)


PYTHON_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Python plugins</title><link rel="icon" href="data:,">
<script src="/snippet.js"></script>
<script>
  analytics.load("%(key)s", {runtime: "%(runtime)s", pyscript: true});
  // a JavaScript plugin, buffered before pyajs is ready: before plugins run first
  analytics.register({name: 'JS Before', type: 'before', version: '1.0.0',
    isLoaded: () => true, load: () => Promise.resolve(),
    track: (ctx) => { ctx.updateEvent('properties.order', ['js-before']); return ctx; }});
</script>
</head><body>
<script type="%(runtime)s">
import js
from pyajs import analytics


class Stamp:
    name = "Stamp"
    type = "enrichment"
    version = "1.0.0"

    async def load(self, ctx, analytics):
        self.analytics = analytics

    async def track(self, ctx):
        ctx.event["properties"]["order"].append("py-enrichment")
        ctx.event["properties"]["same_analytics"] = self.analytics is analytics
        return ctx


class Collect:
    name = "Collect"
    type = "destination"
    seen = []

    def track(self, ctx):
        self.seen.append(ctx.event["event"])
        js.window.pySeen = ",".join(self.seen)


analytics.register(Stamp(), Collect())
try:
    analytics.register(object())
except TypeError as exc:
    js.window.pyTypeError = str(exc)
analytics.debug(True)
analytics.track("From Python Plugin")
analytics.track("Not To Segment", {}, {"integrations": {"Segment.io": False}})
</script>
</body></html>
"""


def test_python_plugins_next_to_a_javascript_one(page):
    url = page.server.base + "/plugins-python.html"
    html = PYTHON_PAGE % {"key": WRITE_KEY, "runtime": page.runtime}
    page.pw.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.pw.goto(url)
    page.pw.wait_for_function("window.pySeen && window.pySeen.split(',').length === 2",
                              timeout=BOOT_TIMEOUT_MS)
    assert page.js("window.pySeen") == "From Python Plugin,Not To Segment"
    assert "needs a name" in page.js("window.pyTypeError")
    (event,) = page.server.wait_events(1)
    assert event["event"] == "From Python Plugin"
    assert event["properties"] == {"order": ["js-before", "py-enrichment"],
                                   "same_analytics": True}
    def acknowledged(line):
        return 'track "From Python Plugin"' in line and "acknowledged" in line

    logs = page.wait_console("log", acknowledged)
    assert any(acknowledged(line) for line in logs), logs


def test_the_demo_runs_a_python_enrichment_plugin(page):
    page.open("/demo.html?plugin=python&runtime=" + page.runtime)
    page.pw.wait_for_selector("#status[data-state=ready]", timeout=BOOT_TIMEOUT_MS)
    (event,) = page.server.wait_events(1, writeKey="pyajs-demo-key")  # the buffered page()
    width, height = page.js("[innerWidth, innerHeight]")
    assert event["type"] == "page"
    assert event["context"]["viewport"] == "%dx%d" % (width, height)
    assert page.pw.text_content("#plugin-switch") == "without the Python plugin"
    assert not [t for t in page.console if t[0] == "error"], page.console
