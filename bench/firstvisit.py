"""A visitor's first visit: pyajs on MicroPython, pyajs on Pyodide and analytics-next, cold.

Each visit is a fresh browser context (empty cache, no cookies or storage) opening a page of
the recommended shape: the library's snippet inlined in <head> (pyajs's web/snippet.js, which
adds MicroPython's preload hints when it will boot it; analytics-next's with our snippet
web/bench/ajs-snippet.js), then load(), a page() call and a ready callback. Nothing is
stubbed: events go over the network to serve.py's collector. Per visit, on an unthrottled
network and on a throttled one (DevTools protocol Network.emulateNetworkConditions: 1.6 Mbit/s
down, 0.75 Mbit/s up, 150 ms latency):

- ready: navigation start -> the ready callback;
- first event: navigation start -> the first POST to the collector's /v1/ as the browser
  sends it (Network.requestWillBeSent);
- total blocking time (TBT) and longest task: main-thread tasks from a 'longtask'
  PerformanceObserver (registered by an init script, before any page script), from
  navigation to 1 s after ready; TBT sums each task's time beyond 50 ms. Everything counts,
  the runtime's own start included;
- pyajs's share: of those tasks, the time after pyajs's Python began (the loader's
  'pyajs:start' performance mark), the longest such stretch of one task;
- bytes: everything transferred (Network.loadingFinished encodedDataLength, headers and
  compressed bodies) until 1 s after ready.

Medians of --runs visits, the libraries interleaved so drift hits them alike. Pyodide's
throttled first visit takes ~35 s, so it runs --py-throttled-runs times (default 1). The
pages are written to web/bench/first/ at start (git-ignored) from the current snippets.
The last line of output is one JSON object.

    python bench/firstvisit.py --runs 5
    python bench/firstvisit.py --smoke    # one run, the throttled network 10x faster
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "pysrc"))
from pyajs_server import packages  # noqa: E402

from bench.speed import start_server  # noqa: E402
from tests.e2e.browser_path import chromium_path  # noqa: E402

WRITE_KEY = "pyajs-demo-key"
PAGES_DIR = ROOT / "web" / "bench" / "first"
LIBRARIES = ("pyajs_mpy", "pyajs_py", "analytics_next")
LABELS = {"pyajs_mpy": "pyajs mpy", "pyajs_py": "pyajs py", "analytics_next": "a-next"}
NETWORKS = {
    "fast": None,
    "slow": {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8,
             "uploadThroughput": 0.75e6 / 8},
}
FIGURES = (  # key, label
    ("ready_s", "ready (s)"),
    ("first_event_s", "first event on the wire (s)"),
    ("tbt_ms", "total blocking time (ms)"),
    ("longest_task_ms", "longest task (ms)"),
    ("pyajs_share_ms", "pyajs's share of a task (ms)"),
    ("kb", "bytes transferred (KB)"),
)
TIMEOUT_S = 180
# The floor for pyajs on MicroPython: its page as it is (the snippet, pyajs.js, the runtime),
# the package answered with one line that only reports ready (a route through Playwright:
# its answer comes from memory, no later than serve.py's).
FLOOR = "floor_mpy"
STUB_SOURCE = b"import js\njs.window.readyAt = js.performance.now()\n"

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>first visit: %(title)s</title>
  <link rel="icon" href="data:,">
  <script>
%(snippet)s
%(load)s
    analytics.page();
    analytics.ready(function () { window.readyAt = performance.now(); });
  </script>
</head>
<body><p>A first visit with %(title)s: the snippet inlined in head (bench/firstvisit.py).</p>
</body>
</html>
"""

LOADS = {
    # no runtime named: this page runs no Python of its own, so MicroPython
    "pyajs_mpy": ("pyajs on MicroPython", "snippet.js", 'analytics.load("%s");' % WRITE_KEY),
    "pyajs_py": ("pyajs on Pyodide", "snippet.js",
                 'analytics.load("%s", { runtime: "py" });' % WRITE_KEY),
    "analytics_next": ("analytics-next", "bench/ajs-snippet.js",
                       'analytics._cdn = location.origin; analytics.load("%s");' % WRITE_KEY),
}

# Before any page script: ready and the long tasks, reported on the console (the bench never
# evaluates anything in the page while it starts: Playwright's injected script would run on
# the main thread in the middle of a start-up).
INIT_SCRIPT = """
(() => {
  const tasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { /* no long-task API */ }
  let at;
  Object.defineProperty(window, "readyAt", { configurable: true, get: () => at, set: (value) => {
    at = value;
    console.debug("bench:ready " + value);
    setTimeout(() => {
      const mark = performance.getEntriesByName("pyajs:start")[0];
      console.debug("bench:tasks " + JSON.stringify({
        tasks, pyajsStart: mark ? mark.startTime : null }));
    }, 1100);
  } });
})();
"""


def write_pages() -> dict:
    """The three pages, from the snippets as they are now; name -> URL path."""
    PAGES_DIR.mkdir(exist_ok=True)
    paths = {}
    for name, (title, snippet, load) in LOADS.items():
        text = (ROOT / "web" / snippet).read_text()
        html = PAGE % {"title": title, "snippet": text.strip(), "load": "    " + load}
        (PAGES_DIR / ("%s.html" % name)).write_text(html)
        paths[name] = "/bench/first/%s.html" % name
    return paths


def stub_package() -> bytes:
    """pyajs.mpk holding one line that only reports ready (sources: the floor measures the
    runtime's start, not a compile)."""
    return packages.pack_files({"pyajs/__init__.py": STUB_SOURCE})


def visit(browser, url: str, network, stub: bytes = b"") -> dict:
    """One cold first visit; its figures. With ``stub``, the page's pyajs package is
    answered with it (the floor: no event is sent then)."""
    context = browser.new_context()
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    if stub:
        page.route("**/pyajs/pyajs.mpk", lambda route: route.fulfill(
            status=200, body=stub, headers={"Content-Type": "application/octet-stream"}))
    cdp = context.new_cdp_session(page)
    state = {"doc": None, "post": None, "bytes": 0, "ready": None, "tasks": None,
             "errors": []}
    done = threading.Event()

    def on_request(e):
        req = e["request"]
        if e.get("type") == "Document" and state["doc"] is None:
            state["doc"] = e["timestamp"]
        elif (req["method"] == "POST" and "/v1/" in req["url"]
              and "/v1/projects/" not in req["url"] and state["post"] is None):
            state["post"] = e["timestamp"]

    def on_finished(e):
        if state["tasks"] is None:  # until 1 s after ready
            state["bytes"] += e["encodedDataLength"]

    def on_console(msg):
        text = msg.text
        if text.startswith("bench:ready "):
            state["ready"] = float(text.split()[1])
        elif text.startswith("bench:tasks "):
            state["tasks"] = json.loads(text[len("bench:tasks "):])
            done.set()
        elif msg.type == "error":
            state["errors"].append(text)

    cdp.on("Network.requestWillBeSent", on_request)
    cdp.on("Network.loadingFinished", on_finished)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: state["errors"].append(str(exc)))
    cdp.send("Network.enable")
    if network:
        cdp.send("Network.emulateNetworkConditions", network)
    try:
        page.goto(url, wait_until="commit")
        deadline = time.monotonic() + TIMEOUT_S
        # Playwright delivers events while it waits
        while not (done.is_set() and (stub or state["post"] is not None)):
            if time.monotonic() > deadline:
                raise RuntimeError("%s: no ready/event within %d s (ready %s, event %s); "
                                   "errors: %s" % (url, TIMEOUT_S, state["ready"],
                                                   state["post"], state["errors"][-5:]))
            page.wait_for_timeout(50)
        # the document request's timestamp and the page's time origin (navigation start)
        # differ by a millisecond or two; both are on the browser's monotonic clock
        nav = state["doc"] * 1000 - page.evaluate(
            "performance.getEntriesByType('navigation')[0].fetchStart")
    finally:
        context.close()
    ready = state["ready"]
    window = [(s, d) for s, d in state["tasks"]["tasks"] if s <= ready + 1000]
    start = state["tasks"]["pyajsStart"]
    share = 0.0
    if start is not None:
        share = max([s + d - max(s, start) for s, d in window if s + d > start] or [0.0])
    return {
        "ready_s": ready / 1000,
        "first_event_s": (state["post"] * 1000 - nav) / 1000 if state["post"] else 0.0,
        "tbt_ms": sum(max(0.0, d - 50) for _, d in window),
        "longest_task_ms": max([d for _, d in window] or [0.0]),
        "pyajs_share_ms": share,
        "kb": state["bytes"] / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--py-throttled-runs", type=int, default=1,
                        help="throttled visits of the Pyodide page (~35 s each)")
    parser.add_argument("--smoke", action="store_true",
                        help="one run, throttled network 10x faster: only checks it works")
    parser.add_argument("--only", choices=("fast", "slow"),
                        help="one network only (the other's figures are left out)")
    args = parser.parse_args()
    networks = dict(NETWORKS)
    if args.only:
        networks = {args.only: networks[args.only]}
    if args.smoke:
        args.runs = args.py_throttled_runs = 1
        networks["slow"] = dict(networks["slow"], downloadThroughput=16e6 / 8,
                                uploadThroughput=7.5e6 / 8)
    paths = write_pages()
    proc, base = start_server()
    samples = {(net, lib): [] for net in networks for lib in LIBRARIES + (FLOOR,)}
    stub = stub_package()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update"])
            for run in range(args.runs):  # interleaved, so drift hits every page alike
                for net, conditions in networks.items():
                    for lib in LIBRARIES:
                        if net == "slow" and lib == "pyajs_py" and run >= args.py_throttled_runs:
                            continue
                        samples[net, lib].append(visit(browser, base + paths[lib], conditions))
                    samples[net, FLOOR].append(
                        visit(browser, base + paths["pyajs_mpy"], conditions, stub))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    # how busy the machine was: figures from a loaded machine are slower and noisier
    fig = {"runs": args.runs, "py_throttled_runs": min(args.runs, args.py_throttled_runs),
           "load_average": round(os.getloadavg()[1], 1)}
    for (net, lib), runs in samples.items():
        for key, _ in FIGURES:
            if lib == FLOOR and key != "ready_s":
                continue
            fig["%s_%s_%s" % (net, lib, key)] = round(statistics.median(r[key] for r in runs), 3)
    print("cold first visit, median of %d runs (Pyodide throttled: %d)%s; the snippet inlined "
          "in <head>; load average %.1f" % (args.runs, fig["py_throttled_runs"],
                                            " [smoke: throttled 10x faster]" if args.smoke
                                            else "", fig["load_average"]))
    for net, title in (("fast", "unthrottled"),
                       ("slow", "throttled: 1.6 Mbit/s down, 0.75 up, 150 ms latency")):
        if net not in networks:
            continue
        print("\n%s\n%-30s %10s %10s %10s %9s %9s" % (
            title, "figure", "pyajs mpy", "pyajs py", "a-next", "mpy/next", "py/next"))
        for key, label in FIGURES:
            mpy, py, nxt = (fig["%s_%s_%s" % (net, lib, key)] for lib in LIBRARIES)
            ratios = ["%8.2fx" % (v / nxt) if nxt else "%9s" % "-" for v in (mpy, py)]
            print("%-30s %10.3f %10.3f %10.3f %s %s" % (label, mpy, py, nxt, *ratios))
        floor = fig["%s_%s_ready_s" % (net, FLOOR)]
        print("%-30s %10.3f   (the MicroPython page, a one-line package; %.2fx a-next)" % (
            "floor: ready (s)", floor, floor / fig["%s_analytics_next_ready_s" % net]))
    def g(key):
        return fig.get("fast_%s" % key, float("nan"))

    targets = {
        "ready_mpy_le_1.25x": g("pyajs_mpy_ready_s") <= 1.25 * g("analytics_next_ready_s"),
        "first_event_mpy_le_1.25x":
            g("pyajs_mpy_first_event_s") <= 1.25 * g("analytics_next_first_event_s"),
        "longest_task_mpy_le_100ms": g("pyajs_mpy_longest_task_ms") <= 100,
        "tbt_mpy_le_next_plus_50ms": g("pyajs_mpy_tbt_ms") <= g("analytics_next_tbt_ms") + 50,
        "pyajs_share_py_lt_50ms": g("pyajs_py_pyajs_share_ms") < 50,
    }
    fig["targets_met"] = targets
    print("\ntargets (unthrottled, in this run): " + ", ".join(
        "%s %s" % (k, "yes" if v else "NO") for k, v in targets.items()))
    print(json.dumps(fig))


if __name__ == "__main__":
    main()
