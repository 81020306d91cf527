"""`pyajs build`: the tree, its manifest, its compressed siblings, the snippet that names the
loader with its SRI hash, and the header rules (served by nginx in tests/e2e/test_deploy.py)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import brotli
import pytest
from pyajs_server.build import BuildError, normalise_base_url, parse_runtimes
from pyajs_server.paths import package_version

from tests.server.helpers import REPO

pytestmark = pytest.mark.skipif(package_version(REPO, "micropython") is None,
                                reason="node_modules not installed")


def run_build(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyajs_server", "build", "--out", str(out),
                           "--quiet", *args], capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "pyajs"
    done = run_build(out, "--base-url", "https://cdn.example.com/assets/pyajs/",
                     "--runtimes", "mpy")
    assert done.returncode == 0, done.stderr
    assert "pyajs build: " in done.stdout and "mpy" in done.stdout
    return out


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_every_file_is_in_the_manifest_with_its_size_and_hash(tree: Path) -> None:
    manifest = json.loads((tree / "manifest.json").read_text())
    on_disk = {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}
    listed = set(manifest["files"])
    siblings = {rel + s for rel, e in manifest["files"].items() for s in (".br", ".gz")
                if "encodings" in e}
    headers = {"manifest.json", "nginx-http.conf", "nginx-server.conf", "_headers"}
    assert on_disk == listed | siblings | headers
    for rel, entry in manifest["files"].items():
        data = (tree / rel).read_bytes()
        assert entry["size"] == len(data) and entry["integrity"] == sri(data), rel
    # MicroPython only: the runtime the loader boots, and the package it fetches
    assert "pyajs/pyajs.mpk" in listed and "vendor/micropython/1.27.0/micropython.wasm" in listed
    assert not any(rel.startswith(("vendor/pyodide", "vendor/pyscript")) for rel in listed)
    assert manifest["runtimes"] == {"mpy": [
        "pyajs.js", "pyajs/pyajs.mpk", "vendor/micropython/1.27.0/micropython.mjs",
        "vendor/micropython/1.27.0/micropython.wasm"]}


def test_siblings_hold_the_same_bytes(tree: Path) -> None:
    manifest = json.loads((tree / "manifest.json").read_text())
    compressed = [rel for rel, e in manifest["files"].items() if "encodings" in e]
    assert {"pyajs.js", "pyajs/pyajs.mpk", "vendor/micropython/1.27.0/micropython.wasm",
            "snippet.min.js"} <= set(compressed)
    for rel in compressed:
        data = (tree / rel).read_bytes()
        assert brotli.decompress((tree / (rel + ".br")).read_bytes()) == data, rel
        assert gzip.decompress((tree / (rel + ".gz")).read_bytes()) == data, rel
        sizes = manifest["files"][rel]["encodings"]
        assert sizes == {"br": (tree / (rel + ".br")).stat().st_size,
                         "gzip": (tree / (rel + ".gz")).stat().st_size}


def test_the_snippet_names_the_loader_and_its_hash(tree: Path) -> None:
    manifest = json.loads((tree / "manifest.json").read_text())
    loader = sri((tree / "pyajs.js").read_bytes())
    assert manifest["loader"] == {"url": "https://cdn.example.com/assets/pyajs/pyajs.js",
                                  "integrity": loader}
    for name in ("snippet.js", "snippet.min.js"):
        text = (tree / name).read_text()
        assert '"https://cdn.example.com/assets/pyajs/pyajs.js"' in text, name
        assert '"%s"' % loader in text, name
    html = (tree / "snippet.html").read_text()
    assert html.startswith("<script>") and html.endswith("</script>\n")
    inline = html[len("<script>"):-len("</script>\n")]
    assert inline + "\n" == (tree / "snippet.min.js").read_text()
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert manifest["snippet"]["cspHash"] == "'sha256-%s'" % digest


def test_header_rules(tree: Path) -> None:
    server = (tree / "nginx-server.conf").read_text()
    http = (tree / "nginx-http.conf").read_text()
    assert "location ^~ /assets/pyajs/ {" in server
    assert "default_type application/wasm;" in server
    assert '"~^/assets/pyajs/vendor/" "public, max-age=31536000, immutable";' in http
    rules = (tree / "_headers").read_text().split("\n/")
    wasm = next(r for r in rules if r.startswith(
        "assets/pyajs/vendor/micropython/1.27.0/micropython.wasm.br\n"))
    assert "Content-Type: application/wasm" in wasm and "Content-Encoding: br" in wasm
    assert "Cache-Control: public, max-age=31536000, immutable" in wasm
    assert "Access-Control-Allow-Origin: *" in wasm
    loader = next(r for r in rules if r.startswith("assets/pyajs/pyajs.js\n"))
    assert "Cache-Control: no-cache" in loader and "Content-Encoding" not in loader


def test_bad_options_are_one_clear_line(tmp_path: Path) -> None:
    done = run_build(tmp_path / "x", "--runtimes", "mpy,lua")
    assert done.returncode == 2 and "unknown lua" in done.stderr
    with pytest.raises(BuildError):
        normalise_base_url("ftp://cdn.example.com/")
    with pytest.raises(BuildError):
        normalise_base_url("pyajs/")
    assert normalise_base_url("https://cdn.example.com/p") == "https://cdn.example.com/p/"
    assert parse_runtimes("py, mpy") == ("mpy", "py")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("not a build")
    done = run_build(tmp_path / "mine")
    assert done.returncode == 2 and "not a pyajs build" in done.stderr
    assert (tmp_path / "mine" / "keep.txt").is_file()
