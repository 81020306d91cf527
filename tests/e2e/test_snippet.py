"""The snippet contract: calls made before Python is ready are kept, with their page and call
time, and replayed (setAnonymousId and on first, then in call order); afterwards
``window.analytics`` is the live library."""

import time

from tests.e2e.conftest import BOOT_TIMEOUT_MS, ISO_MS_RE, WRITE_KEY, to_ms


def test_buffered_calls_keep_call_time_page_and_order(page):
    page.open("/e2e.html?from=snippet")
    page.js("""
      window.calledAt = Date.now();
      analytics.track('A');
      analytics.identify('u1');
      analytics.track('B');
      history.replaceState(null, '', '/e2e.html?moved=1');
      document.title = 'Moved';
      analytics.track('C');
    """)
    called_at = page.js("window.calledAt")
    time.sleep(0.3)  # let real time pass so replay time differs from call time
    page.load()
    ready_at = page.js("Date.now()")
    events = page.server.wait_events(4)
    by_name = {e.get("event") or e["type"]: e for e in events}
    for name in ("A", "B", "C", "identify"):
        ts = to_ms(by_name[name]["timestamp"])
        assert called_at <= ts <= called_at + 200, (name, ts - called_at)
        assert ts < ready_at
    assert by_name["A"]["userId"] is None  # built in call order, before identify
    assert by_name["B"]["userId"] == "u1"
    assert by_name["A"]["context"]["page"]["search"] == "?from=snippet"
    assert by_name["C"]["context"]["page"]["search"] == "?moved=1"
    assert by_name["C"]["context"]["page"]["title"] == "Moved"
    assert ISO_MS_RE.match(by_name["C"]["timestamp"])


def test_on_listeners_buffered_before_ready_see_the_replayed_events(page):
    page.open()
    page.load(before="window.seen = []; analytics.track('Early');"
              "analytics.on('track', (name) => window.seen.push(name))")
    page.pw.wait_for_function("window.seen.length === 1")
    assert page.js("window.seen") == ["Early"]


def test_live_analytics_after_ready(page):
    page.open()
    page.js("window.stub = window.analytics")
    page.load()
    assert page.js("analytics.initialized") is True
    assert page.js("Array.isArray(window.analytics)") is False
    assert page.js("typeof analytics.VERSION") == "string"
    page.js("window.stub.track('Via Old Stub')")  # a saved stub reference forwards
    (e,) = page.server.wait_events(1)
    assert e["event"] == "Via Old Stub"


def test_ready_callbacks_before_and_after_load(page):
    """As Analytics.js: the callback gets one argument (its plugins' ready results: a list),
    runs after the ready() call returns even when already ready, and ready() answers a
    Promise of that argument."""
    page.open()
    page.load(before="window.order = []; analytics.ready(function () {"
              " window.order.push(['early', arguments.length, Array.isArray(arguments[0])]); })")
    late = page.js("""async () => {
      let inside = true;
      const answer = analytics.ready(function () {
        window.order.push(['late', arguments.length, Array.isArray(arguments[0]), inside]);
      });
      inside = false;
      const res = await answer;
      return [answer instanceof Promise, Array.isArray(res)];
    }""")
    assert late == [True, True]
    assert page.js("window.order") == [["early", 1, True], ["late", 1, True, False]]


MPY_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>own MicroPython</title><link rel="icon" href="data:,">
<script type="mpy" config='{"interpreter": "/vendor/micropython/1.27.0/micropython.mjs",
    "files": {"/pyajs/pyajs-mpy.zip": "./*"}}'>
import js
from pyajs import analytics
analytics.track("From Page MicroPython")
js.window.__pageDone = True
</script>
<script src="/snippet.js"></script>
<script>analytics.load("%s", {runtime: "mpy"});</script>
</head><body></body></html>
"""


def test_no_direct_micropython_preload_on_a_page_running_its_own(browser, server):
    """``runtime: "mpy"`` on a page with its own ``<script type="mpy">``: pyajs joins the
    page's PyScript MicroPython, so the snippet preloads nothing of the direct start (its
    package would never be used)."""
    server.clear()
    context = browser.new_context()
    try:
        page = context.new_page()
        fetched = []
        page.on("request", lambda r: fetched.append(r.url.split("?")[0]))
        url = server.base + "/own-mpy.html"
        page.route(url, lambda route: route.fulfill(body=MPY_PAGE % WRITE_KEY,
                                                    content_type="text/html"))
        page.goto(url)
        page.wait_for_function("window.__pageDone === true", timeout=BOOT_TIMEOUT_MS)
        (event,) = server.wait_events(1)
        assert event["event"] == "From Page MicroPython"
        assert page.evaluate("document.querySelectorAll('link[rel$=preload]').length") == 0
        assert server.base + "/pyajs/pyajs.mpk" not in fetched, fetched
    finally:
        context.close()
