"""Who may talk to the dev server.

- `Host`: only the names the server is meant to be reached by (loopback names with its
  port, the address it is bound to, and `--allowed-host` names), so that a page whose DNS
  name is rebound to 127.0.0.1 cannot reach it: 421 otherwise.
- The inspection API (`/api/*`: read, delete, fault injection) answers its own pages (an
  `Origin` equal to the request's own scheme://host:port) and clients that send no `Origin`
  at all (curl, scripts, tests); a page on another origin is refused with 403 unless the
  server was started with `--api-token TOKEN` and the request carries
  `Authorization: Bearer TOKEN` (then it gets CORS for its origin). The collector (`/v1/*`)
  answers CORS for any origin, as Segment's does.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .validation import ApiError

if TYPE_CHECKING:
    from .http import DevHandler

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")


def split_host(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` / `[v6][:port]` → (lower-case name without brackets or final dot,
    port or None); None when it is not a host."""
    value = value.strip().lower()
    if not value or any(c in value for c in "/@?# \t\\"):
        return None
    port_text = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:  # a bare IPv6 address
        name = value
    else:
        name = value
    name = name.rstrip(".")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not port_text.isascii() or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    return (name, port) if name else None


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server to this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Access:
    """The server's Host and Origin rules (see the module docstring)."""

    def __init__(self, bound_host: str, port: int, allowed_hosts: Iterable[str] = (),
                 api_token: str | None = None):
        self.port = port
        self.api_token = api_token or None
        # name -> allowed port (None: any port)
        self.names: dict[str, int | None] = {name: port for name in LOOPBACK_NAMES}
        bound = bound_host.strip("[]").lower()
        if bound not in WILDCARD_ADDRESSES:
            self.names.setdefault(bound, port)
        self.suffixes: list[str] = []
        for entry in allowed_hosts:
            parsed = split_host(entry.lstrip("."))
            if parsed is None:
                raise ValueError(f"--allowed-host {entry!r}: not a host name")
            name, only_port = parsed
            if entry.startswith("."):
                self.suffixes.append(name)  # the name and every name under it
            self.names[name] = only_port

    def host_allowed(self, value: str | None) -> bool:
        if value is None:  # HTTP/1.0 without Host: no browser sends that
            return True
        parsed = split_host(value)
        if parsed is None:
            return False
        name, port = parsed
        if name in self.names:
            wanted = self.names[name]
            return wanted is None or port is None or port == wanted
        return any(name == s or name.endswith("." + s) for s in self.suffixes)

    def check_host(self, h: DevHandler) -> None:
        host = h.headers.get("Host")
        if not self.host_allowed(host):
            shown = (host or "")[:100]
            raise ApiError(421, f"Host: {shown!r} is not a name this server answers to (it"
                           " answers to 127.0.0.1, localhost and [::1]; start it with"
                           " --allowed-host NAME to add one)")

    def token_ok(self, h: DevHandler) -> bool:
        if self.api_token is None:
            return False
        auth = (h.headers.get("Authorization") or "").strip()
        scheme, _, token = auth.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.api_token.encode())

    def check_api(self, h: DevHandler, method: str) -> bool:
        """For /api/*: whether the answer gets CORS headers; ApiError(403) when an Origin
        that is not the server's own may not use the API."""
        origin = h.headers.get("Origin")
        proto = (h.headers.get("X-Forwarded-Proto") or "http").strip().lower()
        if origin is None or same_origin(origin, h.headers.get("Host"),
                                         "https" if proto == "https" else "http"):
            return False
        h.cors = True  # so that the page can read why it was refused
        if method == "OPTIONS" and self.api_token is not None:
            return True  # a preflight carries no credentials; the request itself must
        if self.token_ok(h):
            return True
        how = ("send Authorization: Bearer <the --api-token>" if self.api_token else
               "start the server with --api-token TOKEN and send Authorization: Bearer TOKEN")
        raise ApiError(403, f"Origin: {origin[:100]!r} may not use the inspection API (/api);"
                       f" it answers its own pages and clients that send no Origin. To let"
                       f" another origin in, {how}")


def same_origin(origin: str, host: str | None, scheme: str = "http") -> bool:
    """Whether `origin` (scheme://host[:port]) names the server as the request reached it
    (`scheme`: https behind a proxy that terminates TLS and says so)."""
    if host is None:
        return False
    default = 443 if scheme == "https" else 80
    try:
        parts = urlsplit(origin)
        if parts.scheme != scheme or parts.path or not parts.hostname:
            return False
        origin_port = parts.port or default
    except ValueError:
        return False
    parsed = split_host(host)
    if parsed is None:
        return False
    name, port = parsed
    return parts.hostname.rstrip(".") == name and origin_port == (port or default)
