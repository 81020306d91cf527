"""HTTP plumbing: the server class (configuration and state), the request handler (body
reading, send helpers, error answers) and the routing table that hands each request to the
collector, the oracle or the static files."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from . import collector, faults, oracle, static
from .access import Access
from .collector import Counters
from .compression import GzipCache, Precompressed
from .faults import FaultQueue
from .packages import PackageZip
from .paths import ROOT, package_version
from .store import EventStore
from .validation import ApiError, decode_body, error_body

# Oversized bodies are read and thrown away (up to this much) so that the client sees our
# 413 instead of a connection reset; beyond it we just close the connection.
DRAIN_LIMIT = 16 * 1024 * 1024

# A connection waiting for its next request is closed after IDLE_TIMEOUT seconds; within a
# request, each read or write may wait READ_TIMEOUT seconds. So a client that stalls holds
# its thread that long at most.
IDLE_TIMEOUT = 15.0
READ_TIMEOUT = 30.0
# Connections served at once (a thread each; idle ones cost a blocked thread, not CPU).
# One more is answered 503 with Retry-After at once instead of waiting in the backlog.
MAX_CONNECTIONS = 1024
BUSY_ANSWER = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
)


class Route(NamedTuple):
    """One row of the routing table: which paths, who answers, whether CORS applies."""

    matches: Callable[[str], bool]
    handle: Callable[[DevHandler, str, str, str], None]  # (handler, method, path, query)
    cors: bool


def _under(prefix: str) -> Callable[[str], bool]:
    return lambda path: path == prefix or path.startswith(prefix + "/")


# Tried in order; a path no route matches is a static file.
ROUTES = (
    Route(_under("/v1"), collector.route_collector, cors=True),
    Route(_under("/api/faults"), faults.route_faults, cors=True),
    Route(_under("/api"), collector.route_api, cors=True),
)
ORACLE_ROUTES = (Route(oracle.is_settings, oracle.route_settings, cors=True),)
ORACLE_MOUNTS = oracle.MOUNTS


class DevServer(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the dev server's configuration and state."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: fifty clients connecting at once then
    # lose SYNs and wait a 1 s retransmit. The kernel caps this at somaxconn anyway.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        root: Path,
        store: EventStore,
        write_keys: Iterable[str],
        quiet: bool,
        faults: bool = False,
        strip_package: bool = True,
        oracle: bool = False,
        allowed_hosts: Iterable[str] = (),
        api_token: str | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.root = root
        self.store = store
        self.write_keys = frozenset(write_keys)
        self.quiet = quiet
        self.package_zip = PackageZip(root / "pysrc" / "pyajs", strip=strip_package)
        self.precompressed = Precompressed(root)
        self.gzip_cache = GzipCache()
        # None unless started with --faults: then /api/faults exists.
        self.faults: FaultQueue | None = FaultQueue() if faults else None
        # The analytics-next oracle's routes and files, only with --oracle.
        self.oracle = oracle
        self.routes = (ORACLE_ROUTES if oracle else ()) + ROUTES
        self.mounts = (ORACLE_MOUNTS if oracle else ()) + static.STATIC_MOUNTS
        self.counters = Counters()
        # Set when the server stops, to release stalled (fault-injected) requests.
        self.stopping = threading.Event()
        self.slots = threading.BoundedSemaphore(max_connections)
        self.idle_timeout = IDLE_TIMEOUT
        self.read_timeout = READ_TIMEOUT
        super().__init__(address, DevHandler)
        self.access = Access(address[0], self.server_address[1], allowed_hosts, api_token)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection while fewer than max_connections are open; else a
        503 at once (never blocking the accepting thread)."""
        if not self.slots.acquire(blocking=False):
            busy = json.dumps(error_body(503, "server busy: too many connections; retry"
                                         " shortly")).encode()
            try:
                request.setblocking(False)
                request.send(BUSY_ANSWER % (len(busy), busy))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up or stalled is not an error of ours: no traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        if not self.quiet:
            super().handle_error(request, client_address)

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()

    def package_version(self, name: str) -> str | None:
        """The installed version of a runtime (paths.VERSIONED_PACKAGES)."""
        return package_version(self.root, name)

    def server_close(self) -> None:
        self.stopping.set()
        super().server_close()
        self.store.close()


class DevHandler(BaseHTTPRequestHandler):
    """Routes requests to the collector, the events API or the static files."""

    protocol_version = "HTTP/1.1"
    server_version = "pyajs-dev"
    # Headers and body go out as separate writes; without TCP_NODELAY, Nagle plus delayed
    # ACKs add ~40 ms to every keep-alive request (the browser's analytics batches).
    disable_nagle_algorithm = True
    server: DevServer

    # ---- plumbing --------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    def log_error(self, format: str, *args: Any) -> None:
        if args and isinstance(args[0], TimeoutError):
            return  # an idle keep-alive connection closed: routine
        super().log_error(format, *args)

    def handle(self) -> None:
        """Requests on this connection until it closes: the wait for each request line is
        the idle timeout, the rest of each request the read timeout."""
        self.close_connection = True
        self._one_request()
        while not self.close_connection:
            self._one_request()

    def _one_request(self) -> None:
        self.connection.settimeout(self.server.idle_timeout)
        self.handle_one_request()

    def parse_request(self) -> bool:
        self.connection.settimeout(self.server.read_timeout)  # the request line is in
        return super().parse_request()

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        """Run the route; turn ApiError into its answer and anything else into a 500.

        Whatever a client sends, the server must keep running and keep storing events.
        """
        self.responded = False
        self.body_read = False
        self.cors = False
        try:
            self._route(method)
        except ApiError as exc:
            self.send_json(exc.status, exc.body(), exc.headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 (the whole point: never die)
            if not self.server.quiet:
                sys.stderr.write(
                    f"pyajs serve: 500 on {method} {self.path}: {type(exc).__name__}: {exc}\n"
                )
            if self.responded:
                self.close_connection = True
            else:
                try:
                    self.send_json(500, error_body(500, f"internal error: {type(exc).__name__}"))
                except OSError:
                    self.close_connection = True
        finally:
            if not self.body_read:
                self.discard_body()

    def discard_body(self) -> None:
        """Consume an unread request body so the next keep-alive request parses cleanly."""
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True
            return
        try:
            remaining = int(length)
        except ValueError:
            self.close_connection = True
            return
        if remaining < 0 or remaining > DRAIN_LIMIT:
            self.close_connection = True
            return
        self.body_read = True
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                self.close_connection = True
                return
            remaining -= len(chunk)

    def read_body(self, limit: int) -> bytes:
        """Read exactly Content-Length bytes; 411 without it, 413 above `limit`. A body sent
        with `Content-Encoding: gzip` or `deflate` is returned decompressed, `limit` applying
        to both sizes (validation.decode_body)."""
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            self.body_read = True
            raise ApiError(411, "Content-Length: required")
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self.body_read = True
            raise ApiError(400, "Content-Length: not a non-negative integer") from None
        if length > limit:
            self.discard_body()
            self.body_read = True
            raise ApiError(413, f"body: {length} bytes is over the {limit}-byte request limit")
        data = self.rfile.read(length) if length else b""
        self.body_read = True
        if len(data) != length:
            self.close_connection = True
            raise ApiError(400, "body: shorter than Content-Length")
        return decode_body(data, self.headers.get("Content-Encoding"), limit)

    def send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a complete answer with a correct Content-Length (no body for HEAD/204/304)."""
        self.responded = True
        self.send_response(status)
        if self.cors:
            origin = self.headers.get("Origin")
            self.send_header("Access-Control-Allow-Origin", origin or "*")
            self.send_header("Vary", "Origin")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        has_body = status not in (204, 304) and not 100 <= status < 200
        if has_body:
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if has_body and body and self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send(status, body, "application/json; charset=utf-8", headers)

    def send_text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self.send(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers)

    def preflight(self, methods: str) -> None:
        self.send(
            204,
            headers={
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Retry-Count",
                "Access-Control-Max-Age": "600",
            },
        )

    @staticmethod
    def method_not_allowed(method: str, allowed: str) -> ApiError:
        return ApiError(405, f"method {method} not allowed; use {allowed}", {"Allow": allowed})

    # ---- routing ---------------------------------------------------------------------

    # ---- routing ---------------------------------------------------------------------

    def _route(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path or "/"
        access = self.server.access
        access.check_host(self)
        for route in self.server.routes:
            if route.matches(path):
                self.cors = route.cors
                if path == "/api" or path.startswith("/api/"):
                    self.cors = access.check_api(self, method)
                route.handle(self, method, path, split.query)
                return
        static.route_static(self, method, path, split.query)


def make_server(
    host: str,
    port: int,
    db_path: str | Path,
    write_keys: Iterable[str],
    quiet: bool = True,
    root: Path | None = None,
    faults: bool = False,
    strip_package: bool = True,
    oracle: bool = False,
    allowed_hosts: Iterable[str] = (),
    api_token: str | None = None,
) -> DevServer:
    """Build (and bind) the dev server without starting it, so tests can run it in a thread.

    `root` defaults to the checkout (paths.ROOT); tests pass a temporary tree with its own
    web/, pysrc/ and node_modules/. `faults` enables the fault-injection API (/api/faults),
    `oracle` the analytics-next oracle's routes. `strip_package` false serves pyajs.zip with
    its sources' comments and docstrings. `allowed_hosts` and `api_token`: see access.py.
    """
    keys = [key for key in write_keys if key]
    if not keys:
        raise ValueError("at least one writeKey is required")
    store = EventStore(db_path)
    try:
        return DevServer((host, port), Path(root or ROOT), store, keys, quiet, faults,
                         strip_package, oracle, allowed_hosts, api_token)
    except BaseException:
        store.close()
        raise
