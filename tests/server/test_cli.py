"""The command line: `python serve.py` / `pyajs serve` print the URL and serve."""

from __future__ import annotations

import http.client
import json
import sys
from pathlib import Path

import pytest

from tests.server.helpers import REPO, ev


def test_cli_prints_port(tree: Path, tmp_path: Path) -> None:
    import subprocess

    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "serve.py"),
            "--port",
            "0",
            "--db",
            ":memory:",
            "--write-key",
            "k1",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("pyajs dev server on http://127.0.0.1:")
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        assert line.strip().endswith(f"(demo: http://127.0.0.1:{port}/demo.html)")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        event = ev("track", writeKey="k1")
        conn.request("POST", "/v1/t", json.dumps(event), {"Content-Type": "text/plain"})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        proc.wait(5)


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    import socket
    import subprocess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, str(REPO / "serve.py"), "--port", str(port), "--db", ":memory:"],
            capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (f"pyajs serve: port {port} on 127.0.0.1 is already in use (another"
                           " server?); stop it or pick another port with --port\n")


def test_outside_a_checkout_is_one_clear_line(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "pyajs_server", "serve", "--root", str(tmp_path), "--port", "0"],
        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"pyajs serve: {tmp_path} is not a pyajs checkout")
    assert done.stderr.count("\n") == 1


def test_commands_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    from pyajs.version import __version__
    from pyajs_server.cli import make_parser

    parser = make_parser()
    args = parser.parse_args(["serve", "--port", "0", "--faults", "--oracle"])
    assert (args.command, args.port, args.faults, args.oracle) == ("serve", 0, True, True)
    assert parser.parse_args(["serve"]).oracle is False  # the oracle only when asked
    assert {"serve", "build"} <= set(parser._subparsers._group_actions[0].choices)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"pyajs {__version__}\n"


def test_mount_spec(tmp_path: Path) -> None:
    from pyajs_server.cli import parse_mount

    assert parse_mount(f"/wheels/={tmp_path}") == ("/wheels/", (str(tmp_path.resolve()),))
    for bad in ("wheels/=x", "/wheels=x", "/=x", "/wheels/", f"/w/={tmp_path / 'missing'}"):
        with pytest.raises(ValueError, match="expected /PREFIX/=DIR|is not a folder"):
            parse_mount(bad)
