"""pyajs next to its references, every speed figure from one run in one Chromium:
ready (navigation -> analytics.ready; pyajs, a bare PyScript page booting the same Pyodide,
analytics-next 1.84.3), enqueue (main-thread us per track() call, from JS and from Python),
drain (first call -> all events handed to fetch, standard and batching), bytes (a first
visit, compressed; runtime and pyajs's own apart), memory (JS heap + the interpreter's wasm
memory after --memory-events events) and long tasks. Medians of --runs fresh browser
contexts per subject, interleaved so drift hits all alike; one serve.py.

    python bench/speed.py [--runs 3] [--events 1000] [--memory-events 10000]
    python bench/speed.py --smoke        # CI: tiny N, one run; checks it works, not figures
    python bench/speed.py --profile      # cProfile of pyajs's Python over --events calls

The page's fetch is replaced (by an init script, so both libraries see it) with a stub that
answers POSTs to /v1/ at once with a 200 and counts the events in their bodies: nothing is
posted, and drain measures the libraries, not the network. Prints a table (figure, pyajs,
reference, ratio, target, met?); the last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.e2e.browser_path import chromium_path  # noqa: E402

PAGES = {
    "pyajs": "/bench/pyajs.html",
    "bare": "/bench-bare.html",
    "next": "/bench/ajs.html",
}
BOOT_TIMEOUT_MS = 180_000
KB = 1000
MB = 1_000_000

# The targets pyajs holds itself to: key -> (comparison, bound, what it is).
TARGETS: dict[str, tuple[str, float, str]] = {
    "enqueue_js_ratio": ("<=", 0.1, "<= 0.1x"),
    "enqueue_js_first_ratio": ("<=", 0.1, "<= 0.1x"),
    "enqueue_py_ratio": ("<=", 0.1, "<= 0.1x"),
    "drain_batching_ratio": ("<=", 0.1, "<= 0.1x"),
    "drain_standard_ratio": ("<=", 0.5, "<= 0.5x"),
    "ready_cold_ratio": ("<=", 1.10, "<= 1.10x"),
    "ready_warm_ratio": ("<=", 1.10, "<= 1.10x"),
    "bytes_pyajs_own": ("<=", 30 * KB, "<= 30 KB"),
    "memory_growth_pyajs_mb": ("<=", 5.0, "<= 5 MB"),
    "longtask_boot_pyajs_ms": ("<=", 50.0, "<= 50 ms"),
    "longtask_run_pyajs_ms": ("<=", 50.0, "<= 50 ms"),
}

# Installed before any page script: the fetch stub, the event counter, the long-task log.
INIT_SCRIPT = r"""
(() => {
  const B = window.__bench = {
    name: null, target: Infinity, events: 0, posts: 0, doneAt: null, waiters: [],
    longtasks: [],
  };
  const realFetch = window.fetch;
  function countEvents(body) {
    if (typeof body !== "string" || B.name === null) return 0;
    try {
      const o = JSON.parse(body);
      const list = Array.isArray(o.batch) ? o.batch : [o];
      let n = 0;
      for (const e of list) if (e && e.event === B.name) n++;
      return n;
    } catch (e) {
      return 0;
    }
  }
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || String(input);
    const method = String((init && init.method) || (input && input.method) || "GET");
    if (method.toUpperCase() === "POST" && url.indexOf("/v1/") >= 0) {
      B.posts++;
      const n = countEvents(init && init.body);
      if (n) {
        B.events += n;
        if (B.events >= B.target && B.doneAt === null) {
          B.doneAt = performance.now();
          for (const wake of B.waiters.splice(0)) wake();
        }
      }
      return Promise.resolve(new Response("{}", {
        status: 200, headers: { "Content-Type": "application/json" },
      }));
    }
    return realFetch.apply(this, arguments);
  };
  B.reset = (name, target) => {
    B.name = name; B.target = target; B.events = 0; B.posts = 0; B.doneAt = null;
  };
  B.done = (timeoutMs) => new Promise((resolve, reject) => {
    if (B.doneAt !== null) return resolve();
    B.waiters.push(resolve);
    setTimeout(() => reject(new Error(
      `drain timeout: ${B.events} of ${B.target} events handed to fetch`)), timeoutMs);
  });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { /* no long-task API: reported as 0 */ }
})();
"""

# n track() calls in one synchronous loop (from JS, or from Python via the page's pyBench),
# then wait until the stub has seen all n events: enqueue and drain from one call.
BURST_JS = """
async ([n, name, from, timeoutMs]) => {
  const B = window.__bench;
  await new Promise((r) => setTimeout(r, 100));
  B.reset(name, n);
  const t0 = performance.now();
  if (from === "py") {
    window.pyBench(n, name);
  } else {
    const a = window.analytics;
    for (let i = 0; i < n; i++) a.track(name, { i });
  }
  const t1 = performance.now();
  await B.done(timeoutMs);
  return { enqueue: t1 - t0, drain: B.doneAt - t0, posts: B.posts };
}
"""

# n calls from JS, `chunk` per task (yielding through a MessageChannel, not clamped like
# timers), until all are handed to fetch; the long tasks seen meanwhile.
STREAM_JS = """
async ([n, name, chunk, timeoutMs]) => {
  const B = window.__bench;
  B.reset(name, n);
  const channel = new MessageChannel();
  let wake = null;
  channel.port1.onmessage = () => wake();
  const nextTask = () => new Promise((r) => { wake = r; channel.port2.postMessage(0); });
  const a = window.analytics;
  const t0 = performance.now();
  for (let i = 0; i < n; i += chunk) {
    for (let j = i; j < Math.min(n, i + chunk); j++) a.track(name, { i: j });
    await nextTask();
  }
  await B.done(timeoutMs);
  const t1 = performance.now();
  await new Promise((r) => setTimeout(r, 200));
  const seen = B.longtasks.filter(([s, d]) => s + d >= t0 && s <= t1);
  return { ms: t1 - t0, longest: Math.max(0, ...seen.map(([, d]) => d)), count: seen.length };
}
"""

# The longest part of a task that falls after `since` (ms since navigation).
LONGEST_AFTER_JS = """
(since) => Math.max(0, ...window.__bench.longtasks.map(([s, d]) => s + d - Math.max(s, since)))
"""


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "serve.py"), "--port", "0", "--db", ":memory:", "--quiet",
         "--oracle"],  # analytics-next, the reference
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    match = re.search(r":(\d+)/", proc.stdout.readline())
    if not match:
        proc.kill()
        raise RuntimeError("serve.py did not start")
    return proc, "http://127.0.0.1:%s" % match.group(1)


def category(path: str) -> str:
    if path.startswith(("/vendor/pyodide/", "/vendor/pyscript/")):
        return "runtime"
    if path in ("/snippet.js", "/pyajs.js") or path.startswith("/pyajs/"):
        return "pyajs_own"
    if path.startswith(("/analytics.js/", "/analytics-next/", "/vendor/analytics-next/")) \
            or path == "/bench/ajs-snippet.js":
        return "next_own"
    if path.startswith("/v1/projects/"):
        return "next_settings"
    return "page"


class Bench:
    def __init__(self, browser: Any, base: str, args: argparse.Namespace):
        self.browser = browser
        self.base = base
        self.args = args
        self.timeout_ms = 120_000 + 30 * max(args.events, args.memory_events)

    # ---- plumbing ----------------------------------------------------------------------

    def open(self) -> tuple[Any, Any, Any, list]:
        context = self.browser.new_context()
        context.add_init_script(INIT_SCRIPT)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        requests: list = []
        page.on("requestfinished", lambda request: requests.append(request))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.bench_errors = errors  # shown if the page never gets ready
        return context, page, cdp, requests

    def goto_ready(self, page: Any, url: str, reload: bool = False) -> float:
        if reload:
            page.reload()
        else:
            page.goto(url)
        try:
            page.wait_for_function("window.readyAt !== undefined", timeout=BOOT_TIMEOUT_MS)
        except Exception as exc:
            errors = "\n".join(getattr(page, "bench_errors", [])[-10:]) or "(none)"
            raise RuntimeError("%s never got ready (%s); page errors:\n%s"
                               % (page.url, exc.__class__.__name__, errors)) from exc
        return page.evaluate("window.readyAt")

    @staticmethod
    def transferred(requests: list) -> dict[str, int]:
        """Compressed body bytes received, by category (cache hits and 304s count 0)."""
        sizes: dict[str, int] = {}
        for request in requests:
            path = re.sub(r"^https?://[^/]+", "", request.url).split("?")[0]
            body = max(0, request.sizes()["responseBodySize"])
            sizes[category(path)] = sizes.get(category(path), 0) + body
        return sizes

    @staticmethod
    def task_ms(cdp: Any) -> float:
        metrics = cdp.send("Performance.getMetrics")["metrics"]
        return 1000 * next(m["value"] for m in metrics if m["name"] == "TaskDuration")

    def burst(self, page: Any, cdp: Any, n: int, name: str, source: str) -> dict[str, float]:
        before = self.task_ms(cdp)
        out = page.evaluate(BURST_JS, [n, name, source, self.timeout_ms])
        out["cpu"] = self.task_ms(cdp) - before
        return out

    def memory(self, page: Any, cdp: Any, python: bool) -> dict[str, float]:
        time.sleep(1.0)  # let timers and heartbeats settle
        if python:
            page.evaluate("window.pyMemory()")  # gc.collect() in the interpreter first
        cdp.send("HeapProfiler.collectGarbage")
        heap = page.evaluate("performance.memory.usedJSHeapSize")
        wasm = page.evaluate("window.pyMemory().wasm") if python else 0
        return {"heap": heap, "wasm": wasm or 0}

    # ---- one context per measurement ----------------------------------------------------

    def ready_only(self, path: str) -> dict[str, float]:
        context, page, _, _ = self.open()
        try:
            cold = self.goto_ready(page, self.base + path)
            boot_tail = page.evaluate(LONGEST_AFTER_JS, cold)
            warm = self.goto_ready(page, self.base + path, reload=True)
            boot_tail = max(boot_tail, page.evaluate(LONGEST_AFTER_JS, warm))
            return {"cold": cold / 1000, "warm": warm / 1000, "boot_task": boot_tail}
        finally:
            context.close()

    def library(self, who: str, mode: str, with_ready: bool) -> dict[str, Any]:
        """Load the page (cold, then warm by reload), then bursts of track() calls, each with
        its drain: the first from JS right after load, then (measured warm) one from JS and,
        for pyajs, one from Python. The first burst after load runs while V8 is still tiering
        up the interpreter's wasm (baseline code until its hot functions are optimized), so
        it is reported apart."""
        n = self.args.events
        query = ["mode=batching"] if mode == "batching" else []
        if who == "pyajs" and self.args.plugin != "none":
            query.append("plugin=" + self.args.plugin)
        url = self.base + PAGES[who] + ("?" + "&".join(query) if query else "")
        context, page, cdp, requests = self.open()
        out: dict[str, Any] = {}
        try:
            cold = self.goto_ready(page, url)
            since = page.evaluate("window.runtimeAt ?? 0") if who == "pyajs" else 0
            if with_ready:
                time.sleep(0.5)
                out["bytes"] = self.transferred(requests)
                out["boot_task"] = page.evaluate(LONGEST_AFTER_JS, since)
                cold_since = since
                requests.clear()
                warm = self.goto_ready(page, url, reload=True)
                since = page.evaluate("window.runtimeAt ?? 0") if who == "pyajs" else 0
                time.sleep(0.5)
                out["bytes_warm"] = sum(self.transferred(requests).values())
                out["boot_task"] = max(out["boot_task"], page.evaluate(LONGEST_AFTER_JS, since))
                out["cold"], out["warm"] = cold / 1000, warm / 1000
                if who == "pyajs":  # the part of ready after the interpreter ran Python
                    out["runtime_cold"], out["runtime_warm"] = cold_since / 1000, since / 1000
                    out["init_cold"], out["init_warm"] = cold - cold_since, warm - since
            out["first"] = self.burst(page, cdp, n, "F", "js")
            out["js"] = self.burst(page, cdp, n, "E", "js")
            if who == "pyajs":
                out["py"] = self.burst(page, cdp, n, "P", "py")
            return out
        finally:
            context.close()

    def memory_run(self, who: str) -> dict[str, Any]:
        n = self.args.memory_events
        context, page, cdp, _ = self.open()
        try:
            self.goto_ready(page, self.base + PAGES[who])
            python = who == "pyajs"
            before = self.memory(page, cdp, python)
            run = page.evaluate(STREAM_JS, [n, "M", self.args.chunk, self.timeout_ms])
            after = self.memory(page, cdp, python)
            return {
                "heap": (after["heap"] - before["heap"]) / MB,
                "wasm": (after["wasm"] - before["wasm"]) / MB,
                "heap_after": after["heap"] / MB, "wasm_after": after["wasm"] / MB,
                "run_task": run["longest"], "run_ms": run["ms"],
            }
        finally:
            context.close()

    def profile_start_up(self) -> str:
        """cProfile of `import pyajs` (which starts it) in the page, after the runtime."""
        context, page, _, _ = self.open()
        try:
            ready = self.goto_ready(page, self.base + PAGES["pyajs"] + "?profile=import")
            since = page.evaluate("window.runtimeAt")
            task = page.evaluate(LONGEST_AFTER_JS, since)
            return ("=== start-up: runtime started %.0f ms, ready %.0f ms, import pyajs under "
                    "the profiler %.0f ms, longest task after runtime start %.0f ms ===\n%s"
                    % (since, ready, page.evaluate("window.importMs"), task,
                       page.evaluate("window.importProfile")))
        finally:
            context.close()

    def cpu_profile(self, page: Any, cdp: Any, n: int, delivery: bool) -> str:
        """Chromium's sampling profile of n track() calls from JS: the loop alone
        (console.profile around it), or the loop and the delivery that follows until all
        are handed to fetch. Self time by JS function; the interpreter's wasm as one line."""
        finished: list = []
        cdp.on("Profiler.consoleProfileFinished", lambda event: finished.append(event))
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 100})
        loop_ms = page.evaluate("""async ([n, delivery]) => {
          const B = window.__bench, a = window.analytics;
          await new Promise((r) => setTimeout(r, 100));
          B.reset(delivery ? "D" : "C", n);
          console.profile("bench");
          const t0 = performance.now();
          for (let i = 0; i < n; i++) a.track(delivery ? "D" : "C", { i });
          const t1 = performance.now();
          if (delivery) await B.done(120000);
          console.profileEnd("bench");
          if (!delivery) await B.done(120000);
          return t1 - t0;
        }""", [n, delivery])
        deadline = time.monotonic() + 10
        while not finished and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        cdp.send("Profiler.disable")
        if not finished:
            return "(no console profile arrived)"
        profile = finished[0]["profile"]
        deltas = profile.get("timeDeltas") or []
        by_node: dict[int, float] = {}
        for node_id, delta in zip(profile.get("samples") or [], deltas[1:] + [0], strict=False):
            by_node[node_id] = by_node.get(node_id, 0.0) + delta / 1000
        totals: dict[str, float] = {}
        for node in profile["nodes"]:
            frame = node["callFrame"]
            name = frame.get("functionName") or "(anonymous)"
            url = frame.get("url") or ""
            if "wasm" in url or name.startswith(("$", "wasm-function")) or name.startswith("_"):
                label = "(Pyodide: wasm and its runtime)"
            elif name in ("(program)", "(idle)", "(garbage collector)", "(root)"):
                label = name
            else:
                label = "%s  %s" % (name, url.rsplit("/", 1)[-1])
            totals[label] = totals.get(label, 0.0) + by_node.get(node["id"], 0.0)
        busy = sum(v for k, v in totals.items() if k not in ("(idle)", "(root)"))
        lines = ["=== Chromium CPU profile of %d track() calls from JS, %s: loop %.0f ms "
                 "(%.1f us/call), sampled %.0f ms ===" % (
                     n, "the loop and its delivery" if delivery else "the loop only", loop_ms,
                     1000 * loop_ms / n, busy)]
        for label, ms in sorted(totals.items(), key=lambda kv: -kv[1])[:15]:
            if ms >= 0.5 and label not in ("(idle)", "(root)"):
                lines.append("  %7.1f ms  %5.1f%%  %s" % (ms, 100 * ms / busy, label))
        return "\n".join(lines)

    def profile(self) -> str:
        """cProfile of the page's Python over --events track() calls from JS (with their
        delivery), then from Python."""
        n = self.args.events
        context, page, cdp, _ = self.open()
        try:
            self.goto_ready(page, self.base + PAGES["pyajs"])
            self.burst(page, cdp, 50, "W", "js")  # first-call costs out of the way
            parts = [self.profile_start_up()]
            for source in ("js", "py"):
                page.evaluate("window.pyProfileStart()")
                out = self.burst(page, cdp, n, "X" + source, source)
                text = page.evaluate("(top) => window.pyProfileStop(top)", self.args.top)
                parts.append("=== %d track() calls from %s, profiled: enqueue %.1f us/call, "
                             "drain %.0f ms ===\n%s" % (n, source, 1000 * out["enqueue"] / n,
                                                       out["drain"], text))
            parts.append(self.cpu_profile(page, cdp, n, delivery=False))
            parts.append(self.cpu_profile(page, cdp, n, delivery=True))
            unprofiled = {s: self.burst(page, cdp, n, "U" + s, s) for s in ("js", "py")}
            parts.append("unprofiled: enqueue from JS %.1f us/call, from Python %.1f us/call "
                         "(the JS -> Python crossing and argument encoding: %.1f us/call); "
                         "main-thread time per event incl. delivery: %.1f us" % (
                             1000 * unprofiled["js"]["enqueue"] / n,
                             1000 * unprofiled["py"]["enqueue"] / n,
                             1000 * (unprofiled["js"]["enqueue"] - unprofiled["py"]["enqueue"])
                             / n, 1000 * unprofiled["js"]["cpu"] / n))
            return "\n".join(parts)
        finally:
            context.close()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def collect(bench: Bench, runs: int) -> dict[str, list]:
    samples: dict[str, list] = {}

    def add(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    for run in range(runs):
        print("run %d/%d ..." % (run + 1, runs), file=sys.stderr, flush=True)
        bare = bench.ready_only(PAGES["bare"])
        print("  bare PyScript ready: cold %.3f s, warm %.3f s" % (bare["cold"], bare["warm"]),
              file=sys.stderr, flush=True)
        add("ready_cold_bare", bare["cold"])
        add("ready_warm_bare", bare["warm"])
        add("boot_task_bare", bare["boot_task"])
        for who in ("pyajs", "next"):
            std = bench.library(who, "standard", with_ready=True)
            per_call = {k: 1000 * std[k]["enqueue"] / bench.args.events for k in ("js", "first")}
            print("  %s ready: cold %.3f s, warm %.3f s; enqueue from JS %.1f us/call, first "
                  "burst after load %.1f" % (who, std["cold"], std["warm"], per_call["js"],
                                             per_call["first"]), file=sys.stderr, flush=True)
            add("ready_cold_" + who, std["cold"])
            add("ready_warm_" + who, std["warm"])
            add("boot_task_" + who, std["boot_task"])
            for key in ("runtime_cold", "runtime_warm", "init_cold", "init_warm"):
                if key in std:
                    add("%s_%s" % (key, who), std[key])
            for cat, size in std["bytes"].items():
                add("bytes_%s_%s" % (who, cat), size)
            add("bytes_warm_" + who, std["bytes_warm"])
            n = bench.args.events
            add("enqueue_js_" + who, 1000 * std["js"]["enqueue"] / n)
            add("enqueue_js_first_" + who, 1000 * std["first"]["enqueue"] / n)
            add("drain_standard_first_" + who, std["first"]["drain"])
            add("cpu_" + who, 1000 * std["js"]["cpu"] / n)
            add("drain_standard_" + who, std["js"]["drain"])
            if "py" in std:
                add("enqueue_py_" + who, 1000 * std["py"]["enqueue"] / n)
                add("drain_standard_py_" + who, std["py"]["drain"])
            batch = bench.library(who, "batching", with_ready=False)
            add("drain_batching_" + who, batch["js"]["drain"])
            add("enqueue_js_batching_" + who, 1000 * batch["js"]["enqueue"] / n)
            add("posts_batching_" + who, batch["js"]["posts"])
            if "py" in batch:
                add("drain_batching_py_" + who, batch["py"]["drain"])
        for who in ("pyajs", "next"):
            mem = bench.memory_run(who)
            add("memory_heap_" + who, mem["heap"])
            add("memory_wasm_" + who, mem["wasm"])
            add("memory_growth_" + who, mem["heap"] + mem["wasm"])
            add("wasm_after_" + who, mem["wasm_after"])
            add("run_task_" + who, mem["run_task"])
    return samples


def figures_from(samples: dict[str, list], args: argparse.Namespace) -> dict[str, Any]:
    m = {key: median(values) for key, values in samples.items()}
    g = m.get
    f: dict[str, Any] = {"runs": args.runs, "events": args.events,
                         "memory_events": args.memory_events}
    for kind in ("cold", "warm"):
        f["ready_%s_pyajs_s" % kind] = round(g("ready_%s_pyajs" % kind), 3)
        f["ready_%s_bare_pyscript_s" % kind] = round(g("ready_%s_bare" % kind), 3)
        f["ready_%s_analytics_next_s" % kind] = round(g("ready_%s_next" % kind), 3)
        f["ready_%s_ratio" % kind] = ratio(g("ready_%s_pyajs" % kind), g("ready_%s_bare" % kind))
        # ready = when the interpreter ran the first Python line + pyajs's own start-up.
        f["runtime_%s_pyajs_s" % kind] = round(g("runtime_%s_pyajs" % kind), 3)
        f["pyajs_init_%s_ms" % kind] = round(g("init_%s_pyajs" % kind), 1)
    for src in ("js", "py"):
        f["enqueue_%s_pyajs_us" % src] = round(g("enqueue_%s_pyajs" % src), 1)
    f["enqueue_js_analytics_next_us"] = round(g("enqueue_js_next"), 1)
    f["enqueue_js_ratio"] = ratio(g("enqueue_js_pyajs"), g("enqueue_js_next"))
    f["enqueue_js_first_pyajs_us"] = round(g("enqueue_js_first_pyajs"), 1)
    f["enqueue_js_first_analytics_next_us"] = round(g("enqueue_js_first_next"), 1)
    f["enqueue_js_first_ratio"] = ratio(g("enqueue_js_first_pyajs"), g("enqueue_js_first_next"))
    f["drain_standard_first_pyajs_ms"] = round(g("drain_standard_first_pyajs"), 1)
    f["drain_standard_first_analytics_next_ms"] = round(g("drain_standard_first_next"), 1)
    f["enqueue_py_ratio"] = ratio(g("enqueue_py_pyajs"), g("enqueue_js_next"))
    f["cpu_per_event_pyajs_us"] = round(g("cpu_pyajs"), 1)
    f["cpu_per_event_analytics_next_us"] = round(g("cpu_next"), 1)
    f["cpu_per_event_ratio"] = ratio(g("cpu_pyajs"), g("cpu_next"))
    for mode in ("standard", "batching"):
        f["drain_%s_pyajs_ms" % mode] = round(g("drain_%s_pyajs" % mode), 1)
        f["drain_%s_py_pyajs_ms" % mode] = round(g("drain_%s_py_pyajs" % mode), 1)
        f["drain_%s_analytics_next_ms" % mode] = round(g("drain_%s_next" % mode), 1)
        f["drain_%s_ratio" % mode] = ratio(g("drain_%s_pyajs" % mode), g("drain_%s_next" % mode))
    f["posts_batching_pyajs"] = g("posts_batching_pyajs")
    f["posts_batching_analytics_next"] = g("posts_batching_next")
    f["bytes_runtime"] = int(g("bytes_pyajs_runtime", 0))
    f["bytes_pyajs_own"] = int(g("bytes_pyajs_pyajs_own", 0))
    f["bytes_analytics_next_own"] = int(g("bytes_next_next_own", 0))
    f["bytes_own_ratio"] = ratio(f["bytes_pyajs_own"], f["bytes_analytics_next_own"])
    f["bytes_warm_pyajs"] = int(g("bytes_warm_pyajs", 0))
    f["bytes_warm_analytics_next"] = int(g("bytes_warm_next", 0))
    for who, name in (("pyajs", "pyajs"), ("next", "analytics_next")):
        f["memory_js_heap_growth_%s_mb" % name] = round(g("memory_heap_" + who), 2)
        f["memory_growth_%s_mb" % name] = round(g("memory_growth_" + who), 2)
    f["memory_wasm_growth_pyajs_mb"] = round(g("memory_wasm_pyajs"), 2)
    f["memory_wasm_after_pyajs_mb"] = round(g("wasm_after_pyajs"), 2)
    f["memory_growth_ratio"] = ratio(g("memory_growth_pyajs"), g("memory_growth_next"))
    f["longtask_boot_pyajs_ms"] = round(g("boot_task_pyajs"), 1)
    f["longtask_boot_bare_pyscript_ms"] = round(g("boot_task_bare"), 1)
    f["longtask_boot_analytics_next_ms"] = round(g("boot_task_next"), 1)
    f["longtask_run_pyajs_ms"] = round(g("run_task_pyajs"), 1)
    f["longtask_run_analytics_next_ms"] = round(g("run_task_next"), 1)
    met = {}
    for key, (_, bound, _) in TARGETS.items():
        value = f[key]
        met[key] = bool(value == value and value <= bound)  # NaN is not met
    f["targets_met"] = met
    f["all_targets_met"] = all(met.values())
    return f


def print_table(f: dict[str, Any], args: argparse.Namespace) -> None:
    n, mem_n = args.events, args.memory_events

    def num(value: Any, unit: str = "") -> str:
        if value is None or value != value:
            return "-"
        if isinstance(value, float) and not value.is_integer() or unit in ("s",):
            return ("%.3f" % value if abs(value) < 10 else "%.1f" % value) + unit
        return f"{int(value):,}" + unit

    def target(key: str | None) -> tuple[str, str]:
        if key is None:
            return "", ""
        return TARGETS[key][2], "yes" if f["targets_met"][key] else "NO"

    rows = [
        ("ready cold (s), vs bare PyScript", f["ready_cold_pyajs_s"],
         f["ready_cold_bare_pyscript_s"], f["ready_cold_ratio"], "ready_cold_ratio", ""),
        ("ready warm (s), vs bare PyScript", f["ready_warm_pyajs_s"],
         f["ready_warm_bare_pyscript_s"], f["ready_warm_ratio"], "ready_warm_ratio", ""),
        ("  of it: interpreter ran Python (s)", f["runtime_cold_pyajs_s"],
         f["ready_cold_bare_pyscript_s"], ratio(f["runtime_cold_pyajs_s"],
                                                f["ready_cold_bare_pyscript_s"]), None, " (cold)"),
        ("  of it: pyajs start-up after that (ms)", f["pyajs_init_cold_ms"], None, None, None,
         " (cold; warm %s ms)" % num(f["pyajs_init_warm_ms"])),
        ("ready cold (s), vs analytics-next", f["ready_cold_pyajs_s"],
         f["ready_cold_analytics_next_s"],
         ratio(f["ready_cold_pyajs_s"], f["ready_cold_analytics_next_s"]), None, ""),
        ("ready warm (s), vs analytics-next", f["ready_warm_pyajs_s"],
         f["ready_warm_analytics_next_s"],
         ratio(f["ready_warm_pyajs_s"], f["ready_warm_analytics_next_s"]), None, ""),
        ("enqueue from JS (us/call)", f["enqueue_js_pyajs_us"],
         f["enqueue_js_analytics_next_us"], f["enqueue_js_ratio"], "enqueue_js_ratio",
         " (after a first burst)"),
        ("enqueue from JS, first burst after load", f["enqueue_js_first_pyajs_us"],
         f["enqueue_js_first_analytics_next_us"], f["enqueue_js_first_ratio"],
         "enqueue_js_first_ratio", " (wasm still tiering up)"),
        ("enqueue from Python (us/call)", f["enqueue_py_pyajs_us"],
         f["enqueue_js_analytics_next_us"], f["enqueue_py_ratio"], "enqueue_py_ratio",
         " (ref: next from JS)"),
        ("main-thread time/event incl. delivery (us)", f["cpu_per_event_pyajs_us"],
         f["cpu_per_event_analytics_next_us"], f["cpu_per_event_ratio"], None, ""),
        ("drain %d, standard (ms)" % n, f["drain_standard_pyajs_ms"],
         f["drain_standard_analytics_next_ms"], f["drain_standard_ratio"],
         "drain_standard_ratio", ""),
        ("drain %d, batching (ms)" % n, f["drain_batching_pyajs_ms"],
         f["drain_batching_analytics_next_ms"], f["drain_batching_ratio"],
         "drain_batching_ratio", ""),
        ("bytes, own files (compressed)", f["bytes_pyajs_own"], f["bytes_analytics_next_own"],
         f["bytes_own_ratio"], "bytes_pyajs_own", ""),
        ("bytes, runtime (compressed)", f["bytes_runtime"], None, None, None,
         " (Pyodide + PyScript)"),
        ("bytes, second visit (reload)", f["bytes_warm_pyajs"], f["bytes_warm_analytics_next"],
         None, None, ""),
        ("memory growth, %d events (MB)" % mem_n, f["memory_growth_pyajs_mb"],
         f["memory_growth_analytics_next_mb"], f["memory_growth_ratio"],
         "memory_growth_pyajs_mb", " (JS heap + wasm)"),
        ("  of it JS heap (MB)", f["memory_js_heap_growth_pyajs_mb"],
         f["memory_js_heap_growth_analytics_next_mb"], None, None, ""),
        ("  of it wasm memory (MB)", f["memory_wasm_growth_pyajs_mb"], None, None, None,
         " (of %s MB)" % num(f["memory_wasm_after_pyajs_mb"])),
        ("longest task after runtime start (ms)", f["longtask_boot_pyajs_ms"],
         f["longtask_boot_bare_pyscript_ms"], None, "longtask_boot_pyajs_ms",
         " (ref: bare PyScript)"),
        ("longest task, %d-event run (ms)" % mem_n, f["longtask_run_pyajs_ms"],
         f["longtask_run_analytics_next_ms"], None, "longtask_run_pyajs_ms",
         " (%d calls per task)" % args.chunk),
    ]
    print()
    print("pyajs vs references: medians of %d run(s); %d events per burst; one Chromium"
          % (args.runs, n))
    header = ("figure", "pyajs", "reference", "ratio", "target", "met?")
    widths = (44, 10, 10, 8, 10, 5)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for label, ours, ref, rat, key, note in rows:
        tgt, ok = target(key)
        cells = (label, num(ours), num(ref), "-" if rat is None else num(rat) + "x", tgt, ok)
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + note)
    missed = [k for k, ok in f["targets_met"].items() if not ok]
    print("targets met: %d of %d%s" % (len(TARGETS) - len(missed), len(TARGETS),
                                      (" (missed: %s)" % ", ".join(missed)) if missed else ""))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh contexts per subject")
    parser.add_argument("--events", type=int, default=1000, help="track() calls per burst")
    parser.add_argument("--memory-events", type=int, default=10_000,
                        help="events for the memory and long-task run")
    parser.add_argument("--chunk", type=int, default=10,
                        help="calls per task in the memory run")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny N, one run, no warm-up: checks the command works (CI)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of pyajs's Python over --events calls, and exit")
    parser.add_argument("--top", type=int, default=25, help="functions listed by --profile")
    parser.add_argument("--plugin", choices=("none", "py", "js"), default="none",
                        help="pyajs with one enrichment plugin registered, written in Python "
                             "or in JavaScript (what a plugin costs per event)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.runs, args.events, args.memory_events = 1, 40, 200
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    proc, base = start_server()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--enable-precise-memory-info"])
            bench = Bench(browser, base, args)
            if args.profile:
                print(bench.profile())
                browser.close()
                return {}
            if not args.smoke:  # server caches (zip, gzip) and the OS file cache warm
                for path in PAGES.values():
                    bench.ready_only(path)
            samples = collect(bench, args.runs)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    figures = figures_from(samples, args)
    print_table(figures, args)
    # A figure that could not be computed is null (JSON has no NaN).
    print(json.dumps({k: None if isinstance(v, float) and v != v else v
                      for k, v in figures.items()}))
    return figures


if __name__ == "__main__":
    main()
