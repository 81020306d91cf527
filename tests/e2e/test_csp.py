"""pyajs under the strictest Content-Security-Policy each runtime allows, sent as a response
header: each page loads pyajs and delivers an event; the policy without the one source a
runtime needs on top of the others stops it.

The page (web/e2e-csp.html: no inline code) is served by a small proxy in front of the dev
server, which adds the policy header to it and passes everything else through, so the
policy's 'self' covers pyajs, the runtimes and the collector, as on a site that hosts them.
The policies are the README's, word for word.
"""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.conftest import BOOT_TIMEOUT_MS, UUID4
from tests.e2e.pages import refuse_collector

README = Path(__file__).resolve().parents[2] / "README.md"

# name -> (query of the page, the minimal policy, (what it needs beyond the others, the
# directive that refuses without it))
POLICIES = {
    "mpy": ("runtime=mpy",
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'",
            (" 'wasm-unsafe-eval'", "script-src")),
    "py": ("runtime=py",
           "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'; "
           "connect-src 'self'",
           (" 'unsafe-eval'", "script-src")),
    "mpy-pyscript": ("runtime=mpy&pyscript=1",
                     "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'; "
                     "worker-src blob:; connect-src 'self'",
                     (" worker-src blob:;", "worker-src")),
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class PolicyProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream_port: int):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream_port = upstream_port
        self.policy = {}  # page path -> the Content-Security-Policy it is served with


class _ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        policy = self.server.policy.get(self.path)
        if policy:
            self.send_header("Content-Security-Policy", policy)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's names)
        self._forward()

    def do_HEAD(self):  # noqa: N802
        self._forward()

    def do_POST(self):  # noqa: N802
        self._forward()

    def do_OPTIONS(self):  # noqa: N802
        self._forward()


@pytest.fixture(scope="module")
def proxy(server):
    srv = PolicyProxy(server.port)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def open_under(browser, proxy, name: str, policy: str):
    """A fresh context on the page served under ``policy``: (page, console lines, errors)."""
    query = POLICIES[name][0]
    path = "/e2e-csp.html?" + query
    proxy.policy[path] = policy
    context = browser.new_context()
    pw = context.new_page()
    console, errors = [], []
    pw.on("console", lambda m: console.append(m.text))
    pw.on("pageerror", lambda e: errors.append(str(e)))
    return context, pw, "http://127.0.0.1:%d%s" % (proxy.server_address[1], path), console, \
        errors


@pytest.mark.parametrize("name", list(POLICIES))
def test_pyajs_runs_under_its_minimal_policy(browser, server, proxy, name):
    server.clear()
    policy = POLICIES[name][1]
    context, pw, url, console, errors = open_under(browser, proxy, name, policy)
    try:
        with pw.expect_console_message(lambda m: m.text.startswith("pyajs-csp-ready"),
                                       timeout=BOOT_TIMEOUT_MS) as ready:
            pw.goto(url)
        anonymous_id = ready.value.text.split()[1]
        assert UUID4.match(anonymous_id)
        events = server.wait_events(1, timeout=30, anonymousId=anonymous_id)
        assert [(e["type"], e["event"]) for e in events] == [("track", "CSP Check")]
        assert [c for c in console if c.startswith("csp-violation")] == []
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("name", list(POLICIES))
def test_the_policy_without_what_the_runtime_needs_stops_it(browser, proxy, name):
    _, policy, (needed, directive) = POLICIES[name]
    assert needed in policy
    context, pw, url, console, errors = open_under(browser, proxy, name, policy.replace(needed, ""))
    sent = refuse_collector(context)
    try:
        with pw.expect_console_message(
                lambda m: m.text.startswith("csp-violation " + directive),
                timeout=BOOT_TIMEOUT_MS):
            pw.goto(url)
        assert not any(c.startswith("pyajs-csp-ready") for c in console)
        assert sent == []
    finally:
        context.close()


def test_the_readme_documents_these_policies():
    text = " ".join(README.read_text().split())
    for name, (_, policy, _needs) in POLICIES.items():
        assert policy in text, name
