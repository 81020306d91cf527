"""Smoke test for bench/slow_clients.py: a small run end to end (serve.py subprocess, idle and
stalled connections held open, ordinary requests beside them), checking that every ordinary
request was answered and that the summary is the last line. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench" / "slow_clients.py"


def test_small_slow_client_run_answers_every_ordinary_request() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--idle", "60", "--requests", "40", "--clients", "2",
         "--rounds", "1"],
        capture_output=True, text=True, timeout=120, cwd=REPO)
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    figures = json.loads(lines[-1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for side in ("without_idle", "with_idle"):
        assert figures[side]["requests"] == figures[side]["answered_200"] == 40
        assert figures[side]["statuses"] == {"200": 40}
        assert figures[side]["p99_ms"] > 0
    assert figures["idle_connections"] == 60 and figures["server_tracebacks"] == 0
    assert figures["ok"] is True and figures["server_exit_code"] == 0
    assert "with 60 idle" in proc.stdout
