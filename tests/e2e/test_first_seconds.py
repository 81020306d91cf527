"""The visitor's first seconds: calls made before Python is ready reach the collector exactly
once, with their call-time timestamp, whatever happens to the page before ready (it is left
at any moment, closed, crashes, has no working localStorage, is on a slow network), and
whether or not the visitor comes back. The snippet keeps each call in localStorage and sends
the buffered events itself when the page is hidden or left; pyajs sends the copies a page
left behind; the collector deduplicates by messageId, so nothing is stored twice."""


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
DELIVERED = {}  # scenario → (delivered, called), printed at the end of the session


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
    DELIVERED[scenario] = (len(events), CALLED)
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
