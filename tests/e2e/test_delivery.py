"""Delivery that loses nothing, proven against the real collector with injected faults:
5xx storms, 429 with Retry-After, offline, a hanging request and a reload, a navigation
right after track(), a full localStorage, and a soak under random faults."""

import json
import time

from tests.e2e.conftest import WRITE_KEY, to_ms


def queued_ids(page) -> list:
    return [k.split(":", 3)[3] for k in page.storage() if k.startswith("pyajs:q:")]


def test_5xx_storm_every_event_arrives_once(page):
    page.open()
    page.load()
    page.server.fault(mode="status", status=503, count=6)
    page.js("for (let i = 0; i < 3; i++) analytics.track('Storm ' + i)")
    events = page.server.wait_events(3, timeout=30)
    assert sorted(e["event"] for e in events) == ["Storm 0", "Storm 1", "Storm 2"]
    assert len({e["messageId"] for e in events}) == 3
    rows = page.server.rows()
    assert any(r["retryCount"] for r in rows)  # the X-Retry-Count header of the retries
    page.pw.wait_for_function("!Object.keys(localStorage).some(k => k.startsWith('pyajs:q:'))")
    assert page.server.stats()["faults_injected"] >= 6


def test_429_retry_after_is_honoured(page):
    page.open()
    page.load()
    page.server.fault(mode="status", status=429, retryAfter=2, count=1)
    called = page.js("(() => { const t = Date.now(); analytics.track('Limited'); return t; })()")
    events = page.server.wait_events(1, timeout=20)
    assert events[0]["event"] == "Limited"
    row = page.server.rows()[0]
    waited = to_ms(row["receivedAt"]) - called
    assert waited >= 2000, waited
    assert str(row["retryCount"]) == "1"
    assert to_ms(events[0]["timestamp"]) - called < 100  # the original timestamp is kept


def test_offline_calls_arrive_after_going_online(page):
    page.open()
    page.load()
    page.pw.context.set_offline(True)
    assert page.js("navigator.onLine") is False
    page.js("analytics.track('Offline 1'); analytics.identify('off-user'); "
            "analytics.track('Offline 2')")
    page.pw.wait_for_timeout(5000)  # the scenario: five seconds without a network
    assert page.server.events() == []
    assert len(queued_ids(page)) == 3  # kept in localStorage meanwhile
    page.pw.context.set_offline(False)
    events = page.server.wait_events(3)
    assert sorted(e.get("event") or e["type"] for e in events) == [
        "Offline 1", "Offline 2", "identify"]


def test_offline_events_are_stored_whole_whatever_their_text(page):
    """Events are written to localStorage in one joined text (a control character between
    keys and values); an event whose key holds that character, or odd text, is stored too."""
    page.open()
    page.load()
    page.pw.context.set_offline(True)
    page.js("analytics.track('Odd \\u0001 \\u0000 é \"q\"', {s: '\\u0001\\n'}); "
            "analytics.track('Key', {}, {messageId: 'mid\\u0001x'})")
    page.pw.wait_for_function(
        "Object.keys(localStorage).filter(k => k.startsWith('pyajs:q:')).length === 2")
    stored = {k: json.loads(v) for k, v in page.storage().items() if k.startswith("pyajs:q:")}
    by_event = {v["e"]["event"]: (k, v) for k, v in stored.items()}
    key, entry = by_event["Odd \u0001 \u0000 é \"q\""]
    assert entry["e"]["properties"] == {"s": "\u0001\n"}
    assert key == "pyajs:q:" + WRITE_KEY + ":" + entry["e"]["messageId"]
    assert by_event["Key"][0].endswith(":mid\u0001x")
    page.pw.context.set_offline(False)
    events = page.server.wait_events(2)
    assert sorted(e["event"] for e in events) == ["Key", "Odd \u0001 \u0000 é \"q\""]


def test_hanging_request_then_reload_same_message_id_arrives(page):
    page.open()
    page.load()
    page.server.fault(mode="stall", seconds=20, count=1)
    with page.pw.expect_request(lambda r: r.url.endswith("/v1/t")):
        page.js("analytics.track('Hanging')")
    (mid,) = queued_ids(page)
    page.reload()
    events = page.server.wait_events(1, timeout=30)
    assert [e["messageId"] for e in events] == [mid]
    assert events[0]["event"] == "Hanging"
    page.pw.wait_for_function("!Object.keys(localStorage).some(k => k.startsWith('pyajs:q:'))")


def test_track_then_immediate_navigation_arrives(page):
    page.open()
    page.load()
    page.js("analytics.track('Leaving'); location.href = '/e2e.html?next=1'")
    page.pw.wait_for_url("**/e2e.html?next=1")
    (event,) = page.server.wait_events(1)
    assert event["event"] == "Leaving"


def test_full_localstorage_keeps_working_and_site_data_untouched(page):
    page.open()
    page.js("""
      const chunk = 'x'.repeat(512 * 1024);
      for (let i = 0; ; i++) {
        try { localStorage.setItem('site-' + i, chunk); } catch (e) { break; }
      }
      let small = 'y'.repeat(16 * 1024), n = 0;
      while (small.length) {
        try { localStorage.setItem('site-tail-' + (n++), small); }
        catch (e) { small = small.slice(0, small.length >> 1); }
      }
    """)
    before = page.js("JSON.stringify(Object.entries(localStorage).sort())")
    page.load(after="analytics.identify('full-user', {a: 1}); analytics.track('Full')")
    events = page.server.wait_events(2)
    assert sorted(e.get("event") or e["type"] for e in events) == ["Full", "identify"]
    site = page.js("""JSON.stringify(Object.entries(localStorage)
                      .filter(([k]) => k.startsWith('site-')).sort())""")
    assert json.loads(site) == [kv for kv in json.loads(before) if kv[0].startswith("site-")]
    assert page.js("analytics.user().id()") == "full-user"


def test_soak_1000_events_under_random_faults_and_reloads(page):
    page.open()
    page.load()
    page.server.fault(mode="random", rate=0.25, statuses=[500, 503, 429, "drop"],
                      retryAfter=1, count=5000, seed=7)
    started = time.monotonic()
    sent = 0
    for burst in (400, 350, 250):
        page.js("([from, n]) => { for (let i = from; i < from + n; i++) "
                "analytics.track('Soak', {i}); }", [sent, burst])
        sent += burst
        if sent < 1000:
            page.reload()  # whatever was not acknowledged yet goes on from the next page
    events = page.server.wait_events(1000, timeout=240)
    ids = [e["messageId"] for e in events]
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert sorted(e["properties"]["i"] for e in events) == list(range(1000))
    stats = page.server.stats()
    print("soak: %d events, %d duplicates absorbed, %d faults, %.1f s" % (
        len(ids), stats["duplicates"], stats["faults_injected"], time.monotonic() - started))


def test_two_tabs_never_send_the_same_stored_event_twice(page):
    page.open()
    page.load()
    page.pw.route("**/v1/**", lambda route: route.abort())  # this tab cannot reach the collector
    page.js("for (let i = 0; i < 5; i++) analytics.track('Orphan ' + i)")
    page.pw.wait_for_function(
        "Object.keys(localStorage).filter(k => k.startsWith('pyajs:q:')).length === 5")
    stored = sorted(queued_ids(page))
    page.pw.close(run_before_unload=True)  # pagehide: its events become orphans
    duplicates_before = page.server.stats()["duplicates"]  # the counter is server-wide
    tabs = []
    for _ in range(2):  # two more tabs of the site, the second while the first is sending
        other = page.pw.context.new_page()
        other.goto(page.server.base + "/e2e.html")
        other.evaluate("(runtime) => { analytics.load('pyajs-e2e-key', {runtime}); "
                       "analytics.ready(() => { window.__ready = true; }) }", page.runtime)
        other.wait_for_function("window.__ready === true", timeout=120_000)
        tabs.append(other)
    events = page.server.wait_events(5, timeout=30)
    assert sorted(e["messageId"] for e in events) == stored
    tabs[0].wait_for_function("!Object.keys(localStorage).some(k => k.startsWith('pyajs:q:'))")
    assert page.server.stats()["duplicates"] == duplicates_before  # none sent by both tabs


def test_a_refused_event_is_dropped_with_a_warning_and_an_error_event(page):
    page.open()
    page.load()
    page.js("window.errs = []; analytics.on('error', (e) => window.errs.push(e))")
    requests_before = page.server.stats()["requests"]
    page.server.fault(mode="status", status=400, count=1)
    page.js("analytics.track('Refused')")
    page.pw.wait_for_function("window.errs.length === 1")
    err = page.js("window.errs[0]")
    assert err["code"] == "delivery_failure" and "HTTP 400" in err["reason"]
    assert err["event"]["event"] == "Refused"
    assert any("was dropped" in w and "HTTP 400" in w for w in page.warnings())
    page.js("analytics.track('Next')")
    (event,) = page.server.wait_events(1)
    assert event["event"] == "Next"
    assert page.server.stats()["requests"] == requests_before + 2  # no retry of the 400
    assert queued_ids(page) == []


def test_batching_posts_to_batch_and_refuses_an_oversized_event(page):
    page.open()
    page.load({"integrations": {"Segment.io": {
        "deliveryStrategy": {"strategy": "batching", "config": {"size": 3, "timeout": 1000}}}}})
    requests_before = page.server.stats()["requests"]
    page.js("""analytics.track('B1'); analytics.track('Huge', {blob: 'x'.repeat(40000)});
               analytics.track('B2'); analytics.track('B3'); analytics.track('B4')""")
    events = page.server.wait_events(4)
    assert sorted(e["event"] for e in events) == ["B1", "B2", "B3", "B4"]
    rows = page.server.rows()
    assert {r["path"] for r in rows} == {"/v1/batch"}
    assert page.server.stats()["requests"] - requests_before == 2  # 3 events, then 1 by timer
    assert any("over the 32 KB limit" in w and "Huge" in w for w in page.warnings())
