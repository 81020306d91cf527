"""The built wheel in a PyScript page's ``packages`` (Pyodide installs it with micropip), as a
PyScript user would include a library: the page's own Python imports pyajs from the wheel
and its event arrives at the collector.

MicroPython's ``packages`` go through mip, which installs .py/.mpy files and mip package.json
lists, not wheels: there the package is the zip the loader fetches (pyajs-mpy.zip).
"""

import hashlib
import json

import pytest
from pyajs.version import __version__
from pyajs_server.paths import package_version

from tests.e2e.conftest import BOOT_TIMEOUT_MS, WRITE_KEY, Server
from tests.e2e.server_process import ROOT, dev_server
from tests.wheel import build_wheel

# Pyodide's lock names micropip, which its full distribution (on a CDN) carries and the npm
# runtime package does not: scripts/setup.sh --browser fetches the same version from PyPI
# (scripts/micropip-requirements.txt), and the page gets it with the lock's hash made to
# match, as a site hosting the full distribution would serve it.
MICROPIP = ROOT / ".pyajs" / "wheels" / "micropip-0.11.1-py3-none-any.whl"
LOCK = ROOT / "node_modules" / "pyodide" / "pyodide-lock.json"

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>pyajs from its wheel</title>
  <link rel="icon" href="data:,">
  <script src="/snippet.js"></script>
  <script>analytics.load(%(key)s);</script>
</head>
<body>
  <script type="py" config='%(config)s'>
import js
import pyajs
from pyajs import analytics

analytics.track("From The Wheel", {"n": 1})
js.window.pyajsFile = pyajs.__file__
js.window.pyDone = True
  </script>
</body>
</html>
"""


@pytest.fixture(scope="module")
def wheel_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheels")
    wheel = build_wheel(tmp_path_factory.mktemp("build"))
    (folder / wheel.name).write_bytes(wheel.read_bytes())
    # This machine's Pyodide (a page on a CDN's PyScript gets the CDN's Pyodide by default)
    config = {"interpreter": "/vendor/pyodide/%s/pyodide.mjs" % package_version(ROOT, "pyodide"),
              "packages": ["/wheels/" + wheel.name]}
    (folder / "page.html").write_text(PAGE % {"key": json.dumps(WRITE_KEY),
                                              "config": json.dumps(config)})
    db = tmp_path_factory.mktemp("wheel-collector") / "events.sqlite3"
    with dev_server(db, "--write-key", WRITE_KEY, "--mount", "/wheels/=%s" % folder) as port:
        yield Server(port)


def serve_micropip(context) -> None:
    """The micropip wheel at Pyodide's index URL, and the lock's hash for it."""
    lock = json.loads(LOCK.read_text())
    entry = lock["packages"]["micropip"]
    assert entry["file_name"] == MICROPIP.name, "the Pyodide lock names another micropip"
    data = MICROPIP.read_bytes()
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    context.route("**/pyodide-lock.json", lambda route: route.fulfill(
        body=json.dumps(lock), content_type="application/json"))
    context.route("**/" + MICROPIP.name, lambda route: route.fulfill(
        body=data, content_type="application/zip"))


@pytest.mark.skipif(not MICROPIP.is_file(), reason="needs scripts/setup.sh --browser (micropip)")
def test_wheel_in_pyscript_packages_sends_events(browser, wheel_server: Server) -> None:
    context = browser.new_context()
    try:
        serve_micropip(context)
        page = context.new_page()
        console, errors = [], []
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(wheel_server.base + "/wheels/page.html")
        page.wait_for_function("window.pyDone === true", timeout=BOOT_TIMEOUT_MS)
        # pyajs came from the installed wheel, not from the loader's own package
        assert "/site-packages/pyajs/__init__.py" in page.evaluate("window.pyajsFile")
        (event,) = wheel_server.wait_events(1, type="track")
        assert event["event"] == "From The Wheel"
        assert event["properties"] == {"n": 1}
        assert event["context"]["library"] == {"name": "pyajs", "version": __version__}
        assert not errors, errors
        assert not [text for kind, text in console if text.startswith("pyajs")], console
    finally:
        context.close()
