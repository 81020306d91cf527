"""Consent in the page (both runtimes): before pyajs's category is granted nothing of
pyajs's is in cookies or localStorage and nothing goes to apiHost, not even the snippet's
copy of the calls made before ready or its send when the page is left; granting persists
the identity and sends what waited; withdrawing removes it all; across reloads."""

import pytest

CATEGORY = "Analytics"


def ours(page) -> list:
    """pyajs's keys in the real cookie jar and localStorage."""
    names = list(page.cookies()) + list(page.storage())
    return sorted(n for n in names if n.startswith(("ajs_", "pyajs:")))


def record_api_requests(page) -> list:
    seen = []
    page.pw.on("request", lambda r: seen.append(r.url) if "/v1/" in r.url else None)
    return seen


def consent(granted: bool, **more) -> dict:
    return {"consent": dict({"categories": {CATEGORY: granted, "Advertising": True}}, **more)}


@pytest.mark.e2e
def test_a_visitor_who_never_consents_leaves_nothing_and_sends_nothing(page):
    api = record_api_requests(page)
    page.open()
    # calls before ready, the snippet's copy of them, and its send when the page is left
    before = page.js("""([opts]) => {
        analytics.load('pyajs-e2e-key', opts);
        analytics.identify('u-1', {plan: 'pro'});
        analytics.track('Before Ready');
        dispatchEvent(new Event('pagehide'));
        return Object.keys(localStorage);
    }""", [dict(consent(False), runtime=page.runtime)])
    assert [k for k in before if k.startswith(("ajs_", "pyajs:"))] == []
    page.pw.wait_for_function("window.analytics.initialized === true", timeout=120_000)
    done = page.js("""() => new Promise((resolve) => {
        analytics.page();
        analytics.group('g-1', {size: 3});
        analytics.track('After Ready', {}, {}, () => resolve(analytics.user().id()));
    })""")
    assert done == "u-1"  # the identity lives in the page's memory
    page.reload(consent(False))  # the queue would be claimed here: there is none
    page.js("() => new Promise((r) => analytics.track('Second Page', {}, {}, r))")
    assert ours(page) == []
    assert api == [] and page.server.events() == []


@pytest.mark.e2e
def test_grant_withdraw_and_grant_again_across_reloads(page):
    api = record_api_requests(page)
    page.open()
    page.load(consent(False), before="analytics.track('Waited')")
    assert ours(page) == []
    page.js("analytics.consent({Analytics: true})")
    events = page.server.wait_events(2)
    assert sorted(e.get("event") for e in events) == [
        "Segment Consent Preference Updated", "Waited"]
    anon = events[0]["anonymousId"]
    for e in events:
        assert e["context"]["consent"] == {
            "categoryPreferences": {"Analytics": True, "Advertising": True}}
        assert e["anonymousId"] == anon
    assert page.js("analytics.user().anonymousId()") == anon
    assert "ajs_anonymous_id" in page.cookies() and "ajs_anonymous_id" in page.storage()

    page.reload(consent(True))  # the site's consent platform now says yes at load
    assert page.js("analytics.user().anonymousId()") == anon
    page.js("analytics.identify('u-1', {plan: 'pro'})")
    page.server.wait_events(3)
    assert "ajs_user_id" in page.cookies()

    page.js("analytics.consent({Analytics: false})")  # withdrawn
    assert ours(page) == []
    page.js("() => new Promise((r) => analytics.track('Withdrawn', {}, {}, r))")
    assert ours(page) == []
    page.reload(consent(False))
    assert ours(page) == []
    sent = len(api)

    page.reload(consent(True))  # granted again: a new visitor
    page.js("analytics.track('Again')")
    again = page.server.wait_events(4)[-1]
    assert again.get("event") == "Again"
    assert again["anonymousId"] != anon and again.get("userId") is None
    assert "ajs_anonymous_id" in page.cookies()
    names = [e.get("event") or e["type"] for e in page.server.events()]
    assert "Withdrawn" not in names
    assert len(api) > sent


@pytest.mark.e2e
def test_anonymous_mode_sends_without_storing(page):
    page.open()
    page.load(consent(False, mode="anonymous"),
              before="analytics.identify('u-1'); analytics.track('Anonymous')")
    (event,) = page.server.wait_events(1)
    assert event["event"] == "Anonymous" and event.get("userId") is None
    assert ours(page) == []
    page.js("analytics.consent({Analytics: true})")
    events = page.server.wait_events(3)
    assert sorted(e.get("event") or e["type"] for e in events) == [
        "Anonymous", "Segment Consent Preference Updated", "identify"]
    (identify,) = [e for e in events if e["type"] == "identify"]
    # what went before consent has an id of that page only
    assert identify["userId"] == "u-1" and identify["anonymousId"] != event["anonymousId"]
    assert page.js("analytics.user().anonymousId()") == identify["anonymousId"]
    assert page.cookie("ajs_user_id") is not None
    assert page.js("analytics.consent()") == {"Analytics": True, "Advertising": True}


@pytest.mark.e2e
def test_demo_consent_banner(page):
    page.open("/demo.html?consent=ask&runtime=" + page.runtime)
    page.pw.wait_for_selector("#status[data-state=ready]", timeout=120_000)
    page.pw.wait_for_selector("#consent-banner:not([hidden])")
    page.pw.click("#btn-track")
    page.pw.wait_for_function(
        "document.querySelector('#last-action').textContent.startsWith('analytics.track')")
    assert ours(page) == []
    shown = page.pw.locator("#cookies tr[data-testid=cookie], #storage tr[data-testid="
                            "storage-entry]").evaluate_all("rows => rows.map(r => r.dataset."
                                                           "name || r.dataset.key)")
    assert [n for n in shown if n.startswith(("ajs_", "pyajs:"))] == []
    page.pw.click("#btn-consent-accept")
    page.pw.wait_for_selector("#cookies tr[data-name=ajs_anonymous_id]")
    assert page.pw.locator("#consent-banner").is_hidden()
    assert page.storage()["demo-consent"] == "yes"
    events = page.server.wait_events(3)  # the page call, the track, the consent update
    assert {e.get("event") or e["type"] for e in events} == {
        "page", "Button Clicked", "Segment Consent Preference Updated"}


PY_CONSENT = """
import js
from pyajs import analytics

analytics.track("From Python")
before = analytics.consent()
try:
    analytics.consent(["Analytics"])
except TypeError as exc:
    js.window.pyError = str(exc)
js.window.pyBefore = before.get("Analytics")
analytics.consent({"Analytics": True})
js.window.pyDone = True
"""


@pytest.mark.e2e
def test_consent_from_the_pages_python(page):
    page.open()
    page.js("""([opts, code]) => {
        analytics.load('pyajs-e2e-key', opts);
        const s = document.createElement('script');
        s.type = opts.runtime;
        s.textContent = code;
        document.body.appendChild(s);
    }""", [dict(consent(False), runtime=page.runtime, pyscript=True), PY_CONSENT])
    page.pw.wait_for_function("window.pyDone === true", timeout=120_000)
    assert page.js("window.pyBefore") is False
    assert "categories must be a dict" in page.js("window.pyError")
    events = page.server.wait_events(2)
    assert sorted(e["event"] for e in events) == [
        "From Python", "Segment Consent Preference Updated"]
    assert all(e["context"]["consent"]["categoryPreferences"]["Analytics"] for e in events)
    assert page.cookie("ajs_anonymous_id") is not None


@pytest.mark.e2e
def test_consent_given_before_ready(page):
    page.open()
    page.load(consent(False), after="analytics.track('Early'); "
              "window.__refused = Object.keys(localStorage); "
              "analytics.consent({Analytics: true}); "
              "window.__granted = Object.keys(localStorage)")
    copies = [[k for k in page.js(name) if k.startswith("pyajs:b:")]
              for name in ("window.__refused", "window.__granted")]
    assert copies[0] == [] and len(copies[1]) == 1  # the snippet's copy once agreed
    events = page.server.wait_events(2)
    assert sorted(e["event"] for e in events) == ["Early", "Segment Consent Preference Updated"]
    assert page.cookie("ajs_anonymous_id") is not None
