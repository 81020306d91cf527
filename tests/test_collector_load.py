"""Smoke test for bench/collector_load.py: a tiny run end to end (serve.py subprocess, load,
SIGTERM, restart), checking that every event sent was stored and kept, and that the last line
of output is the JSON summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench" / "collector_load.py"


def run(*args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    return proc, json.loads(lines[-1])


def test_tiny_load_run_stores_everything_and_survives_restart() -> None:
    proc, figures = run("--clients", "4", "--batches", "3", "--batch-size", "5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert figures["events_sent"] == 4 * 3 * 5
    assert figures["stored"] == figures["events_sent"] == figures["events_acked"]
    assert figures["stored_after_restart"] == figures["events_sent"]
    assert figures["acked_missing_after_restart"] == 0
    assert figures["http_errors"] == 0 and figures["errors"] == {}
    assert figures["requests"] == figures["requests_ok"] == 12
    assert figures["stop_signal"] == "SIGTERM" and figures["server_exit_code"] == 0
    assert figures["stats_after_restart"]["events"] == 60
    assert figures["ok"] is True
    for key in ("events_per_s", "latency_ms_p50", "latency_ms_p95", "latency_ms_p99"):
        assert isinstance(figures[key], float) and figures[key] > 0
    # The readable table comes first.
    assert "stored vs sent" in proc.stdout and "60 / 60" in proc.stdout


def test_sigkill_mid_load_loses_nothing_acknowledged() -> None:
    # Far more than 0.2 s of work, so the kill lands while batches are in flight.
    proc, figures = run(
        "--clients", "4", "--batches", "2000", "--batch-size", "5", "--kill-mid", "0.2"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert figures["stop_signal"] == "SIGKILL at 0.2 s"
    assert figures["server_exit_code"] == -9
    assert 0 < figures["events_acked"] < figures["events_sent"]
    assert figures["http_errors"] > 0  # the requests after the kill
    assert figures["acked_missing_after_restart"] == 0
    assert figures["stored_after_restart"] >= figures["events_acked"]
    assert figures["ok"] is True
