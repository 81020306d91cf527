"""Fixtures for the conformance suite: its own dev server (serve.py, with one write key per
library so the collector separates their events) and its own headless Chromium, which maps
the two-label host ``shop.test`` to 127.0.0.1 so both libraries probe the cookie domain as
on a real site. Each library of each scenario gets a fresh browser context.

Two sites: ``secure`` (the whole suite), where that Chromium treats
``http://shop.test:<port>`` as a secure context, as every https site is (``navigator.
userAgentData`` and other secure-only APIs exist there), and ``http`` (a subset of the
scenarios), plain http, as before.

At the end of the run the suite prints, per pyajs runtime, how many scenarios were
identical, deliberately different (README's table) or still open.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conformance import harness
from tests.e2e.browser_path import LAUNCH_ARGS, chromium_path
from tests.e2e.conftest import Server
from tests.e2e.server_process import dev_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def conf_server(tmp_path_factory):
    db = tmp_path_factory.mktemp("conformance") / "events.sqlite3"
    keys = []
    for lib in harness.LIBS.values():
        keys += ["--write-key", lib.write_key]
    # --oracle: analytics-next's script, chunks and settings, answered by this server
    with dev_server(db, "--faults", "--oracle", *keys) as port:
        yield Server(port)


ARGS = [*LAUNCH_ARGS,
        # the site's host is this machine; every other name fails to resolve, so no request
        # can leave it (the runner also asserts that none was tried)
        "--host-resolver-rules=MAP %s 127.0.0.1, MAP * ~NOTFOUND" % harness.HOST]


class ChromiumThread:
    """Chromium driven from a thread of its own. Playwright's sync API allows one instance
    per thread, and the e2e suite's fixtures hold one in the main thread for the whole run,
    so the conformance suite runs each library's scenario here, in this thread: in one
    browser per site (``secure``, ``http``), each launched at its first use."""

    def __init__(self, port=None):
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="conformance-chromium")
        self.playwright = None
        self.browsers = {}
        self.args = {
            "http": ARGS,
            # the port is the server's, chosen at run time: hence a launch after it started
            "secure": ARGS + ["--unsafely-treat-insecure-origin-as-secure=http://%s:%s" % (
                harness.HOST, port)],
        }

    def run(self, fn, *args, site="secure"):
        """``fn(browser, *args)`` in the thread, in ``site``'s browser; its result, or its
        exception."""
        return self.pool.submit(self._call, site, fn, *args).result()

    def _call(self, site, fn, *args):
        browser = self.browsers.get(site)
        if browser is None or not browser.is_connected():  # a crash costs one test
            if self.playwright is None:
                self.playwright = sync_playwright().start()
            browser = self.browsers[site] = self.playwright.chromium.launch(
                executable_path=chromium_path(), args=self.args[site])
        return fn(browser, *args)

    def _stop(self):
        for browser in self.browsers.values():
            if browser.is_connected():
                browser.close()
        if self.playwright is not None:
            self.playwright.stop()

    def close(self):
        self.pool.submit(self._stop).result()
        self.pool.shutdown()


@pytest.fixture(scope="session")
def conf_chromium(conf_server):
    chromium = ChromiumThread(conf_server.port)
    yield chromium
    chromium.close()


def pytest_terminal_summary(terminalreporter):
    """One line per runtime and site: how its scenarios compared with analytics-next."""
    results = harness.RESULTS
    if not results:
        return
    for site in harness.SITES:
        for runtime in harness.RUNTIMES:
            statuses = [status for (_, rt, st), status in results.items()
                        if rt == runtime and st == site]
            if not statuses:
                continue
            terminalreporter.write_line(
                "conformance (%s, %s): %d scenarios: %d identical, %d deliberately different, "
                "%d open" % (runtime, site, len(statuses), statuses.count("identical"),
                             statuses.count("deliberately different"), statuses.count("open")))
    for (name, runtime, site), status in results.items():
        if status == "open":
            terminalreporter.write_line("  open: %s[%s, %s]" % (name, runtime, site))
