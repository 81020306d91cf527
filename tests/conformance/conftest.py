"""Fixtures for the conformance suite: its own dev server (serve.py, with one write key per
library so the collector separates their events) and its own headless Chromium, which maps
the two-label host ``shop.test`` to 127.0.0.1 so both libraries probe the cookie domain as
on a real site. Each library of each scenario gets a fresh browser context.

At the end of the run the suite prints how many scenarios were identical, deliberately
different (README's table) or still open.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conformance import harness
from tests.e2e.browser_path import chromium_path
from tests.e2e.conftest import Server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def conf_server(tmp_path_factory):
    db = tmp_path_factory.mktemp("conformance") / "events.sqlite3"
    keys = []
    for lib in harness.LIBS.values():
        keys += ["--write-key", lib.write_key]
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "serve.py"), "--port", "0", "--db", str(db), "--quiet",
         "--faults", *keys], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()
    match = re.search(r"http://[\d.]+:(\d+)/", line)
    if not match:
        proc.kill()
        raise RuntimeError("serve.py did not start: %r" % line)
    yield Server(int(match.group(1)))
    proc.terminate()
    proc.wait(10)


ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        # the site's host is this machine; every other name fails to resolve, so no request
        # can leave it (the runner also asserts that none was tried)
        "--host-resolver-rules=MAP %s 127.0.0.1, MAP * ~NOTFOUND" % harness.HOST]


@pytest.fixture(scope="session")
def _conf_chromium():
    with sync_playwright() as p:
        held = {"launch": lambda: p.chromium.launch(executable_path=chromium_path(), args=ARGS),
                "browser": None}
        yield held
        if held["browser"] is not None and held["browser"].is_connected():
            held["browser"].close()


@pytest.fixture
def conf_browser(_conf_chromium):
    """One Chromium for the run, started again if it went away (a crash must cost one
    scenario, not the rest of the suite)."""
    browser = _conf_chromium["browser"]
    if browser is None or not browser.is_connected():
        browser = _conf_chromium["browser"] = _conf_chromium["launch"]()
    return browser


def pytest_terminal_summary(terminalreporter):
    results = harness.RESULTS
    if not results:
        return
    counts = {}
    for status in results.values():
        counts[status] = counts.get(status, 0) + 1
    terminalreporter.write_line(
        "conformance: %d scenarios: %d identical, %d deliberately different, %d open" % (
            len(results), counts.get("identical", 0), counts.get("deliberately different", 0),
            counts.get("open", 0)))
    for name, status in results.items():
        if status == "open":
            terminalreporter.write_line("  open: " + name)
