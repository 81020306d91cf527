"""The dev server as the browser suites run it: ``serve.py`` in a subprocess on a free
loopback port, with a database of its own and the given flags (shared by the e2e and the
conformance fixtures)."""

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"http://[\d.]+:(\d+)/")
# The names the browser suites map to 127.0.0.1 (Chromium host-resolver rules): the server
# answers only Host names it is told about (see pyajs_server/access.py).
TEST_HOSTS = (".pyajs.test", "shop.test", "cdn.test")


@contextlib.contextmanager
def dev_server(db: Path, *flags: str) -> Iterator[int]:
    """``serve.py --port 0 --db DB --quiet FLAGS...`` (and ``--allowed-host`` for each of
    TEST_HOSTS); yields its port, stops it (SIGTERM)."""
    hosts = [arg for name in TEST_HOSTS for arg in ("--allowed-host", name)]
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "serve.py"), "--port", "0", "--db", str(db), "--quiet",
         *hosts, *flags], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = STARTED.search(line)
    if not match:
        proc.kill()
        proc.wait(10)
        raise RuntimeError("serve.py did not start: %r" % line)
    try:
        yield int(match.group(1))
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
