"""The dev server as a user runs it (``serve.py`` in a subprocess, its own port and database),
plus a raw HTTP client for it: the collector tests that need the real command line, real
sockets and headers that a browser or a third-party client would send."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.server.helpers import request

ROOT = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"http://(\S+?):(\d+)/")


class RunningServer:
    """``serve.py --port 0 --db <tmp> --quiet [args]`` until ``stop()``."""

    def __init__(self, db: Path, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "serve.py"), "--port", "0", "--db", str(db), "--quiet",
             *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        self.banner = ""
        # Warnings (e.g. about --host) may come before the line with the URL.
        for _ in range(20):
            line = self.proc.stdout.readline()
            if not line:
                break
            self.banner += line
            match = STARTED.search(line)
            if match:
                self.port = int(match.group(2))
                break
        else:
            match = None
        if not match:
            self.proc.kill()
            _out, err = self.proc.communicate(timeout=10)
            raise RuntimeError("serve.py did not start: %r %r" % (self.banner, err))
        self.host = "127.0.0.1"
        self.base = "http://127.0.0.1:%d" % self.port

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None,
                timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection: (status, lower-cased headers, body)."""
        return request(self.host, self.port, method, path, body, headers, timeout)

    def get_json(self, path: str) -> Any:
        status, _headers, data = self.request("GET", path)
        assert status == 200, (path, status, data[:500])
        return json.loads(data)

    def rows(self, **filters: str) -> list[dict[str, Any]]:
        """Stored rows (GET /api/events), oldest first."""
        query = "&".join("%s=%s" % kv for kv in filters.items())
        return self.get_json("/api/events?limit=10000&" + query)["events"]

    def events(self, **filters: str) -> list[dict[str, Any]]:
        return [row["event"] for row in self.rows(**filters)]

    def stop(self) -> str:
        """Stop the server (SIGTERM); returns what it wrote to stderr."""
        self.proc.terminate()
        try:
            _out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _out, err = self.proc.communicate(timeout=15)
        return err
