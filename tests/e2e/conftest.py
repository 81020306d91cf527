"""Fixtures for the e2e suite: one dev server (serve.py) and one headless Chromium per run,
a fresh browser context (no cookies, no storage) per test.

Tests drive pages on two origins of the same server: ``http://127.0.0.1:<port>`` (an IP:
host-only cookies) and ``http://www.pyajs.test:<port>`` (mapped to 127.0.0.1 by a Chromium
host-resolver rule, so the top-domain probe runs as on a real site).
"""

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.browser_path import LAUNCH_ARGS, chromium_path
from tests.e2e.server_process import dev_server

ROOT = Path(__file__).resolve().parents[2]
WRITE_KEY = "pyajs-e2e-key"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
BOOT_TIMEOUT_MS = 120_000


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("collector") / "events.sqlite3"
    with dev_server(db, "--write-key", WRITE_KEY, "--write-key", "pyajs-demo-key",
                    "--faults") as port:
        yield Server(port)


class Server:
    def __init__(self, port: int):
        self.port = port
        self.base = "http://127.0.0.1:%d" % port
        self.named = "http://www.pyajs.test:%d" % port

    def events(self, **filters) -> list:
        query = "&".join("%s=%s" % kv for kv in filters.items())
        with urllib.request.urlopen(self.base + "/api/events?" + query) as resp:
            return [row["event"] for row in json.load(resp)["events"]]

    def rows(self, **filters) -> list:
        query = "&".join("%s=%s" % kv for kv in filters.items())
        with urllib.request.urlopen(self.base + "/api/events?" + query) as resp:
            return json.load(resp)["events"]

    def clear(self) -> None:
        for path in ("/api/events", "/api/faults"):
            req = urllib.request.Request(self.base + path, method="DELETE")
            urllib.request.urlopen(req).close()

    def fault(self, **spec) -> None:
        """Queue a fault for the next collector requests (serve.py --faults)."""
        req = urllib.request.Request(self.base + "/api/faults", data=json.dumps(spec).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).close()

    def stats(self) -> dict:
        with urllib.request.urlopen(self.base + "/api/stats") as resp:
            return json.load(resp)

    def wait_events(self, count: int, timeout: float = 15.0, **filters) -> list:
        """The stored events once there are at least ``count`` (polling the collector)."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events(**filters)
            if len(events) >= count:
                return events
            if time.monotonic() > deadline:
                raise AssertionError("expected %d events, got %d: %s" % (
                    count, len(events), json.dumps(events)[:2000]))
            time.sleep(0.05)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(),
            args=[*LAUNCH_ARGS,
                  "--host-resolver-rules=MAP *.pyajs.test 127.0.0.1, MAP pyajs.test 127.0.0.1"])
        yield b
        b.close()


class Page:
    """A Playwright page plus the pyajs-specific steps every test needs."""

    def __init__(self, page, server: Server, runtime: str = "py"):
        self.pw = page
        self.server = server
        self.runtime = runtime  # "py" (Pyodide) or "mpy" (MicroPython)
        self.console = []
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.errors = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str = "/e2e.html", origin: str | None = None) -> None:
        self.pw.goto((origin or self.server.base) + path)

    def load(self, options: dict | None = None, before: str = "", after: str = "",
             write_key: str = WRITE_KEY) -> None:
        """``before`` (buffered calls), ``analytics.load(...)``, ``after``; wait for ready.
        The options get this test's runtime."""
        options = dict(options or {})
        options.setdefault("runtime", self.runtime)
        self.pw.evaluate(
            "([key, opts]) => { %s; analytics.load(key, opts); %s; "
            "analytics.ready(() => { window.__ready = true; }); }" % (before, after),
            [write_key, options])
        self.pw.wait_for_function("window.__ready === true", timeout=BOOT_TIMEOUT_MS)

    def js(self, expression: str, arg=None):
        return self.pw.evaluate(expression, arg)

    def cookies(self) -> dict:
        """name → Playwright cookie dict (raw value, domain, path, expires, sameSite…).

        A page's ``document.cookie = …`` reaches the browser's cookie store asynchronously,
        so the store may not have it yet when the script that wrote it has returned. A
        read of ``document.cookie`` goes down the same channel and is answered only after
        the page's earlier writes are stored: one is made first (when the page still runs)."""
        if not self.pw.is_closed():
            try:
                self.pw.evaluate("void document.cookie")
            except Exception:  # noqa: BLE001 - navigating away: nothing of its own to flush
                pass
        return {c["name"]: c for c in self.pw.context.cookies()}

    def cookie(self, name: str):
        c = self.cookies().get(name)
        return None if c is None else c["value"]

    def storage(self) -> dict:
        return self.js("() => Object.fromEntries(Object.entries(localStorage))")

    def warnings(self) -> list:
        return [text for kind, text in self.console if kind == "warning"]

    def wait_console(self, kind: str, match, timeout: float = 30.0) -> list:
        """The page's console texts of ``kind`` once one satisfies ``match`` (a page's lines
        may come after what the test waited on, e.g. a send's acknowledgement after the
        collector stored it); the texts as they are at ``timeout`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            texts = [text for k, text in self.console if k == kind]
            if any(match(text) for text in texts) or time.monotonic() > deadline:
                return texts
            self.pw.wait_for_timeout(25)  # lets Playwright deliver console events

    def reload(self, options: dict | None = None, before: str = "") -> None:
        self.pw.reload()
        self.load(options, before)


RUNTIMES = ("py", "mpy")  # every e2e test runs on Pyodide and on MicroPython


@pytest.fixture(params=RUNTIMES)
def runtime(request) -> str:
    return request.param


@pytest.fixture
def page(browser, server, runtime):
    server.clear()
    context = browser.new_context()
    pw = context.new_page()
    p = Page(pw, server, runtime)
    yield p
    context.close()
    assert not p.errors, "uncaught page errors: %s" % p.errors


ISO_MS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def to_ms(iso: str) -> int:
    """Epoch ms of an ISO 8601 UTC timestamp with milliseconds."""
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
