"""Which Python pyajs boots when ``load()`` names no runtime: the one the page already runs
(its own ``<script type="py">`` or ``<script type="mpy">``, even further down the body than
the snippet), otherwise MicroPython; ``runtime: "py"`` still brings Pyodide. What booted is
read from what the page fetched (the runtime's wasm, the package form each path unpacks) and
from the page's own Python, which imports the same ``analytics``."""

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import BOOT_TIMEOUT_MS, WRITE_KEY

ROOT = Path(__file__).resolve().parents[2]
_LOADER = (ROOT / "web" / "pyajs.js").read_text()
PYODIDE = "/" + re.search(r'py: "(vendor/pyodide/[^"]+)"', _LOADER).group(1)
MICROPYTHON = "/" + re.search(r'mpy: "(vendor/micropython/[^"]+)"', _LOADER).group(1)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>runtime choice</title><link rel="icon" href="data:,">
<script src="/snippet.js"></script>
<script>
  analytics.load(%(key)s, %(options)s);
  analytics.track("From Head");
  analytics.ready(() => { window.__ready = true; });
</script>
</head>
<body><p>Some content before the page's own Python.</p>
%(body)s
</body></html>
"""

# The page's own Python, in the body (after the snippet ran): it joins pyajs's interpreter.
OWN_PYTHON = """<script type="%(type)s" config='{"interpreter": "%(interpreter)s",
    "files": {"/pyajs/%(package)s": "./*"}}'>
import sys
import js
from pyajs import analytics
analytics.track("From Page Python", {"impl": sys.implementation.name})
js.window.pageImpl = sys.implementation.name
</script>
"""

CASES = {
    # name: (load options, page's own Python or None, runtime that must boot, package fetched)
    "no-python-mpy-default": ("{}", None, "mpy", "pyajs.mpk"),
    "forced-py": ('{runtime: "py"}', None, "py", "pyajs.zip"),
    "page-runs-py": ("{}", "py", "py", "pyajs.zip"),
    "page-runs-mpy": ("{}", "mpy", "mpy", "pyajs-mpy.zip"),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", list(CASES))
def test_runtime_follows_the_page(browser, server, case):
    options, own, expected, package = CASES[case]
    server.clear()
    body = ""
    if own:
        body = OWN_PYTHON % {
            "type": own, "interpreter": PYODIDE if own == "py" else MICROPYTHON,
            "package": "pyajs.zip" if own == "py" else "pyajs-mpy.zip"}
    html = PAGE % {"key": '"%s"' % WRITE_KEY, "options": options, "body": body}
    # a zone other than the machine's: the events name the visitor's own
    context = browser.new_context(timezone_id="America/Sao_Paulo")
    try:
        page = context.new_page()
        fetched, errors = [], []
        page.on("request", lambda r: fetched.append(r.url.split("?")[0]))
        page.on("pageerror", lambda e: errors.append(str(e)))
        url = server.base + "/runtime-choice.html"
        page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
        page.goto(url)
        page.wait_for_function("window.__ready === true", timeout=BOOT_TIMEOUT_MS)
        paths = [u[len(server.base):] for u in fetched if u.startswith(server.base)]
        wasm = {"py": PYODIDE.rsplit("/", 1)[0] + "/pyodide.asm.wasm",
                "mpy": MICROPYTHON.replace(".mjs", ".wasm")}
        assert wasm[expected] in paths, paths
        assert "/pyajs/" + package in paths, paths
        assert wasm["py"] not in paths or expected == "py", paths  # Pyodide only when needed
        if not own:
            # the snippet's preloads followed the same choice: MicroPython's wasm fetched
            # once (preloaded, then used), nothing of it when Pyodide was asked for
            assert paths.count(wasm["mpy"]) == (1 if expected == "mpy" else 0), paths
        names = ["From Head"] + (["From Page Python"] if own else [])
        events = server.wait_events(len(names))
        assert sorted(e["event"] for e in events) == names
        assert {e["context"]["timezone"] for e in events} == {"America/Sao_Paulo"}
        if own:  # the page's Python and pyajs share one interpreter
            assert page.evaluate("window.pageImpl") == {
                "py": "cpython", "mpy": "micropython"}[expected]
            (from_py,) = [e for e in events if e["event"] == "From Page Python"]
            assert from_py["anonymousId"] == page.evaluate("analytics.user().anonymousId()")
        assert not errors, errors
    finally:
        context.close()
