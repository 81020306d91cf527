"""The `pyajs` command: `pyajs serve` (the dev server: demo + collector) and `pyajs build`
(a deployable tree, from build.py)."""

from __future__ import annotations

import argparse
import errno
import importlib.util
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from . import __version__
from .access import is_loopback
from .collector import DEMO_WRITE_KEY
from .http import make_server
from .paths import DB_PATH, find_root, missing_runtimes

SERVE_DESCRIPTION = """pyajs local dev server: the demo's static files plus a Segment-compatible
collector (POST /v1/*; inspect with GET /api/events and /api/stats)."""


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve", help="run the dev server (demo + collector)", description=SERVE_DESCRIPTION
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument(
        "--db", help="SQLite file for events, or :memory: (default: ROOT/.pyajs/events.sqlite3)"
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="the pyajs checkout to serve (web/, pysrc/, node_modules/); default: the one this"
        " package is in, else the current directory",
    )
    parser.add_argument(
        "--write-key",
        action="append",
        dest="write_keys",
        metavar="KEY",
        help=f"accepted writeKey (repeatable; default {DEMO_WRITE_KEY})",
    )
    parser.add_argument("--quiet", action="store_true", help="no request or error logging")
    parser.add_argument(
        "--faults",
        action="store_true",
        help="enable /api/faults, to make the collector fail on purpose (tests, demos)",
    )
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="serve analytics-next (test-only oracle: its script, chunks and settings)",
    )
    parser.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="/PREFIX/=DIR",
        help="also serve folder DIR at URL /PREFIX/ (repeatable), e.g. a built wheel for a"
        " PyScript page's packages",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        default=[],
        metavar="NAME",
        help="a Host name the server answers to besides 127.0.0.1, localhost and [::1]"
        " (repeatable; NAME:PORT for one port only, .NAME for NAME and the names under it)",
    )
    parser.add_argument(
        "--api-token",
        metavar="TOKEN",
        help="let pages on other origins use /api/* when they send Authorization: Bearer"
        " TOKEN (without it, /api answers only the server's own pages and clients that send"
        " no Origin)",
    )
    parser.add_argument(
        "--full-source",
        action="store_true",
        help="serve pyajs.zip with comments and docstrings (default: stripped, lines kept)",
    )
    parser.set_defaults(func=serve)
    return parser


def exposure_warning(host: str, port: int, token: bool) -> str:
    """What `--host` other than loopback puts within reach of other machines."""
    api = ("the inspection API /api/* (read, delete and fault injection) for any client"
           " that sends no Origin or has the --api-token" if token else
           "the inspection API /api/* (read, delete and fault injection) for any client"
           " that sends no Origin, such as curl")
    return (f"pyajs serve: WARNING: listening on {host or '*'}:{port}, not only on this machine."
            f" Other machines can reach the demo and static files, the collector /v1/* (it"
            f" stores events for anyone who knows a write key), and {api}. Requests are"
            f" answered only for the Host names 127.0.0.1, localhost, [::1], the address bound"
            f" and those given with --allowed-host. There is no TLS. Use --host 127.0.0.1"
            f" unless you mean this.")


def serve(args: argparse.Namespace) -> int:
    """Print the URL (with the real port) and serve until Ctrl-C or SIGTERM."""
    root = find_root(args.root)
    if root is None:
        where = args.root or Path.cwd()
        print(f"pyajs serve: {where} is not a pyajs checkout (no web/demo.html and"
              " pysrc/pyajs/): the demo's pages and the runtimes are not in the installed"
              " package; run it in a checkout or pass --root DIR", file=sys.stderr)
        return 2
    try:
        mounts = [parse_mount(spec) for spec in args.mount]
    except ValueError as exc:
        print(f"pyajs serve: --mount {exc}", file=sys.stderr)
        return 2
    missing = missing_runtimes(root)
    if missing:
        print(f"pyajs serve: runtimes not installed under {root / 'node_modules'}"
              f" ({', '.join(missing)}): run ./scripts/setup.sh (npm ci) for pages to start",
              file=sys.stderr)
    try:
        server = make_server(
            args.host,
            args.port,
            args.db or root.joinpath(*DB_PATH),
            args.write_keys or [DEMO_WRITE_KEY],
            quiet=args.quiet,
            root=root,
            faults=args.faults,
            strip_package=not args.full_source,
            oracle=args.oracle,
            allowed_hosts=args.allowed_hosts,
            api_token=args.api_token,
        )
    except ValueError as exc:  # e.g. --allowed-host with a bad name
        print(f"pyajs serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"pyajs serve: port {args.port} on {args.host} is already in use (another"
                  " server?); stop it or pick another port with --port", file=sys.stderr)
        else:
            print(f"pyajs serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                  file=sys.stderr)
        return 1
    server.mounts = tuple(mounts) + server.mounts  # ahead of "/" (web/)
    # SIGTERM stops like Ctrl-C: the listening socket and the database are closed cleanly.
    # (Every acknowledged event is committed already; this just skips WAL recovery.) The
    # loop is asked to stop from a thread rather than interrupted by an exception, which
    # could land anywhere in it (and was seen to be lost there under load).
    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Build the package now (stripping, zipping, mpy-cross: a few hundred ms), not on the
    # first page's request.
    threading.Thread(target=server.package_zip.get_all, daemon=True).start()
    host, port = server.server_address[:2]
    if not is_loopback(args.host):
        print(exposure_warning(args.host, port, args.api_token is not None), file=sys.stderr,
              flush=True)
    if host in ("0.0.0.0", "::"):  # every interface: this machine's own name for it
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    shown = f"[{host}]" if ":" in str(host) else host
    base = f"http://{shown}:{port}/"
    print(f"pyajs dev server on {base} (demo: {base}demo.html)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def parse_mount(spec: str) -> tuple[str, tuple[str, ...]]:
    """`/PREFIX/=DIR` as a static mount (URL prefix, folder); ValueError says what is wrong."""
    prefix, sep, folder = spec.partition("=")
    if not sep or not prefix.startswith("/") or not prefix.endswith("/") or prefix == "/":
        raise ValueError(f"{spec!r}: expected /PREFIX/=DIR")
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(f"{spec!r}: {path} is not a folder")
    return prefix, (str(path),)


def add_build_parser(subparsers: Any) -> None:
    """`pyajs build` comes from build.py (its `add_parser(subparsers)` registers the
    subcommand and sets `func`); imported only when present, so `serve` never needs it."""
    if importlib.util.find_spec(f"{__package__}.build") is not None:
        from . import build  # noqa: PLC0415 - optional module

        build.add_parser(subparsers)
        return
    parser = subparsers.add_parser("build", help="build a deployable tree (not yet available)")
    parser.set_defaults(func=_build_unavailable)


def _build_unavailable(args: argparse.Namespace) -> int:
    print("pyajs build: not yet available in this version", file=sys.stderr)
    return 2


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyajs", description="pyajs: Segment-compatible analytics in the page, in Python."
    )
    parser.add_argument("--version", action="version", version=f"pyajs {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_serve_parser(subparsers)
    add_build_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """`pyajs COMMAND ...`; returns the exit status."""
    args = make_parser().parse_args(argv)
    return args.func(args)
