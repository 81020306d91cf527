"""Slow-client load test: ordinary requests to the collector with and without hundreds of idle
and stalled connections held open, in the same run.

Starts serve.py on a free loopback port (temporary SQLite file), then alternates rounds:
"without" (only the ordinary clients) and "with" (first --idle connections are opened and
held: half send nothing, half stop in the middle of their headers, as slow or vanished
clients do). In each round --clients keep-alive clients send --requests requests between
them, alternating POST /v1/batch (5 events) and GET /api/health (after one uncounted
warm-up round). Prints latency p50/p99 of each kind of round side by side (and their ratio),
every status seen, and checks that every ordinary request was answered 200; the last line
is one JSON object with every figure. Exit status 1 if an ordinary request was not answered
200. No timing is asserted: the figures are for reading.

    python bench/slow_clients.py [--idle 500] [--requests 400] [--clients 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector_load import HOST, WRITE_KEY, percentile, start_server, stop_server  # noqa: E402

AUTH = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
TIMEOUT = 60.0


def open_idle(port: int, count: int) -> list[socket.socket]:
    """`count` connections held open: even ones silent, odd ones in the middle of headers."""
    held = []
    for i in range(count):
        sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
        if i % 2:
            sock.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        held.append(sock)
    return held


def ordinary(port: int, run: str, count: int, start: threading.Barrier,
             out: list[tuple[str, float, int | str]]) -> None:
    """`count` requests on one keep-alive connection: (kind, seconds, status or error)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    headers = {"Content-Type": "application/json", "Authorization": AUTH}
    start.wait()
    try:
        for n in range(count):
            if n % 2 == 0:
                kind = "POST /v1/batch"
                batch = [{"type": "track", "event": "Slow Clients", "anonymousId": "a",
                          "messageId": f"slow-{run}-{threading.get_ident()}-{n}-{i}"}
                         for i in range(5)]
                args: tuple[Any, ...] = ("POST", "/v1/batch", json.dumps({"batch": batch}),
                                         headers)
            else:
                kind = "GET /api/health"
                args = ("GET", "/api/health")
            began = time.perf_counter()
            try:
                conn.request(*args)
                resp = conn.getresponse()
                resp.read()
                status: int | str = resp.status
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
            out.append((kind, time.perf_counter() - began, status))
    finally:
        conn.close()


def round_of(port: int, run: str, clients: int, requests: int) -> list[tuple[str, float, Any]]:
    out: list[tuple[str, float, Any]] = []
    start = threading.Barrier(clients)
    threads = [threading.Thread(target=ordinary, daemon=True,
                                args=(port, f"{run}-{c}", requests // clients, start, out))
               for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    return out


def summary(samples: list[tuple[str, float, Any]]) -> dict[str, Any]:
    lat = sorted(s[1] for s in samples)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "requests": len(samples),
        "answered_200": sum(1 for s in samples if s[2] == 200),
        "statuses": dict(Counter(str(s[2]) for s in samples)),
        "p50_ms": ms(percentile(lat, 50)),
        "p99_ms": ms(percentile(lat, 99)),
        "max_ms": ms(lat[-1] if lat else None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=500, help="idle/stalled connections held")
    parser.add_argument("--requests", type=int, default=400, help="ordinary requests a round")
    parser.add_argument("--clients", type=int, default=4, help="ordinary keep-alive clients")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind (alternated)")
    args = parser.parse_args(argv)
    if min(args.idle, args.requests, args.clients, args.rounds) < 1:
        parser.error("every count must be at least 1")

    run = str(int(time.time()))
    without: list[tuple[str, float, Any]] = []
    with_idle: list[tuple[str, float, Any]] = []
    open_seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="pyajs-slow-") as tmp:
        with open(Path(tmp) / "serve.stderr", "w+") as log:
            proc, port = start_server(Path(tmp) / "events.sqlite3", log)
            try:
                round_of(port, f"{run}-warm", args.clients, args.requests)  # not counted
                for r in range(args.rounds):
                    without += round_of(port, f"{run}-w{r}", args.clients, args.requests)
                    began = time.perf_counter()
                    held = open_idle(port, args.idle)
                    open_seconds.append(time.perf_counter() - began)
                    try:
                        with_idle += round_of(port, f"{run}-i{r}", args.clients,
                                              args.requests)
                    finally:
                        for sock in held:
                            sock.close()
                alive = proc.poll() is None
            finally:
                code = stop_server(proc, kill=False)
            log.seek(0)
            server_stderr = log.read()

    a, b = summary(without), summary(with_idle)
    ratio = (round(b["p99_ms"] / a["p99_ms"], 2) if a["p99_ms"] and b["p99_ms"] else None)
    figures = {
        "idle_connections": args.idle,
        "clients": args.clients,
        "rounds": args.rounds,
        "without_idle": a,
        "with_idle": b,
        "p99_ratio_with_vs_without": ratio,
        "median_open_idle_s": round(statistics.median(open_seconds), 3),
        "server_alive": alive,
        "server_exit_code": code,
        "server_tracebacks": server_stderr.count("Traceback"),
        "ok": alive and a["answered_200"] == a["requests"] and b["answered_200"] == b["requests"]
        and server_stderr.count("Traceback") == 0,
    }
    print(f"slow clients (serve.py on loopback; {args.rounds} rounds of each, alternated;"
          f" {args.clients} keep-alive clients, {args.requests} requests a round)")
    print(f"  {'':<28}{'without idle':>14}{'with %d idle' % args.idle:>16}")
    for name, key in (("answered 200 / requests", None), ("p50 ms", "p50_ms"),
                      ("p99 ms", "p99_ms"), ("max ms", "max_ms")):
        if key is None:
            left = f"{a['answered_200']} / {a['requests']}"
            right = f"{b['answered_200']} / {b['requests']}"
        else:
            left, right = f"{a[key]}", f"{b[key]}"
        print(f"  {name:<28}{left:>14}{right:>16}")
    print(f"  p99 with / without: {ratio}; opening {args.idle} connections took"
          f" {figures['median_open_idle_s']} s (median); server tracebacks:"
          f" {figures['server_tracebacks']}")
    print(json.dumps(figures))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
