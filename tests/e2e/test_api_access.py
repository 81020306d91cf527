"""The inspection API in a real browser: a page on another origin (a second little server on
another port) cannot read the events, post to /api or delete them, while the demo, served
by the collector's own origin, still lists them."""

import json
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.conftest import BOOT_TIMEOUT_MS, WRITE_KEY

ATTACK = """async (api) => {
  const out = {};
  const r = await fetch(api + "/api/events");
  out.read = [r.status, await r.text()];
  const p = await fetch(api + "/api/events", {method: "POST", body: "{}",
                                              headers: {"Content-Type": "text/plain"}});
  out.post = [p.status, await p.text()];
  try {
    const d = await fetch(api + "/api/events", {method: "DELETE"});
    out.delete = [d.status, await d.text()];
  } catch (err) {
    out.delete = ["blocked", String(err)];  // its preflight was refused
  }
  return out;
}"""


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def other_origin(tmp_path):
    (tmp_path / "evil.html").write_text("<!doctype html><title>another site</title>")
    handler = lambda *a, **kw: Quiet(*a, directory=str(tmp_path), **kw)  # noqa: E731
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def post_event(server, name):
    body = json.dumps({"type": "track", "event": name, "messageId": "api-" + name,
                       "anonymousId": "a1", "writeKey": WRITE_KEY}).encode()
    req = urllib.request.Request(server.base + "/v1/t", data=body,
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).close()


@pytest.mark.e2e
def test_another_origin_is_refused_and_the_demo_still_works(browser, server, other_origin):
    server.clear()
    post_event(server, "Kept")
    context = browser.new_context()
    try:
        evil = context.new_page()
        evil.goto(other_origin + "/evil.html")
        out = evil.evaluate(ATTACK, server.base)
        print("cross-origin page got:", out)
        status, text = out["read"]
        assert status == 403, out
        assert "Kept" not in text and "--api-token" in json.loads(text)["message"]
        assert out["post"][0] == 403, out
        assert out["delete"][0] in ("blocked", 403), out
        assert [e["event"] for e in server.events()] == ["Kept"]  # nothing deleted

        demo = context.new_page()
        demo.goto(server.base + "/demo.html")
        demo.wait_for_function(
            "() => [...document.querySelectorAll('#events li')].some("
            "li => li.textContent.includes('Kept'))", timeout=BOOT_TIMEOUT_MS)
        assert demo.evaluate("document.getElementById('events-error').hidden") is True
        same = demo.evaluate("""async () => {
          const d = await fetch("/api/events", {method: "DELETE"});
          return [d.status, await d.json()];
        }""")
        assert same[0] == 200 and same[1]["deleted"] >= 1
    finally:
        context.close()
