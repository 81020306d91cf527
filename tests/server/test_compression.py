"""Compression: Accept-Encoding negotiation, precompressed variants, gzip on request."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest
from pyajs_server.compression import choose_encoding

from tests.server.helpers import Client


def test_choose_encoding() -> None:
    both = ["br", "gzip"]
    assert choose_encoding("gzip, deflate, br, zstd", both) == "br"
    assert choose_encoding("gzip, deflate", both) == "gzip"
    assert choose_encoding("br;q=0.5, gzip", both) == "gzip"
    assert choose_encoding("br;q=0, gzip;q=0", both) is None
    assert choose_encoding("*", both) == "br"
    assert choose_encoding("*;q=0, gzip", both) == "gzip"
    assert choose_encoding("identity", both) is None
    assert choose_encoding("", both) is None
    assert choose_encoding(None, both) is None
    assert choose_encoding("BR;Q=1", both) == "br"
    assert choose_encoding("br;q=oops, gzip", both) == "gzip"
    assert choose_encoding("gzip, br", ["gzip"]) == "gzip"


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
