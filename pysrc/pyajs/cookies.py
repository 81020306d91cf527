"""Cookie attributes and the top-domain probe, over any ``document.cookie``-like jar.

A jar is any object with ``read() -> str`` (the ``document.cookie`` string) and
``write(str)`` (an assignment to ``document.cookie``); the browser binding wraps the real
one, tests use ``MemoryCookieJar``. Analytics.js writes ids on the highest domain that
accepts a cookie (so ``a.shop.example.co.uk`` and ``shop.example.co.uk`` share a visitor),
found by writing a probe cookie on each candidate from the shortest up: the browser refuses
public suffixes, so the first one that sticks is the registrable domain.

    >>> jar = MemoryCookieJar("www.example.test")
    >>> top_domain("www.example.test", jar)
    'example.test'
"""

from .clock import http_date
from .codec import encode_cookie_value, parse_cookie_header

DEFAULT_MAXAGE_DAYS = 365
_DAY_MS = 86400000
PROBE_NAME = "__tld__"


def is_ip_or_single_label(hostname: str) -> bool:
    """True where cookies are host-only: ``localhost``, IPv4 and IPv6 addresses."""
    if not hostname or ":" in hostname or hostname.startswith("["):
        return True
    parts = hostname.split(".")
    if len(parts) == 1:
        return True
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def domain_candidates(hostname: str) -> list:
    """``a.b.example.co.uk`` → ``co.uk``, ``example.co.uk``, ``b.example.co.uk``, ``a.b…``."""
    parts = hostname.split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 2, -1, -1)]


def cookie_string(name: str, value, attrs: dict, now_ms: int) -> str:
    """The ``document.cookie`` assignment for ``name``; ``value`` None deletes the cookie.

    ``value`` is the already-serialised text (it is percent-encoded here). ``attrs`` holds
    ``maxage`` (days), ``path``, ``domain``, ``sameSite`` and ``secure``.
    """
    if value is None:
        text, expires = "", now_ms - _DAY_MS
    else:
        text = encode_cookie_value(value)
        expires = now_ms + int(attrs.get("maxage", DEFAULT_MAXAGE_DAYS) * _DAY_MS)
    parts = [encode_cookie_value(name) + "=" + text, "path=" + (attrs.get("path") or "/")]
    parts.append("expires=" + http_date(expires))
    if attrs.get("domain"):
        parts.append("domain=" + attrs["domain"])
    if attrs.get("sameSite"):
        parts.append("samesite=" + str(attrs["sameSite"]))
    if attrs.get("secure"):
        parts.append("secure")
    return "; ".join(parts)


def top_domain(hostname: str, jar, now_ms: int = 0) -> str | None:
    """The highest domain of ``hostname`` that takes a cookie, or None (host-only cookies)."""
    if is_ip_or_single_label(hostname):
        return None
    for candidate in domain_candidates(hostname):
        attrs = {"domain": "." + candidate, "path": "/", "maxage": 1}
        try:
            jar.write(cookie_string(PROBE_NAME, "1", attrs, now_ms))
            stuck = parse_cookie_header(jar.read()).get(PROBE_NAME) is not None
            if stuck:
                jar.write(cookie_string(PROBE_NAME, None, attrs, now_ms))
                return candidate
        except Exception:  # a sandboxed frame throws on document.cookie: host-only
            return None
    return None


def cookies_work(jar, attrs: dict, now_ms: int) -> bool:
    """Write and read back a probe cookie with the attributes ids will use."""
    try:
        jar.write(cookie_string(PROBE_NAME, "1", attrs, now_ms))
        ok = parse_cookie_header(jar.read()).get(PROBE_NAME) is not None
        if ok:
            jar.write(cookie_string(PROBE_NAME, None, attrs, now_ms))
        return ok
    except Exception:
        return False
