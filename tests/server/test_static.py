"""Static files: URL mounts, content types, traversal, conditional GET, versioned runtime URLs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pyajs_server.http import make_server
from pyajs_server.packages import PACKAGE_MPK_PATH
from pyajs_server.paths import ROOT, VERSIONED_PACKAGES
from pyajs_server.static import content_type_for

from tests.server.helpers import KEY, REPO, Client, start


def test_root_redirects_to_demo(client: Client) -> None:
    status, headers, _ = client.request("GET", "/")
    assert status == 302
    assert headers["location"] == "/demo.html"


@pytest.mark.parametrize(
    ("path", "content_type", "text"),
    [
        ("/demo.html", "text/html; charset=utf-8", "<!doctype html><title>demo</title>"),
        ("/app.css", "text/css; charset=utf-8", "body{}"),
        ("/sub/", "text/html; charset=utf-8", "<p>sub</p>"),
        ("/data.unknownext", "application/octet-stream", "??"),
        ("/vendor/pyodide/pyodide.asm.wasm", "application/wasm", "\0asm"),
        ("/vendor/pyodide/pyodide.mjs", "text/javascript; charset=utf-8", "export default 1;"),
        ("/vendor/pyodide/python_stdlib.zip", "application/zip", "PK"),
        ("/vendor/pyscript/core.js", "text/javascript; charset=utf-8", "console.log(1)"),
        ("/pyajs/codec.py", "text/x-python; charset=utf-8", "def f():\n    return 1\n"),
    ],
)
def test_static_mapping(client: Client, path: str, content_type: str, text: str) -> None:
    status, headers, body = client.request("GET", path)
    assert status == 200, body
    assert headers["content-type"] == content_type
    assert body == text.encode()
    assert headers["content-length"] == str(len(body))
    assert headers["etag"] and headers["last-modified"]

    status, headers, body = client.request("HEAD", path)
    assert status == 200
    assert body == b""
    assert headers["content-length"] == str(len(text.encode()))


def test_static_conditional_get(client: Client) -> None:
    _, headers, _ = client.request("GET", "/demo.html")
    status, headers2, body = client.request(
        "GET", "/demo.html", headers={"If-None-Match": headers["etag"]}
    )
    assert (status, body) == (304, b"")
    assert headers2["etag"] == headers["etag"]
    status, _, _ = client.request(
        "GET", "/demo.html", headers={"If-Modified-Since": headers["last-modified"]}
    )
    assert status == 304
    status, _, _ = client.request("GET", "/demo.html", headers={"If-None-Match": '"nope"'})
    assert status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/missing.html",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
        "/vendor/pyodide/../../../secret.txt",
        "/vendor/pyodide/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
        "/pyajs/..%5c..%5csecret.txt",
        "/demo.html%00.txt",
        "/vendor/pyodide/",
    ],
)
def test_static_404_and_traversal(client: Client, path: str) -> None:
    status, headers, body = client.request("GET", path)
    assert status == 404
    assert b"top secret" not in body
    assert headers["content-length"] == str(len(body))


def test_symlink_escape_is_404(client: Client, tree: Path) -> None:
    try:
        (tree / "web" / "link.txt").symlink_to(tree / "secret.txt")
    except OSError:
        pytest.skip("no symlinks here")
    status, _, body = client.request("GET", "/link.txt")
    assert status == 404 and b"secret" not in body


def test_static_wrong_method(client: Client) -> None:
    status, headers, _ = client.request("POST", "/demo.html", b"x", {"Content-Type": "text/plain"})
    assert status == 405
    assert "GET" in headers["allow"]


def test_content_type_table() -> None:
    assert content_type_for("a.wasm") == "application/wasm"
    assert content_type_for("a.whl") == "application/zip"
    assert content_type_for("a.tar") == "application/x-tar"
    assert content_type_for("a.js.map") == "application/json; charset=utf-8"
    assert content_type_for("a.json") == "application/json; charset=utf-8"
    assert content_type_for("noext") == "application/octet-stream"


@pytest.mark.skipif(
    not (ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file(),
    reason="node_modules not installed",
)
def test_real_vendor_mapping(tmp_path: Path) -> None:
    server = make_server("127.0.0.1", 0, ":memory:", [KEY])
    thread = start(server)
    try:
        c = Client(server)
        status, headers, body = c.request("HEAD", "/vendor/pyodide/pyodide.asm.wasm")
        assert (status, headers["content-type"], body) == (200, "application/wasm", b"")
        size = (ROOT / "node_modules/pyodide/pyodide.asm.wasm").stat().st_size
        assert headers["content-length"] == str(size)
        status, headers, _ = c.request("HEAD", "/vendor/pyodide/pyodide.mjs")
        assert headers["content-type"] == "text/javascript; charset=utf-8"
        status, headers, _ = c.request("HEAD", "/vendor/pyscript/core.js")
        assert status == 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


def test_versioned_vendor_urls_are_immutable(tree: Path, client: Client) -> None:
    (tree / "node_modules/pyodide/package.json").write_text('{"version": "1.2.3"}')
    (tree / "node_modules/@pyscript/core/package.json").write_text('{"version": "0.7.9"}')
    status, headers, data = client.request("GET", "/vendor/pyodide/1.2.3/pyodide.mjs")
    assert (status, data) == (200, b"export default 1;")
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["etag"]
    status, headers, _ = client.request("GET", "/vendor/pyscript/0.7.9/core.js")
    assert status == 200 and "immutable" in headers["cache-control"]
    # Another version is not what we have: never cache it as that version.
    for path in ("/vendor/pyodide/1.2.4/pyodide.mjs", "/vendor/pyscript/1.0.0/core.js",
                 "/vendor/pyodide/1.2.3/../../../secret.txt"):
        status, _, body = client.request("GET", path)
        assert status == 404 and b"top secret" not in body
    # The unversioned paths keep working, revalidated.
    status, headers, _ = client.request("GET", "/vendor/pyodide/pyodide.mjs")
    assert status == 200 and headers["cache-control"] == "no-cache"


def test_versioned_url_without_package_json_is_404(client: Client) -> None:
    status, _, _ = client.request("GET", "/vendor/pyodide/1.2.3/pyodide.mjs")
    assert status == 404


@pytest.mark.skipif(
    not (ROOT / "node_modules" / "pyodide" / "package.json").is_file(),
    reason="node_modules not installed",
)
def test_loader_uses_the_installed_versioned_urls() -> None:
    """web/pyajs.js, the snippet's preloads and the bare benchmark page name the installed
    runtimes' versions, and the snippet preloads the package the loader fetches."""
    versions = {
        name: json.loads((REPO.joinpath(*parts) / "package.json").read_text())["version"]
        for name, parts in VERSIONED_PACKAGES.items()
    }
    wanted = {"web/pyajs.js": {"pyodide", "pyscript", "micropython"},
              "web/snippet.js": {"micropython"}, "web/bench-bare.html": {"pyodide", "pyscript"}}
    for page, names in wanted.items():
        text = (REPO / page).read_text()
        found = dict(re.findall(r"vendor/([\w-]+)/(\d[^/]*)/", text))
        assert names <= set(found), (page, found)
        assert found == {name: versions[name] for name in found}, (page, found, versions)
    assert PACKAGE_MPK_PATH.lstrip("/") in (REPO / "web/snippet.js").read_text()
    assert PACKAGE_MPK_PATH.lstrip("/") in (REPO / "web/pyajs.js").read_text()


def test_root_redirect_keeps_the_query(client: Client) -> None:
    status, headers, _ = client.request("GET", "/?runtime=mpy")
    assert status == 302
    assert headers["location"] == "/demo.html?runtime=mpy"


@pytest.mark.parametrize(
    "path", ["/demo.html", "/vendor/pyodide/pyodide.asm.wasm", "/vendor/pyscript/core.js",
             "/pyajs/pyajs.zip", PACKAGE_MPK_PATH])
def test_static_files_may_be_used_by_pages_of_other_origins(client: Client, path: str) -> None:
    """The dev server can act as a site's CDN: every static file and package form says any
    origin may read it, on a 200 and on a 304."""
    status, headers, _ = client.request("GET", path, headers={"Origin": "http://shop.test"})
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    assert headers["cross-origin-resource-policy"] == "cross-origin"
    status, headers, _ = client.request("GET", path, headers={"If-None-Match": headers["etag"]})
    assert status == 304
    assert headers["access-control-allow-origin"] == "*"


def test_extra_mount_serves_its_folder_only(client: Client, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "pyajs-0.1.0-py3-none-any.whl").write_bytes(b"PK")
    client.server.mounts = (("/wheels/", (str(extra),)),) + client.server.mounts
    status, headers, body = client.request("GET", "/wheels/pyajs-0.1.0-py3-none-any.whl")
    assert (status, headers["content-type"], body) == (200, "application/zip", b"PK")
    assert client.request("GET", "/wheels/../secret.txt")[0] == 404
    assert client.request("GET", "/wheels/%2e%2e/secret.txt")[0] == 404
    assert client.request("GET", "/demo.html")[0] == 200  # the others still there
