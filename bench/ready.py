"""Time from navigation start to ready: pyajs (``analytics.ready``) next to a bare PyScript
page that boots the same Pyodide and runs one line, cold (new browser context, empty HTTP
cache) and warm (a reload in the same context). Medians of ``--runs`` contexts, one
Chromium, one serve.py. The last line of output is one JSON object with every figure.

    python bench/ready.py --runs 5
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.e2e.browser_path import chromium_path  # noqa: E402

PAGES = {"pyajs": "/bench-ready.html", "bare_pyscript": "/bench-bare.html"}


def start_server():
    proc = subprocess.Popen([sys.executable, str(ROOT / "serve.py"), "--port", "0", "--db",
                             ":memory:", "--quiet"], stdout=subprocess.PIPE, text=True)
    port = int(re.search(r":(\d+)/", proc.stdout.readline()).group(1))
    return proc, "http://127.0.0.1:%d" % port


def measure(browser, url: str, timeout_ms: int = 120_000) -> tuple:
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("window.readyAt !== undefined", timeout=timeout_ms)
    cold = page.evaluate("window.readyAt")
    page.reload()
    page.wait_for_function("window.readyAt !== undefined", timeout=timeout_ms)
    warm = page.evaluate("window.readyAt")
    context.close()
    return cold / 1000, warm / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    proc, base = start_server()
    results = {name: {"cold": [], "warm": []} for name in PAGES}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update"])
            for _ in range(args.runs):  # interleaved so drift hits both alike
                for name, path in PAGES.items():
                    cold, warm = measure(browser, base + path)
                    results[name]["cold"].append(cold)
                    results[name]["warm"].append(warm)
            browser.close()
    finally:
        proc.terminate()
    figures = {}
    print("ready after navigation, median of %d (seconds)" % args.runs)
    print("%-8s %10s %15s %8s" % ("", "pyajs", "bare PyScript", "ratio"))
    for kind in ("cold", "warm"):
        ours = statistics.median(results["pyajs"][kind])
        ref = statistics.median(results["bare_pyscript"][kind])
        figures["ready_%s_pyajs_s" % kind] = round(ours, 3)
        figures["ready_%s_bare_pyscript_s" % kind] = round(ref, 3)
        figures["ready_%s_ratio" % kind] = round(ours / ref, 3)
        print("%-8s %10.3f %15.3f %7.2fx" % (kind, ours, ref, ours / ref))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
