"""The demo page a new user sees first: it boots, shows the identity live as it changes,
and shows user-supplied event text as text."""

import json


def test_demo_shows_identity_and_events_live(page):
    page.open("/demo.html?runtime=" + page.runtime)
    page.pw.wait_for_selector("#status[data-state=ready]", timeout=60_000)
    # the subtitle names the runtime the page really runs
    assert page.pw.text_content("#runtime") == {"py": "Pyodide", "mpy": "MicroPython"}[
        page.runtime]
    page.pw.wait_for_selector("#events li[data-type=page]")  # the page() buffered before ready
    anon = page.js("analytics.user().anonymousId()")
    page.pw.wait_for_function("(a) => document.querySelector('#anonymous-id').textContent === a",
                              arg=anon)
    page.pw.fill("#identify-user-id", "alice")
    page.pw.fill("#identify-traits", '{"plan": "pro"}')
    page.pw.click("#btn-identify")
    page.pw.wait_for_function("document.querySelector('#user-id').textContent === 'alice'")
    assert json.loads(page.pw.text_content("#user-traits")) == {"plan": "pro"}
    cookie_row = page.pw.text_content("#cookies tr[data-name=ajs_user_id] .value")
    assert cookie_row == "%22alice%22"
    page.pw.fill("#track-event", "<img src=x onerror=alert(1)>")
    page.pw.click("#btn-track")
    item = page.pw.wait_for_selector("#events li[data-type=track]")
    assert item.query_selector(".ev-name").text_content() == "<img src=x onerror=alert(1)>"
    assert page.pw.query_selector("#events img") is None
    page.pw.fill("#identify-traits", "{oops")
    page.pw.click("#btn-identify")
    assert page.pw.text_content("#identify-error").strip()
    page.pw.fill("#identify-traits", '{"plan": "team"}')  # fixed: the message goes
    assert page.pw.is_hidden("#identify-error")
    page.pw.click("#btn-reset")
    page.pw.wait_for_function("document.querySelector('#user-id').textContent === 'null'")
    assert page.pw.text_content("#anonymous-id") != anon
    assert not [t for t in page.console if t[0] == "error"], page.console
