"""Compression of static files: Accept-Encoding negotiation, the precompressed runtime
files, and gzip made on first request.

The runtimes are ~13 MB raw (pyodide.asm.wasm alone 9.6 MB): served compressed they are
~3.4 MB. `scripts/precompress.mjs` (run by scripts/setup.sh after `npm ci`, with Node's
built-in zlib) writes brotli and gzip variants of the large runtime files under
PRECOMPRESSED_DIR with a manifest of the sources' sha256; other compressible files are
gzipped here on first request (stdlib) and kept in memory. Wasm keeps `application/wasm`
under any Content-Encoding, so the browser still compiles it while it streams.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PRECOMPRESSED_DIR = (".pyajs", "precompressed")
# Content-Encoding -> file suffix of the precompressed variant, in order of preference.
ENCODINGS: tuple[tuple[str, str], ...] = (("br", ".br"), ("gzip", ".gz"))
COMPRESSIBLE_TYPES = ("text/", "application/javascript", "application/json", "application/wasm",
                      "application/xml", "application/toml", "image/svg+xml")
LAZY_GZIP_MIN_BYTES = 256
LAZY_GZIP_MAX_BYTES = 32 * 1024 * 1024
LAZY_GZIP_CACHE_BYTES = 96 * 1024 * 1024


def accepted_encodings(header: str | None) -> dict[str, float]:
    """Accept-Encoding as {coding: q} (lower-case codings; malformed q-values count as 0)."""
    accepted: dict[str, float] = {}
    for item in (header or "").split(","):
        parts = [p.strip() for p in item.split(";")]
        coding = parts[0].lower()
        if not coding:
            continue
        q = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        accepted[coding] = q
    return accepted


def choose_encoding(header: str | None, available: Iterable[str]) -> str | None:
    """The Content-Encoding to send among `available` (in our order of preference), or None
    for the identity. A coding is acceptable when listed with q > 0, or covered by `*`."""
    accepted = accepted_encodings(header)
    best: tuple[float, str] | None = None
    for coding in available:
        q = accepted[coding] if coding in accepted else accepted.get("*", 0.0)
        if q > 0 and (best is None or q > best[0]):
            best = (q, coding)
    return best[1] if best else None


def is_compressible(content_type: str) -> bool:
    return content_type.startswith(COMPRESSIBLE_TYPES)


def variant_etag(etag: str, coding: str | None) -> str:
    """A strong ETag per representation: `"tag"` for identity, `"tag-br"`, `"tag-gzip"`."""
    return etag if coding is None else f'{etag[:-1]}-{coding}"'


class Precompressed:
    """The variants written by scripts/precompress.mjs, used only while they match their
    source: the manifest's size and sha256 are checked once per (file, size, mtime)."""

    def __init__(self, root: Path):
        self.root = root
        self.folder = root.joinpath(*PRECOMPRESSED_DIR)
        self.lock = threading.Lock()
        self._manifest: dict[str, Any] = {}
        self._manifest_stamp: tuple[int, int] | None = None
        self._verified: dict[tuple[str, int, int], bool] = {}

    def _load_manifest(self) -> dict[str, Any]:
        path = self.folder / "manifest.json"
        try:
            st = path.stat()
        except OSError:
            self._manifest, self._manifest_stamp = {}, None
            return self._manifest
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._manifest_stamp:
            try:
                loaded = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                loaded = {}
            self._manifest = loaded if isinstance(loaded, dict) else {}
            self._manifest_stamp = stamp
            self._verified.clear()
        return self._manifest

    def variants(self, target: Path, st: Any) -> dict[str, Path]:
        """{coding: path of the variant} for a served file (empty when none is valid)."""
        try:
            rel = target.relative_to(self.root).as_posix()
        except ValueError:
            return {}
        with self.lock:
            entry = self._load_manifest().get(rel)
            if not isinstance(entry, dict) or entry.get("size") != st.st_size:
                return {}
            key = (rel, st.st_size, st.st_mtime_ns)
            ok = self._verified.get(key)
            if ok is None:
                digest = hashlib.sha256()
                try:
                    with target.open("rb") as handle:
                        for chunk in iter(lambda: handle.read(1 << 20), b""):
                            digest.update(chunk)
                except OSError:
                    return {}
                ok = digest.hexdigest() == entry.get("sha256")
                self._verified[key] = ok
            if not ok:
                return {}
            encodings = entry.get("encodings") or {}
        found = {}
        for coding, suffix in ENCODINGS:
            size = encodings.get(suffix[1:])
            path = self.folder / (rel + suffix)
            if isinstance(size, int) and path.is_file() and path.stat().st_size == size:
                found[coding] = path
        return found


class GzipCache:
    """Gzipped copies of compressible files made on first request, kept (bounded, LRU) in
    memory and keyed by path, size and mtime, so an edited file is compressed afresh."""

    def __init__(self, limit: int = LAZY_GZIP_CACHE_BYTES):
        self.limit = limit
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[str, int, int], bytes | None] = OrderedDict()
        self.total = 0

    def get(self, target: Path, st: Any) -> bytes | None:
        """The gzip body, or None when compressing does not pay (or the file is too big)."""
        if not LAZY_GZIP_MIN_BYTES <= st.st_size <= LAZY_GZIP_MAX_BYTES:
            return None
        key = (str(target), st.st_size, st.st_mtime_ns)
        with self.lock:  # one compression at a time: a dev server, and no duplicate work
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
            try:
                data = target.read_bytes()
            except OSError:
                return None
            if len(data) != st.st_size:
                return None
            level = 9 if len(data) <= 1 << 20 else 6
            packed: bytes | None = gzip.compress(data, compresslevel=level, mtime=0)
            if len(packed) > len(data) * 0.95:
                packed = None
            self.entries[key] = packed
            self.total += len(packed or b"")
            while self.total > self.limit and len(self.entries) > 1:
                _, old = self.entries.popitem(last=False)
                self.total -= len(old or b"")
            return packed

