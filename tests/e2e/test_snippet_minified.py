"""The minified snippet (what `pyajs build` writes to snippet.html for sites to inline) does
what the readable one does, in Chromium: the same buffered calls, the same early copy in
localStorage, the same loader element (with the build's URL, integrity and crossorigin) and
preloads, and the same batch at page hide. The page's network is answered by the test, so
no runtime starts: only the snippet runs."""

import json
import re

import pytest
from pyajs_server.build import LOADER_LINE
from pyajs_server.minify import minify_js

from tests.e2e.conftest import ROOT

ORIGIN = "http://www.pyajs.test"
CDN = "http://cdn.pyajs.test/pyajs/1.0/"
INTEGRITY = "sha384-" + "A" * 64
CALLS = """
  analytics.setAnonymousId("anon-1");
  analytics.identify("u1", {plan: "pro"}, {context: {ip: "10.0.0.1"}});
  analytics.track("Clicked", {items: [1, "two", null]}, {timestamp: new Date(5)}, function () {});
  analytics.page("Docs", "Install", {section: 2});
  analytics.group("g1", {seats: 3});
  analytics.alias("u2");
  analytics.track({event: "Object Form", properties: {y: 2}});
  analytics.ready(function () {});
  analytics.reset();
  analytics.screen("Home");
  analytics.load("key-1", {runtime: "mpy", apiHost: "%s/v1"});
""" % ORIGIN
NORMALISE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"), "<iso>"),
    (re.compile(r"\b1\d{12}\b"), "<ms>"),
]


def normalise(value):
    """Ids and times made at run time as tokens; everything else as it was."""
    if isinstance(value, dict):
        return {normalise(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        if value.startswith(("{", "[")):  # JSON kept as text (localStorage)
            try:
                return ["<json>", normalise(json.loads(value))]
            except ValueError:
                pass
        for pattern, token in NORMALISE:
            value = pattern.sub(token, value)
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 1e12:
        return "<ms>"
    return value


def snippet_forms():
    readable = (ROOT / "web" / "snippet.js").read_text()
    readable = LOADER_LINE.sub(lambda m: 'var LOADER = "%spyajs.js", INTEGRITY = "%s";' % (
        CDN, INTEGRITY), readable)
    return {"readable": readable, "minified": minify_js(readable).rstrip("\n")}


def run(browser, source: str) -> dict:
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    html = ("<!doctype html><html><head><title>shop</title><script>%s</script></head>"
            "<body>x</body></html>" % source)
    context.route(ORIGIN + "/page.html?utm_source=ad",
                  lambda route: route.fulfill(status=200, content_type="text/html", body=html))

    def collector(route):
        try:
            route.fulfill(status=200, content_type="application/json", body="{}",
                          headers={"Access-Control-Allow-Origin": "*"})
        except Exception:  # the page-hide of the context's closing
            pass

    context.route(ORIGIN + "/v1/**", collector)
    context.route(CDN + "**", lambda route: route.abort())  # no runtime: only the snippet
    try:
        page.goto(ORIGIN + "/page.html?utm_source=ad")
        page.evaluate("() => { %s }" % CALLS)
        state = page.evaluate("""() => ({
          queue: JSON.parse(JSON.stringify(window.analytics, (k, v) =>
            typeof v === "function" ? "<fn>" : v)),
          stored: Object.fromEntries(Object.entries(localStorage)),
          loader: [...document.querySelectorAll("script[src]")].map((s) =>
            [s.src, s.type, s.crossOrigin, s.integrity]),
          preloads: [...document.querySelectorAll("link")].map((l) =>
            [l.rel, l.href, l.as, l.crossOrigin]),
          keys: Object.keys(window.analytics).sort(),
        })""")
        with page.expect_request(lambda r: r.url.startswith(ORIGIN + "/v1/")) as sent:
            page.evaluate("() => dispatchEvent(new PageTransitionEvent('pagehide'))")
        state["posted"] = [sent.value.url, json.loads(sent.value.post_data)]
        state["errors"] = errors
        return normalise(state)
    finally:
        context.close()


@pytest.fixture(scope="module")
def behaviours(browser):
    return {name: run(browser, source) for name, source in snippet_forms().items()}


def test_the_minified_snippet_behaves_like_the_readable_one(behaviours):
    readable, minified = behaviours["readable"], behaviours["minified"]
    assert minified == readable


def test_what_the_snippet_did_is_not_nothing(behaviours):
    """The comparison above means something: the calls were kept, the loader was added with
    the build's URL and hash, and the page-hide batch went out."""
    state = behaviours["minified"]
    assert [entry[0] for entry in state["queue"]] == [
        "setAnonymousId", "identify", "track", "page", "group", "alias", "track", "ready",
        "reset", "screen"]
    assert state["loader"] == [[CDN + "pyajs.js", "module", "anonymous", INTEGRITY]]
    assert [p[0] for p in state["preloads"]] == ["modulepreload", "preload", "preload"]
    assert state["errors"] == []
    url, batch = state["posted"]
    assert url == ORIGIN + "/v1/batch"
    assert batch["writeKey"] == "key-1"
    assert [e["type"] for e in batch["batch"]] == [
        "identify", "track", "page", "group", "alias", "track", "screen"]
