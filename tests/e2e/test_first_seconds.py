"""The visitor's first seconds: calls made before Python is ready reach the collector exactly
once, with their call-time timestamp, whatever happens to the page before ready (it is left
at any moment, closed, crashes, has no working localStorage, is on a slow network), and
whether or not the visitor comes back. The snippet keeps each call in localStorage and sends
the buffered events itself when the page is hidden or left; pyajs sends the copies a page
left behind; the collector deduplicates by messageId, so nothing is stored twice."""


import json

import pytest

from tests.e2e.conftest import BOOT_TIMEOUT_MS, ISO_MS_RE, UUID4, WRITE_KEY, Page, to_ms

# the calls of a visit: load() first, as Segment's snippet does, then the page's own calls
VISIT = """([key, opts, leaveMs]) => {
  const at = {};  // name → [before, after] the call
  const call = (name, fn) => { const t = Date.now(); fn(); at[name] = [t, Date.now()]; };
  analytics.load(key, opts);
  call('Landing', () => analytics.page('Landing'));
  call('X', () => analytics.track('X', {n: 1}));
  call('identify', () => analytics.identify('u-first', {plan: 'a'}));
  call('Y', () => analytics.track('Y'));
  if (leaveMs !== null) setTimeout(() => { location.href = 'about:blank'; }, leaveMs);
  return at;
}"""
CALLED = 4
MID = r"^pyajs-\d{13}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def name_of(event) -> str:
    return event.get("event") or event.get("name") or event["type"]


def visit(page, leave_ms=None) -> dict:
    """Open e2e.html and make the visit's calls; leave ``leave_ms`` after load() (an input
    of the scenario: the guarantee must hold whatever the moment)."""
    page.open()
    return page.js(VISIT, [WRITE_KEY, {"runtime": page.runtime}, leave_ms])


def check_once(server, at: dict, scenario: str, timeout: float = 60) -> list:
    """Every called event is stored exactly once, with its call time as timestamp."""
    events = server.wait_events(CALLED, timeout=timeout)
    print("delivered / called, %s: %d / %d" % (scenario, len(events), CALLED))
    assert sorted(name_of(e) for e in events) == sorted(at), events
    assert len({e["messageId"] for e in events}) == len(events)
    for e in events:
        assert ISO_MS_RE.match(e["timestamp"])
        before, after = at[name_of(e)]
        assert before <= to_ms(e["timestamp"]) <= after, (name_of(e), e["timestamp"], before)
        assert UUID4.match(e["anonymousId"])
    by = {name_of(e): e for e in events}
    assert by["Landing"]["userId"] is None and by["X"]["userId"] is None
    assert by["identify"]["userId"] == "u-first" and by["Y"]["userId"] == "u-first"
    assert len({e["anonymousId"] for e in events}) == 1
    return events


def return_visit(page, runtime=None) -> Page:
    """A new page of the site in the same browser profile, until pyajs is ready there."""
    pw = page.pw.context.new_page()
    other = Page(pw, page.server, runtime or page.runtime)
    other.open()
    other.load()
    return other


def settled(page, other, events: list) -> None:
    """After the replaying page is ready: nothing stored twice, and the copies are gone."""
    other.pw.wait_for_function(
        "!Object.keys(localStorage).some(k => k.startsWith('pyajs:b:') || "
        "k.startsWith('pyajs:q:'))", timeout=BOOT_TIMEOUT_MS)
    now = page.server.events()
    assert len(now) == len(events), [name_of(e) for e in now]
    assert {e["messageId"] for e in now} == {e["messageId"] for e in events}


@pytest.mark.e2e
@pytest.mark.parametrize("leave_ms", [50, 300, 1000, 3000])
def test_leaving_at_any_moment_loses_nothing(page, leave_ms):
    at = visit(page, leave_ms)
    page.pw.wait_for_url("about:blank", timeout=30_000)
    events = check_once(page.server, at, "leave %d ms, %s" % (leave_ms, page.runtime))
    # the visitor comes back (on MicroPython: quick): still once each, same identity kept
    other = return_visit(page, "mpy")
    settled(page, other, events)
    assert other.js("analytics.user().anonymousId()") == events[0]["anonymousId"]
    assert other.js("analytics.user().id()") == "u-first"


@pytest.mark.e2e
def test_closing_the_tab_before_ready_loses_nothing(page):
    at = visit(page)
    page.pw.close()  # the tab goes: pagehide sends what was buffered
    events = check_once(page.server, at, "tab closed, %s" % page.runtime)
    other = return_visit(page, "mpy")
    settled(page, other, events)


@pytest.mark.e2e
def test_a_crash_before_ready_is_sent_by_the_next_page(page):
    at = visit(page)
    crashed = []
    page.pw.on("crash", lambda _: crashed.append(True))
    cdp = page.pw.context.new_cdp_session(page.pw)
    try:  # no pagehide, no event: only the localStorage copies remain
        cdp.send("Page.crash", timeout=2000)
    except Exception:
        pass  # the renderer is gone: it never answers
    assert crashed
    other = return_visit(page)  # the same runtime replays the copies it finds
    events = check_once(page.server, at, "crash, next visit, %s" % page.runtime)
    settled(page, other, events)
    assert {r["path"] for r in page.server.rows()} != {"/v1/batch"}  # sent by pyajs
    assert other.js("analytics.user().id()") == "u-first"  # the identify applied too
    assert other.js("analytics.user().anonymousId()") == events[0]["anonymousId"]


@pytest.mark.e2e
def test_a_lost_keepalive_request_is_covered_by_the_copy_on_return(page):
    page.pw.route("**/v1/batch", lambda route: route.abort())  # what the snippet sends is lost
    at = visit(page, 50)
    page.pw.wait_for_url("about:blank", timeout=30_000)
    other = return_visit(page)
    events = check_once(page.server, at, "keepalive lost, next visit, %s" % page.runtime)
    settled(page, other, events)
    assert other.js("analytics.user().id()") == "u-first"


@pytest.mark.e2e
def test_without_working_localstorage_leaving_still_sends_once(page):
    page.pw.context.add_init_script(
        "Storage.prototype.setItem = function () {"
        " throw new DOMException('quota exceeded', 'QuotaExceededError'); };")
    at = visit(page, 300)
    page.pw.wait_for_url("about:blank", timeout=30_000)
    events = check_once(page.server, at, "localStorage throwing, leave 300 ms, %s"
                        % page.runtime)
    other = return_visit(page, "mpy")
    other.pw.wait_for_function("window.__ready === true")
    assert len(page.server.events()) == len(events)
    # the anonymous id the snippet made went to a cookie: pyajs keeps it
    assert other.js("analytics.user().anonymousId()") == events[0]["anonymousId"]


@pytest.mark.e2e
def test_a_throttled_first_visit_loses_nothing(page):
    """Lighthouse's slow 4G (1.6 Mbit/s down, 750 kbit/s up, 150 ms latency) from the first
    request: the visitor leaves after a second, long before Pyodide could be ready."""
    cdp = page.pw.context.new_cdp_session(page.pw)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8,
        "uploadThroughput": 750_000 / 8})
    at = visit(page, 1000)
    page.pw.wait_for_url("about:blank", timeout=60_000)
    events = check_once(page.server, at, "throttled, leave 1 s, %s" % page.runtime)
    other = return_visit(page, "mpy")
    settled(page, other, events)


@pytest.mark.e2e
def test_head_calls_are_replayed_before_the_pages_python_and_keep_their_identity(page):
    sent = []
    page.pw.on("request", lambda r: sent.append(json.loads(r.post_data))
               if "/v1/" in r.url and r.method == "POST" else None)
    page.open("/e2e-order.html?runtime=" + page.runtime)
    page.pw.wait_for_function("window.pyDone === true", timeout=BOOT_TIMEOUT_MS)
    events = page.server.wait_events(4, timeout=60)
    by = {name_of(e): e for e in events}
    assert by["Head"]["userId"] is None and by["Head Track"]["userId"] is None
    assert by["identify"]["userId"] == "py-user" and by["From Python"]["userId"] == "py-user"
    assert len({e["anonymousId"] for e in events}) == 1
    bodies = [e for body in sent for e in body.get("batch", [body])]
    assert [name_of(e) for e in bodies] == ["Head", "Head Track", "identify", "From Python"]
    assert to_ms(by["Head"]["timestamp"]) <= to_ms(by["identify"]["timestamp"])


# Segment's argument forms, options and page state; each call once through the snippet's own
# sending (the page is hidden before Python is ready) and once through Python
SAME_CALLS = """([key, opts]) => {
  document.head.insertAdjacentHTML('beforeend',
    '<link rel="canonical" href="https://www.example.test/canonical/page">');
  document.title = 'Equal Fields';
  analytics.load(key, opts);
  analytics.page();
  analytics.page('Docs', 'Install', {extra: 1, title: 'Props Title'}, {context: {ip: '1.2.3.4'}});
  analytics.track('Clicked', {id: 3, nested: {a: [1, 2.5, null]}, when: new Date(0)},
                  {integrations: {Amplitude: false}, timestamp: 1700000000123});
  analytics.track({event: 'Object Form', properties: {x: 1}},
                  {context: {page: {title: 'Override'}}, traits: {t: 1}});
  analytics.identify('u-eq', {plan: 'pro'});
  analytics.identify({email: 'a@b.test'}, () => {}, {ignored: true});
  analytics.track('After Identify', {}, {anonymousId: 'anon-option'});
  analytics.group('g1', {size: 5});
  analytics.group({tier: 'gold'});
  analytics.alias('u-new');
  analytics.alias(42, 'u-eq');
  analytics.screen('Home', {s: 1});
  analytics.page('Solo', {p: 1}, {messageId: 'custom-message-id-1'});
  analytics.track('Unicode \u2713 \u00e9', {text: '\u2603 "q"'});
  analytics.track('Bad Options', {a: 1}, 'not options');
  analytics.reset();
  analytics.track('After Reset');
  // the page is hidden before Python is ready: the snippet sends all of them now
  Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
  delete document.visibilityState;
}"""


@pytest.mark.e2e
def test_what_the_snippet_sends_equals_what_python_sends(page):
    by_snippet = []

    def lost(route):  # what the snippet sent is kept here and lost: Python sends the calls
        by_snippet.extend(json.loads(route.request.post_data)["batch"])
        route.abort()

    page.pw.route("**/v1/batch", lost)
    page.open("/e2e.html?utm_source=news+letter&utm_campaign=spring%20sale&x=1")
    page.js(SAME_CALLS, [WRITE_KEY, {"runtime": page.runtime, "integrations": {
        "Mixpanel": {}, "Intercom": {"appId": "x"}, "Hotjar": False}}])
    page.pw.wait_for_function("analytics.initialized === true", timeout=BOOT_TIMEOUT_MS)
    by_python = page.server.wait_events(len(by_snippet), timeout=60)
    assert len(by_snippet) == 16 and len(by_python) == 16
    python = {e["messageId"]: e for e in by_python}
    differ = {}
    for sent in by_snippet:
        mine = dict(python[sent["messageId"]])
        mine.pop("sentAt")
        keys = [k for k in set(sent) | set(mine) if sent.get(k) != mine.get(k)]
        if keys:
            differ[name_of(sent)] = {k: (sent.get(k), mine.get(k)) for k in keys}
    assert differ == {}
    # the anonymous ids the snippet made (at first, and after the reset) are the ones pyajs
    # adopted and keeps
    assert python["custom-message-id-1"]["anonymousId"] == "anon-option"
    first, last = by_snippet[0]["anonymousId"], by_snippet[-1]["anonymousId"]
    assert UUID4.match(first) and UUID4.match(last) and len({first, last, "anon-option"}) == 3
    assert page.js("analytics.user().anonymousId()") == last
