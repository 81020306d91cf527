"""Time from navigation start to ready: pyajs (``analytics.ready``) next to a bare PyScript
page that boots the same Pyodide and runs one line, cold (new browser context, empty HTTP
cache) and warm (a reload in the same context). Medians of ``--runs`` contexts, one
Chromium, one serve.py. The last line of output is one JSON object with every figure.

Only the ready part of ``bench/speed.py`` (which measures it next to analytics-next too,
with every other speed figure), kept for a quick look:

    python bench/ready.py --runs 5
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402

PAGES = {"pyajs": speed.PAGES["pyajs"], "bare_pyscript": speed.PAGES["bare"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    proc, base = speed.start_server()
    results = {name: {"cold": [], "warm": []} for name in PAGES}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=speed.chromium_path(), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update"])
            bench = speed.Bench(browser, base, speed.parse_args([]))
            for _ in range(args.runs):  # interleaved so drift hits both alike
                for name, path in PAGES.items():
                    out = bench.ready_only(path)
                    results[name]["cold"].append(out["cold"])
                    results[name]["warm"].append(out["warm"])
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
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
