"""Collector load test: concurrent keep-alive clients posting batches to serve.py, then a
restart of the server to check that every acknowledged event was stored and kept.

Starts serve.py as a subprocess on a free loopback port with a temporary SQLite file (WAL),
runs --clients threads, each with its own keep-alive http.client connection, posting
--batches batches of --batch-size track events (unique messageIds) to /v1/batch with Basic
auth, and stops sending after --max-seconds. Reports events/s, request latency p50/p95/p99,
HTTP errors, the count stored vs sent; then stops the server (SIGTERM, or SIGKILL with
--kill), starts it again on the same file and checks that every acknowledged messageId is
there. The last line of output is one JSON object with every figure. Exit status 1 if an
acknowledged event is missing.

    python bench/collector_load.py [--clients 50] [--batches 20] [--batch-size 20]
                                   [--max-seconds 120] [--kill | --kill-mid SECONDS]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVE = ROOT / "serve.py"
WRITE_KEY = "pyajs-load-key"
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0
PAGE = 10_000  # serve.py's MAX_LIMIT for GET /api/events
FIRST_ACK = threading.Event()  # set when the first batch is acknowledged (--kill-mid)


def start_server(db: Path, log: Any) -> tuple[subprocess.Popen[str], int]:
    """serve.py on a free loopback port; returns the process and its port."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SERVE),
            "--host",
            HOST,
            "--port",
            "0",
            "--db",
            str(db),
            "--write-key",
            WRITE_KEY,
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not match:
        proc.kill()
        proc.wait()
        raise SystemExit(f"serve.py did not start (said {line!r}); see its stderr above")
    return proc, int(match.group(1))


def stop_server(proc: subprocess.Popen[str], kill: bool) -> int:
    proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    code = proc.wait(30)
    if proc.stdout is not None:
        proc.stdout.close()
    return code


def get_json(port: int, path: str) -> Any:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: {resp.status} {data[:200]!r}")
        return json.loads(data)
    finally:
        conn.close()


def stored_message_ids(port: int) -> list[str]:
    """Every stored messageId, paging through GET /api/events with `after`."""
    ids: list[str] = []
    after = 0
    while True:
        rows = get_json(port, f"/api/events?writeKey={WRITE_KEY}&after={after}&limit={PAGE}")
        rows = rows["events"]
        ids += [row["messageId"] for row in rows]
        if len(rows) < PAGE:
            return ids
        after = rows[-1]["id"]


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None if empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class ClientResult:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.requests = 0
        self.ok = 0
        self.events_sent = 0
        self.acked_ids: list[str] = []
        self.duplicates = 0
        self.errors: Counter[str] = Counter()
        self.first_send: float | None = None
        self.last_answer: float | None = None
        self.stopped_by_deadline = False


def make_batches(run: str, client: int, batches: int, size: int) -> list[tuple[bytes, list[str]]]:
    """The client's request bodies, built before the clock starts."""
    out = []
    for b in range(batches):
        items = []
        for i in range(size):
            items.append(
                {
                    "type": "track",
                    "event": "Load Test",
                    "messageId": f"load-{run}-{client}-{b}-{i}",
                    "anonymousId": f"anon-{run}-{client}",
                    "properties": {"client": client, "batch": b, "index": i},
                    "context": {"library": {"name": "collector_load", "version": "1"}},
                    "timestamp": "2024-01-01T00:00:00.000Z",
                }
            )
        body = json.dumps({"batch": items, "sentAt": "2024-01-01T00:00:00.000Z"})
        out.append((body.encode(), [item["messageId"] for item in items]))
    return out


def run_client(
    port: int,
    bodies: list[tuple[bytes, list[str]]],
    start: threading.Barrier,
    deadline_box: list[float],
    result: ClientResult,
) -> None:
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    start.wait()
    try:
        for body, ids in bodies:
            if time.monotonic() >= deadline_box[0]:
                result.stopped_by_deadline = True
                break
            began = time.perf_counter()
            if result.first_send is None:
                result.first_send = began
            result.requests += 1
            result.events_sent += len(ids)
            try:
                conn.request("POST", "/v1/batch", body, headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                result.errors[type(exc).__name__] += 1
                conn.close()  # reconnects on the next request
                continue
            ended = time.perf_counter()
            result.last_answer = ended
            result.latencies.append(ended - began)
            if resp.status == 200:
                FIRST_ACK.set()
                result.ok += 1
                result.acked_ids += ids
                result.duplicates += json.loads(data).get("duplicates", 0)
            else:
                result.errors[f"HTTP {resp.status}"] += 1
            if resp.will_close:
                conn.close()
    finally:
        conn.close()


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent connections")
    parser.add_argument("--batches", type=int, default=20, help="batches per client")
    parser.add_argument("--batch-size", type=int, default=20, help="events per batch")
    parser.add_argument(
        "--max-seconds", type=float, default=120.0, help="stop sending after this long"
    )
    parser.add_argument(
        "--kill", action="store_true", help="restart with SIGKILL instead of SIGTERM"
    )
    parser.add_argument(
        "--kill-mid",
        type=float,
        metavar="SECONDS",
        help="SIGKILL the server this long after the first batch is acknowledged, while the"
        " clients are sending",
    )
    args = parser.parse_args(argv)
    for name in ("clients", "batches", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.max_seconds <= 0:
        parser.error("--max-seconds must be positive")

    run = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="pyajs-load-") as tmp:
        db = Path(tmp) / "events.sqlite3"
        with open(Path(tmp) / "serve.stderr", "w+") as log:
            try:
                figures = measure(args, run, db, log)
            finally:
                log.seek(0)
                server_errors = log.read()
                if server_errors.strip():
                    print("serve.py stderr:\n" + server_errors, file=sys.stderr)
    report(figures)
    return 0 if figures["ok"] else 1


def measure(args: argparse.Namespace, run: str, db: Path, log: Any) -> dict[str, Any]:
    proc, port = start_server(db, log)
    try:
        all_bodies = [
            make_batches(run, c, args.batches, args.batch_size) for c in range(args.clients)
        ]
        results = [ClientResult() for _ in range(args.clients)]
        start = threading.Barrier(args.clients + 1)
        deadline_box = [math.inf]
        threads = [
            threading.Thread(
                target=run_client,
                args=(port, bodies, start, deadline_box, result),
                daemon=True,
            )
            for bodies, result in zip(all_bodies, results, strict=True)
        ]
        for thread in threads:
            thread.start()
        deadline_box[0] = time.monotonic() + args.max_seconds
        killer = None
        if args.kill_mid is not None:
            # Counted from the first acknowledged batch, not from the start: on a loaded
            # machine the first answer alone can take longer than the delay.
            def kill_after_first_ack() -> None:
                if FIRST_ACK.wait(args.max_seconds) and not stop_killer.wait(args.kill_mid):
                    proc.send_signal(signal.SIGKILL)

            stop_killer = threading.Event()
            killer = threading.Thread(target=kill_after_first_ack, daemon=True)
        wall_start = time.perf_counter()
        start.wait()
        if killer is not None:
            killer.start()
        hard_stop = time.monotonic() + args.max_seconds + REQUEST_TIMEOUT + 5
        for thread in threads:
            thread.join(max(0.0, hard_stop - time.monotonic()))
        wall = time.perf_counter() - wall_start
        hung = sum(thread.is_alive() for thread in threads)

        if killer is not None:
            stop_killer.set()
            FIRST_ACK.set()
            killer.join(5)
        stored_before = None
        if proc.poll() is None:
            stored_before = get_json(port, "/api/stats")["events"]
    finally:
        code = proc.poll()
        stop_signal = f"SIGKILL at {args.kill_mid:g} s" if code is not None else None
        if code is None:
            stop_signal = "SIGKILL" if args.kill else "SIGTERM"
            code = stop_server(proc, args.kill)
        elif proc.stdout is not None:
            proc.stdout.close()

    proc, port = start_server(db, log)
    try:
        stored_ids = stored_message_ids(port)
        stats_after = get_json(port, "/api/stats")
    finally:
        stop_server(proc, kill=False)

    latencies = sorted(lat for r in results for lat in r.latencies)
    acked = {mid for r in results for mid in r.acked_ids}
    sent = sum(r.events_sent for r in results)
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors)
    firsts = [r.first_send for r in results if r.first_send is not None]
    lasts = [r.last_answer for r in results if r.last_answer is not None]
    duration = (max(lasts) - min(firsts)) if firsts and lasts else wall
    stored_set = set(stored_ids)
    lost = len(acked - stored_set)
    requests = sum(r.requests for r in results)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "clients": args.clients,
        "batches": args.batches,
        "batch_size": args.batch_size,
        "max_seconds": args.max_seconds,
        "stopped_by_deadline": any(r.stopped_by_deadline for r in results),
        "hung_clients": hung,
        "requests": requests,
        "requests_ok": sum(r.ok for r in results),
        "events_sent": sent,
        "events_acked": len(acked),
        "duration_s": round(duration, 3),
        "events_per_s": round(len(acked) / duration, 1) if duration > 0 else None,
        "requests_per_s": round(requests / duration, 1) if duration > 0 else None,
        "latency_ms_p50": ms(percentile(latencies, 50)),
        "latency_ms_p95": ms(percentile(latencies, 95)),
        "latency_ms_p99": ms(percentile(latencies, 99)),
        "latency_ms_max": ms(latencies[-1] if latencies else None),
        "http_errors": sum(errors.values()),
        "errors": dict(sorted(errors.items())),
        "duplicates_reported": sum(r.duplicates for r in results),
        "stored": stored_before,
        "stop_signal": stop_signal,
        "server_exit_code": code,
        "stored_after_restart": len(stored_ids),
        "stored_after_restart_unique": len(stored_set),
        "stats_after_restart": stats_after,
        "acked_missing_after_restart": lost,
        # Killed mid-load, events committed whose answer never arrived may be stored too
        # (at least once); otherwise stored must equal acknowledged, before and after.
        "ok": lost == 0
        and len(stored_set) == len(stored_ids)
        and (
            len(stored_ids) <= sent
            if stored_before is None
            else stored_before == len(stored_ids) == len(acked)
        ),
    }


def report(f: dict[str, Any]) -> None:
    rows = [
        ("clients x batches x events", f"{f['clients']} x {f['batches']} x {f['batch_size']}"),
        (
            "max seconds",
            f"{f['max_seconds']:g}" + (" (reached)" if f["stopped_by_deadline"] else ""),
        ),
        ("requests (ok)", f"{f['requests']:,} ({f['requests_ok']:,})"),
        ("events sent", f"{f['events_sent']:,}"),
        ("events acknowledged (200)", f"{f['events_acked']:,}"),
        ("duration", f"{f['duration_s']:.2f} s"),
        ("throughput", f"{fmt(f['events_per_s'])} events/s, {fmt(f['requests_per_s'])} req/s"),
        (
            "latency p50 / p95 / p99",
            f"{fmt(f['latency_ms_p50'])} / {fmt(f['latency_ms_p95'])} /"
            f" {fmt(f['latency_ms_p99'])} ms (max {fmt(f['latency_ms_max'])})",
        ),
        ("HTTP errors", f"{f['http_errors']}" + (f" {f['errors']}" if f["errors"] else "")),
        ("stored vs sent", f"{fmt(f['stored'], 0)} / {f['events_sent']:,}"),
        (
            f"after {f['stop_signal']} + restart",
            f"{f['stored_after_restart']:,} stored,"
            f" {f['acked_missing_after_restart']} acknowledged missing",
        ),
        ("verdict", "OK: nothing acknowledged was lost" if f["ok"] else "FAILED"),
    ]
    width = max(len(name) for name, _ in rows)
    print("collector load test (serve.py, SQLite WAL, loopback)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print(json.dumps(f, sort_keys=False))


if __name__ == "__main__":
    sys.exit(main())
