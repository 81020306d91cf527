"""Events as the collector receives them: Segment's fields for every type, the request
format (path, content type, Basic auth, writeKey), options rules 7 and 8, the argument
forms, and bad input that is reported while the other calls go on."""

import base64
import json
import re

from tests.e2e.conftest import WRITE_KEY

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def by(events, key, value):
    return [e for e in events if e.get(key) == value]


def test_every_event_type_in_segment_shape(page):
    page.open("/e2e.html?utm_source=news&utm_campaign=fall+sale&utm_medium=email&x=1")
    page.load()
    page.js("""
      analytics.page('Docs', 'Install', {extra: true});
      analytics.track('Bought', {price: 9.5}, {integrations: {Mixpanel: false}});
      analytics.identify('u1', {email: 'a@b.test'});
      analytics.group('g1', {name: 'Acme'});
      analytics.alias('u1-new');
      analytics.screen('Home');
    """)
    events = page.server.wait_events(6)
    types = sorted(e["type"] for e in events)
    assert types == ["alias", "group", "identify", "page", "screen", "track"]
    anon = page.js("analytics.user().anonymousId()")
    for e in events:
        assert ISO_MS.match(e["timestamp"]) and ISO_MS.match(e["sentAt"])
        assert e["messageId"].startswith("pyajs-")
        assert e["writeKey"] == WRITE_KEY
        assert e["anonymousId"] == anon
        ctx = e["context"]
        assert ctx["library"]["name"] == "pyajs" and ctx["library"]["version"]
        assert ctx["page"]["path"] == "/e2e.html"
        assert ctx["page"]["search"].startswith("?utm_source=news")
        assert ctx["page"]["title"] == "pyajs e2e fixture"
        assert ctx["page"]["url"].endswith("/e2e.html" + ctx["page"]["search"])
        assert ctx["userAgent"] == page.js("navigator.userAgent")
        assert ctx["locale"] == page.js("navigator.language")
        assert ctx["timezone"] == page.js("Intl.DateTimeFormat().resolvedOptions().timeZone")
        assert ctx["campaign"] == {"source": "news", "name": "fall sale", "medium": "email"}
    (p,) = by(events, "type", "page")
    assert (p["category"], p["name"]) == ("Docs", "Install")
    assert p["properties"]["extra"] is True and p["properties"]["category"] == "Docs"
    assert p["properties"]["name"] == "Install" and p["properties"]["path"] == "/e2e.html"
    (t,) = by(events, "type", "track")
    assert t["event"] == "Bought" and t["properties"] == {"price": 9.5}
    assert t["integrations"] == {"Mixpanel": False} and t["userId"] is None
    (i,) = by(events, "type", "identify")
    assert i["userId"] == "u1" and i["traits"] == {"email": "a@b.test"}
    (g,) = by(events, "type", "group")
    assert g["groupId"] == "g1" and g["traits"] == {"name": "Acme"} and g["userId"] == "u1"
    (a,) = by(events, "type", "alias")
    assert a["userId"] == "u1-new" and a["previousId"] == "u1"
    (s,) = by(events, "type", "screen")
    assert s["name"] == "Home"


def test_request_format_path_content_type_and_basic_auth(page):
    requests = []
    page.pw.on("request", lambda r: requests.append(r) if "/v1/" in r.url else None)
    page.open()
    page.load(after="analytics.track('Format'); analytics.identify('u5')")
    page.server.wait_events(2)
    paths = sorted(r.url.rsplit("/", 2)[-2] + "/" + r.url.rsplit("/", 1)[-1] for r in requests)
    assert paths == ["v1/i", "v1/t"]
    expected_auth = "Basic " + base64.b64encode((WRITE_KEY + ":").encode()).decode()
    for r in requests:
        assert r.method == "POST"
        assert r.headers["content-type"].startswith("text/plain")
        assert r.headers["authorization"] == expected_auth
        assert json.loads(r.post_data)["writeKey"] == WRITE_KEY
    rows = page.server.rows()
    assert sorted(row["path"] for row in rows) == ["/v1/i", "/v1/t"]


def test_option_traits_go_to_that_event_context_only(page):
    page.open()
    page.load()
    page.js("analytics.identify('u1', {stored: 1})")
    page.js("analytics.track('A', {}, {traits: {vip: true}})")
    page.js("analytics.track('B', {}, {context: {traits: {tier: 'gold'}}})")
    page.js("analytics.track('C')")
    events = page.server.wait_events(4)
    a, b, c = (by(events, "event", n)[0] for n in "ABC")
    assert a["context"]["traits"] == {"vip": True}
    assert b["context"]["traits"] == {"tier": "gold"}
    assert "traits" not in c["context"]
    assert json.loads(page.storage()["ajs_user_traits"]) == {"stored": 1}


def test_context_ip_on_that_event_only(page):
    page.open()
    page.load()
    page.js("analytics.track('With IP', {}, {context: {ip: '0.0.0.0'}}); analytics.track('No IP')")
    events = page.server.wait_events(2)
    assert by(events, "event", "With IP")[0]["context"]["ip"] == "0.0.0.0"
    assert "ip" not in by(events, "event", "No IP")[0]["context"]


def test_options_override_timestamp_message_id_and_context_page(page):
    page.open()
    page.load()
    page.js("""analytics.track('Custom', {}, {timestamp: new Date(Date.UTC(2020, 0, 2)),
        messageId: 'my-mid', context: {page: {title: 'Other'}}, foo: 'bar'})""")
    (e,) = page.server.wait_events(1)
    assert e["timestamp"] == "2020-01-02T00:00:00.000Z"
    assert e["messageId"] == "my-mid"
    assert e["context"]["page"]["title"] == "Other"
    assert e["context"]["page"]["path"] == "/e2e.html"
    assert e["context"]["foo"] == "bar"


def test_canonical_link_and_referrer(page):
    page.open()
    page.js("""
      const l = document.createElement('link'); l.rel = 'canonical';
      l.href = 'https://example.test/docs/start'; document.head.appendChild(l);
    """)
    page.load(after="analytics.page()")
    (e,) = page.server.wait_events(1)
    assert e["context"]["page"]["path"] == "/docs/start"
    assert e["context"]["page"]["url"] == "https://example.test/docs/start"
    assert e["properties"]["url"] == "https://example.test/docs/start"


def test_segment_argument_forms(page):
    page.open()
    page.load()
    page.js("""
      analytics.page('Just Name');
      analytics.page({title: 'Props Only'});
      analytics.page('Cat', 'Nm', {k: 1}, {context: {ip: '1.1.1.1'}});
      analytics.track({event: 'Object Form', properties: {p: 1}}, {context: {ip: '2.2.2.2'}});
      analytics.identify('u1');
      analytics.identify({only: 'traits'});
      analytics.identify(42, {n: true});
      analytics.alias('to-id', 'from-id');
    """)
    events = page.server.wait_events(8)
    pages = by(events, "type", "page")
    assert {p.get("name") for p in pages} == {"Just Name", None, "Nm"}
    assert [p for p in pages if p["properties"].get("title") == "Props Only"]
    cat = [p for p in pages if p.get("name") == "Nm"][0]
    assert cat["category"] == "Cat" and cat["properties"]["k"] == 1
    assert cat["context"]["ip"] == "1.1.1.1"
    obj = by(events, "event", "Object Form")[0]
    assert obj["properties"] == {"p": 1} and obj["context"]["ip"] == "2.2.2.2"
    ids = by(events, "type", "identify")
    assert [e["userId"] for e in ids].count("u1") == 2  # identify({...}) kept the current id
    assert [e["traits"] for e in ids if e["userId"] == "42"] == [{"n": True}]
    (alias,) = by(events, "type", "alias")
    assert (alias["userId"], alias["previousId"]) == ("to-id", "from-id")


def test_callbacks_run_after_delivery(page):
    page.open()
    page.load()
    page.js("""window.done = [];
               analytics.track('CB', {}, {}, (ctx) => window.done.push(ctx.event));
               analytics.page(() => window.done.push('page'))""")
    page.pw.wait_for_function("window.done.length === 2")
    assert sorted(page.js("window.done")) == ["CB", "page"]


def test_bad_calls_warn_and_the_others_go_on(page):
    page.open()
    page.load()
    page.js("""
      analytics.track();
      analytics.track(5);
      analytics.track('Good 1');
      analytics.alias();
      analytics.identify(true, {x: 1});
      const cyc = {}; cyc.self = cyc; analytics.track('Cyclic', cyc);
      analytics.user().id({not: 'an id'});
      analytics.track('Good 2');
    """)
    events = page.server.wait_events(3)
    names = sorted(e.get("event") or e["type"] for e in events)
    assert names == ["Good 1", "Good 2", "identify"]
    warnings = page.warnings()
    assert any("analytics.track(): the event name must be a non-empty string, got null" in w
               for w in warnings), warnings
    assert any("got number 5" in w for w in warnings)
    assert any("analytics.alias()" in w for w in warnings)
    assert any("analytics.identify(): ignored" in w for w in warnings)
    assert any("analytics.track(): the arguments cannot be sent" in w for w in warnings)
    assert any("user().id" in w for w in warnings)
    assert page.js("analytics.user().id()") is None


def test_python_api_from_a_py_script(page):
    packages = []
    page.pw.on("request", lambda r: packages.append(r.url.rsplit("/", 1)[-1])
               if "/pyajs/pyajs" in r.url else None)
    page.open("/e2e-python.html?runtime=" + page.runtime)
    page.pw.wait_for_function("window.pyDone === true", timeout=60_000)
    # PyScript unpacks the runtime's package: sources for Pyodide, bytecode for MicroPython
    assert packages == [{"py": "pyajs.zip", "mpy": "pyajs-mpy.zip"}[page.runtime]]
    events = page.server.wait_events(3)
    assert sorted(e.get("event") or e["type"] for e in events) == [
        "After Errors", "From Python", "identify"]
    track = by(events, "event", "From Python")[0]
    assert track["properties"] == {"n": 1, "nested": {"ok": True}}
    assert track["userId"] == "py-user"
    errors = page.js("window.pyErrors")
    assert len(errors) == 4
    assert errors[0].startswith("track(): event must be a non-empty str, got int")
    assert "properties must be a dict" in errors[1]
    assert "traits must be a dict" in errors[2]
    assert "name must be a str" in errors[3]
    assert page.js("window.pyUser") == "py-user"
    assert page.js("analytics.user().id()") == "py-user"  # the same library as window.analytics


def test_source_middleware_can_change_and_drop_events(page):
    page.open()
    page.load(before="""analytics.addSourceMiddleware(({payload, next}) => {
        if (payload.obj.event === 'Drop Me') return;
        payload.obj.properties.enriched = true;
        next(payload);
    })""")
    page.js("analytics.track('Drop Me'); analytics.track('Keep Me', {a: 1})")
    events = page.server.wait_events(1)
    page.js("analytics.track('Marker')")
    events = page.server.wait_events(2)
    assert [e["event"] for e in events if e["type"] == "track"].count("Drop Me") == 0
    keep = by(events, "event", "Keep Me")[0]
    assert keep["properties"] == {"a": 1, "enriched": True}


def test_user_agent_data_in_a_secure_context_only(page):
    """``http://127.0.0.1`` is a secure context: ``navigator.userAgentData`` on every event,
    with the high-entropy hints ``highEntropyValuesClientHints`` asks for; on plain http
    (``www.pyajs.test``) the browser has none and the events carry none."""
    page.open()
    page.load({"highEntropyValuesClientHints": ["platformVersion", "architecture"]},
              after="analytics.track('Secure'); analytics.page()")
    expected = page.js("""() => navigator.userAgentData.getHighEntropyValues(
        ['platformVersion', 'architecture'])""")
    assert {"brands", "mobile", "platform", "platformVersion", "architecture"} <= set(expected)
    for event in page.server.wait_events(2):
        assert event["context"]["userAgentData"] == expected, event["type"]
    page.server.clear()
    page.open(origin=page.server.named)
    page.load(after="analytics.track('Plain http')")
    (event,) = page.server.wait_events(1)
    assert page.js("navigator.userAgentData === undefined") is True
    assert "userAgentData" not in event["context"]
