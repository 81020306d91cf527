"""Deploy as a site owner would: `pyajs build` for a CDN origin, the tree served by a stock
Debian nginx with the generated header rules (started here, on loopback), and a shop's page
on another origin that inlines the built snippet under a strict Content-Security-Policy and
loads pyajs from the CDN. Chromium resolves shop.test and cdn.test to 127.0.0.1; events go
to the dev server's collector, a third origin.

On each runtime: the visitor's identity lands in the shop's real cookies and localStorage,
the events at the collector, and the files come from nginx compressed, cross-origin, with
the right types and caching. A loader changed on the CDN is refused by the browser (SRI):
nothing runs and nothing is sent.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.browser_path import LAUNCH_ARGS, chromium_path
from tests.e2e.conftest import BOOT_TIMEOUT_MS, ROOT, UUID4, WRITE_KEY
from tests.e2e.pages import refuse_collector

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not Path(NGINX).is_file(),
                                reason="nginx is not installed (scripts/setup.sh --browser)")
# The tree's runtimes: MicroPython booted by the loader, Pyodide through PyScript, and
# MicroPython through PyScript (a page with its own <script type="mpy">).
RUNTIMES = ("mpy", "py", "mpy-pyscript")
OPTIONS = {"mpy": '{runtime: "mpy"', "py": '{runtime: "py"',
           "mpy-pyscript": '{runtime: "mpy", pyscript: true'}
# What each needs on top of the others (README, "Content-Security-Policy").
SCRIPTS = {"mpy": "'wasm-unsafe-eval'", "py": "'wasm-unsafe-eval' 'unsafe-eval'",
           "mpy-pyscript": "'wasm-unsafe-eval' 'unsafe-eval'"}
WORKERS = {"mpy-pyscript": "; worker-src blob:"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csp_hash(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


class Deploy:
    def __init__(self, base: Path, cdn: str, shop: str, manifest: dict):
        self.base, self.cdn, self.shop, self.manifest = base, cdn, shop, manifest


def write_shop_page(site: Path, runtime: str, snippet_html: str, collector: str,
                    cdn: str) -> str:
    """The shop's page: the built snippet inline in <head>, then the site's own call. Returns
    the policy its server sends (nginx reads it from the file next to the page)."""
    call = (
        'analytics.load("%s", %s, apiHost: "%s/v1"});'
        'analytics.identify("deploy-user", {plan: "cdn"});'
        'analytics.track("Deployed", {runtime: "%s"});'
        'analytics.ready(function () {'
        ' console.log("deploy-ready " + analytics.user().anonymousId()); });'
        % (WRITE_KEY, OPTIONS[runtime], collector, runtime))
    snippet = snippet_html.strip()[len("<script>"):-len("</script>")]
    (site / ("%s.html" % runtime)).write_text(
        "<!doctype html><html><head><meta charset=utf-8><title>shop</title>\n"
        "<script>%s</script>\n<script>%s</script>\n</head><body>shop</body></html>\n"
        % (snippet, call))
    return ("default-src 'none'; script-src %s %s %s %s; connect-src %s %s%s"
            % (csp_hash(snippet), csp_hash(call), cdn, SCRIPTS[runtime], cdn, collector,
               WORKERS.get(runtime, "")))


@pytest.fixture(scope="module")
def deploy(tmp_path_factory, server):
    base = tmp_path_factory.mktemp("deploy")
    cdn_port, shop_port = free_port(), free_port()
    cdn, shop = "http://cdn.test:%d" % cdn_port, "http://shop.test:%d" % shop_port
    out = base / "cdn" / "pyajs"
    subprocess.run([sys.executable, "-m", "pyajs_server", "build", "--out", str(out),
                    "--base-url", cdn + "/pyajs/", "--runtimes", ",".join(RUNTIMES), "--quiet"],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    manifest = json.loads((out / "manifest.json").read_text())
    site = base / "shop"
    site.mkdir()
    snippet_html = (out / "snippet.html").read_text()
    policies = {rt: write_shop_page(site, rt, snippet_html, server.base, cdn)
                for rt in RUNTIMES}
    tmp = base / "nginx"
    tmp.mkdir()
    page_rules = "".join(
        '        location = /%s.html { add_header Content-Security-Policy "%s"; }\n'
        % (rt, policy) for rt, policy in policies.items())
    conf = tmp / "nginx.conf"
    # The workers run as the test's user (nginx's default, nobody, cannot read pytest's
    # private temporary folders); without root the directive is ignored with a notice.
    conf.write_text(f"""daemon off;
user {getpass.getuser()};
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {out}/nginx-http.conf;
    server {{
        listen 127.0.0.1:{cdn_port};
        server_name cdn.test;
        root {base / "cdn"};
        include {out}/nginx-server.conf;
    }}
    server {{
        listen 127.0.0.1:{shop_port};
        server_name shop.test;
        root {site};
        types {{ text/html html; }}
{page_rules}    }}
}}
""")
    proc = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf), "-e",
                             str(tmp / "error.log")])
    try:
        deadline = time.monotonic() + 30
        for port in (cdn_port, shop_port):
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("nginx exited: %s" % (tmp / "error.log").read_text())
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        yield Deploy(base, cdn, shop, manifest)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def shop_browser(browser):
    """A second Chromium, from the suite's Playwright, that resolves the shop's and the
    CDN's names to loopback."""
    b = browser.browser_type.launch(
        executable_path=chromium_path(),
        args=[*LAUNCH_ARGS,
              "--host-resolver-rules=MAP cdn.test 127.0.0.1, MAP shop.test 127.0.0.1"])
    yield b
    b.close()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_shop_loads_pyajs_from_a_cdn(shop_browser, server, deploy, runtime):
    context = shop_browser.new_context()
    page = context.new_page()
    console, errors, responses = [], [], []
    page.on("console", lambda m: console.append((m.type, m.text)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: responses.append(r) if r.url.startswith(deploy.cdn) else None)
    try:
        try:
            with page.expect_console_message(lambda m: m.text.startswith("deploy-ready "),
                                             timeout=BOOT_TIMEOUT_MS) as ready:
                page.goto("%s/%s.html" % (deploy.shop, runtime))
        except Exception as exc:
            raise AssertionError("pyajs did not start: console %s, errors %s" % (
                console, errors)) from exc
        anonymous_id = ready.value.text.split()[1]
        assert UUID4.match(anonymous_id)

        # identity, in the shop's own cookies and localStorage
        state = context.storage_state()
        cookies = {c["name"]: c for c in state["cookies"]}
        assert cookies["ajs_anonymous_id"]["value"] == quote('"%s"' % anonymous_id)
        assert cookies["ajs_user_id"]["value"] == quote('"deploy-user"')
        assert {c["domain"].lstrip(".") for c in cookies.values()} == {"shop.test"}
        (origin,) = [o for o in state["origins"] if o["origin"] == deploy.shop]
        stored = {i["name"]: i["value"] for i in origin["localStorage"]}
        assert stored["ajs_anonymous_id"] == '"%s"' % anonymous_id
        assert stored["ajs_user_id"] == '"deploy-user"'
        assert json.loads(stored["ajs_user_traits"]) == {"plan": "cdn"}

        # the events, at the collector (a third origin)
        events = server.wait_events(2, timeout=30, anonymousId=anonymous_id)
        assert sorted((e["type"], e.get("event")) for e in events) == [
            ("identify", None), ("track", "Deployed")]
        assert {e["userId"] for e in events} == {"deploy-user"}
        assert {e["context"]["library"]["name"] for e in events} == {"pyajs"}
        assert {e["context"]["page"]["url"] for e in events} == {
            "%s/%s.html" % (deploy.shop, runtime)}

        # the files, as nginx served them with the generated rules
        by_path = {r.url[len(deploy.cdn + "/pyajs/"):]: r for r in responses}
        wanted = set(deploy.manifest["runtimes"][runtime])
        fetched = set(by_path)
        assert {"pyajs.js"} | {w for w in wanted if w.startswith("pyajs/")} <= fetched
        assert fetched <= wanted, fetched - wanted
        assert all(by_path[p].status == 200 for p in fetched), {
            p: by_path[p].status for p in fetched}
        for path in fetched:
            headers = by_path[path].all_headers()
            entry = deploy.manifest["files"][path]
            assert headers["access-control-allow-origin"] == "*", path
            assert headers["content-type"] == entry["contentType"], path
            assert headers["cache-control"] == entry["cacheControl"], path
            if "encodings" in entry:
                # Chromium offers brotli only over https: on http the .gz sibling
                accepted = by_path[path].request.all_headers().get("accept-encoding", "")
                expected = "br" if "br" in accepted else "gzip"
                assert headers.get("content-encoding") == expected, path
        wasm = [p for p in fetched if p.endswith(".wasm")]
        assert wasm and all(p.startswith("vendor/") for p in wasm)
        assert not [text for kind, text in console if kind == "error"]
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_loader_changed_on_the_cdn_is_refused(shop_browser, deploy, runtime):
    """The snippet names the loader's SRI hash: a loader that differs by one comment does
    not run, so nothing of pyajs runs and nothing is sent."""
    context = shop_browser.new_context()
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text))
    sent = refuse_collector(context)

    loader = (deploy.base / "cdn" / "pyajs" / "pyajs.js").read_bytes()

    def tamper(route):  # the CDN now serves the loader with one comment more
        route.fulfill(status=200, body=loader + b"\n// changed\n", headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Access-Control-Allow-Origin": "*"})

    context.route(deploy.cdn + "/pyajs/pyajs.js", tamper)
    try:
        with page.expect_console_message(lambda m: "integrity" in m.text,
                                         timeout=BOOT_TIMEOUT_MS) as refused:
            page.goto("%s/%s.html" % (deploy.shop, runtime))
        assert deploy.manifest["loader"]["integrity"] in refused.value.text or \
            "pyajs.js" in refused.value.text
        assert not any(text.startswith("deploy-ready") for text in console)
        assert sent == []
    finally:
        context.close()
