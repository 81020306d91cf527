"""The analytics-next oracle (--oracle): its script, chunks and settings are answered locally,
and none of it exists in the default server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyajs_server.http import make_server

from tests.server.helpers import KEY, Client, serving

ORACLE_PATHS = (
    "/vendor/analytics-next/standalone.js",
    "/analytics.js/v1/some%20key/analytics.min.js",
    "/analytics.js/v1/k/analytics.js",
    "/analytics-next/bundles/standalone.js",
)


@pytest.fixture
def oclient(tree: Path) -> Iterator[Client]:
    server = make_server("127.0.0.1", 0, ":memory:", [KEY], root=tree, oracle=True,
                         allowed_hosts=["shop.test"])
    with serving(server) as client:
        yield client


@pytest.mark.parametrize("path", ORACLE_PATHS)
def test_oracle_script_and_chunks(oclient: Client, path: str) -> None:
    status, headers, body = oclient.request("GET", path)
    assert (status, body) == (200, b"var a;")
    assert headers["content-type"] == "text/javascript; charset=utf-8"


def test_oracle_settings_point_at_this_collector(oclient: Client) -> None:
    status, headers, body = oclient.request(
        "GET", "/v1/projects/my%20key/settings", headers={"Host": "shop.test:8000",
                                                          "Origin": "http://shop.test:8000"})
    assert status == 200
    assert headers["cache-control"] == "no-store"
    assert headers["access-control-allow-origin"] == "http://shop.test:8000"
    assert json.loads(body) == {
        "integrations": {"Segment.io": {"apiKey": "my key", "apiHost": "shop.test:8000/v1",
                                        "protocol": "http"}},
        "metrics": {"sampleRate": 0},
    }
    status, headers, _ = oclient.request("POST", "/v1/projects/k/settings", b"{}")
    assert status == 405 and headers["allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("path", (*ORACLE_PATHS, "/v1/projects/k/settings"))
def test_no_oracle_without_the_flag(client: Client, path: str) -> None:
    assert client.request("GET", path)[0] == 404
