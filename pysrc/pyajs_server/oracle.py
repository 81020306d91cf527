"""analytics-next 1.84.3 as a test-only oracle (only with --oracle): the conformance suite
and the benchmarks load the real Analytics.js next to pyajs, and everything it asks of
Segment's CDN is answered here, so no request leaves the machine:

    /analytics.js/v1/<writeKey>/analytics[.min].js   its script (the npm package's UMD build)
    /analytics-next/bundles/<chunk>                  its lazy chunks
    /v1/projects/<writeKey>/settings                 its settings: Segment.io only, sending to
                                                     this collector, remote metrics off
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from .http import DevHandler

SETTINGS_PATH = re.compile(r"^/v1/projects/([^/]+)/settings/?$")
SCRIPT_PATH = re.compile(r"^/analytics\.js/v1/[^/]+/analytics(?:\.min)?\.js$")
SCRIPT_FILE = "/vendor/analytics-next/standalone.js"

# Static mounts (URL prefix -> folder under the root), ahead of the default ones.
MOUNTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/vendor/analytics-next/", ("node_modules", "@segment", "analytics-next", "dist", "umd")),
    # its lazy chunks, asked for at <cdn>/analytics-next/bundles/<name>
    ("/analytics-next/bundles/", ("node_modules", "@segment", "analytics-next", "dist", "umd")),
)


def is_settings(path: str) -> bool:
    return SETTINGS_PATH.match(path) is not None


def static_path(path: str) -> str:
    """The file behind a URL: Segment's snippet asks the CDN for the script by write key."""
    return SCRIPT_FILE if SCRIPT_PATH.match(path) else path


def route_settings(h: DevHandler, method: str, path: str, query: str) -> None:
    """Segment's CDN settings for analytics-next."""
    match = SETTINGS_PATH.match(path)
    assert match is not None
    if method not in ("GET", "HEAD", "OPTIONS"):
        raise h.method_not_allowed(method, "GET, HEAD, OPTIONS")
    host = h.headers.get("Host") or "%s:%d" % h.server.server_address[:2]
    settings = {
        "integrations": {"Segment.io": {"apiKey": unquote(match.group(1)),
                                        "apiHost": host + "/v1", "protocol": "http"}},
        "metrics": {"sampleRate": 0},
    }
    h.send_json(200, settings, {"Cache-Control": "no-store"})
