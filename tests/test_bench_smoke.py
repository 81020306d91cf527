"""`bench/speed.py --smoke` keeps working: it runs (tiny N, one run, in headless Chromium)
and its last line is one JSON object with every figure. The figures themselves come from the
full command (see docs/performance.md); here they only have to be there."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.browser_path import chromium_path, playwright_has_own_browser

ROOT = Path(__file__).resolve().parents[1]

KEYS = {
    "runs", "events", "memory_events",
    "ready_cold_pyajs_s", "ready_cold_bare_pyscript_s", "ready_cold_analytics_next_s",
    "ready_cold_ratio", "ready_warm_pyajs_s", "ready_warm_bare_pyscript_s",
    "ready_warm_analytics_next_s", "ready_warm_ratio", "runtime_cold_pyajs_s",
    "runtime_warm_pyajs_s", "pyajs_init_cold_ms", "pyajs_init_warm_ms",
    "enqueue_js_pyajs_us", "enqueue_py_pyajs_us", "enqueue_js_analytics_next_us",
    "enqueue_js_ratio", "enqueue_py_ratio", "enqueue_js_first_pyajs_us",
    "enqueue_js_first_analytics_next_us", "enqueue_js_first_ratio",
    "drain_standard_first_pyajs_ms", "drain_standard_first_analytics_next_ms",
    "cpu_per_event_pyajs_us", "cpu_per_event_analytics_next_us", "cpu_per_event_ratio",
    "drain_standard_pyajs_ms", "drain_standard_py_pyajs_ms", "drain_standard_analytics_next_ms",
    "drain_standard_ratio", "drain_batching_pyajs_ms", "drain_batching_py_pyajs_ms",
    "drain_batching_analytics_next_ms", "drain_batching_ratio",
    "posts_batching_pyajs", "posts_batching_analytics_next",
    "bytes_runtime", "bytes_pyajs_own", "bytes_analytics_next_own", "bytes_own_ratio",
    "bytes_warm_pyajs", "bytes_warm_analytics_next",
    "memory_js_heap_growth_pyajs_mb", "memory_growth_pyajs_mb",
    "memory_js_heap_growth_analytics_next_mb", "memory_growth_analytics_next_mb",
    "memory_wasm_growth_pyajs_mb", "memory_wasm_after_pyajs_mb", "memory_growth_ratio",
    "longtask_boot_pyajs_ms", "longtask_boot_bare_pyscript_ms",
    "longtask_boot_analytics_next_ms", "longtask_run_pyajs_ms", "longtask_run_analytics_next_ms",
    "targets_met", "all_targets_met",
}
TARGET_KEYS = {
    "enqueue_js_ratio", "enqueue_py_ratio", "enqueue_js_first_ratio", "drain_batching_ratio",
    "drain_standard_ratio",
    "ready_cold_ratio", "ready_warm_ratio", "bytes_pyajs_own", "memory_growth_pyajs_mb",
    "longtask_boot_pyajs_ms", "longtask_run_pyajs_ms",
}


needs_runtimes_and_browser = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file()
        or not (ROOT / "node_modules" / "@micropython").is_dir(),
        reason="node_modules not installed (scripts/setup.sh)"),
    pytest.mark.skipif(chromium_path() is None and not playwright_has_own_browser(),
                       reason="no Chromium (scripts/setup.sh --browser)"),
]

pytestmark = needs_runtimes_and_browser


def smoke(script: str) -> tuple[list, dict]:
    """Run ``bench/<script> --smoke``: its output lines and its last line's JSON."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    return lines, json.loads(lines[-1])


def test_speed_smoke_prints_every_figure_as_json() -> None:
    lines, figures = smoke("speed.py")
    assert KEYS <= set(figures), sorted(KEYS - set(figures))
    assert set(figures["targets_met"]) == TARGET_KEYS
    assert figures["runs"] == 1
    # Every measured figure is a number (a ratio may be null when its reference is 0).
    for key in KEYS - {"targets_met", "all_targets_met"}:
        value = figures[key]
        if value is None and key.endswith("_ratio") and not key.startswith(("ready", "drain")):
            continue
        assert isinstance(value, (int, float)) and not math.isnan(value), (key, value)
    assert figures["ready_cold_pyajs_s"] > 0 and figures["bytes_pyajs_own"] > 0
    assert figures["posts_batching_pyajs"] < figures["events"]  # batching did batch
    # The table is printed above the JSON line.
    assert any(line.startswith("figure") for line in lines)


RUNTIME_FIGURES = ("cold", "warm", "enqueue_us", "drain_ms", "drain_batching_ms")


def test_runtimes_smoke_prints_both_runtimes_and_their_ratios() -> None:
    lines, figures = smoke("runtimes.py")
    for lib in ("pyajs_mpy", "pyajs_py", "analytics_next"):
        for key in RUNTIME_FIGURES:
            value = figures["%s_%s" % (lib, key)]
            assert isinstance(value, (int, float)) and value > 0, (lib, key, value)
    for ref in ("bare_pyscript_mpy", "bare_mpy"):
        assert figures[ref + "_cold"] > 0 and figures[ref + "_warm"] > 0
    assert figures["snippet_mpy_cold"] > 0 and "snippet_mpy_warm" not in figures
    for key in RUNTIME_FIGURES:
        for runtime in ("mpy", "py"):
            ratio = figures["ratio_%s_%s" % (key, runtime)]
            expected = figures["pyajs_%s_%s" % (runtime, key)] / figures["analytics_next_" + key]
            assert ratio == pytest.approx(expected, rel=0.01, abs=0.001), (key, runtime)
    assert any(line.startswith("figure") for line in lines)


def test_firstvisit_smoke_prints_every_figure_for_both_networks() -> None:
    lines, figures = smoke("firstvisit.py")
    assert figures["runs"] == 1
    for net in ("fast", "slow"):
        for lib in ("pyajs_mpy", "pyajs_py", "analytics_next"):
            for key in ("ready_s", "first_event_s", "kb"):
                value = figures["%s_%s_%s" % (net, lib, key)]
                assert isinstance(value, (int, float)) and value > 0, (net, lib, key, value)
            # no task may pass 50 ms: then these are 0
            for key in ("tbt_ms", "longest_task_ms", "pyajs_share_ms"):
                value = figures["%s_%s_%s" % (net, lib, key)]
                assert isinstance(value, (int, float)) and value >= 0, (net, lib, key, value)
        # the runtime's size shows in what each page transferred
        assert figures[net + "_pyajs_py_kb"] > figures[net + "_pyajs_mpy_kb"] > \
            figures[net + "_analytics_next_kb"]
    assert set(figures["targets_met"]) == {
        "ready_mpy_le_1.25x", "first_event_mpy_le_1.25x", "longest_task_mpy_le_100ms",
        "tbt_mpy_le_next_plus_50ms", "pyajs_share_py_lt_50ms"}
    assert any(line.startswith("figure") for line in lines)
